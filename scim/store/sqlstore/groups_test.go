package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/scim-bridge/scim-bridge/scim/store"
)

// The group conformance suite runs from storetest (TestSQLiteFile, TestSQLiteMemory and TestEngines); these tests
// cover what is particular to SQLite: the query plans and the upgrade of a released database.

// Every statement on group_members must reach its rows through an index, so that a member change costs in
// proportion to the members it names, not to the group: a SCAN of group_members (or of groups) fails here.
func TestMemberStatementsSearchIndexes(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "plans.db"), "test")
	for _, stmt := range memberStatements {
		args := []any{"ns", "g", `["a","b"]`, 10}[:maxPlaceholder(stmt)] // the values do not change the plan
		rows, err := s.w.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+stmt, args...)
		if err != nil {
			t.Fatalf("EXPLAIN %s: %v", stmt, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN group_members") || strings.HasPrefix(step, "SCAN groups") {
				t.Errorf("%s\nscans a table:\n  %s", oneLine(stmt), strings.Join(plan, "\n  "))
				break
			}
		}
	}
}

// maxPlaceholder is the highest $N (N < 10) the statement names: how many arguments it takes.
func maxPlaceholder(stmt string) int {
	n := 0
	for i := 1; i <= 9; i++ {
		if strings.Contains(stmt, fmt.Sprint("$", i)) {
			n = i
		}
	}
	return n
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// A database written by the previous release (the newest fixture, before the groups step) opens, gains the group
// tables exactly as a new database has them, keeps its links, and serves groups whose members are its users.
func TestReleaseFixturesGainGroups(t *testing.T) {
	for _, fixture := range fixtures(t) {
		t.Run(filepath.Base(fixture), func(t *testing.T) {
			if fixtureSchemaVersion(t, fixture) >= len(migrations) {
				t.Skip("the fixture already has every step") // only fixtures older than the groups step apply
			}
			path := loadFixture(t, fixture)
			if n := count(t, rawDB(t, path), `SELECT count(*) FROM sqlite_master WHERE name IN ('groups', 'group_members')`); n != 0 {
				t.Fatalf("the fixture already has %d group tables", n)
			}
			links := rawLinks(t, path)
			byNS := map[string][]string{}
			for _, r := range links {
				byNS[r.ns] = append(byNS[r.ns], r.link.ID)
			}

			for ns, ids := range byNS {
				s := openStore(t, path, ns)
				g, err := s.CreateGroup(t.Context(), store.Group{ID: "grp-" + ns, DisplayName: "Everyone in " + ns})
				if err != nil {
					t.Fatalf("CreateGroup in %s: %v", ns, err)
				}
				added, _, err := s.ChangeMembers(t.Context(), g.ID, ids, nil)
				if err != nil || !slices.Equal(added, ids) {
					t.Fatalf("ChangeMembers in %s = %v, %v; want %v", ns, added, err, ids)
				}
				if got, err := s.GroupsOf(t.Context(), ids[0]); err != nil || !slices.Equal(got, []string{g.ID}) {
					t.Errorf("GroupsOf(%s) = %v, %v; want [%s]", ids[0], got, err, g.ID)
				}
			}
			if n := count(t, rawDB(t, path), `SELECT max(version) FROM schema_migrations`); n != len(migrations) {
				t.Errorf("schema version after Open = %d, want %d", n, len(migrations))
			}
			fresh := filepath.Join(t.TempDir(), "fresh.db")
			openStore(t, fresh, "test").Close()
			if got, want := schemaOf(t, rawDB(t, path)), schemaOf(t, rawDB(t, fresh)); !slices.Equal(got, want) {
				t.Errorf("the migrated fixture's schema\n%s\nis not a new database's\n%s",
					strings.Join(got, "\n"), strings.Join(want, "\n"))
			}

			// The links are as the old release wrote them, and the groups survive a reopen.
			for _, r := range links {
				s := openStore(t, path, r.ns)
				got, err := s.Get(t.Context(), r.link.ID)
				if err != nil || !reflect.DeepEqual(got, r.link) {
					t.Errorf("link %s/%s after the upgrade = %+v, %v; want %+v", r.ns, r.link.ID, got, err, r.link)
				}
				if n, err := s.CountMembers(t.Context(), "grp-"+r.ns); err != nil || n != len(byNS[r.ns]) {
					t.Errorf("CountMembers in %s after reopen = %d, %v; want %d", r.ns, n, err, len(byNS[r.ns]))
				}
			}
			// Deleting a group takes its members with it on the upgraded database too.
			for ns := range byNS {
				s := openStore(t, path, ns)
				if err := s.DeleteGroup(t.Context(), "grp-"+ns); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Members(t.Context(), "grp-"+ns, "", 10); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("Members of the deleted group: error = %v, want ErrNotFound", err)
				}
			}
			if n := count(t, rawDB(t, path), `SELECT count(*) FROM group_members`); n != 0 {
				t.Errorf("memberships left after every group was deleted = %d", n)
			}
		})
	}
}

func schemaOf(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, oneLine(s))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGroupsOfSkipsItsQueryOnlyWhileNoMembershipExists: a namespace without memberships answers GroupsOf without
// a query, but a membership added by this store, or found in the file at Open (written before a restart), or
// removed again, is always answered from the database.
func TestGroupsOfSkipsItsQueryOnlyWhileNoMembershipExists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "members.db")
	ctx := t.Context()
	s := openStore(t, path, "ns")
	other := openStore(t, path, "other")
	if s.mayHaveMembers.Load() {
		t.Fatal("a fresh namespace may have members")
	}
	for _, st := range []*Store{s, other} {
		if _, err := st.CreateGroup(ctx, store.Group{ID: "g1", DisplayName: "Admins"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := other.ChangeMembers(ctx, "g1", []string{"u1"}, nil); err != nil {
		t.Fatal(err)
	}
	if s.mayHaveMembers.Load() {
		t.Fatal("another namespace's membership made this one query")
	}
	if _, _, err := s.ChangeMembers(ctx, "g1", []string{"u1"}, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GroupsOf(ctx, "u1"); err != nil || !slices.Equal(got, []string{"g1"}) {
		t.Fatalf("GroupsOf after an add: %v, %v", got, err)
	}
	reopened, err := Open(ctx, path, "ns")
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	if got, err := reopened.GroupsOf(ctx, "u1"); err != nil || !slices.Equal(got, []string{"g1"}) {
		t.Fatalf("GroupsOf after reopening: %v, %v", got, err)
	}
	if _, _, err := s.ChangeMembers(ctx, "g1", nil, []string{"u1"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GroupsOf(ctx, "u1"); err != nil || len(got) != 0 {
		t.Fatalf("GroupsOf after the removal: %v, %v", got, err)
	}
}
