package sqlstore

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/scim/store"
)

// fixtures are databases written by released versions (testdata/release-*-schemaN.sql), oldest first.
func fixtures(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob("testdata/release-*-schema*.sql")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no release fixtures in testdata (%v)", err)
	}
	return paths
}

// loadFixture builds the database a fixture describes, with the driver alone (not Open, which would migrate
// it), and returns its path.
func loadFixture(t *testing.T, fixture string) string {
	t.Helper()
	script, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "links.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), string(script)); err != nil {
		t.Fatalf("load %s: %v", fixture, err)
	}
	return path
}

// fixtureSchemaVersion is the N of release-*-schemaN.sql.
func fixtureSchemaVersion(t *testing.T, fixture string) int {
	t.Helper()
	m := regexp.MustCompile(`-schema(\d+)\.sql$`).FindStringSubmatch(fixture)
	if m == nil {
		t.Fatalf("%s: name does not end in -schemaN.sql", fixture)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

type rawLink struct {
	ns   string
	link store.Link
}

// rawLinks reads every row as schema version 1 laid it out, bypassing the store: what the old release wrote.
func rawLinks(t *testing.T, path string) []rawLink {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), `SELECT namespace, id, user_name, external_id, email, extras, deleted,
		version, created_ms, modified_ms FROM links ORDER BY namespace, id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []rawLink
	for rows.Next() {
		var (
			r                 rawLink
			extras            sql.NullString
			deleted           int
			created, modified int64
		)
		if err := rows.Scan(&r.ns, &r.link.ID, &r.link.UserName, &r.link.ExternalID, &r.link.Email, &extras, &deleted,
			&r.link.Version, &created, &modified); err != nil {
			t.Fatal(err)
		}
		if extras.Valid {
			r.link.Extras = []byte(extras.String)
		}
		r.link.Deleted = deleted != 0
		r.link.Created, r.link.Modified = time.UnixMilli(created).UTC(), time.UnixMilli(modified).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A database written by an earlier release opens with this one: pending migrations apply, every link reads back
// as it was written, and the store goes on working with it.
func TestReleaseFixturesOpenMigrateAndReadBack(t *testing.T) {
	for _, fixture := range fixtures(t) {
		t.Run(filepath.Base(fixture), func(t *testing.T) {
			path := loadFixture(t, fixture)
			want := rawLinks(t, path)
			if len(want) == 0 {
				t.Fatal("the fixture holds no links")
			}
			var namespaces []string
			for _, r := range want {
				if !slices.Contains(namespaces, r.ns) {
					namespaces = append(namespaces, r.ns)
				}
			}
			slices.Sort(namespaces)

			s := openStore(t, path, namespaces[0])
			if got, err := s.Namespaces(t.Context()); err != nil || !slices.Equal(got, namespaces) {
				t.Errorf("Namespaces = %v, %v; want %v", got, err, namespaces)
			}
			if n := count(t, s.w, `SELECT count(*) FROM schema_migrations`); n != len(migrations) {
				t.Errorf("recorded migrations after Open = %d, want all %d", n, len(migrations))
			}
			for _, ns := range namespaces {
				s := openStore(t, path, ns)
				live := 0
				for _, r := range want {
					if r.ns == ns && !r.link.Deleted {
						live++
					}
				}
				checkAuditAndGuard(t, path, s, ns, live)
				var wantIDs []string
				for _, r := range want {
					if r.ns != ns {
						continue
					}
					wantIDs = append(wantIDs, r.link.ID)
					got, err := s.Get(t.Context(), r.link.ID)
					if err != nil {
						t.Fatalf("Get(%s, %s): %v", ns, r.link.ID, err)
					}
					if !reflect.DeepEqual(got, r.link) {
						t.Errorf("%s/%s reads back as\n%+v\nwant\n%+v", ns, r.link.ID, got, r.link)
					}
					if !r.link.Deleted {
						// The folded columns the old release wrote still answer lookups in any case.
						found, err := s.Lookup(t.Context(), store.ByUserName, strings.ToUpper(r.link.UserName))
						if err != nil || len(found) != 1 || found[0].ID != r.link.ID {
							t.Errorf("Lookup(%q) = %v, %v; want %s", strings.ToUpper(r.link.UserName), found, err, r.link.ID)
						}
						if _, err := s.Create(t.Context(), store.Link{ID: "new-" + r.link.ID, UserName: r.link.UserName}); !errors.Is(err, store.ErrConflict) {
							t.Errorf("Create of the taken userName %q: error = %v, want ErrConflict", r.link.UserName, err)
						}
					}
					updated, err := s.Update(t.Context(), r.link.ID, func(l store.Link) (store.Link, error) { return l, nil })
					if err != nil || updated.Version != r.link.Version+1 || !updated.Created.Equal(r.link.Created) {
						t.Errorf("Update of %s = version %d created %v, %v; want %d, %v", r.link.ID, updated.Version,
							updated.Created, err, r.link.Version+1, r.link.Created)
					}
				}
				links, err := s.List(t.Context(), "", 1000)
				if err != nil {
					t.Fatal(err)
				}
				var gotIDs []string
				for _, l := range links {
					gotIDs = append(gotIDs, l.ID)
				}
				slices.Sort(wantIDs)
				if !slices.Equal(gotIDs, wantIDs) {
					t.Errorf("List(%s) = %v, want %v", ns, gotIDs, wantIDs)
				}
			}
			if got, err := s.Namespaces(t.Context()); err != nil || !slices.Equal(got, namespaces) {
				t.Errorf("Namespaces after the audit trail and guard were used = %v, %v; want %v", got, err, namespaces)
			}
			// Migrated step by step, the fixture has exactly the schema a new database has.
			fresh := filepath.Join(t.TempDir(), "fresh.db")
			openStore(t, fresh, "test").Close()
			if got, want := schemaOf(t, rawDB(t, path)), schemaOf(t, rawDB(t, fresh)); !slices.Equal(got, want) {
				t.Errorf("the migrated fixture's schema\n%s\nis not a new database's\n%s",
					strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// checkAuditAndGuard uses the audit trail, the guard and the live count of namespace ns on a migrated fixture
// (which predates them): CountLive counts the links the old release wrote, and the trail and the guard work and
// are shared with a second store on the database, as a replica's would be.
func checkAuditAndGuard(t *testing.T, path string, s *Store, ns string, live int) {
	t.Helper()
	if n, err := s.CountLive(t.Context()); err != nil || n != live {
		t.Errorf("CountLive(%s) on the migrated fixture = %d, %v; want %d", ns, n, err, live)
	}
	if got, err := s.Events(t.Context(), store.AuditQuery{}); err != nil || len(got) != 0 {
		t.Errorf("Events(%s) on the migrated fixture = %v, %v; want none", ns, got, err)
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	e, err := s.Append(t.Context(), store.AuditEvent{Time: at, Credential: "token:sha256:9f86d081", Operation: "deactivate",
		UserID: "x", UserName: "X@Example.com", Attributes: []string{"active"}, Result: "ok"})
	if err != nil {
		t.Fatalf("Append(%s) on the migrated fixture: %v", ns, err)
	}
	st, err := s.TripGuard(t.Context(), at, "fixture")
	if err != nil || !st.Held {
		t.Fatalf("TripGuard(%s) on the migrated fixture = %+v, %v", ns, st, err)
	}
	other := openStore(t, path, ns)
	if got, err := other.Events(t.Context(), store.AuditQuery{User: "x@example.com"}); err != nil || !reflect.DeepEqual(got, []store.AuditEvent{e}) {
		t.Errorf("Events(%s) from a second store = %+v, %v; want %+v", ns, got, err, e)
	}
	if n, err := other.CountSince(t.Context(), at, true, "deactivate", "delete"); err != nil || n != 1 {
		t.Errorf("CountSince(%s) from a second store = %d, %v; want 1", ns, n, err)
	}
	if got, err := other.GuardState(t.Context()); err != nil || !reflect.DeepEqual(got, st) {
		t.Errorf("GuardState(%s) from a second store = %+v, %v; want %+v", ns, got, err, st)
	}
	if was, err := other.ReleaseGuard(t.Context()); err != nil || !was {
		t.Errorf("ReleaseGuard(%s) from a second store = %v, %v; want true", ns, was, err)
	}
}

// Released migration steps are never edited: the schema a fixture recorded must be what today's steps up to
// its version create. Editing a released step fails here, before it fails on a customer's database.
func TestReleaseFixturesMatchTheirMigrations(t *testing.T) {
	schema := func(t *testing.T, db *sql.DB) []string {
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
			out = append(out, strings.Join(strings.Fields(s), " "))
		}
		return out
	}
	for _, fixture := range fixtures(t) {
		t.Run(filepath.Base(fixture), func(t *testing.T) {
			version := fixtureSchemaVersion(t, fixture)
			if version > len(migrations) {
				t.Fatalf("fixture is at schema %d, beyond this binary's %d", version, len(migrations))
			}
			old := rawDB(t, loadFixture(t, fixture))
			fresh := rawDB(t, filepath.Join(t.TempDir(), "fresh.db"))
			if _, err := migrate(t.Context(), fresh, migrations[:version]); err != nil {
				t.Fatal(err)
			}
			if got, want := schema(t, old), schema(t, fresh); !slices.Equal(got, want) {
				t.Errorf("the fixture's schema\n%s\nis not what migrations 1..%d create today\n%s",
					strings.Join(got, "\n"), version, strings.Join(want, "\n"))
			}
			if n := count(t, old, `SELECT max(version) FROM schema_migrations`); n != version {
				t.Errorf("the fixture records schema version %d, its name says %d", n, version)
			}
		})
	}
}
