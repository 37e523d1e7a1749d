package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scim-bridge/scim-bridge/scim/store"
	"github.com/scim-bridge/scim-bridge/scim/store/pgstore"
	"github.com/scim-bridge/scim-bridge/scim/store/pgstore/pgtest"
	"github.com/scim-bridge/scim-bridge/scim/store/sqlstore"
)

// releaseFixture builds a SQLite database from the newest release fixture of the SQLite store: links as a
// released scim-bridge wrote them, in two namespaces, with tombstones and versions above 1.
func releaseFixture(t *testing.T) string {
	t.Helper()
	paths, err := filepath.Glob("../../scim/store/sqlstore/testdata/release-*.sql")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no release fixture (%v)", err)
	}
	script, err := os.ReadFile(paths[len(paths)-1])
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "scim-bridge.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), string(script)); err != nil {
		t.Fatal(err)
	}
	return path
}

// contents is what one namespace of a store holds, read through the store's API.
type contents struct {
	Links   []store.Link
	Groups  []store.Group
	Members map[string][]string // by group id
	Events  []store.AuditEvent
	Guard   store.GuardState
	LastSeq int64
}

// everything reads every namespace of the database open opens, through the store API, a page at a time.
func everything(t *testing.T, open func(ns string) (sourceStore, error)) map[string]contents {
	t.Helper()
	s, err := open("probe")
	if err != nil {
		t.Fatal(err)
	}
	namespaces, err := s.Namespaces(t.Context())
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]contents{}
	for _, ns := range namespaces {
		s, err := open(ns)
		if err != nil {
			t.Fatal(err)
		}
		c := contents{Members: map[string][]string{}}
		fail := func(err error) { t.Fatalf("%s: %v", ns, err) }
		pages(func(after string) ([]store.Link, error) { return s.List(t.Context(), after, copyPage) },
			func(l store.Link) string { return l.ID },
			func(l store.Link) bool { c.Links = append(c.Links, l); return true }, fail)
		eachGroup(t.Context(), s, func(g store.Group) bool {
			c.Groups = append(c.Groups, g)
			pages(func(after string) ([]string, error) { return s.Members(t.Context(), g.ID, after, copyPage) },
				func(id string) string { return id },
				func(id string) bool { c.Members[g.ID] = append(c.Members[g.ID], id); return true }, fail)
			return true
		}, fail)
		pages(func(after int64) ([]store.AuditEvent, error) {
			return s.Events(t.Context(), store.AuditQuery{After: after, Limit: copyPage})
		}, func(e store.AuditEvent) int64 { return e.Seq },
			func(e store.AuditEvent) bool { c.Events = append(c.Events, e); return true }, fail)
		if c.Guard, err = s.GuardState(t.Context()); err != nil {
			t.Fatal(err)
		}
		if c.LastSeq, err = s.LastAuditSeq(t.Context()); err != nil {
			t.Fatal(err)
		}
		s.Close()
		out[ns] = c
	}
	return out
}

