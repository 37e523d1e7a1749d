// Package adaptertest is the conformance suite every adapters.Adapter passes against its vendor emulator.
package adaptertest
