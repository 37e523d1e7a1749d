// Package sqlstore implements store.Store, store.Locker, store.GroupStore, store.AuditLog, store.Guard and
// store.LinkCounter on SQLite (modernc.org/sqlite), with SQL kept portable to the Postgres store that shares its
// schema and queries.
package sqlstore