// fullSource is the release fixture (links in two namespaces, tombstones, versions above 1) opened and migrated by
// today's code, holding as well what today's store holds beyond links, in amounts that take several pages to read:
//   - trainual: two groups, one of 1,200 members (the fixture's users among them); 560 audit events, the oldest
//     pruned, with nil and empty attribute lists; a guard that holds;
//   - thoughtindustries: an audit trail pruned to nothing (its last seq must carry over) and a released guard;
//   - groups-only: a group and nothing else, a namespace without a link.
func fullSource(t *testing.T) string {
	t.Helper()
	path := releaseFixture(t)
	ctx := t.Context()
	open := func(ns string) *sqlstore.Store {
		s, err := sqlstore.Open(ctx, path, ns)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	tr := open("trainual")
	_, err := tr.CreateGroup(ctx, store.Group{ID: "g-admins", DisplayName: "Trainual Admins", ExternalID: "00g1",
		Extras: []byte(`{"note":"Ingénieurs ✓"}`)})
	must(err)
	_, err = tr.UpdateGroup(ctx, "g-admins", func(g store.Group) (store.Group, error) { g.ExternalID = "00g2"; return g, nil })
	must(err)
	members := []string{"1001", "1002", "1003"}
	for i := range 1200 - len(members) {
		members = append(members, fmt.Sprintf("00u%05d", i))
	}
	_, _, err = tr.ChangeMembers(ctx, "g-admins", members, nil)
	must(err)
	_, err = tr.CreateGroup(ctx, store.Group{ID: "g-empty", DisplayName: "Nobody yet"})
	must(err)
	start := time.UnixMilli(1_800_000_000_000).UTC()
	for i := range copyPage + 60 {
		e := store.AuditEvent{Time: start.Add(time.Duration(i) * time.Second), RequestID: fmt.Sprint("req-", i),
			Credential: "token:sha256:9f86d081", Operation: []string{"create", "update", "deactivate", "delete"}[i%4],
			UserID: members[i%len(members)], UserName: fmt.Sprintf("User%d@Example.com", i), Result: "ok"}
		switch i % 3 {
		case 0:
			e.Attributes = []string{"active", "name.givenName"}
		case 1:
			e.Attributes = []string{}
		}
		_, err := tr.Append(ctx, e)
		must(err)
	}
	if n, err := tr.Prune(ctx, start.Add(10*time.Second)); err != nil || n != 10 {
		t.Fatalf("Prune = %d, %v", n, err)
	}
	_, err = tr.TripGuard(ctx, start.Add(time.Hour), "11 deactivations and deletions in 10m0s (threshold 10)")
	must(err)

	ti := open("thoughtindustries")
	for i := range 3 {
		_, err := ti.Append(ctx, store.AuditEvent{Time: start.Add(time.Duration(i) * time.Second), Operation: "update", Result: "ok"})
		must(err)
	}
	_, err = ti.Prune(ctx, start.Add(time.Hour))
	must(err)
	_, err = ti.TripGuard(ctx, start, "released later")
	must(err)
	_, err = ti.ReleaseGuard(ctx)
	must(err)

	_, err = open("groups-only").CreateGroup(ctx, store.Group{ID: "g-1", DisplayName: "Early group"})
	must(err)
	return path
}

func sqliteAt(t *testing.T, dsn string) func(string) (sourceStore, error) {
	return func(ns string) (sourceStore, error) { return sqlstore.Open(t.Context(), dsn, ns) }
}

func postgresAt(t *testing.T, dsn string) func(string) (sourceStore, error) {
	return func(ns string) (sourceStore, error) { return pgstore.Open(t.Context(), dsn, ns) }
}

// assertSame fails t unless got holds exactly want, naming the namespaces and parts that differ.
func assertSame(t *testing.T, what string, got, want map[string]contents) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	if g, w := slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)); !slices.Equal(g, w) {
		t.Errorf("%s: namespaces %v, want %v", what, g, w)
	}
	for ns, w := range want {
		g := got[ns]
		for part, same := range map[string]bool{
			"links":    reflect.DeepEqual(g.Links, w.Links),
			"groups":   reflect.DeepEqual(g.Groups, w.Groups),
			"members":  reflect.DeepEqual(g.Members, w.Members),
			"events":   reflect.DeepEqual(g.Events, w.Events),
			"guard":    reflect.DeepEqual(g.Guard, w.Guard),
			"last seq": g.LastSeq == w.LastSeq,
		} {
			if !same {
				t.Errorf("%s: the %s of %s differ", what, part, ns)
			}
		}
	}
}

func TestMigrateStoreCopiesEverythingOnce(t *testing.T) {
	from := fullSource(t)
	to := pgtest.Schema(t)
	want := everything(t, sqliteAt(t, from))
	var links, tombstones, groups, memberships, events, holding int
	for _, c := range want {
		links += len(c.Links)
		for _, l := range c.Links {
			if l.Deleted {
				tombstones++
			}
		}
		groups += len(c.Groups)
		for _, m := range c.Members {
			memberships += len(m)
		}
		events += len(c.Events)
		if c.Guard.Held {
			holding++
		}
	}
	if len(want) != 3 || tombstones == 0 || memberships <= copyPage || events <= copyPage || holding != 1 ||
		want["thoughtindustries"].LastSeq != 3 || len(want["thoughtindustries"].Events) != 0 ||
		want["trainual"].Events[0].Seq == 1 {
		t.Fatalf("the source should span namespaces and hold tombstones, pages of members and events, a holding guard "+
			"and pruned trails: %d namespaces, %d tombstones, %d memberships, %d events, %d holding",
			len(want), tombstones, memberships, events, holding)
	}

	var out bytes.Buffer
	if err := run(t.Context(), []string{"migrate-store", "--from", from, "--to", to}, envOf(nil), &out, io.Discard, nil); err != nil {
		t.Fatalf("migrate-store: %v", err)
	}
	assertSame(t, "Postgres after migrate-store", everything(t, postgresAt(t, to)), want)
	summary := fmt.Sprintf("copied %d links, %d groups with %d memberships, %d audit events and %s",
		links, groups, memberships, events, guardsHolding(holding))
	if !strings.Contains(out.String(), summary) || !strings.Contains(out.String(), "the guard holds since") {
		t.Errorf("output %q does not say %q and which guard holds", out.String(), summary)
	}

	// Each trail goes on after the last seq the source handed out, pruned or not.
	for ns, c := range want {
		s, err := pgstore.Open(t.Context(), to, ns)
		if err != nil {
			t.Fatal(err)
		}
		e, err := s.Append(t.Context(), store.AuditEvent{Operation: "update", Result: "ok"})
		s.Close()
		if err != nil || e.Seq != c.LastSeq+1 {
			t.Errorf("Append in %s after migrate-store = seq %d, %v; want %d", ns, e.Seq, err, c.LastSeq+1)
		}
	}
	want = everything(t, postgresAt(t, to))

	// A second run must not add a second copy, and must say why it refused.
	err := run(t.Context(), []string{"migrate-store", "--from", from, "--to", to}, envOf(nil), io.Discard, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "already holds links") || !strings.Contains(err.Error(), "nothing was copied") {
		t.Fatalf("second migrate-store: error = %v, want a refusal saying the target holds links and nothing was copied", err)
	}
	assertSame(t, "Postgres after the refused second run", everything(t, postgresAt(t, to)), want)

	// Postgres to Postgres copies as faithfully.
	to2 := pgtest.Schema(t)
	if err := run(t.Context(), []string{"migrate-store", "--from", to, "--to", to2}, envOf(nil), io.Discard, io.Discard, nil); err != nil {
		t.Fatalf("migrate-store from Postgres: %v", err)
	}
	assertSame(t, "Postgres copied from Postgres", everything(t, postgresAt(t, to2)), want)
}

