package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/scim/store"
)

var groupCases = []struct {
	name string
	fn   func(t *testing.T, s store.GroupStore)
}{
	{"create then get returns every field with UTC millisecond times and no members", testGroupCreateGet},
	{"the store keeps its own copy of a group's extras", testGroupExtrasCopied},
	{"create rejects a taken id or displayName in any case and leaves the existing group alone", testGroupCreateConflicts},
	{"create allows a shared externalId and names that differ beyond case", testGroupCreateAllowed},
	{"create rejects an empty id or displayName", testGroupCreateInvalid},
	{"lookup finds one group by displayName in any case and every group by exact externalId", testGroupLookup},
	{"update bumps version and modified, keeps created and members, and ignores the bookkeeping fn returns", testGroupUpdate},
	{"update rejects a displayName another group holds and leaves the group alone", testGroupUpdateConflicts},
	{"update allows a change of case and a name another group gave up", testGroupUpdateAllowed},
	{"update refuses fn's error, a changed id and an empty displayName, changing nothing", testGroupUpdateRefused},
	{"every operation on a missing or deleted group returns ErrNotFound", testGroupNotFound},
	{"delete removes the group and its memberships and frees its name", testGroupDelete},
	{"list pages through every group in byte order and count agrees", testGroupList},
	{"change members returns exactly what changed and moves version and modified only then", testChangeMembers},
	{"change members refuses an empty or non-UTF-8 user id and applies nothing", testChangeMembersInvalid},
	{"clear members returns every member ascending and moves version only if there were any", testClearMembers},
	{"members pages in byte order over several pages and count agrees", testMembersPaging},
	{"groupsOf lists a user's groups ascending and nothing for a stranger", testGroupsOf},
	{"remove user takes the user out of every group and moves only those groups on", testRemoveUser},
	{"concurrent member changes of one group lose nothing and versions strictly increase", testConcurrentChangeMembers},
	{"concurrent changes across groups and removeUser neither deadlock nor lose a version", testConcurrentAcrossGroups},
	{"5,000 members are added and removed in one call each, quickly", testManyMembers},
}

const (
	groupPrefix         = "groups/"
	groupReopenCase     = "groups and members survive closing and reopening the store"
	groupNamespacesCase = "namespaces sharing one database never see each other's groups or members"
)

// RunGroups runs the store.GroupStore part of the suite: h.New must return stores that are GroupStores. Run calls
// it for such stores; cases the harness cannot run (no Reopen, no NewNamespace) are reported as not run.
func RunGroups(t *testing.T, h Harness) Report {
	t.Helper()
	newGroups := func(t *testing.T) store.GroupStore {
		t.Helper()
		s := h.New(t)
		gs, ok := s.(store.GroupStore)
		if !ok {
			t.Fatalf("%T is not a store.GroupStore", s)
		}
		return gs
	}
	var r Report
	for _, tc := range groupCases {
		r.runCase(t, tc.name, func(t *testing.T) { tc.fn(t, newGroups(t)) })
	}
	if h.Reopen != nil {
		r.runCase(t, groupReopenCase, func(t *testing.T) { testGroupReopen(t, h) })
	} else {
		r.notRun(groupReopenCase, "Harness.Reopen is nil")
	}
	if h.NewNamespace != nil {
		r.runCase(t, groupNamespacesCase, func(t *testing.T) { testGroupNamespaces(t, h) })
	} else {
		r.notRun(groupNamespacesCase, "Harness.NewNamespace is nil")
	}
	return r
}

// groupCaseNames lists every case RunGroups can run.
func groupCaseNames() []string {
	var out []string
	for _, tc := range groupCases {
		out = append(out, tc.name)
	}
	return append(out, groupReopenCase, groupNamespacesCase)
}

func testGroupCreateGet(t *testing.T, s store.GroupStore) {
	in := store.Group{
		ID:          "6f1c4e2a-93d1-4c6e-9a53-0d2b8f7e1a01",
		DisplayName: "Trainual Admins",
		ExternalID:  "00g1abc",
		Extras:      []byte(`{"urn:x":{"note":"Ingénieurs ✓"}}`),
		Version:     99,              // ignored
		Created:     time.Unix(1, 0), // ignored
		Modified:    time.Unix(2, 0), // ignored
	}
	before := time.Now().Truncate(time.Millisecond)
	got, err := s.CreateGroup(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	after := time.Now()
	want := in
	want.Version, want.Created, want.Modified = 1, got.Created, got.Created
	assertGroup(t, got, want)
	if got.Created.Location() != time.UTC || !got.Created.Equal(got.Created.Truncate(time.Millisecond)) {
		t.Errorf("Created = %v, want UTC at millisecond precision", got.Created)
	}
	if got.Created.Before(before) || got.Created.After(after) {
		t.Errorf("Created = %v, want between %v and %v", got.Created, before, after)
	}
	assertGroup(t, mustGetGroup(t, s, in.ID), got)
	if n := mustCountMembers(t, s, in.ID); n != 0 {
		t.Errorf("CountMembers of a new group = %d, want 0", n)
	}
	if m := allMembers(t, s, in.ID); len(m) != 0 {
		t.Errorf("Members of a new group = %v, want none", m)
	}
	if n := mustCountGroups(t, s); n != 1 {
		t.Errorf("CountGroups = %d, want 1", n)
	}
	// A group without extras or externalId reads back as such.
	bare := mustCreateGroup(t, s, store.Group{ID: "g2", DisplayName: "Ops"})
	assertGroup(t, mustGetGroup(t, s, "g2"), bare)
	if bare.Extras != nil || bare.ExternalID != "" {
		t.Errorf("bare group = %s, want nil extras and no externalId", formatGroup(bare))
	}
}

func testGroupExtrasCopied(t *testing.T, s store.GroupStore) {
	extras := []byte(`{"a":1}`)
	created := mustCreateGroup(t, s, store.Group{ID: "g1", DisplayName: "Ops", Extras: extras})
	copy(extras, `{"b":2}`)
	created.Extras[2] = 'z'
	if got := mustGetGroup(t, s, "g1"); string(got.Extras) != `{"a":1}` {
		t.Errorf("Extras after the caller mutated its slices = %s, want {\"a\":1}", got.Extras)
	}
}

func testGroupCreateConflicts(t *testing.T, s store.GroupStore) {
	mustCreateGroup(t, s, store.Group{ID: "g1", DisplayName: "Trainual Admins", ExternalID: "e1"})
	mustChange(t, s, "g1", []string{"u1"}, nil)
	tests := []struct {
		name     string
		in       store.Group
		existing string
	}{
		{"an id that exists", store.Group{ID: "g1", DisplayName: "Ops"}, "g1"},
		{"the same displayName", store.Group{ID: "g2", DisplayName: "Trainual Admins"}, "g1"},
		{"the displayName in another case", store.Group{ID: "g3", DisplayName: "TRAINUAL admins"}, "g1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := mustGetGroup(t, s, tc.existing)
			_, err := s.CreateGroup(t.Context(), tc.in)
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("CreateGroup error = %v, want ErrConflict", err)
			}
			assertGroup(t, mustGetGroup(t, s, tc.existing), before)
			if tc.in.ID != tc.existing {
				assertGroupNotFound(t, s, tc.in.ID)
			}
			if got := allMembers(t, s, tc.existing); !slices.Equal(got, []string{"u1"}) {
				t.Errorf("members of %s = %v, want [u1]", tc.existing, got)
			}
		})
	}
	if n := mustCountGroups(t, s); n != 1 {
		t.Errorf("CountGroups = %d, want 1", n)
	}
}

