package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/scim-bridge/scim-bridge/scim/store/internal/engine"
)

// migration is one schema step. Steps are append-only: a released step is never edited or reordered, because
// databases record steps by position (version = index + 1) and skip those already applied.
type migration struct {
	name  string
	stmts []string
}

// migrations is the schema history. Types and syntax are chosen to run unchanged on Postgres, except that
// Postgres needs `COLLATE "C"` on links.id for List's byte order (SQLite's default BINARY collation is byte order)
// and that group_members and audit_events are WITHOUT ROWID tables here.
var migrations = []migration{
	{
		name: "create links",
		stmts: []string{
			`CREATE TABLE links (
				namespace       text    NOT NULL,
				id              text    NOT NULL,
				user_name       text    NOT NULL,
				user_name_fold  text    NOT NULL,
				external_id     text    NOT NULL DEFAULT '',
				email           text    NOT NULL DEFAULT '',
				email_fold      text    NOT NULL DEFAULT '',
				extras          text,
				deleted         integer NOT NULL DEFAULT 0,
				version         bigint  NOT NULL,
				created_ms      bigint  NOT NULL,
				modified_ms     bigint  NOT NULL,
				PRIMARY KEY (namespace, id)
			)`,
			// Tombstones keep their userName but must not block a different person from taking it.
			`CREATE UNIQUE INDEX links_live_user_name ON links (namespace, user_name_fold) WHERE deleted = 0`,
			`CREATE INDEX links_live_external_id ON links (namespace, external_id) WHERE deleted = 0`,
			`CREATE INDEX links_live_email ON links (namespace, email_fold) WHERE deleted = 0`,
		},
	},
	{
		// SCIM groups (issue 14). group_members is WITHOUT ROWID, the one SQLite-only clause: its rows are nothing
		// but the key, so the primary key is the table, and the user index carries (namespace, user_id, group_id)
		// whole, answering GroupsOf and RemoveUser from the index alone in group order.
		name: "create groups",
		stmts: []string{
			`CREATE TABLE groups (
				namespace         text   NOT NULL,
				id                text   NOT NULL,
				display_name      text   NOT NULL,
				display_name_fold text   NOT NULL,
				external_id       text   NOT NULL DEFAULT '',
				extras            text,
				version           bigint NOT NULL,
				created_ms        bigint NOT NULL,
				modified_ms       bigint NOT NULL,
				PRIMARY KEY (namespace, id)
			)`,
			`CREATE UNIQUE INDEX groups_display_name ON groups (namespace, display_name_fold)`,
			`CREATE INDEX groups_external_id ON groups (namespace, external_id)`,
			`CREATE TABLE group_members (
				namespace text NOT NULL,
				group_id  text NOT NULL,
				user_id   text NOT NULL,
				PRIMARY KEY (namespace, group_id, user_id),
				FOREIGN KEY (namespace, group_id) REFERENCES groups (namespace, id) ON DELETE CASCADE
			) WITHOUT ROWID`,
			`CREATE INDEX group_members_user ON group_members (namespace, user_id, group_id)`,
		},
	},
	{
		// The audit trail and the mass-deprovisioning guard (issue 16). audit_events is WITHOUT ROWID, clustered on
		// (namespace, seq), so that paging reads it in order; seq is per namespace, handed out by audit_seq, which
		// outlives pruned events so that no seq is ever given twice. The operation index carries result so that
		// CountSince, the guard's measure, reads the index alone. guard holds one row per namespace that has ever
		// tripped.
		name: "create audit trail and guard",
		stmts: []string{
			`CREATE TABLE audit_events (
				namespace      text   NOT NULL,
				seq            bigint NOT NULL,
				time_ms        bigint NOT NULL,
				request_id     text   NOT NULL DEFAULT '',
				credential     text   NOT NULL DEFAULT '',
				operation      text   NOT NULL,
				user_id        text   NOT NULL DEFAULT '',
				user_name      text   NOT NULL DEFAULT '',
				user_name_fold text   NOT NULL DEFAULT '',
				attributes     text,
				result         text   NOT NULL DEFAULT '',
				PRIMARY KEY (namespace, seq)
			) WITHOUT ROWID`,
			`CREATE INDEX audit_events_time ON audit_events (namespace, time_ms)`,
			`CREATE INDEX audit_events_operation ON audit_events (namespace, operation, time_ms, result)`,
			`CREATE INDEX audit_events_user_id ON audit_events (namespace, user_id, seq)`,
			`CREATE INDEX audit_events_user_name ON audit_events (namespace, user_name_fold, seq)`,
			`CREATE TABLE audit_seq (
				namespace text   NOT NULL PRIMARY KEY,
				last_seq  bigint NOT NULL
			)`,
			`CREATE TABLE guard (
				namespace text    NOT NULL PRIMARY KEY,
				held      integer NOT NULL DEFAULT 0,
				since_ms  bigint  NOT NULL DEFAULT 0,
				reason    text    NOT NULL DEFAULT ''
			)`,
		},
	},
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer PRIMARY KEY,
	name       text    NOT NULL,
	applied_ms bigint  NOT NULL
)`

// migrate applies the steps the database has not recorded yet, each in its own transaction, and returns how
// many it applied. db must begin write transactions with a write lock (SQLite BEGIN IMMEDIATE), so that two
// processes opening one new database cannot both apply a step.
func migrate(ctx context.Context, db *sql.DB, steps []migration) (int, error) {
	if _, err := db.ExecContext(ctx, createMigrationsTable); err != nil {
		return 0, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	var newest sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&newest); err != nil {
		return 0, fmt.Errorf("migrate: read schema version: %w", err)
	}
	if err := engine.CheckSchemaVersion(newest.Int64, len(steps)); err != nil {
		return 0, err
	}
	applied := 0
	for i, m := range steps {
		if int64(i+1) <= newest.Int64 {
			continue
		}
		ok, err := applyStep(ctx, db, i+1, m)
		if err != nil {
			return applied, err
		}
		if ok {
			applied++
		}
	}
	return applied, nil
}

// applyStep runs one step unless another process recorded it since migrate looked.
func applyStep(ctx context.Context, db *sql.DB, version int, m migration) (applied bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate %d (%s): begin: %w", version, m.name, err)
	}
	defer func() {
		if err != nil {
			if rbErr := rollback(tx); rbErr != nil {
				err = errors.Join(err, rbErr)
			}
		}
	}()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, version).Scan(&n); err != nil {
		return false, fmt.Errorf("migrate %d (%s): check: %w", version, m.name, err)
	}
	if n > 0 {
		return false, tx.Rollback()
	}
	for _, stmt := range m.stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return false, fmt.Errorf("migrate %d (%s): %w", version, m.name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)`,
		version, m.name, time.Now().UnixMilli()); err != nil {
		return false, fmt.Errorf("migrate %d (%s): record: %w", version, m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate %d (%s): commit: %w", version, m.name, err)
	}
	return true, nil
}

// rollback ends a failed transaction; ErrTxDone means the driver already ended it.
func rollback(tx *sql.Tx) error {
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("rollback: %w", err)
	}
	return nil
}
