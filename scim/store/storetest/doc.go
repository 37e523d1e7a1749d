// Package storetest is the conformance suite every store.Store (and store.Locker, store.GroupStore, and together
// store.AuditLog, store.Guard and store.LinkCounter) implementation must pass.
package storetest