func testGroupCreateAllowed(t *testing.T, s store.GroupStore) {
	mustCreateGroup(t, s, store.Group{ID: "g1", DisplayName: "Ops", ExternalID: "shared"})
	for _, in := range []store.Group{
		{ID: "g2", DisplayName: "Ops Team", ExternalID: "shared"},
		{ID: "g3", DisplayName: "Ops ", ExternalID: "SHARED"},
		{ID: "G1", DisplayName: "Öps"},
	} {
		if _, err := s.CreateGroup(t.Context(), in); err != nil {
			t.Errorf("CreateGroup(%q, %q): %v", in.ID, in.DisplayName, err)
		}
	}
}

func testGroupCreateInvalid(t *testing.T, s store.GroupStore) {
	for _, in := range []store.Group{{ID: "", DisplayName: "Ops"}, {ID: "g1", DisplayName: ""}} {
		if _, err := s.CreateGroup(t.Context(), in); err == nil {
			t.Errorf("CreateGroup(%+v) succeeded, want an error", in)
		}
	}
	if n := mustCountGroups(t, s); n != 0 {
		t.Errorf("CountGroups after rejected creates = %d, want 0", n)
	}
}

func testGroupLookup(t *testing.T, s store.GroupStore) {
	for _, g := range []store.Group{
		{ID: "g2", DisplayName: "Trainual Admins", ExternalID: "ext-1"},
		{ID: "g1", DisplayName: "Ops", ExternalID: "ext-1"},
		{ID: "g3", DisplayName: "Ops Team", ExternalID: "ext-3"},
		{ID: "g4", DisplayName: "Équipe Été"},
	} {
		mustCreateGroup(t, s, g)
	}
	tests := []struct {
		name  string
		by    store.GroupIndex
		value string
		want  []string
	}{
		{"displayName matches exactly", store.GroupByDisplayName, "Trainual Admins", []string{"g2"}},
		{"displayName matches in lower case", store.GroupByDisplayName, "trainual admins", []string{"g2"}},
		{"displayName matches in upper case", store.GroupByDisplayName, "OPS", []string{"g1"}},
		{"displayName folds beyond ASCII", store.GroupByDisplayName, "équipe été", []string{"g4"}},
		{"displayName matches whole names only", store.GroupByDisplayName, "Ops Tea", nil},
		{"unknown displayName matches nothing", store.GroupByDisplayName, "Nobody", nil},
		{"empty displayName matches nothing", store.GroupByDisplayName, "", nil},
		{"externalId returns every group that shares it, by id", store.GroupByExternalID, "ext-1", []string{"g1", "g2"}},
		{"externalId is case-sensitive", store.GroupByExternalID, "EXT-1", nil},
		{"empty externalId matches nothing, not the groups without one", store.GroupByExternalID, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.LookupGroups(t.Context(), tc.by, tc.value)
			if err != nil {
				t.Fatalf("LookupGroups(%v, %q): %v", tc.by, tc.value, err)
			}
			if got == nil {
				t.Errorf("LookupGroups(%v, %q) = nil, want a non-nil slice", tc.by, tc.value)
			}
			if !slices.Equal(groupIDs(got), tc.want) {
				t.Errorf("LookupGroups(%v, %q) = %v, want %v", tc.by, tc.value, groupIDs(got), tc.want)
			}
			for _, g := range got {
				assertGroup(t, g, mustGetGroup(t, s, g.ID))
			}
		})
	}
	t.Run("an unknown index is an error", func(t *testing.T) {
		if _, err := s.LookupGroups(t.Context(), store.GroupIndex(0), "Ops"); err == nil {
			t.Error("LookupGroups(GroupIndex(0)) succeeded, want an error")
		}
	})
}

func testGroupUpdate(t *testing.T, s store.GroupStore) {
	prev := mustCreateGroup(t, s, store.Group{ID: "g1", DisplayName: "Ops", ExternalID: "e1", Extras: []byte(`{}`)})
	mustChange(t, s, "g1", []string{"u2", "u1"}, nil)
	prev = mustGetGroup(t, s, "g1")
	for i, name := range []string{"Operations", "Ops EU"} {
		got, err := s.UpdateGroup(t.Context(), "g1", func(cur store.Group) (store.Group, error) {
			assertGroup(t, cur, prev)
			cur.DisplayName, cur.ExternalID, cur.Extras = name, fmt.Sprint("e", i+2), []byte(fmt.Sprintf(`{"i":%d}`, i))
			cur.Version, cur.Created, cur.Modified = 100, time.Time{}, time.Time{} // ignored
			return cur, nil
		})
		if err != nil {
			t.Fatalf("UpdateGroup %d: %v", i, err)
		}
		if got.Version != prev.Version+1 || !got.Modified.After(prev.Modified) || !got.Created.Equal(prev.Created) {
			t.Errorf("UpdateGroup = version %d modified %v created %v; want %d, after %v, %v", got.Version,
				got.Modified, got.Created, prev.Version+1, prev.Modified, prev.Created)
		}
		if got.Modified.Location() != time.UTC {
			t.Errorf("Modified location = %v, want UTC", got.Modified.Location())
		}
		if got.DisplayName != name || got.ExternalID != fmt.Sprint("e", i+2) {
			t.Errorf("UpdateGroup = %s, want name %q externalId e%d", formatGroup(got), name, i+2)
		}
		assertGroup(t, mustGetGroup(t, s, "g1"), got)
		prev = got
	}
	if got := allMembers(t, s, "g1"); !slices.Equal(got, []string{"u1", "u2"}) {
		t.Errorf("members after updates = %v, want [u1 u2]", got)
	}
	if got := groupIDs(mustLookupGroups(t, s, store.GroupByDisplayName, "OPS EU")); !slices.Equal(got, []string{"g1"}) {
		t.Errorf("lookup of the new name = %v, want [g1]", got)
	}
	if got := mustLookupGroups(t, s, store.GroupByDisplayName, "Ops"); len(got) != 0 {
		t.Errorf("lookup of the old name = %v, want none", groupIDs(got))
	}
}

