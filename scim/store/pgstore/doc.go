// Package pgstore implements store.Store, store.Locker, store.GroupStore, store.AuditLog, store.Guard and
// store.LinkCounter on PostgreSQL (github.com/jackc/pgx/v5), for several bridge replicas sharing one database: the
// audit trail and the mass-deprovisioning guard's state live in the database, so every replica sees one of each.
//
// The schema is created and migrated by Open under an advisory lock, so replicas starting together apply each
// step once. The Locker holds across processes: every replica takes a key's lock as a session advisory lock on
// one dedicated connection, after an in-process mutex, so that a process needs one extra connection however
// many locks it holds.
//
// Settings travel in the connection URL: pgx's own (host, sslmode, connect_timeout, ...), pgxpool's pool_*
// parameters (pool_max_conns, pool_min_conns, pool_max_conn_lifetime, pool_max_conn_idle_time,
// pool_health_check_period), and any other parameter is sent to the server as a run-time setting
// (search_path, statement_timeout, application_name). docs/operations.md lists them with their defaults.
package pgstore
