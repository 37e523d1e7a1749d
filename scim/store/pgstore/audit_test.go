package pgstore

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scim-bridge/scim-bridge/scim/store"
	"github.com/scim-bridge/scim-bridge/scim/store/internal/engine"
	"github.com/scim-bridge/scim-bridge/scim/store/pgstore/pgtest"
)

// The audit conformance suite runs from storetest (TestEngines); these tests cover the query plans and the
// upgrade of a database written by earlier releases.

// Every audit statement, and CountLive, must reach its rows through an index on a trail of realistic size: the
// tables hold two namespaces of 20,000 events and 5,000 links each, vacuumed and analysed, and each statement asks
// what the bridge asks (the last ten minutes, a user, a page). CountSince, which runs under the guard's lock before
// every deactivation and deletion, must read its index alone.
func TestAuditStatementsSearchIndexes(t *testing.T) {
	dsn := pgtest.Schema(t)
	s := openStore(t, dsn, "ns")
	const n, start = 20_000, int64(1_700_000_000_000) // an event a second
	for _, stmt := range []string{
		`INSERT INTO audit_events (namespace, seq, time_ms, request_id, credential, operation, user_id, user_name,
			user_name_fold, attributes, result)
		SELECT ns, g, $1::bigint + g * 1000, 'req-' || g, 'token:sha256:9f86d081',
			(ARRAY['create','update','update','update','deactivate','reactivate','delete','link'])[1 + g % 8],
			'u' || (g % 2000), 'User' || (g % 2000) || '@example.com', 'user' || (g % 2000) || '@example.com',
			'["active"]', CASE WHEN g % 10 = 0 THEN 'unavailable' ELSE 'ok' END
		FROM generate_series(1, $2::int) g, unnest(ARRAY['ns', 'other']) ns`,
		`INSERT INTO links (namespace, id, user_name, user_name_fold, deleted, version, created_ms, modified_ms)
		SELECT ns, 'u' || g, 'user' || g, 'user' || g, g % 10 = 0, 1, $1::bigint, $1::bigint
		FROM generate_series(1, $2::int / 4) g, unnest(ARRAY['ns', 'other']) ns`,
	} {
		if _, err := s.pool.Exec(t.Context(), stmt, start, n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.pool.Exec(t.Context(), `VACUUM ANALYZE audit_events, links`); err != nil {
		t.Fatal(err)
	}
	recent := time.UnixMilli(start + (n-600)*1000) // the guard's ten-minute window
	statements := map[string][]any{
		sqlPrune:     {"ns", start + n/20*1000}, // retention drops the oldest few
		sqlCountLive: {"ns"},
	}
	for _, ok := range []bool{false, true} {
		q, args := countSinceQuery("ns", recent, ok, []string{"deactivate", "delete"})
		statements[q] = args
	}
	for _, q := range []store.AuditQuery{
		{},
		{After: n - 100},
		{Since: recent},
		{Since: recent, After: n - 300},
		{User: "u7"},
		{User: "USER7@example.com", Since: recent, After: 3},
	} {
		query, args := eventsQuery("ns", q, engine.DefaultAuditLimit)
		statements[query] = args
	}
	for query, args := range statements {
		rows, err := s.pool.Query(t.Context(), "EXPLAIN "+query, args...)
		if err != nil {
			t.Fatalf("EXPLAIN %s: %v", oneLine(query), err)
		}
		plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("EXPLAIN %s: %v", oneLine(query), err)
		}
		text := strings.Join(plan, "\n  ")
		if strings.Contains(text, "Seq Scan") {
			t.Errorf("%s\nscans a table:\n  %s", oneLine(query), text)
		}
		if strings.HasPrefix(query, "SELECT count(*) FROM audit_events") &&
			!strings.Contains(text, "Index Only Scan using audit_events_operation") {
			t.Errorf("%s\ndoes not read the operation index alone:\n  %s", oneLine(query), text)
		}
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// A database at schema version 1 (links only) or 2 (and groups), as earlier releases left it, gains the audit trail
// and the guard on Open, exactly as a new database has them, and keeps what it held.
func TestMigrateAddsAuditAndGuardToAnOlderDatabase(t *testing.T) {
	for version := 1; version < len(migrations); version++ {
		t.Run(migrations[version-1].name, func(t *testing.T) {
			dsn := pgtest.Schema(t)
			c := connect(t, dsn)
			if _, err := migrate(t.Context(), c, migrations[:version]); err != nil {
				t.Fatal(err)
			}
			at := time.UnixMilli(1_700_000_000_000).UTC()
			old := []store.Link{
				{ID: "1001", UserName: "alice@example.com", Extras: []byte(`{}`), Version: 3, Created: at, Modified: at.Add(time.Hour)},
				{ID: "1002", UserName: "bob@example.com", Version: 1, Created: at, Modified: at},
				{ID: "1003", UserName: "carol@example.com", Deleted: true, Version: 2, Created: at, Modified: at},
			}
			for _, l := range old {
				if err := insert(t.Context(), c, "trainual", l); err != nil {
					t.Fatal(err)
				}
			}

			s := openStore(t, dsn, "trainual")
			var newest int
			if err := c.QueryRow(t.Context(), `SELECT max(version) FROM schema_migrations`).Scan(&newest); err != nil || newest != len(migrations) {
				t.Fatalf("schema version after Open = %d, %v; want %d", newest, err, len(migrations))
			}
			for _, l := range old {
				if got, err := s.Get(t.Context(), l.ID); err != nil || !reflect.DeepEqual(got, l) {
					t.Errorf("link %s after the upgrade = %+v, %v; want %+v", l.ID, got, err, l)
				}
			}
			if n, err := s.CountLive(t.Context()); err != nil || n != 2 {
				t.Errorf("CountLive on the upgraded database = %d, %v; want 2", n, err)
			}
			e, err := s.Append(t.Context(), store.AuditEvent{Time: at, Operation: "deactivate", UserID: "1002",
				UserName: "bob@example.com", Attributes: []string{"active"}, Result: "ok"})
			if err != nil {
				t.Fatal(err)
			}
			if got, err := s.Events(t.Context(), store.AuditQuery{User: "BOB@example.com"}); err != nil || !reflect.DeepEqual(got, []store.AuditEvent{e}) {
				t.Errorf("Events on the upgraded database = %+v, %v; want %+v", got, err, e)
			}
			if n, err := s.CountSince(t.Context(), at, true, "deactivate", "delete"); err != nil || n != 1 {
				t.Errorf("CountSince on the upgraded database = %d, %v; want 1", n, err)
			}
			st, err := s.TripGuard(t.Context(), at, "test")
			if err != nil || !st.Held {
				t.Fatalf("TripGuard on the upgraded database = %+v, %v", st, err)
			}
			if ns, err := s.Namespaces(t.Context()); err != nil || !slices.Equal(ns, []string{"trainual"}) {
				t.Errorf("Namespaces = %v, %v; want [trainual]", ns, err)
			}

			fresh := pgtest.Schema(t)
			openStore(t, fresh, "trainual").Close()
			if got, want := schemaOf(t, dsn), schemaOf(t, fresh); !slices.Equal(got, want) {
				t.Errorf("the upgraded schema\n%s\nis not a new database's\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// Appends from several replicas become visible in seq order: whoever reads a seq has already been able to read
// every smaller one, so paging by After never steps over an event that commits later.
func TestAppendSeqsBecomeVisibleInOrder(t *testing.T) {
	dsn := pgtest.Schema(t)
	writers := []*Store{openStore(t, dsn, "ns"), openStore(t, dsn, "ns")}
	reader := openStore(t, dsn, "ns")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 2*len(writers))
	for i := range 2 * len(writers) {
		w := writers[i%len(writers)]
		go func() {
			for range 50 {
				if _, err := w.Append(ctx, store.AuditEvent{Operation: "update", Result: "ok"}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	running := 2 * len(writers)
	after, seen := int64(0), 0
	for running > 0 || seen < 2*len(writers)*50 {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running--
		default:
		}
		page, err := reader.Events(t.Context(), store.AuditQuery{After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			if e.Seq != after+1 {
				t.Fatalf("read seq %d right after %d: an event between them was not visible yet (or was never given)", e.Seq, after)
			}
			after = e.Seq
			seen++
		}
		if running == 0 && len(page) == 0 && seen < 2*len(writers)*50 {
			t.Fatalf("read %d events, want %d", seen, 2*len(writers)*50)
		}
	}
}
