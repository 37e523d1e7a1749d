package pgstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scim-bridge/scim-bridge/scim/store"
	"github.com/scim-bridge/scim-bridge/scim/store/pgstore/pgtest"
)

// The conformance suite runs on this store from scim/store/storetest (TestEngines), beside SQLite; these tests
// cover what only a store shared by processes has.

func TestMain(m *testing.M) { pgtest.Main(m) }

func openStore(t testing.TB, dsn, ns string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dsn, ns)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func connect(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// assertHeld checks that key cannot be taken through l now; the wait only bounds the check.
func assertHeld(t *testing.T, l store.Locker, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	unlock, err := l.Lock(ctx, key)
	if err == nil {
		unlock()
		t.Fatalf("Lock(%q) succeeded while another store held it", key)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock(%q) error = %v, want DeadlineExceeded", key, err)
	}
}

func mustLock(t *testing.T, l store.Locker, key string) func() {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	unlock, err := l.Lock(ctx, key)
	if err != nil {
		t.Fatalf("Lock(%q): %v", key, err)
	}
	return unlock
}

// Two stores on one database stand for two replicas: each has its own pool and lock session.
func TestLockHoldsAcrossStores(t *testing.T) {
	dsn := pgtest.Schema(t)
	a, b := openStore(t, dsn, "trainual"), openStore(t, dsn, "trainual")
	other := openStore(t, dsn, "thoughtindustries")

	unlock := mustLock(t, a, "user:alice")
	assertHeld(t, b, "user:alice")
	// The same key in another namespace is another person.
	mustLock(t, other, "user:alice")()
	mustLock(t, b, "user:bob")()

	// A waiter in the other replica gets the key as soon as it is released.
	got := make(chan error, 1)
	go func() {
		u, err := b.Lock(t.Context(), "user:alice")
		if err == nil {
			u()
		}
		got <- err
	}()
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("waiter: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiter in the other store did not get the key after it was released")
	}
}