func testGroupUpdateConflicts(t *testing.T, s store.GroupStore) {
	mustCreateGroup(t, s, store.Group{ID: "g1", DisplayName: "Ops"})
	mustCreateGroup(t, s, store.Group{ID: "g2", DisplayName: "Admins"})
	for _, name := range []string{"Ops", "OPS", "ops"} {
		t.Run(name, func(t *testing.T) {
			before := mustGetGroup(t, s, "g2")
			_, err := s.UpdateGroup(t.Context(), "g2", func(g store.Group) (store.Group, error) {
				g.DisplayName = name
				return g, nil
			})
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("UpdateGroup renaming to %q: error = %v, want ErrConflict", name, err)
			}
			assertGroup(t, mustGetGroup(t, s, "g2"), before)
		})
	}
}

func testGroupUpdateAllowed(t *testing.T, s store.GroupStore) {
	mustCreateGroup(t, s, store.Group{ID: "g1", DisplayName: "Ops"})
	mustCreateGroup(t, s, store.Group{ID: "g2", DisplayName: "Admins"})
	rename := func(id, name string) {
		t.Helper()
		got, err := s.UpdateGroup(t.Context(), id, func(g store.Group) (store.Group, error) {
			g.DisplayName = name
			return g, nil
		})
		if err != nil {
			t.Fatalf("UpdateGroup(%s) to %q: %v", id, name, err)
		}
		if got.DisplayName != name {
			t.Errorf("UpdateGroup(%s) = %q, want %q", id, got.DisplayName, name)
		}
	}
	rename("g1", "OPS")          // its own name in another case
	rename("g1", "OPS")          // unchanged
	rename("g2", "Trainual Ops") // g2 gives up "Admins"
	rename("g1", "admins")       // and g1 takes it
	if got := groupIDs(mustLookupGroups(t, s, store.GroupByDisplayName, "Admins")); !slices.Equal(got, []string{"g1"}) {
		t.Errorf("lookup of Admins = %v, want [g1]", got)
	}
}

func testGroupUpdateRefused(t *testing.T, s store.GroupStore) {
	before := mustCreateGroup(t, s, store.Group{ID: "g1", DisplayName: "Ops", Extras: []byte(`{}`)})
	boom := errors.New("rule refused")
	tests := []struct {
		name  string
		fn    func(store.Group) (store.Group, error)
		check func(t *testing.T, err error)
	}{
		{"fn's error is returned unchanged", func(g store.Group) (store.Group, error) {
			g.DisplayName, g.Extras = "Mallory", []byte(`{"x":1}`)
			return g, boom
		}, func(t *testing.T, err error) {
			if err != boom { // the contract: returned unchanged, not wrapped
				t.Errorf("UpdateGroup error = %v, want fn's error itself", err)
			}
		}},
		{"fn may not change the id", func(g store.Group) (store.Group, error) {
			g.ID = "g2"
			return g, nil
		}, nil},
		{"an empty displayName", func(g store.Group) (store.Group, error) {
			g.DisplayName = ""
			return g, nil
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.UpdateGroup(t.Context(), "g1", tc.fn)
			if err == nil {
				t.Fatal("UpdateGroup succeeded, want an error")
			}
			if tc.check != nil {
				tc.check(t, err)
			}
			assertGroup(t, mustGetGroup(t, s, "g1"), before)
			assertGroupNotFound(t, s, "g2")
		})
	}
}

func testGroupNotFound(t *testing.T, s store.GroupStore) {
	mustCreateGroup(t, s, store.Group{ID: "gone", DisplayName: "Gone"})
	mustChange(t, s, "gone", []string{"u1"}, nil)
	if err := s.DeleteGroup(t.Context(), "gone"); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	mustCreateGroup(t, s, store.Group{ID: "other", DisplayName: "Other"})
	ops := []struct {
		name string
		call func(id string) error
	}{
		{"GetGroup", func(id string) error { _, err := s.GetGroup(t.Context(), id); return err }},
		{"UpdateGroup", func(id string) error {
			_, err := s.UpdateGroup(t.Context(), id, func(g store.Group) (store.Group, error) {
				t.Error("fn called for a missing group")
				return g, nil
			})
			return err
		}},
		{"DeleteGroup", func(id string) error { return s.DeleteGroup(t.Context(), id) }},
		{"ChangeMembers", func(id string) error {
			_, _, err := s.ChangeMembers(t.Context(), id, []string{"u1"}, []string{"u2"})
			return err
		}},
		{"ChangeMembers with nothing to change", func(id string) error {
			_, _, err := s.ChangeMembers(t.Context(), id, nil, nil)
			return err
		}},
		{"ClearMembers", func(id string) error { _, err := s.ClearMembers(t.Context(), id); return err }},
		{"Members", func(id string) error { _, err := s.Members(t.Context(), id, "", 10); return err }},
		{"CountMembers", func(id string) error { _, err := s.CountMembers(t.Context(), id); return err }},
	}
	for _, id := range []string{"missing", "gone"} {
		for _, op := range ops {
			t.Run(op.name+" of a "+id+" group", func(t *testing.T) {
				if err := op.call(id); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s(%q) error = %v, want ErrNotFound", op.name, id, err)
				}
			})
		}
	}
	if got := mustGroupsOf(t, s, "u1"); len(got) != 0 {
		t.Errorf("GroupsOf(u1) after changes to missing groups = %v, want none", got)
	}
	assertGroupNotFound(t, s, "missing")
	if got := mustListGroups(t, s, "", 10); !slices.Equal(groupIDs(got), []string{"other"}) {
		t.Errorf("ListGroups = %v, want [other]", groupIDs(got))
	}
}

