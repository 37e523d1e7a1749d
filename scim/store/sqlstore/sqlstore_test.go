package sqlstore

import (
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/scim-bridge/scim-bridge/scim/store"
	"github.com/scim-bridge/scim-bridge/scim/store/storetest"
)

func openStore(t testing.TB, dsn, ns string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dsn, ns)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestSQLiteFile(t *testing.T) {
	dir := t.TempDir()
	// One database file per test, so that New, Reopen and NewNamespace within a test meet in one database.
	path := func(t *testing.T) string {
		return filepath.Join(dir, fmt.Sprintf("%x.db", sha256.Sum256([]byte(t.Name()))))
	}
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) store.Store { return openStore(t, path(t), "test") },
		Reopen: func(t *testing.T, s store.Store) store.Store {
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return openStore(t, path(t), "test")
		},
		NewNamespace: func(t *testing.T, ns string) store.Store { return openStore(t, path(t), ns) },
	})
}

func TestSQLiteMemory(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) store.Store { return openStore(t, ":memory:", "test") },
	})
}

func TestReopenAppliesNoMigrationTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "links.db")
	for range 3 {
		s, err := Open(t.Context(), path, "test")
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	db := rawDB(t, path)
	var want, got []int
	for i := range migrations {
		want = append(want, i+1)
	}
	rows, err := db.QueryContext(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("recorded versions after three opens = %v, want %v", got, want)
	}
}

func TestMigrate(t *testing.T) {
	createT := migration{name: "create t", stmts: []string{`CREATE TABLE t (n integer NOT NULL)`}}
	insertOne := migration{name: "insert one", stmts: []string{`INSERT INTO t (n) VALUES (1)`}}
	broken := migration{name: "broken", stmts: []string{`CREATE TABLE u (n integer)`, `NOT SQL`}}

	t.Run("a second run applies only the steps added since the first", func(t *testing.T) {
		db := rawDB(t, filepath.Join(t.TempDir(), "m.db"))
		steps := []migration{createT, insertOne}
		for _, tc := range []struct {
			steps []migration
			want  int
		}{{steps[:1], 1}, {steps, 1}, {steps, 0}} {
			n, err := migrate(t.Context(), db, tc.steps)
			if err != nil {
				t.Fatalf("migrate %d steps: %v", len(tc.steps), err)
			}
			if n != tc.want {
				t.Errorf("migrate %d steps applied %d, want %d", len(tc.steps), n, tc.want)
			}
		}
		if n := count(t, db, `SELECT count(*) FROM t`); n != 1 {
			t.Errorf("rows inserted by the insert step = %d, want 1 (applied once)", n)
		}
	})
	t.Run("a failing step rolls back entirely and is not recorded", func(t *testing.T) {
		db := rawDB(t, filepath.Join(t.TempDir(), "m.db"))
		if _, err := migrate(t.Context(), db, []migration{createT, broken}); err == nil {
			t.Fatal("migrate with a broken step succeeded")
		}
		if n := count(t, db, `SELECT count(*) FROM schema_migrations`); n != 1 {
			t.Errorf("recorded steps = %d, want 1 (only the good one)", n)
		}
		if n := count(t, db, `SELECT count(*) FROM sqlite_master WHERE name = 'u'`); n != 0 {
			t.Error("the broken step's first statement was kept")
		}
	})
	t.Run("a database migrated by a newer binary is refused", func(t *testing.T) {
		db := rawDB(t, filepath.Join(t.TempDir(), "m.db"))
		if _, err := migrate(t.Context(), db, []migration{createT, insertOne}); err != nil {
			t.Fatal(err)
		}
		if _, err := migrate(t.Context(), db, []migration{createT}); err == nil {
			t.Fatal("migrate with fewer steps than recorded succeeded")
		}
	})
}

func TestOpenConfiguresConnections(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "links.db"), "test")
	tests := []struct {
		name string
		db   *sql.DB
		sql  string
		want string
	}{
		{"the database is in WAL mode", s.w, `PRAGMA journal_mode`, "wal"},
		{"writers wait for a busy database", s.w, `PRAGMA busy_timeout`, "5000"},
		{"writers enforce foreign keys", s.w, `PRAGMA foreign_keys`, "1"},
		{"readers wait for a busy database", s.r, `PRAGMA busy_timeout`, "5000"},
		{"readers cannot write", s.r, `PRAGMA query_only`, "1"},
		{"readers keep a small page cache", s.r, `PRAGMA cache_size`, "-512"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			if err := tc.db.QueryRowContext(t.Context(), tc.sql).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("%s = %q, want %q", tc.sql, got, tc.want)
			}
		})
	}
}

