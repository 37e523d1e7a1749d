package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scim-bridge/scim-bridge/scim/store"
	"github.com/scim-bridge/scim-bridge/scim/store/internal/engine"
)

// Store is a store.Store, store.Locker, store.GroupStore, store.AuditLog, store.Guard and store.LinkCounter on one
// Postgres database (in the schema its search_path selects), bound to one namespace.
type Store struct {
	ns   string
	pool *pgxpool.Pool
	lock *locker

	closeOnce sync.Once
}

var (
	_ store.Store  = (*Store)(nil)
	_ store.Locker = (*Store)(nil)
)

// Open connects to the database at dsn (a postgres:// URL), applies pending migrations under an advisory lock,
// and returns a store that sees only the links, groups, audit trail and guard of namespace.
func Open(ctx context.Context, dsn, namespace string) (*Store, error) {
	// Errors never quote dsn: it can carry a password.
	if dsn == "" {
		return nil, errors.New("pgstore: open: empty dsn")
	}
	if namespace == "" {
		return nil, errors.New("pgstore: open: empty namespace")
	}
	cfg, err := parseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open: %w", err)
	}
	connect := func(ctx context.Context) (*pgx.Conn, error) {
		c, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
		if err != nil {
			return nil, errors.New(redact(err.Error(), dsn))
		}
		return c, nil
	}
	// Migrations run on a connection of their own, closed afterwards: closing it is what guarantees the
	// migration lock is released however migrate ended.
	mc, err := connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open: %w", err)
	}
	var schema string
	_, merr := migrate(ctx, mc, migrations)
	if merr == nil {
		merr = mc.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	_ = mc.Close(cctx)
	cancel()
	if merr != nil {
		return nil, fmt.Errorf("pgstore: open: %w", merr)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open pool: %s", redact(err.Error(), dsn))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: open pool: %s", redact(err.Error(), dsn))
	}
	return &Store{
		ns:   namespace,
		pool: pool,
		lock: &locker{salt: []byte(schema + "\x00" + namespace), connect: connect},
	}, nil
}

const columns = `id, user_name, external_id, email, extras, deleted, version, created_ms, modified_ms`

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, l store.Link) (store.Link, error) {
	if err := engine.ValidateLink(l); err != nil {
		return store.Link{}, fmt.Errorf("pgstore: create: %w", err)
	}
	l.Extras = bytes.Clone(l.Extras)
	l.Version = 1
	l.Created = engine.NowMillis()
	l.Modified = l.Created
	if err := insert(ctx, s.pool, s.ns, l); err != nil {
		return store.Link{}, fmt.Errorf("pgstore: create %q: %w", l.ID, mapErr(err))
	}
	return l, nil
}