func TestLockExcludesAcrossStores(t *testing.T) {
	dsn := pgtest.Schema(t)
	stores := []*Store{openStore(t, dsn, "ns"), openStore(t, dsn, "ns"), openStore(t, dsn, "ns")}
	const goroutines, rounds = 9, 20
	var (
		inside, overlaps atomic.Int32
		counter          int // unsynchronised on purpose: only the Locker orders access
		wg               sync.WaitGroup
		errs             = make(chan error, goroutines)
	)
	for i := range goroutines {
		s := stores[i%len(stores)]
		wg.Go(func() {
			for range rounds {
				unlock, err := s.Lock(t.Context(), "id:1")
				if err != nil {
					errs <- err
					return
				}
				if inside.Add(1) != 1 {
					overlaps.Add(1)
				}
				counter++
				time.Sleep(100 * time.Microsecond)
				inside.Add(-1)
				unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Lock: %v", err)
	}
	if overlaps.Load() != 0 || counter != goroutines*rounds {
		t.Errorf("overlapping holders = %d, counter = %d; want 0 and %d", overlaps.Load(), counter, goroutines*rounds)
	}
}

// Postgres releases a session's locks when the session ends, which is what happens when a replica dies; the
// survivor then gets the key, and the store whose session was cut reconnects for its next lock.
func TestLockSessionLoss(t *testing.T) {
	dsn := pgtest.Schema(t)
	a, b := openStore(t, dsn, "ns"), openStore(t, dsn, "ns")
	mustLock(t, a, "user:held")
	assertHeld(t, b, "user:held")

	admin := connect(t, dsn)
	var pid int32
	if err := admin.QueryRow(t.Context(), `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted
		AND ((classid::bigint << 32) | objid::bigint) = $1`, a.lock.keyID("user:held")).Scan(&pid); err != nil {
		t.Fatalf("find the session holding the lock: %v", err)
	}
	if _, err := admin.Exec(t.Context(), `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	mustLock(t, b, "user:held")()
	mustLock(t, a, "user:other")()
}

// A waiter that gives up must not leave the key held when the holder lets go.
func TestLockCancelledWaiterAcrossStores(t *testing.T) {
	dsn := pgtest.Schema(t)
	a, b := openStore(t, dsn, "ns"), openStore(t, dsn, "ns")
	unlock := mustLock(t, a, "k")
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		u, err := b.Lock(ctx, "k")
		if err == nil {
			u()
		}
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond) // lets the waiter poll at least once; the outcome does not depend on it
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: error = %v, want context.Canceled", err)
	}
	unlock()
	mustLock(t, a, "k")()
	mustLock(t, b, "k")()
}

// Replicas starting at once against a new database must all come up, and every step must be applied once.
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	dsn := pgtest.Schema(t)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			s, err := Open(t.Context(), dsn, fmt.Sprint("ns", i))
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
		}
	}
	rows, err := connect(t, dsn).Query(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	var want []int32
	for i := range migrations {
		want = append(want, int32(i+1))
	}
	if !slices.Equal(got, want) {
		t.Errorf("recorded versions = %v, want %v", got, want)
	}
}

func TestMigrate(t *testing.T) {
	createT := migration{name: "create t", stmts: []string{`CREATE TABLE t (n integer NOT NULL)`}}
	insertOne := migration{name: "insert one", stmts: []string{`INSERT INTO t (n) VALUES (1)`}}
	broken := migration{name: "broken", stmts: []string{`CREATE TABLE u (n integer)`, `NOT SQL`}}
	count := func(t *testing.T, c *pgx.Conn, sql string) int {
		t.Helper()
		var n int
		if err := c.QueryRow(t.Context(), sql).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}

	t.Run("a second run applies only the steps added since the first", func(t *testing.T) {
		c := connect(t, pgtest.Schema(t))
		steps := []migration{createT, insertOne}
		for _, tc := range []struct {
			steps []migration
			want  int
		}{{steps[:1], 1}, {steps, 1}, {steps, 0}} {
			n, err := migrate(t.Context(), c, tc.steps)
			if err != nil {
				t.Fatalf("migrate %d steps: %v", len(tc.steps), err)
			}
			if n != tc.want {
				t.Errorf("migrate %d steps applied %d, want %d", len(tc.steps), n, tc.want)
			}
		}
		if n := count(t, c, `SELECT count(*) FROM t`); n != 1 {
			t.Errorf("rows inserted by the insert step = %d, want 1 (applied once)", n)
		}
	})
	t.Run("a failing step rolls back entirely, is not recorded, and releases the lock", func(t *testing.T) {
		c := connect(t, pgtest.Schema(t))
		if _, err := migrate(t.Context(), c, []migration{createT, broken}); err == nil {
			t.Fatal("migrate with a broken step succeeded")
		}
		if n := count(t, c, `SELECT count(*) FROM schema_migrations`); n != 1 {
			t.Errorf("recorded steps = %d, want 1 (only the good one)", n)
		}
		if n := count(t, c, `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'u'`); n != 0 {
			t.Error("the broken step's first statement was kept")
		}
		if n := count(t, c, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()`); n != 0 {
			t.Errorf("advisory locks still held by the session = %d, want 0", n)
		}
	})
	t.Run("a database migrated by a newer binary is refused", func(t *testing.T) {
		dsn := pgtest.Schema(t)
		openStore(t, dsn, "ns").Close()
		if _, err := connect(t, dsn).Exec(t.Context(),
			`INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, 'from the future', 0)`, len(migrations)+1); err != nil {
			t.Fatal(err)
		}
		_, err := Open(t.Context(), dsn, "ns")
		if err == nil || !strings.Contains(err.Error(), "newer than this binary") {
			t.Fatalf("Open of a newer database: error = %v, want one saying it is newer", err)
		}
	})
	t.Run("a search_path naming no schema is reported, not mistaken for an empty database", func(t *testing.T) {
		_, err := Open(t.Context(), pgtest.WithParam(pgtest.URL(t), "search_path", "no_such_schema"), "ns")
		if err == nil || !strings.Contains(err.Error(), "search_path") {
			t.Fatalf("Open: error = %v, want one naming search_path", err)
		}
	})
}

// The URL is the one place settings come from: pool parameters reach the pool, and everything else reaches the
// server as a run-time setting.
func TestURLSettings(t *testing.T) {
	dsn := pgtest.Schema(t)
	tests := []struct {
		name  string
		param string
		value string
		check func(t *testing.T, s *Store)
	}{
		{"pool_max_conns sizes the pool", "pool_max_conns", "7", func(t *testing.T, s *Store) {
			if got := s.pool.Config().MaxConns; got != 7 {
				t.Errorf("MaxConns = %d, want 7", got)
			}
		}},
		{"pool_max_conn_idle_time is kept", "pool_max_conn_idle_time", "90s", func(t *testing.T, s *Store) {
			if got := s.pool.Config().MaxConnIdleTime; got != 90*time.Second {
				t.Errorf("MaxConnIdleTime = %v, want 90s", got)
			}
		}},
		{"a server setting reaches every pooled connection", "statement_timeout", "1234", func(t *testing.T, s *Store) {
			var got string
			if err := s.pool.QueryRow(t.Context(), `SHOW statement_timeout`).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != "1234ms" {
				t.Errorf("statement_timeout = %q, want 1234ms", got)
			}
		}},
		{"application_name names the replica's sessions", "application_name", "scim-bridge-a", func(t *testing.T, s *Store) {
			var got string
			if err := s.pool.QueryRow(t.Context(), `SELECT current_setting('application_name')`).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != "scim-bridge-a" {
				t.Errorf("application_name = %q", got)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, openStore(t, pgtest.WithParam(dsn, tc.param, tc.value), "ns"))
		})
	}
}

func TestOpenErrorsNeverQuoteThePassword(t *testing.T) {
	const secret = "hunter2-s3cret"
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}()
	tests := []struct{ name, dsn string }{
		{"nothing listens at the address", "postgres://u:" + secret + "@" + closed + "/db?sslmode=disable&connect_timeout=2"},
		{"a password parameter and nothing listening", "postgres://u@" + closed + "/db?sslmode=disable&connect_timeout=2&password=" + secret},
		{"a malformed pool parameter", "postgres://u:" + secret + "@" + closed + "/db?pool_max_conns=" + secret},
		{"a malformed port", "postgres://u:" + secret + "@127.0.0.1:notaport/db"},
		{"an unknown server setting", pgtest.WithParam(pgtest.WithParam(pgtest.URL(t), "password", secret), "no_such_setting", "1")},
		{"not a postgres URL", "mysql://u:" + secret + "@host/db"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.Context(), tc.dsn, "ns")
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q quotes the password", err)
			}
		})
	}
}

func TestRedacted(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://bridge:pw@db:5432/links?sslmode=require", "postgres://bridge:redacted@db:5432/links?sslmode=require"},
		{"postgres://bridge@db/links?password=pw&pool_max_conns=8", "postgres://bridge@db/links?password=redacted&pool_max_conns=8"},
		{"postgresql://db/links", "postgresql://db/links"},
		{"/var/lib/scim-bridge/links.db", "/var/lib/scim-bridge/links.db"},
	}
	for _, tc := range tests {
		if got := Redacted(tc.in); got != tc.want {
			t.Errorf("Redacted(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
