// Package upstreamtest holds what every vendor emulator is built from: the control interface tests and the
// sandbox drive (seed users, inject failures, count calls) and the fault injector that implements most of it. It
// imports no testing package, because `scim-bridge sandbox` serves the same emulators.
package upstreamtest
