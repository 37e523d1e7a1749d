package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/scim-bridge/scim-bridge/scim/store"
	"github.com/scim-bridge/scim-bridge/scim/store/internal/engine"
)

// Store is a store.Store, store.Locker, store.GroupStore, store.AuditLog, store.Guard and store.LinkCounter on one
// SQLite database, bound to one namespace.
type Store struct {
	ns string
	// w has a single connection: SQLite allows one writer at a time, and queueing writers in the pool is
	// cheaper and fairer than letting them spin on SQLITE_BUSY.
	w *sql.DB
	// r serves reads concurrently with the writer (WAL); it is w itself for an in-memory database.
	r     *sql.DB
	locks store.KeyedMutex
	// st holds the statements every request runs, prepared once: preparing one again each time was a tenth of a
	// lookup's CPU.
	st statements
	// mayHaveMembers is false while the namespace has no group membership at all, which lets GroupsOf answer
	// without a query: most deployments provision users only, and that query was a tenth of a GET's CPU. It is
	// read from the database at Open and set before any membership is written; it is never cleared, so it errs
	// only towards querying. This process is the only writer of its SQLite file's memberships (SQLite serves one
	// instance; several replicas use Postgres, which always queries).
	mayHaveMembers atomic.Bool

	closeOnce sync.Once
	closeErr  error
}

var (
	_ store.Store  = (*Store)(nil)
	_ store.Locker = (*Store)(nil)
)

// Open opens (creating if needed) the SQLite database at dsn, a file path or file: URI, or ":memory:", applies
// pending migrations, and returns a store that sees only the links, groups, audit trail and guard of namespace.
func Open(ctx context.Context, dsn, namespace string) (*Store, error) {
	// Errors never quote dsn: the Postgres store shares this contract and its DSN can carry a password.
	if dsn == "" {
		return nil, errors.New("sqlstore: open: empty dsn")
	}
	if namespace == "" {
		return nil, errors.New("sqlstore: open: empty namespace")
	}
	w, err := openPool(ctx, withParams(dsn, writerParams), 1)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open: %w", redact(err, dsn))
	}
	if _, err := migrate(ctx, w, migrations); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlstore: open: %w", redact(err, dsn)), w.Close())
	}
	s := &Store{ns: namespace, w: w, r: w}
	if !inMemory(dsn) {
		if s.r, err = openPool(ctx, withParams(dsn, readerParams), max(4, runtime.GOMAXPROCS(0))); err != nil {
			return nil, errors.Join(fmt.Errorf("sqlstore: open readers: %w", redact(err, dsn)), w.Close())
		}
	}
	if err := s.st.prepare(ctx, s.r, s.w); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlstore: open: prepare: %w", redact(err, dsn)), s.Close())
	}
	var hasMembers bool
	if err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM group_members WHERE namespace = $1)`, namespace).Scan(&hasMembers); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlstore: open: memberships: %w", redact(err, dsn)), s.Close())
	}
	s.mayHaveMembers.Store(hasMembers)
	return s, nil
}

// statements are the store's hot statements, prepared on the pool that runs them. database/sql prepares each on a
// connection the first time it runs there and keeps it.
type statements struct {
	get, getW, create, update       *sql.Stmt
	byUserName, byExternal, byEmail *sql.Stmt
	nextSeq, insertEvent            *sql.Stmt // Append, after every provisioning action
	groupsOf                        *sql.Stmt // GroupsOf
	all                             []*sql.Stmt
}

const (
	sqlGet    = `SELECT ` + columns + ` FROM links WHERE namespace = $1 AND id = $2`
	sqlCreate = `INSERT INTO links (namespace, id, user_name, user_name_fold, external_id, email,
		email_fold, extras, deleted, version, created_ms, modified_ms)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	sqlUpdate = `UPDATE links SET user_name = $3, user_name_fold = $4, external_id = $5,
		email = $6, email_fold = $7, extras = $8, deleted = $9, version = $10, modified_ms = $11
		WHERE namespace = $1 AND id = $2`
)

// sqlLookup selects the live links whose column equals $2; "deleted = 0" is spelled exactly as in the partial
// indexes so both engines can use them.
func sqlLookup(column string) string {
	return `SELECT ` + columns + ` FROM links
		WHERE namespace = $1 AND ` + column + ` = $2 AND deleted = 0 ORDER BY id`
}

