// Package storetest is the conformance suite every store.Store (and store.Locker) implementation must pass.
package storetest