func testGroupDelete(t *testing.T, s store.GroupStore) {
	mustCreateGroup(t, s, store.Group{ID: "g1", DisplayName: "Ops", ExternalID: "e1"})
	mustCreateGroup(t, s, store.Group{ID: "g2", DisplayName: "Admins"})
	mustChange(t, s, "g1", []string{"u1", "u2"}, nil)
	mustChange(t, s, "g2", []string{"u1"}, nil)
	g2 := mustGetGroup(t, s, "g2")

	if err := s.DeleteGroup(t.Context(), "g1"); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	assertGroupNotFound(t, s, "g1")
	if got := mustGroupsOf(t, s, "u1"); !slices.Equal(got, []string{"g2"}) {
		t.Errorf("GroupsOf(u1) = %v, want [g2]", got)
	}
	if got := mustGroupsOf(t, s, "u2"); len(got) != 0 {
		t.Errorf("GroupsOf(u2) = %v, want none", got)
	}
	if got := mustLookupGroups(t, s, store.GroupByExternalID, "e1"); len(got) != 0 {
		t.Errorf("lookup of the deleted group's externalId = %v, want none", groupIDs(got))
	}
	assertGroup(t, mustGetGroup(t, s, "g2"), g2)
	if n := mustCountGroups(t, s); n != 1 {
		t.Errorf("CountGroups = %d, want 1", n)
	}

	// The id and the name are free again, and the new group starts empty.
	again := mustCreateGroup(t, s, store.Group{ID: "g1", DisplayName: "OPS"})
	if again.Version != 1 {
		t.Errorf("recreated group version = %d, want 1", again.Version)
	}
	if n := mustCountMembers(t, s, "g1"); n != 0 {
		t.Errorf("members of the recreated group = %d, want 0 (memberships went with the old one)", n)
	}
}

func testGroupList(t *testing.T, s store.GroupStore) {
	// IDs chosen so that numeric, case-insensitive or locale order would all differ from byte order.
	all := []string{"9", "10", "100", "2", "A", "a", "B", "b", "Z", "_", "~", "a1", "a10", "a2", "é", "z", "0", "00",
		"-1", "1001", "99", "aa", "Ab"}
	for i, id := range all {
		mustCreateGroup(t, s, store.Group{ID: id, DisplayName: fmt.Sprint("group ", i)})
	}
	want := slices.Clone(all)
	slices.Sort(want)
	var got []string
	after := ""
	for calls := 0; ; calls++ {
		if calls > len(all) {
			t.Fatalf("ListGroups did not finish after %d calls; so far %v", calls, got)
		}
		page := mustListGroups(t, s, after, 4)
		if len(page) > 4 {
			t.Fatalf("ListGroups returned %d groups, want at most 4", len(page))
		}
		if len(page) == 0 {
			break
		}
		got = append(got, groupIDs(page)...)
		after = page[len(page)-1].ID
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged ListGroups = %v, want %v", got, want)
	}
	for _, g := range mustListGroups(t, s, "", 100) {
		assertGroup(t, g, mustGetGroup(t, s, g.ID))
	}
	if got := groupIDs(mustListGroups(t, s, "a0", 2)); !slices.Equal(got, []string{"a1", "a10"}) {
		t.Errorf("ListGroups after a missing id = %v, want [a1 a10]", got)
	}
	if n := mustCountGroups(t, s); n != len(all) {
		t.Errorf("CountGroups = %d, want %d", n, len(all))
	}
	for _, limit := range []int{0, -1} {
		if _, err := s.ListGroups(t.Context(), "", limit); err == nil {
			t.Errorf("ListGroups(limit %d) succeeded, want an error", limit)
		}
	}
}

func testChangeMembers(t *testing.T, s store.GroupStore) {
	created := mustCreateGroup(t, s, store.Group{ID: "g1", DisplayName: "Ops", ExternalID: "e1", Extras: []byte(`{"k":1}`)})
	steps := []struct {
		name                string
		add, remove         []string
		wantAdded, wantRmvd []string
		wantMembers         []string
	}{
		{"adds are returned in the order given", []string{"u3", "u1", "u2"}, nil,
			[]string{"u3", "u1", "u2"}, nil, []string{"u1", "u2", "u3"}},
		{"adding members again changes nothing", []string{"u2", "u1"}, nil,
			nil, nil, []string{"u1", "u2", "u3"}},
		{"removing a non-member changes nothing", nil, []string{"u9"},
			nil, nil, []string{"u1", "u2", "u3"}},
		{"empty lists change nothing", []string{}, []string{},
			nil, nil, []string{"u1", "u2", "u3"}},
		{"only the new of a mixed add are returned, once each", []string{"u2", "u4", "u4", "u1", "u5"}, nil,
			[]string{"u4", "u5"}, nil, []string{"u1", "u2", "u3", "u4", "u5"}},
		{"user ids are case-sensitive", []string{"U1"}, []string{"u5"},
			[]string{"U1"}, []string{"u5"}, []string{"U1", "u1", "u2", "u3", "u4"}},
		{"only members of a mixed remove are returned, in the order given, once each", nil,
			[]string{"u4", "u9", "U1", "u4"}, nil, []string{"u4", "U1"}, []string{"u1", "u2", "u3"}},
		{"adds and removes together", []string{"u6", "u1"}, []string{"u2", "u7"},
			[]string{"u6"}, []string{"u2"}, []string{"u1", "u3", "u6"}},
		{"a member in both lists is removed then added: it stays, and nothing changed", []string{"u3"}, []string{"u3"},
			nil, nil, []string{"u1", "u3", "u6"}},
		{"a non-member in both lists is removed then added: it is added", []string{"u8"}, []string{"u8"},
			[]string{"u8"}, nil, []string{"u1", "u3", "u6", "u8"}},
		{"removing every member", nil, []string{"u1", "u3", "u6", "u8"},
			nil, []string{"u1", "u3", "u6", "u8"}, nil},
		{"removing from an empty group changes nothing", nil, []string{"u1"},
			nil, nil, nil},
	}
	prev := created
	for _, st := range steps {
		added, removed, err := s.ChangeMembers(t.Context(), "g1", st.add, st.remove)
		if err != nil {
			t.Fatalf("%s: ChangeMembers: %v", st.name, err)
		}
		if !slices.Equal(added, st.wantAdded) || !slices.Equal(removed, st.wantRmvd) {
			t.Errorf("%s: ChangeMembers(add %v, remove %v) = added %v removed %v, want %v and %v", st.name,
				st.add, st.remove, added, removed, st.wantAdded, st.wantRmvd)
		}
		if got := allMembers(t, s, "g1"); !slices.Equal(got, st.wantMembers) {
			t.Errorf("%s: members = %v, want %v", st.name, got, st.wantMembers)
		}
		if n := mustCountMembers(t, s, "g1"); n != len(st.wantMembers) {
			t.Errorf("%s: CountMembers = %d, want %d", st.name, n, len(st.wantMembers))
		}
		got := mustGetGroup(t, s, "g1")
		want := prev
		if len(st.wantAdded)+len(st.wantRmvd) > 0 {
			if got.Version != prev.Version+1 || !got.Modified.After(prev.Modified) {
				t.Errorf("%s: version %d modified %v, want %d and after %v", st.name, got.Version, got.Modified,
					prev.Version+1, prev.Modified)
			}
			want.Version, want.Modified = got.Version, got.Modified
		}
		assertGroup(t, got, want) // nothing else moves, and nothing at all on a no-op
		prev = got
	}
}