func (st *statements) prepare(ctx context.Context, r, w *sql.DB) error {
	for _, p := range []struct {
		dst   **sql.Stmt
		db    *sql.DB
		query string
	}{
		{&st.get, r, sqlGet}, {&st.getW, w, sqlGet}, {&st.create, w, sqlCreate}, {&st.update, w, sqlUpdate},
		{&st.byUserName, r, sqlLookup("user_name_fold")}, {&st.byExternal, r, sqlLookup("external_id")},
		{&st.byEmail, r, sqlLookup("email_fold")},
		{&st.nextSeq, w, sqlNextSeq}, {&st.insertEvent, w, sqlInsertEvent},
		{&st.groupsOf, r, sqlGroupsOf}, // every user rendered asks for its groups
	} {
		stmt, err := p.db.PrepareContext(ctx, p.query)
		if err != nil {
			return err
		}
		*p.dst = stmt
		st.all = append(st.all, stmt)
	}
	return nil
}

func (st *statements) close() error {
	var errs []error
	for _, stmt := range st.all {
		errs = append(errs, stmt.Close())
	}
	st.all = nil
	return errors.Join(errs...)
}

func openPool(ctx context.Context, dsn string, conns int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	// An in-memory database lives exactly as long as its connection, so connections are never recycled.
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return db, nil
}

const columns = `id, user_name, external_id, email, extras, deleted, version, created_ms, modified_ms`

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, l store.Link) (store.Link, error) {
	if err := engine.ValidateLink(l); err != nil {
		return store.Link{}, fmt.Errorf("sqlstore: create: %w", err)
	}
	l.Extras = bytes.Clone(l.Extras)
	l.Version = 1
	l.Created = engine.NowMillis()
	l.Modified = l.Created
	_, err := s.st.create.ExecContext(ctx,
		s.ns, l.ID, l.UserName, store.Fold(l.UserName), l.ExternalID, l.Email, store.Fold(l.Email),
		engine.ExtrasArg(l.Extras), boolArg(l.Deleted), l.Version, l.Created.UnixMilli(), l.Modified.UnixMilli())
	if err != nil {
		return store.Link{}, fmt.Errorf("sqlstore: create %q: %w", l.ID, mapErr(err))
	}
	return l, nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, id string) (store.Link, error) {
	l, err := scanLink(s.st.get.QueryRowContext(ctx, s.ns, id))
	if err != nil {
		return store.Link{}, fmt.Errorf("sqlstore: get %q: %w", id, err)
	}
	return l, nil
}

