package storetest_test

import (
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/scim-bridge/scim-bridge/scim/store"
	"github.com/scim-bridge/scim-bridge/scim/store/pgstore"
	"github.com/scim-bridge/scim-bridge/scim/store/pgstore/pgtest"
	"github.com/scim-bridge/scim-bridge/scim/store/sqlstore"
	"github.com/scim-bridge/scim-bridge/scim/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestEngines is the conformance run that matters: both engines, every case, nothing skipped on either.
func TestEngines(t *testing.T) {
	storetest.RunEngines(t,
		storetest.Engine{Name: "sqlite", Harness: sqliteHarness(t)},
		storetest.Engine{Name: "postgres", Harness: postgresHarness()},
	)
}

func sqliteHarness(t *testing.T) storetest.Harness {
	dir := t.TempDir()
	// One database file per test, so that New, Reopen and NewNamespace within a test meet in one database.
	path := func(t *testing.T) string {
		return filepath.Join(dir, fmt.Sprintf("%x.db", sha256.Sum256([]byte(t.Name()))))
	}
	return harness(func(t *testing.T, ns string) (store.Store, error) {
		return sqlstore.Open(t.Context(), path(t), ns)
	})
}

// postgresHarness gives each test a schema of its own, so that New, Reopen and NewNamespace within a test meet
// in one database and tests never see each other's links.
func postgresHarness() storetest.Harness {
	var mu sync.Mutex
	schemas := map[*testing.T]string{}
	url := func(t *testing.T) string {
		mu.Lock()
		defer mu.Unlock()
		u, ok := schemas[t]
		if !ok {
			u = pgtest.Schema(t)
			schemas[t] = u
			t.Cleanup(func() {
				mu.Lock()
				defer mu.Unlock()
				delete(schemas, t)
			})
		}
		return u
	}
	return harness(func(t *testing.T, ns string) (store.Store, error) {
		return pgstore.Open(t.Context(), url(t), ns)
	})
}

// harness builds a Harness on an open that reaches the test's own database, so that New, Reopen and NewNamespace
// within a test meet there.
func harness(open func(t *testing.T, ns string) (store.Store, error)) storetest.Harness {
	openT := func(t *testing.T, ns string) store.Store {
		s, err := open(t, ns)
		if err != nil {
			t.Fatalf("open %q: %v", ns, err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	return storetest.Harness{
		New: func(t *testing.T) store.Store { return openT(t, "test") },
		Reopen: func(t *testing.T, s store.Store) store.Store {
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return openT(t, "test")
		},
		NewNamespace: openT,
	}
}