func testChangeMembersInvalid(t *testing.T, s store.GroupStore) {
	mustCreateGroup(t, s, store.Group{ID: "g1", DisplayName: "Ops"})
	mustChange(t, s, "g1", []string{"u1", "u2"}, nil)
	before := mustGetGroup(t, s, "g1")
	tests := []struct {
		name        string
		add, remove []string
	}{
		{"an empty id to add", []string{"u3", ""}, []string{"u1"}},
		{"an empty id to remove", []string{"u3"}, []string{"u1", ""}},
		{"an id that is not UTF-8", []string{"u3", "u\xff"}, []string{"u1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := s.ChangeMembers(t.Context(), "g1", tc.add, tc.remove); err == nil {
				t.Fatal("ChangeMembers succeeded, want an error")
			}
			if got := allMembers(t, s, "g1"); !slices.Equal(got, []string{"u1", "u2"}) {
				t.Errorf("members = %v, want [u1 u2] (nothing applied)", got)
			}
			assertGroup(t, mustGetGroup(t, s, "g1"), before)
		})
	}
}

func testClearMembers(t *testing.T, s store.GroupStore) {
	mustCreateGroup(t, s, store.Group{ID: "g1", DisplayName: "Ops"})
	mustCreateGroup(t, s, store.Group{ID: "g2", DisplayName: "Admins"})
	mustChange(t, s, "g1", []string{"u3", "u10", "u1", "u2"}, nil)
	mustChange(t, s, "g2", []string{"u1"}, nil)
	before, other := mustGetGroup(t, s, "g1"), mustGetGroup(t, s, "g2")

	got, err := s.ClearMembers(t.Context(), "g1")
	if err != nil {
		t.Fatalf("ClearMembers: %v", err)
	}
	if want := []string{"u1", "u10", "u2", "u3"}; !slices.Equal(got, want) {
		t.Errorf("ClearMembers = %v, want %v", got, want)
	}
	after := mustGetGroup(t, s, "g1")
	if after.Version != before.Version+1 || !after.Modified.After(before.Modified) {
		t.Errorf("after ClearMembers: version %d modified %v, want %d and after %v", after.Version, after.Modified,
			before.Version+1, before.Modified)
	}
	if n := mustCountMembers(t, s, "g1"); n != 0 {
		t.Errorf("CountMembers after ClearMembers = %d, want 0", n)
	}
	if got := mustGroupsOf(t, s, "u1"); !slices.Equal(got, []string{"g2"}) {
		t.Errorf("GroupsOf(u1) = %v, want [g2]", got)
	}
	assertGroup(t, mustGetGroup(t, s, "g2"), other)

	again, err := s.ClearMembers(t.Context(), "g1")
	if err != nil {
		t.Fatalf("second ClearMembers: %v", err)
	}
	if len(again) != 0 {
		t.Errorf("second ClearMembers = %v, want none", again)
	}
	assertGroup(t, mustGetGroup(t, s, "g1"), after)
}

