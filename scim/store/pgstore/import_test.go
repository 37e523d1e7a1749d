package pgstore

import (
	"errors"
	"iter"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/scim/store"
	"github.com/scim-bridge/scim-bridge/scim/store/pgstore/pgtest"
)

func seqOf[R any](rs ...R) iter.Seq2[R, error] {
	return func(yield func(R, error) bool) {
		for _, r := range rs {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// failAfter yields rs and then err.
func failAfter[R any](err error, rs ...R) iter.Seq2[R, error] {
	return func(yield func(R, error) bool) {
		for _, r := range rs {
			if !yield(r, nil) {
				return
			}
		}
		var zero R
		yield(zero, err)
	}
}

func TestImport(t *testing.T) {
	at := func(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
	links := []Record{
		{"trainual", store.Link{ID: "101", UserName: "Alice@Example.com", ExternalID: "00u1", Email: "Alice@Example.com",
			Extras: []byte(`{"title":"Engineer ✓"}`), Version: 7, Created: at(1_700_000_000_000), Modified: at(1_700_000_500_123)}},
		{"trainual", store.Link{ID: "102", UserName: "bob@example.com", Deleted: true, Version: 3,
			Created: at(1_700_000_001_000), Modified: at(1_700_000_002_000)}},
		{"thoughtindustries", store.Link{ID: "u-1", UserName: "alice@example.com", Extras: []byte(`{}`), Version: 1,
			Created: at(1_700_000_003_000), Modified: at(1_700_000_003_000)}},
	}
	groups := []GroupRecord{
		{"trainual", store.Group{ID: "g-1", DisplayName: "Admins", ExternalID: "00g1", Extras: []byte(`{"k":"v"}`),
			Version: 4, Created: at(1_700_000_004_000), Modified: at(1_700_000_005_000)}},
		{"trainual", store.Group{ID: "g-2", DisplayName: "Empty", Version: 1, Created: at(1_700_000_004_000),
			Modified: at(1_700_000_004_000)}},
		{"thoughtindustries", store.Group{ID: "g-1", DisplayName: "ADMINS", Version: 2, Created: at(1_700_000_006_000),
			Modified: at(1_700_000_007_000)}},
	}
	members := []MemberRecord{{"trainual", "g-1", "101"}, {"trainual", "g-1", "102"}, {"thoughtindustries", "g-1", "u-1"}}
	events := []EventRecord{
		{"trainual", store.AuditEvent{Seq: 3, Time: at(1_700_000_010_000), RequestID: "r1", Credential: "token:sha256:9f86d081",
			Operation: "create", UserID: "101", UserName: "Alice@Example.com", Attributes: []string{"email"}, Result: "ok"}},
		{"trainual", store.AuditEvent{Seq: 5, Time: at(1_700_000_011_000), Operation: "deactivate", UserID: "102",
			UserName: "bob@example.com", Attributes: []string{}, Result: "unavailable"}},
		{"trainual", store.AuditEvent{Seq: 6, Time: at(1_700_000_012_000), Operation: "hold", UserID: "102",
			UserName: "bob@example.com", Attributes: []string{"deactivate"}, Result: "held"}},
		{"thoughtindustries", store.AuditEvent{Seq: 1, Time: at(1_700_000_013_000), Credential: "cli", Operation: "release",
			Result: "ok"}},
	}
	held := store.GuardState{Held: true, Since: at(1_700_000_011_500), Reason: "11 deactivations and deletions in 10m0s (threshold 10)"}
	states := []StateRecord{
		{Namespace: "trainual", Guard: held, LastSeq: 6},
		{Namespace: "thoughtindustries", LastSeq: 40}, // events up to 40 were handed out; those after 1 were pruned
		{Namespace: "pruned", LastSeq: 12},            // a trail pruned to nothing
	}
	all := Data{Links: seqOf(links...), Groups: seqOf(groups...), Members: seqOf(members...), Events: seqOf(events...),
		States: seqOf(states...)}

	t.Run("everything arrives as it was, in its namespace", func(t *testing.T) {
		dsn := pgtest.Schema(t)
		c, err := Import(t.Context(), dsn, all)
		if err != nil {
			t.Fatal(err)
		}
		if want := (Counts{Links: 3, Groups: 3, Members: 3, Events: 4, Guards: 1}); c != want {
			t.Errorf("Import = %+v, want %+v", c, want)
		}
		for _, r := range links {
			if got, err := openStore(t, dsn, r.Namespace).Get(t.Context(), r.Link.ID); err != nil || !reflect.DeepEqual(got, r.Link) {
				t.Errorf("imported link %s/%s = %+v, %v; want %+v", r.Namespace, r.Link.ID, got, err, r.Link)
			}
		}
		for _, r := range groups {
			if got, err := openStore(t, dsn, r.Namespace).GetGroup(t.Context(), r.Group.ID); err != nil || !reflect.DeepEqual(got, r.Group) {
				t.Errorf("imported group %s/%s = %+v, %v; want %+v", r.Namespace, r.Group.ID, got, err, r.Group)
			}
		}
		tr, ti := openStore(t, dsn, "trainual"), openStore(t, dsn, "thoughtindustries")
		if m, err := tr.Members(t.Context(), "g-1", "", 10); err != nil || !slices.Equal(m, []string{"101", "102"}) {
			t.Errorf("members of trainual/g-1 = %v, %v", m, err)
		}
		if m, err := ti.GroupsOf(t.Context(), "u-1"); err != nil || !slices.Equal(m, []string{"g-1"}) {
			t.Errorf("groups of thoughtindustries/u-1 = %v, %v", m, err)
		}
		if l, _ := tr.Lookup(t.Context(), store.ByUserName, "ALICE@example.com"); len(l) != 1 || l[0].ID != "101" {
			t.Errorf("Lookup of an imported userName = %v, want 101 (folded columns filled)", l)
		}
		if g, _ := ti.LookupGroups(t.Context(), store.GroupByDisplayName, "admins"); len(g) != 1 {
			t.Errorf("LookupGroups of an imported displayName = %v, want g-1 (folded column filled)", g)
		}
		var want []store.AuditEvent
		for _, r := range events[:3] {
			want = append(want, r.Event)
		}
		if got, err := tr.Events(t.Context(), store.AuditQuery{}); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("imported events = %+v, %v; want %+v", got, err, want)
		}
		if got, err := tr.Events(t.Context(), store.AuditQuery{User: "ALICE@EXAMPLE.COM"}); err != nil || len(got) != 1 {
			t.Errorf("events of an imported userName = %+v, %v; want one (folded column filled)", got, err)
		}
		if st, err := tr.GuardState(t.Context()); err != nil || !reflect.DeepEqual(st, held) {
			t.Errorf("imported guard = %+v, %v; want %+v", st, err, held)
		}
		if st, err := ti.GuardState(t.Context()); err != nil || st.Held {
			t.Errorf("guard of a namespace imported without one = %+v, %v; want not holding", st, err)
		}
		if ns, err := tr.Namespaces(t.Context()); err != nil || !slices.Equal(ns, []string{"pruned", "thoughtindustries", "trainual"}) {
			t.Errorf("Namespaces = %v, %v", ns, err)
		}
		// The stores carry on from what was imported: versions, and seqs after the last handed out.
		if u, err := tr.Update(t.Context(), "101", func(l store.Link) (store.Link, error) { return l, nil }); err != nil || u.Version != 8 {
			t.Errorf("Update after import = version %d, %v; want 8", u.Version, err)
		}
		for ns, after := range map[string]int64{"trainual": 6, "thoughtindustries": 40, "pruned": 12} {
			e, err := openStore(t, dsn, ns).Append(t.Context(), store.AuditEvent{Operation: "update", Result: "ok"})
			if err != nil || e.Seq != after+1 {
				t.Errorf("Append in %s after import = seq %d, %v; want %d", ns, e.Seq, err, after+1)
			}
		}
	})

	t.Run("links alone import as before", func(t *testing.T) {
		dsn := pgtest.Schema(t)
		c, err := Import(t.Context(), dsn, Data{Links: seqOf(links...)})
		if err != nil || c != (Counts{Links: len(links)}) {
			t.Fatalf("Import = %+v, %v; want %d links", c, err, len(links))
		}
	})

	refusals := []struct {
		name string
		fill func(t *testing.T, s *Store)
		want string
	}{
		{"a link", func(t *testing.T, s *Store) {
			if _, err := s.Create(t.Context(), store.Link{ID: "9", UserName: "zed"}); err != nil {
				t.Fatal(err)
			}
		}, `links (1 in "trainual")`},
		{"a group only", func(t *testing.T, s *Store) {
			if _, err := s.CreateGroup(t.Context(), store.Group{ID: "g", DisplayName: "Ops"}); err != nil {
				t.Fatal(err)
			}
		}, `groups (1 in "trainual")`},
		{"audit events only", func(t *testing.T, s *Store) {
			if _, err := s.Append(t.Context(), store.AuditEvent{Operation: "create", Result: "ok"}); err != nil {
				t.Fatal(err)
			}
		}, `audit events (1 in "trainual")`},
		{"an audit trail pruned to nothing", func(t *testing.T, s *Store) {
			if _, err := s.Append(t.Context(), store.AuditEvent{Time: at(1), Operation: "create", Result: "ok"}); err != nil {
				t.Fatal(err)
			}
			if n, err := s.Prune(t.Context(), at(2)); err != nil || n != 1 {
				t.Fatalf("Prune = %d, %v", n, err)
			}
		}, `an audit trail pruned to nothing ("trainual")`},
		{"a holding guard only", func(t *testing.T, s *Store) {
			if _, err := s.TripGuard(t.Context(), at(1), "test"); err != nil {
				t.Fatal(err)
			}
		}, `a holding guard ("trainual")`},
	}
	for _, tc := range refusals {
		t.Run("a database that holds "+tc.name+" is refused and left alone", func(t *testing.T) {
			dsn := pgtest.Schema(t)
			s := openStore(t, dsn, "trainual")
			tc.fill(t, s)
			before := snapshot(t, s)
			_, err := Import(t.Context(), dsn, all)
			if !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Import into a used database: error = %v, want ErrNotEmpty saying %s", err, tc.want)
			}
			if after := snapshot(t, s); !reflect.DeepEqual(after, before) {
				t.Errorf("after the refused import:\n%+v\nwant\n%+v", after, before)
			}
		})
	}

	bad := []struct {
		name string
		d    Data
		want string
	}{
		{"a link source that fails half-way", Data{Links: failAfter(errors.New("disk on fire"), links[0]),
			Events: seqOf(events...)}, "disk on fire"},
		{"an event source that fails half-way, after the links and groups",
			Data{Links: seqOf(links...), Groups: seqOf(groups...), Members: seqOf(members...),
				Events: failAfter(errors.New("disk on fire"), events[0])}, "disk on fire"},
		{"a state source that fails, last", Data{Links: seqOf(links...), Events: seqOf(events...),
			States: failAfter[StateRecord](errors.New("disk on fire"))}, "disk on fire"},
		{"a link without a namespace", Data{Links: seqOf(links[0], Record{Link: links[1].Link})}, "no namespace"},
		{"a link without timestamps", Data{Links: seqOf(links[0], Record{Namespace: "x", Link: store.Link{ID: "1", UserName: "u", Version: 1}})}, "timestamps"},
		{"the same id twice", Data{Links: seqOf(links[0], links[0])}, "conflict"},
		{"a group without timestamps", Data{Links: seqOf(links...), Groups: seqOf(GroupRecord{"x", store.Group{ID: "g", DisplayName: "G", Version: 1}})}, "timestamps"},
		{"a member of a group not copied", Data{Links: seqOf(links...), Groups: seqOf(groups...),
			Members: seqOf(MemberRecord{"trainual", "no-such-group", "101"})}, "group_members"},
		{"an event without a seq", Data{Links: seqOf(links...), Events: seqOf(EventRecord{"trainual", store.AuditEvent{Time: at(1), Operation: "create"}})}, "seq 0"},
		{"an event without an operation", Data{Events: seqOf(EventRecord{"trainual", store.AuditEvent{Seq: 1, Time: at(1)}})}, "operation"},
		{"the same seq twice", Data{Links: seqOf(links...), Events: seqOf(events[0], events[0])}, "conflict"},
		{"a guard holding since no time", Data{Links: seqOf(links...), Events: seqOf(events...),
			States: seqOf(StateRecord{Namespace: "trainual", Guard: store.GuardState{Held: true}})}, "since no time"},
	}
	for _, tc := range bad {
		t.Run(tc.name+" copies nothing", func(t *testing.T) {
			dsn := pgtest.Schema(t)
			_, err := Import(t.Context(), dsn, tc.d)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Import: error = %v, want one mentioning %q", err, tc.want)
			}
			c := connect(t, dsn)
			for _, table := range importTables {
				var n int
				if err := c.QueryRow(t.Context(), `SELECT count(*) FROM `+table).Scan(&n); err != nil || n != 0 {
					t.Errorf("%s after a failed import: %d rows, %v; want none", table, n, err)
				}
			}
		})
	}
}

// contents is what one namespace of a store holds, read through its API.
type contents struct {
	Links  []store.Link
	Groups []store.Group
	Events []store.AuditEvent
	Guard  store.GuardState
}

func snapshot(t *testing.T, s *Store) contents {
	t.Helper()
	var c contents
	var err error
	if c.Links, err = s.List(t.Context(), "", 1000); err != nil {
		t.Fatal(err)
	}
	if c.Groups, err = s.ListGroups(t.Context(), "", 1000); err != nil {
		t.Fatal(err)
	}
	if c.Events, err = s.Events(t.Context(), store.AuditQuery{}); err != nil {
		t.Fatal(err)
	}
	if c.Guard, err = s.GuardState(t.Context()); err != nil {
		t.Fatal(err)
	}
	return c
}
