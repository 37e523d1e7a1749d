package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scim-bridge/scim-bridge/scim/store/internal/engine"
)

// migration is one schema step. Steps are append-only: a released step is never edited or reordered, because
// databases record steps by position (version = index + 1) and skip those already applied.
type migration struct {
	name  string
	stmts []string
}

// migrations is the schema history, the counterpart of the SQLite store's: the same columns and indexes, with
// Postgres types where they differ (boolean deleted) and the "C" collation on id so that List's ORDER BY id is
// byte order.
var migrations = []migration{
	{
		name: "create links",
		stmts: []string{
			`CREATE TABLE links (
				namespace       text    NOT NULL,
				id              text    COLLATE "C" NOT NULL,
				user_name       text    NOT NULL,
				user_name_fold  text    NOT NULL,
				external_id     text    NOT NULL DEFAULT '',
				email           text    NOT NULL DEFAULT '',
				email_fold      text    NOT NULL DEFAULT '',
				extras          text,
				deleted         boolean NOT NULL DEFAULT false,
				version         bigint  NOT NULL,
				created_ms      bigint  NOT NULL,
				modified_ms     bigint  NOT NULL,
				PRIMARY KEY (namespace, id)
			)`,
			// Tombstones keep their userName but must not block a different person from taking it.
			`CREATE UNIQUE INDEX links_live_user_name ON links (namespace, user_name_fold) WHERE NOT deleted`,
			`CREATE INDEX links_live_external_id ON links (namespace, external_id) WHERE NOT deleted`,
			`CREATE INDEX links_live_email ON links (namespace, email_fold) WHERE NOT deleted`,
		},
	},
	{
		// SCIM groups (issue 14), the counterpart of the SQLite store's step 2. Ids are "C" so that ListGroups,
		// Members and GroupsOf order by bytes; the user index carries group_id so that GroupsOf and RemoveUser
		// read it alone, in group order.
		name: "create groups",
		stmts: []string{
			`CREATE TABLE groups (
				namespace         text   NOT NULL,
				id                text   COLLATE "C" NOT NULL,
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
				group_id  text COLLATE "C" NOT NULL,
				user_id   text COLLATE "C" NOT NULL,
				PRIMARY KEY (namespace, group_id, user_id),
				FOREIGN KEY (namespace, group_id) REFERENCES groups (namespace, id) ON DELETE CASCADE
			)`,
			`CREATE INDEX group_members_user ON group_members (namespace, user_id, group_id)`,
		},
	},
	{
		// The audit trail and the mass-deprovisioning guard (issue 16), the counterpart of the SQLite store's step
		// 3. seq is per namespace, handed out by audit_seq, whose row lock orders appends: seqs become visible in
		// ascending order, and a seq is never given twice even after Prune. The operation index carries result so
		// that CountSince, the guard's measure, can read the index alone. guard holds one row per namespace that has
		// ever tripped, shared by every replica.
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
			)`,
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
				held      boolean NOT NULL DEFAULT false,
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

// Advisory lock keys. The two-integer form never meets the one-bigint form the Locker uses: Postgres keeps the
// two key spaces apart. migrationClass tags the migration lock; its second half is the schema's hash, so that
// deployments in different schemas of one database do not wait for each other.
const (
	migrationClass = 0x5c1b0001
	importClass    = 0x5c1b0002
)

// migrate applies the steps the database has not recorded yet, each in its own transaction, while holding a
// session advisory lock on conn, and returns how many it applied. The lock makes replicas that start together
// take turns: the first applies the steps, the others find them recorded. conn must be closed by the caller if
// migrate fails, which also releases the lock if the failure left it held.
func migrate(ctx context.Context, conn *pgx.Conn, steps []migration) (int, error) {
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1, hashtext(current_schema()))`, migrationClass); err != nil {
		return 0, fmt.Errorf("migrate: wait for the migration lock: %w", err)
	}
	applied, err := migrateLocked(ctx, conn, steps)
	// The unlock does not take ctx: a cancelled caller must still leave the session unlocked for reuse.
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, uerr := conn.Exec(uctx, `SELECT pg_advisory_unlock($1, hashtext(current_schema()))`, migrationClass); uerr != nil {
		err = errors.Join(err, fmt.Errorf("migrate: release the migration lock: %w", uerr))
	}
	return applied, err
}

func migrateLocked(ctx context.Context, conn *pgx.Conn, steps []migration) (int, error) {
	var schema *string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return 0, fmt.Errorf("migrate: read current schema: %w", err)
	}
	if schema == nil {
		return 0, errors.New("migrate: no schema to create tables in: search_path names none that exists")
	}
	if _, err := conn.Exec(ctx, createMigrationsTable); err != nil {
		return 0, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	var newest *int64
	if err := conn.QueryRow(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&newest); err != nil {
		return 0, fmt.Errorf("migrate: read schema version: %w", err)
	}
	have := int64(0)
	if newest != nil {
		have = *newest
	}
	if err := engine.CheckSchemaVersion(have, len(steps)); err != nil {
		return 0, err
	}
	applied := 0
	for i, m := range steps {
		if int64(i+1) <= have {
			continue
		}
		if err := applyStep(ctx, conn, i+1, m); err != nil {
			return applied, err
		}
		applied++
	}
	return applied, nil
}

func applyStep(ctx context.Context, conn *pgx.Conn, version int, m migration) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, stmt := range m.stmts {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("migrate %d (%s): %w", version, m.name, err)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)`,
			version, m.name, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("migrate %d (%s): record: %w", version, m.name, err)
		}
		return nil
	})
}