type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func insert(ctx context.Context, db execer, ns string, l store.Link) error {
	_, err := db.Exec(ctx, `INSERT INTO links (namespace, id, user_name, user_name_fold, external_id, email,
		email_fold, extras, deleted, version, created_ms, modified_ms)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		ns, l.ID, l.UserName, store.Fold(l.UserName), l.ExternalID, l.Email, store.Fold(l.Email),
		engine.ExtrasArg(l.Extras), l.Deleted, l.Version, l.Created.UnixMilli(), l.Modified.UnixMilli())
	return err
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, id string) (store.Link, error) {
	l, err := scanLink(s.pool.QueryRow(ctx, `SELECT `+columns+` FROM links WHERE namespace = $1 AND id = $2`, s.ns, id))
	if err != nil {
		return store.Link{}, fmt.Errorf("pgstore: get %q: %w", id, err)
	}
	return l, nil
}

// Lookup implements store.Store.
func (s *Store) Lookup(ctx context.Context, by store.Index, value string) ([]store.Link, error) {
	var column string
	switch by {
	case store.ByUserName:
		column, value = "user_name_fold", store.Fold(value)
	case store.ByExternalID:
		column = "external_id"
	case store.ByEmail:
		column, value = "email_fold", store.Fold(value)
	default:
		return nil, fmt.Errorf("pgstore: lookup: unknown index %v", by)
	}
	if value == "" {
		// "" means "none" in these columns; nobody looks up the links that lack a value.
		return []store.Link{}, nil
	}
	// "NOT deleted" is spelled as in the partial indexes so that the planner uses them.
	links, err := s.query(ctx, `SELECT `+columns+` FROM links
		WHERE namespace = $1 AND `+column+` = $2 AND NOT deleted ORDER BY id`, s.ns, value)
	if err != nil {
		return nil, fmt.Errorf("pgstore: lookup by %v: %w", by, err)
	}
	return links, nil
}

// Update implements store.Store. The row is locked (SELECT ... FOR UPDATE) from the read to the commit, so
// concurrent updates of one link from any replica apply one after the other.
func (s *Store) Update(ctx context.Context, id string, fn func(store.Link) (store.Link, error)) (store.Link, error) {
	var next store.Link
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cur, err := scanLink(tx.QueryRow(ctx, `SELECT `+columns+` FROM links WHERE namespace = $1 AND id = $2 FOR UPDATE`,
			s.ns, id))
		if err != nil {
			return fmt.Errorf("pgstore: update %q: %w", id, err)
		}
		if next, err = fn(cur); err != nil {
			return fnError{err}
		}
		if next.ID != id {
			return fmt.Errorf("pgstore: update %q: fn changed the id to %q", id, next.ID)
		}
		if err := engine.ValidateLink(next); err != nil {
			return fmt.Errorf("pgstore: update %q: %w", id, err)
		}
		next.Extras = bytes.Clone(next.Extras)
		next.Version = cur.Version + 1
		next.Created = cur.Created
		next.Modified = engine.NextModified(cur.Modified)
		if _, err := tx.Exec(ctx, `UPDATE links SET user_name = $3, user_name_fold = $4, external_id = $5,
			email = $6, email_fold = $7, extras = $8, deleted = $9, version = $10, modified_ms = $11
			WHERE namespace = $1 AND id = $2`,
			s.ns, id, next.UserName, store.Fold(next.UserName), next.ExternalID, next.Email, store.Fold(next.Email),
			engine.ExtrasArg(next.Extras), next.Deleted, next.Version, next.Modified.UnixMilli()); err != nil {
			return fmt.Errorf("pgstore: update %q: %w", id, mapErr(err))
		}
		return nil
	})
	var fe fnError
	if errors.As(err, &fe) {
		return store.Link{}, fe.err // unchanged, as the interface promises
	}
	if err != nil {
		return store.Link{}, err
	}
	return next, nil
}

// fnError carries fn's error through the transaction so that Update returns it unwrapped.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM links WHERE namespace = $1 AND id = $2`, s.ns, id)
	if err != nil {
		return fmt.Errorf("pgstore: delete %q: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: delete %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, afterID string, limit int) ([]store.Link, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("pgstore: list: limit %d is not positive", limit)
	}
	links, err := s.query(ctx, `SELECT `+columns+` FROM links WHERE namespace = $1 AND id > $2 ORDER BY id LIMIT $3`,
		s.ns, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list: %w", err)
	}
	return links, nil
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("pgstore: ping: %w", err)
	}
	return nil
}

// Close implements store.Store: it ends the pool and the lock session, which releases every lock still held.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.lock.close()
		s.pool.Close()
	})
	return nil
}

// Lock implements store.Locker across every process using the database.
func (s *Store) Lock(ctx context.Context, key string) (func(), error) {
	return s.lock.Lock(ctx, key)
}

// Namespaces lists the namespaces that hold anything in the database (links, groups, an audit trail, even one
// whose events were all pruned, or a guard that holds), in byte order, whatever namespace s is bound to:
// migrate-store copies each of them.
func (s *Store) Namespaces(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT namespace COLLATE "C" FROM links UNION SELECT namespace FROM groups
		UNION SELECT namespace FROM audit_seq UNION SELECT namespace FROM guard WHERE held ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("pgstore: namespaces: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("pgstore: namespaces: %w", err)
	}
	return out, nil
}

func (s *Store) query(ctx context.Context, sql string, args ...any) ([]store.Link, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	links := []store.Link{}
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			return nil, err
		}
		links = append(links, l)
	}
	return links, rows.Err()
}

func scanLink(row pgx.Row) (store.Link, error) {
	var (
		l                 store.Link
		extras            *string
		created, modified int64
	)
	err := row.Scan(&l.ID, &l.UserName, &l.ExternalID, &l.Email, &extras, &l.Deleted, &l.Version, &created, &modified)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Link{}, store.ErrNotFound
	}
	if err != nil {
		return store.Link{}, err
	}
	if extras != nil {
		l.Extras = []byte(*extras)
	}
	l.Created = time.UnixMilli(created).UTC()
	l.Modified = time.UnixMilli(modified).UTC()
	return l, nil
}

// mapErr turns a unique violation (primary key or the live-userName index) into store.ErrConflict, by SQLSTATE
// rather than the message text.
func mapErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	}
	return err
}
