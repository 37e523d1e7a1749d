// Package sqlstore implements store.Store and store.Locker on SQLite (modernc.org/sqlite), with SQL kept
// portable to the Postgres store that will share its schema and queries.
package sqlstore
