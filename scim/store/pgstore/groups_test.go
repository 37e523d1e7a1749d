package pgstore

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scim-bridge/scim-bridge/scim/store"
	"github.com/scim-bridge/scim-bridge/scim/store/pgstore/pgtest"
)

// The group conformance suite runs from storetest (TestEngines); these tests cover the upgrade of a database
// written by the previous release, replicas sharing one group, and the server's generic plans.

// A database at schema version 1 (the previous release: links only) gains the group tables on Open, exactly as
// a new database has them, and keeps its links.
func TestMigrateAddsGroupsToALinksOnlyDatabase(t *testing.T) {
	dsn := pgtest.Schema(t)
	c := connect(t, dsn)
	if _, err := migrate(t.Context(), c, migrations[:1]); err != nil {
		t.Fatal(err)
	}
	at := time.UnixMilli(1_700_000_000_000).UTC()
	old := []store.Link{
		{ID: "1001", UserName: "alice@example.com", Extras: []byte(`{}`), Version: 3, Created: at, Modified: at.Add(time.Hour)},
		{ID: "1002", UserName: "bob@example.com", Version: 1, Created: at, Modified: at},
	}
	for _, l := range old {
		if err := insert(t.Context(), c, "trainual", l); err != nil {
			t.Fatal(err)
		}
	}

	s := openStore(t, dsn, "trainual")
	rows, err := c.Query(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil || len(versions) != len(migrations) || int(versions[len(versions)-1]) != len(migrations) {
		t.Fatalf("recorded versions after Open = %v, %v; want 1..%d", versions, err, len(migrations))
	}
	for _, l := range old {
		if got, err := s.Get(t.Context(), l.ID); err != nil || !reflect.DeepEqual(got, l) {
			t.Errorf("link %s after the upgrade = %+v, %v; want %+v", l.ID, got, err, l)
		}
	}
	g, err := s.CreateGroup(t.Context(), store.Group{ID: "g1", DisplayName: "Everyone"})
	if err != nil {
		t.Fatal(err)
	}
	if added, _, err := s.ChangeMembers(t.Context(), g.ID, []string{"1001", "1002"}, nil); err != nil || len(added) != 2 {
		t.Fatalf("ChangeMembers = %v, %v", added, err)
	}
	if got, err := s.GroupsOf(t.Context(), "1001"); err != nil || !slices.Equal(got, []string{"g1"}) {
		t.Errorf("GroupsOf(1001) = %v, %v; want [g1]", got, err)
	}

	fresh := pgtest.Schema(t)
	openStore(t, fresh, "trainual").Close()
	if got, want := schemaOf(t, dsn), schemaOf(t, fresh); !slices.Equal(got, want) {
		t.Errorf("the upgraded schema\n%s\nis not a new database's\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// schemaOf describes the tables, columns and indexes of the schema dsn works in, without the schema's name.
func schemaOf(t *testing.T, dsn string) []string {
	t.Helper()
	c := connect(t, dsn)
	rows, err := c.Query(t.Context(), `
		SELECT format('column %s.%s %s collate=%s null=%s default=%s', table_name, column_name, data_type,
			coalesce(collation_name, '-'), is_nullable, coalesce(column_default, '-'))
		FROM information_schema.columns WHERE table_schema = current_schema()
		UNION ALL
		SELECT 'index ' || replace(indexdef, current_schema() || '.', '')
		FROM pg_indexes WHERE schemaname = current_schema()
		UNION ALL
		SELECT format('constraint %s %s', conrelid::regclass::text, pg_get_constraintdef(oid))
		FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Two replicas changing one group's members at once lose no member and no version: the group's row lock orders
// them across processes.
func TestChangeMembersAcrossReplicas(t *testing.T) {
	dsn := pgtest.Schema(t)
	replicas := []*Store{openStore(t, dsn, "ns"), openStore(t, dsn, "ns")}
	if _, err := replicas[0].CreateGroup(t.Context(), store.Group{ID: "g1", DisplayName: "Ops"}); err != nil {
		t.Fatal(err)
	}
	const workers, calls = 8, 10
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make(chan error, workers*calls)
	)
	for w := range workers {
		s := replicas[w%len(replicas)]
		wg.Go(func() {
			<-start
			for i := range calls {
				// Every call adds a user of its own (a change) and one every worker adds (a change only the
				// first time), and removes one who is never a member (never a change).
				u := fmt.Sprintf("w%d-%d", w, i)
				added, _, err := s.ChangeMembers(t.Context(), "g1", []string{u, "shared"}, []string{"gone"})
				if err != nil {
					errs <- err
				} else if !slices.Contains(added, u) {
					errs <- fmt.Errorf("%s not reported added: %v", u, added)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	n, err := replicas[1].CountMembers(t.Context(), "g1")
	if err != nil || n != workers*calls+1 {
		t.Errorf("CountMembers = %d, %v; want %d", n, err, workers*calls+1)
	}
	if g, err := replicas[1].GetGroup(t.Context(), "g1"); err != nil || g.Version != 1+workers*calls {
		t.Errorf("version = %d, %v; want %d (one per call)", g.Version, err, 1+workers*calls)
	}
}

// Once the server caches a generic plan, `user_id = ANY($3)` is a linear search of the array for each member of
// the group, so a large change on a large group takes seconds (about ten here). Forcing generic plans from the
// first execution, a change of 20,000 ids on a group of 20,000 members must stay far from that.
func TestLargeChangesStayLinearUnderGenericPlans(t *testing.T) {
	s := openStore(t, pgtest.WithParam(pgtest.Schema(t), "plan_cache_mode", "force_generic_plan"), "ns")
	if _, err := s.CreateGroup(t.Context(), store.Group{ID: "big", DisplayName: "Everyone"}); err != nil {
		t.Fatal(err)
	}
	const n = 20_000
	var first, second []string
	for i := range n {
		first = append(first, fmt.Sprintf("00u%07d-a", i))
		second = append(second, fmt.Sprintf("00u%07d-b", i))
	}
	if _, _, err := s.ChangeMembers(t.Context(), "big", first, nil); err != nil {
		t.Fatal(err)
	}
	for round := range 3 { // the same statements again, as a cached plan would see them
		add, remove := second[:n/2], first[:n/2]
		if round%2 == 1 {
			add, remove = remove, add
		}
		start := time.Now()
		added, removed, err := s.ChangeMembers(t.Context(), "big", add, remove)
		d := time.Since(start)
		if err != nil || len(added) != n/2 || len(removed) != n/2 {
			t.Fatalf("round %d: added %d removed %d, %v", round, len(added), len(removed), err)
		}
		t.Logf("round %d: remove %d and add %d on a group of %d: %v", round, n/2, n/2, n, d)
		if d > 2*time.Second {
			t.Errorf("round %d took %v: the member statements search the array per member", round, d)
		}
	}
}