func TestOpenRejectsBadArguments(t *testing.T) {
	const secret = "hunter2"
	tests := []struct {
		name, dsn, ns string
	}{
		{"an empty namespace", ":memory:", ""},
		{"an empty dsn", "", "test"},
		{"a directory that does not exist", filepath.Join(t.TempDir(), "missing", secret+".db"), "test"},
		{"an unknown driver parameter", "file:" + filepath.Join(t.TempDir(), "x.db") + "?_txlock=" + secret, "test"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.Context(), tc.dsn, tc.ns)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if strings.Contains(err.Error(), secret) || (tc.dsn != "" && strings.Contains(err.Error(), tc.dsn)) {
				t.Errorf("error %q quotes the dsn", err)
			}
		})
	}
}

func TestInMemory(t *testing.T) {
	tests := []struct {
		dsn  string
		want bool
	}{
		{":memory:", true},
		{"file::memory:", true},
		{"file::memory:?cache=shared", true},
		{"file:links?mode=memory&cache=shared", true},
		{"links.db", false},
		{"/var/lib/scim-bridge/links.db", false},
		{"file:links.db?mode=rwc", false},
	}
	for _, tc := range tests {
		if got := inMemory(tc.dsn); got != tc.want {
			t.Errorf("inMemory(%q) = %v, want %v", tc.dsn, got, tc.want)
		}
	}
}

// Fifty goroutines mixing every operation on a file database: a pool mistake (a reader waiting on the writer's
// only connection while holding what the writer needs) shows up here as a hang, and data races under -race.
func TestConcurrentReadersAndWritersDoNotDeadlock(t *testing.T) {
	for _, dsn := range []string{filepath.Join(t.TempDir(), "links.db"), ":memory:"} {
		s := openStore(t, dsn, "test")
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for i := range 50 {
			wg.Go(func() {
				errs <- exercise(t, s, i)
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		links, err := s.List(t.Context(), "", 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(links) != 25 { // odd goroutines delete their link
			t.Errorf("links left = %d, want 25", len(links))
		}
	}
}

func exercise(t *testing.T, s *Store, i int) error {
	ctx := t.Context()
	id := fmt.Sprintf("%03d", i)
	if _, err := s.Create(ctx, store.Link{ID: id, UserName: "user" + id, ExternalID: "shared"}); err != nil {
		return err
	}
	for range 5 {
		if _, err := s.Get(ctx, id); err != nil {
			return err
		}
		if _, err := s.Lookup(ctx, store.ByExternalID, "shared"); err != nil {
			return err
		}
		if _, err := s.List(ctx, "", 10); err != nil {
			return err
		}
		if _, err := s.Update(ctx, id, func(l store.Link) (store.Link, error) {
			l.Email = l.UserName + "@example.com"
			return l, nil
		}); err != nil {
			return err
		}
	}
	if got, err := s.Lookup(ctx, store.ByUserName, "USER"+id); err != nil || len(got) != 1 || got[0].Version != 6 {
		return errors.Join(fmt.Errorf("lookup %s = %d links", id, len(got)), err)
	}
	if i%2 == 1 {
		return s.Delete(ctx, id)
	}
	return s.Ping(ctx)
}

func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := openPool(t.Context(), withParams(path, writerParams), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func count(t *testing.T, db *sql.DB, query string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(t.Context(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestRedact(t *testing.T) {
	driverErr := errors.New(`unknown _txlock "p%40ss" and "p@ss"`)
	tests := []struct {
		name, dsn, want string
		same            bool
	}{
		{"a quoted parameter value is hidden, escaped or not", "file:x.db?_txlock=p%40ss",
			`unknown _txlock "[redacted]" and "[redacted]"`, false},
		{"an error that quotes nothing from the dsn is returned as is", "links.db?_txlock=other",
			driverErr.Error(), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := redact(driverErr, tc.dsn)
			if got.Error() != tc.want {
				t.Errorf("redact = %q, want %q", got, tc.want)
			}
			if !errors.Is(got, driverErr) {
				t.Error("redact broke the error chain")
			}
			if tc.same && got != driverErr {
				t.Error("redact wrapped an error it did not change")
			}
		})
	}
}