func testMembersPaging(t *testing.T, s store.GroupStore) {
	mustCreateGroup(t, s, store.Group{ID: "g1", DisplayName: "Ops"})
	mustCreateGroup(t, s, store.Group{ID: "g2", DisplayName: "Empty"})
	// Byte order differs from numeric, case-insensitive and locale order on these.
	ids := []string{"9", "10", "100", "2", "A", "a", "B", "b", "Z", "_", "~", "a1", "a10", "a2", "é", "z", "0", "00"}
	for i := range 250 {
		ids = append(ids, fmt.Sprintf("user-%d", i))
	}
	mustChange(t, s, "g1", ids, nil)
	want := slices.Clone(ids)
	slices.Sort(want)
	for _, limit := range []int{1, 7, 100, len(ids), 1000} {
		var got []string
		after := ""
		for calls := 0; ; calls++ {
			if calls > len(ids) {
				t.Fatalf("Members did not finish after %d calls", calls)
			}
			page, err := s.Members(t.Context(), "g1", after, limit)
			if err != nil {
				t.Fatalf("Members(%q, %d): %v", after, limit, err)
			}
			if len(page) > limit {
				t.Fatalf("Members returned %d ids, want at most %d", len(page), limit)
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			after = page[len(page)-1]
		}
		if !slices.Equal(got, want) {
			t.Errorf("Members paged by %d = %d ids, want the %d in byte order", limit, len(got), len(want))
		}
	}
	if page, err := s.Members(t.Context(), "g1", "user-0x", 3); err != nil || !slices.Equal(page, []string{"user-1", "user-10", "user-100"}) {
		t.Errorf("Members after a non-member = %v, %v; want [user-1 user-10 user-100]", page, err)
	}
	if n := mustCountMembers(t, s, "g1"); n != len(ids) {
		t.Errorf("CountMembers = %d, want %d", n, len(ids))
	}
	if page, err := s.Members(t.Context(), "g2", "", 10); err != nil || len(page) != 0 {
		t.Errorf("Members of an empty group = %v, %v; want none and no error", page, err)
	}
	for _, limit := range []int{0, -1} {
		if _, err := s.Members(t.Context(), "g1", "", limit); err == nil {
			t.Errorf("Members(limit %d) succeeded, want an error", limit)
		}
	}
}

func testGroupsOf(t *testing.T, s store.GroupStore) {
	for i, id := range []string{"g2", "g10", "G1", "g1"} {
		mustCreateGroup(t, s, store.Group{ID: id, DisplayName: fmt.Sprint("group ", i)})
	}
	mustChange(t, s, "g2", []string{"u1", "u2"}, nil)
	mustChange(t, s, "g10", []string{"u1"}, nil)
	mustChange(t, s, "G1", []string{"u1"}, nil)
	mustChange(t, s, "g1", []string{"u2"}, nil)
	tests := []struct {
		user string
		want []string
	}{
		{"u1", []string{"G1", "g10", "g2"}},
		{"u2", []string{"g1", "g2"}},
		{"U1", nil},
		{"nobody", nil},
	}
	for _, tc := range tests {
		got, err := s.GroupsOf(t.Context(), tc.user)
		if err != nil {
			t.Fatalf("GroupsOf(%q): %v", tc.user, err)
		}
		if got == nil || !slices.Equal(got, tc.want) {
			t.Errorf("GroupsOf(%q) = %#v, want %v (non-nil)", tc.user, got, tc.want)
		}
	}
}

func testRemoveUser(t *testing.T, s store.GroupStore) {
	for _, id := range []string{"gB", "gA", "gC"} {
		mustCreateGroup(t, s, store.Group{ID: id, DisplayName: "name " + id})
	}
	mustChange(t, s, "gA", []string{"u1", "u2"}, nil)
	mustChange(t, s, "gB", []string{"u1"}, nil)
	mustChange(t, s, "gC", []string{"u2"}, nil)
	before := map[string]store.Group{}
	for _, id := range []string{"gA", "gB", "gC"} {
		before[id] = mustGetGroup(t, s, id)
	}

	got, err := s.RemoveUser(t.Context(), "u1")
	if err != nil {
		t.Fatalf("RemoveUser: %v", err)
	}
	if !slices.Equal(got, []string{"gA", "gB"}) {
		t.Errorf("RemoveUser(u1) = %v, want [gA gB]", got)
	}
	for _, id := range []string{"gA", "gB"} {
		g := mustGetGroup(t, s, id)
		if g.Version != before[id].Version+1 || !g.Modified.After(before[id].Modified) {
			t.Errorf("%s after RemoveUser: version %d modified %v, want %d and after %v", id, g.Version, g.Modified,
				before[id].Version+1, before[id].Modified)
		}
		before[id] = g
	}
	assertGroup(t, mustGetGroup(t, s, "gC"), before["gC"])
	if got := mustGroupsOf(t, s, "u1"); len(got) != 0 {
		t.Errorf("GroupsOf(u1) = %v, want none", got)
	}
	if got := allMembers(t, s, "gA"); !slices.Equal(got, []string{"u2"}) {
		t.Errorf("members of gA = %v, want [u2]", got)
	}
	if got := mustGroupsOf(t, s, "u2"); !slices.Equal(got, []string{"gA", "gC"}) {
		t.Errorf("GroupsOf(u2) = %v, want [gA gC]", got)
	}

	for _, user := range []string{"u1", "nobody"} {
		got, err := s.RemoveUser(t.Context(), user)
		if err != nil || len(got) != 0 {
			t.Errorf("RemoveUser(%q) of a user in no group = %v, %v; want none", user, got, err)
		}
	}
	for id, g := range before {
		assertGroup(t, mustGetGroup(t, s, id), g)
	}
}

func testConcurrentChangeMembers(t *testing.T, s store.GroupStore) {
	const (
		writers = 12
		adds    = 8 // calls per writer, each adding one user of its own and "shared"
	)
	created := mustCreateGroup(t, s, store.Group{ID: "g1", DisplayName: "Ops"})
	user := func(w, i int) string { return fmt.Sprintf("w%02d-u%d", w, i) }
	var (
		wg          sync.WaitGroup
		start       = make(chan struct{})
		errs        = make(chan error, writers*(adds+1)+1)
		sharedAdded atomic.Int32
		done        = make(chan struct{})
	)
	for w := range writers {
		wg.Go(func() {
			<-start
			for i := range adds {
				added, removed, err := s.ChangeMembers(t.Context(), "g1", []string{user(w, i), "shared"}, nil)
				if err != nil {
					errs <- err
					return
				}
				if slices.Contains(added, "shared") {
					sharedAdded.Add(1)
				}
				if !slices.Contains(added, user(w, i)) || len(removed) != 0 {
					errs <- fmt.Errorf("writer %d call %d: added %v removed %v, want %s among added", w, i, added, removed, user(w, i))
				}
			}
			// Each writer then removes half of its own users in one call.
			var half []string
			for i := range adds / 2 {
				half = append(half, user(w, i))
			}
			if _, removed, err := s.ChangeMembers(t.Context(), "g1", nil, half); err != nil {
				errs <- err
			} else if !slices.Equal(removed, half) {
				errs <- fmt.Errorf("writer %d removed %v, want %v", w, removed, half)
			}
		})
	}
	// A reader checks that whenever the version moves, Modified moves with it.
	var reader sync.WaitGroup
	reader.Go(func() {
		last := created
		for {
			select {
			case <-done:
				return
			default:
			}
			g, err := s.GetGroup(t.Context(), "g1")
			if err != nil {
				errs <- err
				return
			}
			if g.Version < last.Version || (g.Version > last.Version && !g.Modified.After(last.Modified)) {
				errs <- fmt.Errorf("read version %d modified %v after version %d modified %v", g.Version, g.Modified,
					last.Version, last.Modified)
				return
			}
			last = g
			time.Sleep(time.Millisecond)
		}
	})
	close(start)
	wg.Wait()
	close(done)
	reader.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	want := []string{"shared"}
	for w := range writers {
		for i := adds / 2; i < adds; i++ {
			want = append(want, user(w, i))
		}
	}
	slices.Sort(want)
	if got := allMembers(t, s, "g1"); !slices.Equal(got, want) {
		t.Errorf("members after the race = %d ids %v, want %d ids %v", len(got), got, len(want), want)
	}
	if n := sharedAdded.Load(); n != 1 {
		t.Errorf("calls that reported adding the shared user = %d, want exactly 1", n)
	}
	changes := int64(writers * (adds + 1))
	got := mustGetGroup(t, s, "g1")
	if got.Version != 1+changes {
		t.Errorf("version = %d, want %d (one per change)", got.Version, 1+changes)
	}
	// Each change moved Modified by at least a millisecond.
	if min := created.Modified.Add(time.Duration(changes) * time.Millisecond); got.Modified.Before(min) {
		t.Errorf("modified = %v after %d changes from %v, want at least %v", got.Modified, changes, created.Modified, min)
	}
}

func testConcurrentAcrossGroups(t *testing.T, s store.GroupStore) {
	const (
		groups  = 4
		workers = 8
		rounds  = 12
		users   = 3 // shared by every worker, so that RemoveUser and ChangeMembers meet on the same rows
	)
	var gids []string
	for i := range groups {
		gids = append(gids, fmt.Sprint("g", i))
		mustCreateGroup(t, s, store.Group{ID: gids[i], DisplayName: gids[i]})
	}
	var (
		mu      sync.Mutex
		changes = map[string]int64{} // group -> changes reported to callers
		wg      sync.WaitGroup
		errs    = make(chan error, 2*workers*rounds)
		start   = make(chan struct{})
	)
	for w := range workers {
		wg.Go(func() {
			<-start
			for r := range rounds {
				u := fmt.Sprint("u", (w+r)%users)
				if (w+r)%3 == 2 {
					removedFrom, err := s.RemoveUser(t.Context(), u)
					if err != nil {
						errs <- fmt.Errorf("RemoveUser(%s): %w", u, err)
						continue
					}
					mu.Lock()
					for _, g := range removedFrom {
						changes[g]++
					}
					mu.Unlock()
					continue
				}
				// Touch two groups in opposite orders from different workers.
				for _, g := range []string{gids[(w+r)%groups], gids[(w+r+1+w%2)%groups]} {
					added, removed, err := s.ChangeMembers(t.Context(), g, []string{u, fmt.Sprint("own-", w)}, []string{fmt.Sprint("u", (w+r+1)%users)})
					if err != nil {
						errs <- fmt.Errorf("ChangeMembers(%s): %w", g, err)
						continue
					}
					if len(added)+len(removed) > 0 {
						mu.Lock()
						changes[g]++
						mu.Unlock()
					}
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
	// Every change reported to a caller moved its group's version exactly once, and the user index agrees with
	// the groups' member lists.
	byUser := map[string][]string{}
	for _, g := range gids {
		if got := mustGetGroup(t, s, g); got.Version != 1+changes[g] {
			t.Errorf("%s version = %d, want %d (1 + changes reported)", g, got.Version, 1+changes[g])
		}
		for _, u := range allMembers(t, s, g) {
			byUser[u] = append(byUser[u], g)
		}
	}
	for u, want := range byUser {
		if got := mustGroupsOf(t, s, u); !slices.Equal(got, want) {
			t.Errorf("GroupsOf(%s) = %v, want %v from the member lists", u, got, want)
		}
	}
}

func testManyMembers(t *testing.T, s store.GroupStore) {
	const n = 5000
	// Budgets are generous (a slow, shared CI machine, the race detector): they catch work per member that grows
	// with the group, or a round trip per member, not a slow disk. The times are logged for comparison.
	const budget = 10 * time.Second
	mustCreateGroup(t, s, store.Group{ID: "big", DisplayName: "Everyone"})
	mustCreateGroup(t, s, store.Group{ID: "small", DisplayName: "Few"})
	first, second := make([]string, n), make([]string, n)
	for i := range n {
		first[i] = fmt.Sprintf("00u%06d-a", i)
		second[i] = fmt.Sprintf("00u%06d-b", i)
	}
	timed := func(what string, fn func() error) {
		t.Helper()
		start := time.Now()
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		d := time.Since(start)
		t.Logf("%-48s %v", what, d.Round(time.Microsecond))
		if d > budget {
			t.Errorf("%s took %v, want under %v", what, d, budget)
		}
	}
	change := func(add, remove []string, wantAdded, wantRemoved int) func() error {
		return func() error {
			added, removed, err := s.ChangeMembers(t.Context(), "big", add, remove)
			if err == nil && (len(added) != wantAdded || len(removed) != wantRemoved) {
				err = fmt.Errorf("added %d removed %d, want %d and %d", len(added), len(removed), wantAdded, wantRemoved)
			}
			return err
		}
	}
	timed("add 5,000 to an empty group", change(first, nil, n, 0))
	timed("add 5,000 more (half already members)", change(slices.Concat(first[n/2:], second[:n/2]), nil, n/2, 0))
	timed("add 5,000 that are all members (no-op)", change(first, nil, 0, 0))
	timed("add 1 to a group of 7,500", change([]string{"00u-single"}, nil, 1, 0))
	timed("add 1 to a group of 0", func() error {
		_, _, err := s.ChangeMembers(t.Context(), "small", []string{"00u-single"}, nil)
		return err
	})
	timed("remove 5,000 and add 2,500 in one call", change(second[n/2:], first, n/2, n))
	if got := mustCountMembers(t, s, "big"); got != n+1 {
		t.Fatalf("CountMembers = %d, want %d", got, n+1)
	}
	timed("clear 5,001 members", func() error {
		removed, err := s.ClearMembers(t.Context(), "big")
		if err == nil && len(removed) != n+1 {
			err = fmt.Errorf("cleared %d, want %d", len(removed), n+1)
		}
		return err
	})
	if g := mustGetGroup(t, s, "big"); g.Version != 1+5 {
		t.Errorf("version = %d, want 6 (five calls changed something, the no-op did not)", g.Version)
	}
}

func testGroupReopen(t *testing.T, h Harness) {
	s := h.New(t).(store.GroupStore)
	mustCreateGroup(t, s, store.Group{ID: "g1", DisplayName: "Ops", ExternalID: "e1", Extras: []byte(`{"k":"v"}`)})
	mustChange(t, s, "g1", []string{"u2", "u1"}, nil)
	g := mustGetGroup(t, s, "g1")
	s = h.Reopen(t, s.(store.Store)).(store.GroupStore)
	assertGroup(t, mustGetGroup(t, s, "g1"), g)
	if got := allMembers(t, s, "g1"); !slices.Equal(got, []string{"u1", "u2"}) {
		t.Errorf("members after reopen = %v, want [u1 u2]", got)
	}
	if got := mustGroupsOf(t, s, "u1"); !slices.Equal(got, []string{"g1"}) {
		t.Errorf("GroupsOf(u1) after reopen = %v, want [g1]", got)
	}
	if _, err := s.CreateGroup(t.Context(), store.Group{ID: "g2", DisplayName: "OPS"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateGroup of a taken name after reopen: error = %v, want ErrConflict", err)
	}
	mustChange(t, s, "g1", nil, []string{"u1"})
	if got := mustGetGroup(t, s, "g1"); got.Version != g.Version+1 {
		t.Errorf("version after reopen and a change = %d, want %d", got.Version, g.Version+1)
	}
}

func testGroupNamespaces(t *testing.T, h Harness) {
	a := h.NewNamespace(t, "tenant-a").(store.GroupStore)
	b := h.NewNamespace(t, "tenant-b").(store.GroupStore)
	mustCreateGroup(t, a, store.Group{ID: "g1", DisplayName: "Admins", ExternalID: "ext"})
	mustChange(t, a, "g1", []string{"u1", "u2"}, nil)
	inA := mustGetGroup(t, a, "g1")

	assertGroupNotFound(t, b, "g1")
	for by, value := range map[store.GroupIndex]string{store.GroupByDisplayName: "Admins", store.GroupByExternalID: "ext"} {
		if got := mustLookupGroups(t, b, by, value); len(got) != 0 {
			t.Errorf("LookupGroups(%v) in the other namespace = %v, want none", by, groupIDs(got))
		}
	}
	if got := mustListGroups(t, b, "", 10); len(got) != 0 {
		t.Errorf("ListGroups in the other namespace = %v, want none", groupIDs(got))
	}
	if n := mustCountGroups(t, b); n != 0 {
		t.Errorf("CountGroups in the other namespace = %d, want 0", n)
	}
	if got := mustGroupsOf(t, b, "u1"); len(got) != 0 {
		t.Errorf("GroupsOf in the other namespace = %v, want none", got)
	}
	notFound := map[string]error{}
	_, notFound["Members"] = b.Members(t.Context(), "g1", "", 10)
	_, notFound["CountMembers"] = b.CountMembers(t.Context(), "g1")
	_, _, notFound["ChangeMembers"] = b.ChangeMembers(t.Context(), "g1", []string{"u3"}, []string{"u1"})
	_, notFound["ClearMembers"] = b.ClearMembers(t.Context(), "g1")
	_, notFound["UpdateGroup"] = b.UpdateGroup(t.Context(), "g1", func(g store.Group) (store.Group, error) { return g, nil })
	notFound["DeleteGroup"] = b.DeleteGroup(t.Context(), "g1")
	for op, err := range notFound {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s in the other namespace: error = %v, want ErrNotFound", op, err)
		}
	}
	if got, err := b.RemoveUser(t.Context(), "u1"); err != nil || len(got) != 0 {
		t.Errorf("RemoveUser in the other namespace = %v, %v; want none", got, err)
	}

	// The same id and name are free in the other namespace, and its members are its own.
	mustCreateGroup(t, b, store.Group{ID: "g1", DisplayName: "ADMINS"})
	mustChange(t, b, "g1", []string{"u1", "u3"}, nil)
	if got := mustGroupsOf(t, b, "u1"); !slices.Equal(got, []string{"g1"}) {
		t.Errorf("GroupsOf(u1) in b = %v, want [g1]", got)
	}
	if got, err := b.RemoveUser(t.Context(), "u1"); err != nil || !slices.Equal(got, []string{"g1"}) {
		t.Errorf("RemoveUser(u1) in b = %v, %v; want [g1]", got, err)
	}
	if _, err := b.ClearMembers(t.Context(), "g1"); err != nil {
		t.Fatalf("ClearMembers in b: %v", err)
	}
	if err := b.DeleteGroup(t.Context(), "g1"); err != nil {
		t.Fatalf("DeleteGroup in b: %v", err)
	}

	assertGroup(t, mustGetGroup(t, a, "g1"), inA)
	if got := allMembers(t, a, "g1"); !slices.Equal(got, []string{"u1", "u2"}) {
		t.Errorf("members in a after b's changes = %v, want [u1 u2]", got)
	}
	if got := mustGroupsOf(t, a, "u1"); !slices.Equal(got, []string{"g1"}) {
		t.Errorf("GroupsOf(u1) in a = %v, want [g1]", got)
	}
}

func mustCreateGroup(t *testing.T, s store.GroupStore, g store.Group) store.Group {
	t.Helper()
	got, err := s.CreateGroup(t.Context(), g)
	if err != nil {
		t.Fatalf("CreateGroup(%q, %q): %v", g.ID, g.DisplayName, err)
	}
	return got
}

func mustGetGroup(t *testing.T, s store.GroupStore, id string) store.Group {
	t.Helper()
	got, err := s.GetGroup(t.Context(), id)
	if err != nil {
		t.Fatalf("GetGroup(%q): %v", id, err)
	}
	return got
}

func mustLookupGroups(t *testing.T, s store.GroupStore, by store.GroupIndex, value string) []store.Group {
	t.Helper()
	got, err := s.LookupGroups(t.Context(), by, value)
	if err != nil {
		t.Fatalf("LookupGroups(%v, %q): %v", by, value, err)
	}
	return got
}

func mustListGroups(t *testing.T, s store.GroupStore, after string, limit int) []store.Group {
	t.Helper()
	got, err := s.ListGroups(t.Context(), after, limit)
	if err != nil {
		t.Fatalf("ListGroups(%q, %d): %v", after, limit, err)
	}
	return got
}

func mustCountGroups(t *testing.T, s store.GroupStore) int {
	t.Helper()
	n, err := s.CountGroups(t.Context())
	if err != nil {
		t.Fatalf("CountGroups: %v", err)
	}
	return n
}

func mustChange(t *testing.T, s store.GroupStore, id string, add, remove []string) (added, removed []string) {
	t.Helper()
	added, removed, err := s.ChangeMembers(t.Context(), id, add, remove)
	if err != nil {
		t.Fatalf("ChangeMembers(%q, %v, %v): %v", id, add, remove, err)
	}
	return added, removed
}

func mustCountMembers(t *testing.T, s store.GroupStore, id string) int {
	t.Helper()
	n, err := s.CountMembers(t.Context(), id)
	if err != nil {
		t.Fatalf("CountMembers(%q): %v", id, err)
	}
	return n
}

func mustGroupsOf(t *testing.T, s store.GroupStore, user string) []string {
	t.Helper()
	got, err := s.GroupsOf(t.Context(), user)
	if err != nil {
		t.Fatalf("GroupsOf(%q): %v", user, err)
	}
	return got
}

// allMembers pages through the group's members, 100 at a time.
func allMembers(t *testing.T, s store.GroupStore, id string) []string {
	t.Helper()
	var out []string
	after := ""
	for {
		page, err := s.Members(t.Context(), id, after, 100)
		if err != nil {
			t.Fatalf("Members(%q, %q): %v", id, after, err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1]
	}
}

func assertGroupNotFound(t *testing.T, s store.GroupStore, id string) {
	t.Helper()
	if _, err := s.GetGroup(t.Context(), id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetGroup(%q) error = %v, want ErrNotFound", id, err)
	}
}

func assertGroup(t *testing.T, got, want store.Group) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("group\n got %s\nwant %s", formatGroup(got), formatGroup(want))
	}
}

func formatGroup(g store.Group) string {
	extras := "nil"
	if g.Extras != nil {
		extras = fmt.Sprintf("%q", g.Extras)
	}
	return fmt.Sprintf("{ID:%q DisplayName:%q ExternalID:%q Extras:%s Version:%d Created:%s Modified:%s}",
		g.ID, g.DisplayName, g.ExternalID, extras, g.Version,
		g.Created.Format(time.RFC3339Nano+" MST"), g.Modified.Format(time.RFC3339Nano+" MST"))
}

func groupIDs(groups []store.Group) []string {
	var out []string
	for _, g := range groups {
		out = append(out, g.ID)
	}
	return out
}