// A copy that fails at its very last step (a guard, after every link, group, member and event went in) leaves the
// target as empty as it found it, and migrate-store can simply be run again.
func TestMigrateStoreCopiesAllOrNothing(t *testing.T) {
	from := fullSource(t)
	to := pgtest.Schema(t)
	s, err := pgstore.Open(t.Context(), to, "setup") // creates the tables, empty
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	c, err := pgx.Connect(t.Context(), to)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(t.Context(), `CREATE FUNCTION fail_guard() RETURNS trigger LANGUAGE plpgsql AS
		$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(t.Context(), `CREATE TRIGGER fail_guard BEFORE INSERT ON guard FOR EACH ROW EXECUTE FUNCTION fail_guard()`); err != nil {
		t.Fatal(err)
	}
	err = run(t.Context(), []string{"migrate-store", "--from", from, "--to", to}, envOf(nil), io.Discard, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "injected failure") || !strings.Contains(err.Error(), "nothing was copied") {
		t.Fatalf("migrate-store with a failing last step: error = %v, want the failure and that nothing was copied", err)
	}
	for _, table := range []string{"links", "groups", "group_members", "audit_events", "audit_seq", "guard"} {
		var n int
		if err := c.QueryRow(t.Context(), `SELECT count(*) FROM `+table).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s after the failed copy: %d rows, %v; want none", table, n, err)
		}
	}
	if _, err := c.Exec(t.Context(), `DROP TRIGGER fail_guard ON guard`); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"migrate-store", "--from", from, "--to", to}, envOf(nil), io.Discard, io.Discard, nil); err != nil {
		t.Fatalf("migrate-store after the failure was fixed: %v", err)
	}
	assertSame(t, "Postgres after the second run", everything(t, postgresAt(t, to)), everything(t, sqliteAt(t, from)))
}

func TestMigrateStoreRejectsBadArguments(t *testing.T) {
	dir := t.TempDir()
	const secret = "hunter2-s3cret"
	pg := "postgres://u:" + secret + "@127.0.0.1:1/db"
	existing := filepath.Join(dir, "links.db")
	if err := os.WriteFile(existing, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"nothing given", nil, []string{"--from is required", "--to is required"}},
		{"a SQLite file that does not exist", []string{"--from", filepath.Join(dir, "missing.db"), "--to", pg}, []string{"--from", "missing.db"}},
		{"a target that is not Postgres", []string{"--from", existing, "--to", filepath.Join(dir, "other.db")}, []string{"--to must be a postgres:// URL"}},
		{"the same database twice", []string{"--from", pg, "--to", pg}, []string{"same database"}},
		{"a stray argument", []string{"--from", existing, "--to", pg, "extra"}, []string{`unexpected argument "extra"`}},
		{"a target that does not answer", []string{"--from", existing, "--to", pg + "?connect_timeout=2"}, []string{"nothing was copied"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(t.Context(), append([]string{"migrate-store"}, tc.args...), envOf(nil), io.Discard, &stderr, nil)
			if err == nil {
				t.Fatal("migrate-store succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error()+stderr.String(), secret) {
				t.Errorf("output quotes the password: %q", err)
			}
		})
	}
}