// Lookup implements store.Store.
func (s *Store) Lookup(ctx context.Context, by store.Index, value string) ([]store.Link, error) {
	var stmt *sql.Stmt
	switch by {
	case store.ByUserName:
		stmt, value = s.st.byUserName, store.Fold(value)
	case store.ByExternalID:
		stmt = s.st.byExternal
	case store.ByEmail:
		stmt, value = s.st.byEmail, store.Fold(value)
	default:
		return nil, fmt.Errorf("sqlstore: lookup: unknown index %v", by)
	}
	if value == "" {
		// "" means "none" in these columns; nobody looks up the links that lack a value.
		return []store.Link{}, nil
	}
	rows, err := stmt.QueryContext(ctx, s.ns, value)
	links, err := collect(rows, err)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: lookup by %v: %w", by, err)
	}
	return links, nil
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, id string, fn func(store.Link) (store.Link, error)) (_ store.Link, err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return store.Link{}, fmt.Errorf("sqlstore: update %q: begin: %w", id, err)
	}
	defer endTx(tx, &err)
	cur, err := scanLink(tx.StmtContext(ctx, s.st.getW).QueryRowContext(ctx, s.ns, id))
	if err != nil {
		return store.Link{}, fmt.Errorf("sqlstore: update %q: %w", id, err)
	}
	next, err := fn(cur)
	if err != nil {
		return store.Link{}, err
	}
	if next.ID != id {
		return store.Link{}, fmt.Errorf("sqlstore: update %q: fn changed the id to %q", id, next.ID)
	}
	if err := engine.ValidateLink(next); err != nil {
		return store.Link{}, fmt.Errorf("sqlstore: update %q: %w", id, err)
	}
	next.Extras = bytes.Clone(next.Extras)
	next.Version = cur.Version + 1
	next.Created = cur.Created
	next.Modified = engine.NextModified(cur.Modified)
	if _, err := tx.StmtContext(ctx, s.st.update).ExecContext(ctx,
		s.ns, id, next.UserName, store.Fold(next.UserName), next.ExternalID, next.Email, store.Fold(next.Email),
		engine.ExtrasArg(next.Extras), boolArg(next.Deleted), next.Version, next.Modified.UnixMilli()); err != nil {
		return store.Link{}, fmt.Errorf("sqlstore: update %q: %w", id, mapErr(err))
	}
	if err := tx.Commit(); err != nil {
		return store.Link{}, fmt.Errorf("sqlstore: update %q: commit: %w", id, mapErr(err))
	}
	return next, nil
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM links WHERE namespace = $1 AND id = $2`, s.ns, id)
	if err != nil {
		return fmt.Errorf("sqlstore: delete %q: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: delete %q: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: delete %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, afterID string, limit int) ([]store.Link, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("sqlstore: list: limit %d is not positive", limit)
	}
	links, err := s.query(ctx, `SELECT `+columns+` FROM links WHERE namespace = $1 AND id > $2 ORDER BY id LIMIT $3`,
		s.ns, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list: %w", err)
	}
	return links, nil
}

// getManyBatch bounds the ids of one GetMany query, far below SQLite's limit on bound parameters.
const getManyBatch = 500

// GetMany returns the links of those ids that exist (tombstones included), keyed by id, reading up to 500 a query:
// a page of a list costs one query instead of one per user.
func (s *Store) GetMany(ctx context.Context, ids []string) (map[string]store.Link, error) {
	out := make(map[string]store.Link, len(ids))
	for len(ids) > 0 {
		batch := ids[:min(len(ids), getManyBatch)]
		ids = ids[len(batch):]
		var q strings.Builder
		q.WriteString(`SELECT ` + columns + ` FROM links WHERE namespace = $1 AND id IN (`)
		args := make([]any, 0, len(batch)+1)
		args = append(args, s.ns)
		for i, id := range batch {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("$" + strconv.Itoa(i+2))
			args = append(args, id)
		}
		q.WriteString(")")
		links, err := s.query(ctx, q.String(), args...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: get %d links: %w", len(batch), err)
		}
		for _, l := range links {
			out[l.ID] = l
		}
	}
	return out, nil
}

// Ping implements store.Store. It checks both pools: writes and reads fail independently.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore: ping: %w", err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore: ping readers: %w", err)
	}
	return nil
}

// Close implements store.Store. Later calls return the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		errSt := s.st.close()
		var errR error
		if s.r != s.w {
			errR = s.r.Close()
		}
		if err := errors.Join(errSt, errR, s.w.Close()); err != nil {
			s.closeErr = fmt.Errorf("sqlstore: close: %w", err)
		}
	})
	return s.closeErr
}

// Lock implements store.Locker within this process only; a store shared by replicas needs a database lock
// (the Postgres store's advisory locks).
func (s *Store) Lock(ctx context.Context, key string) (func(), error) {
	return s.locks.Lock(ctx, key)
}

func (s *Store) query(ctx context.Context, query string, args ...any) ([]store.Link, error) {
	return collect(s.r.QueryContext(ctx, query, args...))
}

// collect reads every link of rows (the result of a query that may have failed with err) and closes them.
func collect(rows *sql.Rows, err error) ([]store.Link, error) {
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

func scanLink(row interface{ Scan(...any) error }) (store.Link, error) {
	var (
		l                 store.Link
		deleted           int64
		created, modified int64
	)
	// Extras scans straight into its []byte (a copy; NULL stays nil), not through a string copied again.
	err := row.Scan(&l.ID, &l.UserName, &l.ExternalID, &l.Email, &l.Extras, &deleted, &l.Version, &created, &modified)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Link{}, store.ErrNotFound
	}
	if err != nil {
		return store.Link{}, err
	}
	l.Deleted = deleted != 0
	l.Created = time.UnixMilli(created).UTC()
	l.Modified = time.UnixMilli(modified).UTC()
	return l, nil
}

func boolArg(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// mapErr turns a unique-constraint violation (primary key or the live-userName index) into store.ErrConflict,
// by the extended result code rather than the message text.
func mapErr(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		}
	}
	return err
}
