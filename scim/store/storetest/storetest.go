package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/scim/store"
)

// Harness tells the suite how to obtain stores of the implementation under test.
type Harness struct {
	// New returns a fresh, empty store and arranges for it to be closed when t ends.
	New func(t *testing.T) store.Store
	// Reopen closes s and opens the same data again; nil when the store is not persistent.
	Reopen func(t *testing.T, s store.Store) store.Store
	// NewNamespace returns a store bound to namespace ns; every call within one test t must share one
	// database, so that isolation between namespaces is actually exercised. Nil when namespaces cannot be
	// tested this way.
	NewNamespace func(t *testing.T, ns string) store.Store
}

// Report says which cases of the suite an engine ran.
type Report struct {
	Ran    []string          // cases that ran (passed or failed)
	NotRun map[string]string // case -> why it did not run: a missing harness capability, or a skip
}

func (r *Report) ran(name string) { r.Ran = append(r.Ran, name) }

func (r *Report) notRun(name, why string) {
	if r.NotRun == nil {
		r.NotRun = map[string]string{}
	}
	r.NotRun[name] = why
}

// runCase runs fn as the subtest name and records in r whether it ran or was skipped.
func (r *Report) runCase(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	skipped := false
	t.Run(name, func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		fn(t)
	})
	if skipped {
		r.notRun(name, "skipped")
	} else {
		r.ran(name)
	}
}

var cases = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"create then get returns every field with UTC millisecond times", testCreateGet},
	{"the store keeps its own copy of extras", testExtrasCopied},
	{"create rejects a conflicting id or userName and leaves the existing link alone", testCreateConflicts},
	{"create allows what is not unique", testCreateAllowed},
	{"create rejects an empty id or userName", testCreateInvalid},
	{"get returns tombstones", testGetTombstone},
	{"lookup answers each index with its case rules and live links only", testLookup},
	{"update bumps version and modified and keeps created", testUpdateVersion},
	{"update ignores the version and timestamps fn returns", testUpdateIgnoresBookkeeping},
	{"update rejects a userName collision and leaves the link alone", testUpdateConflicts},
	{"update allows renames and revivals that collide with nobody", testUpdateAllowed},
	{"an error from fn aborts the update and leaves the link untouched", testUpdateFnError},
	{"update of a missing id returns ErrNotFound without calling fn", testUpdateMissing},
	{"update may not change the id", testUpdateID},
	{"delete removes the link for good", testDelete},
	{"list pages through every link in byte order without gaps or repeats", testList},
	{"list rejects a limit that is not positive", testListLimit},
	{"64 KiB of extras round-trips", testLargeExtras},
	{"concurrent creates of one userName have exactly one winner", testConcurrentCreate},
	{"concurrent updates lose no increment", testConcurrentUpdate},
}

const (
	reopenCase     = "links survive closing and reopening the store"
	namespacesCase = "namespaces sharing one database never see each other's links"
	lockerPrefix   = "locker/"
)

// Run runs the suite, each subtest on a fresh store, and reports which cases ran. Cases the harness cannot run
// (no Reopen, no NewNamespace, a store that is not a Locker, a GroupStore or an AuditStore) are reported as not run;
// RunEngines turns that into a failure.
func Run(t *testing.T, h Harness) Report {
	t.Helper()
	var r Report
	for _, tc := range cases {
		r.runCase(t, tc.name, func(t *testing.T) { tc.fn(t, h.New(t)) })
	}
	if h.Reopen != nil {
		r.runCase(t, reopenCase, func(t *testing.T) { testReopen(t, h) })
	} else {
		r.notRun(reopenCase, "Harness.Reopen is nil")
	}
	if h.NewNamespace != nil {
		r.runCase(t, namespacesCase, func(t *testing.T) { testNamespaces(t, h) })
	} else {
		r.notRun(namespacesCase, "Harness.NewNamespace is nil")
	}
	if _, ok := h.New(t).(store.Locker); ok {
		t.Run("locker", func(t *testing.T) {
			lr := RunLocker(t, func(t *testing.T) store.Locker { return h.New(t).(store.Locker) })
			for _, name := range lr.Ran {
				r.ran(lockerPrefix + name)
			}
			for name, why := range lr.NotRun {
				r.notRun(lockerPrefix+name, why)
			}
		})
	} else {
		for _, tc := range lockerCases {
			r.notRun(lockerPrefix+tc.name, "the store is not a store.Locker")
		}
	}
	if _, ok := h.New(t).(store.GroupStore); ok {
		t.Run("groups", func(t *testing.T) {
			gr := RunGroups(t, h)
			for _, name := range gr.Ran {
				r.ran(groupPrefix + name)
			}
			for name, why := range gr.NotRun {
				r.notRun(groupPrefix+name, why)
			}
		})
	} else {
		for _, name := range groupCaseNames() {
			r.notRun(groupPrefix+name, "the store is not a store.GroupStore")
		}
	}
	if _, ok := h.New(t).(AuditStore); ok {
		t.Run("audit", func(t *testing.T) {
			ar := RunAudit(t, h)
			for _, name := range ar.Ran {
				r.ran(auditPrefix + name)
			}
			for name, why := range ar.NotRun {
				r.notRun(auditPrefix+name, why)
			}
		})
	} else {
		for _, name := range auditCaseNames() {
			r.notRun(auditPrefix+name, errNotAudit.Error())
		}
	}
	return r
}

// Engine is one store implementation for RunEngines.
type Engine struct {
	Name    string
	Harness Harness
}

// RunEngines runs the whole suite on each engine, as a subtest named after it, and fails unless every engine ran
// every case: a case skipped on one engine, or left out because its harness lacks something, fails the suite
// rather than letting that engine pass with less.
func RunEngines(t *testing.T, engines ...Engine) {
	t.Helper()
	if len(engines) == 0 {
		t.Fatal("RunEngines: no engines")
	}
	for _, e := range engines {
		var r Report
		t.Run(e.Name, func(t *testing.T) { r = Run(t, e.Harness) })
		for _, gap := range r.gaps() {
			t.Errorf("%s %s: every engine must run every case", e.Name, gap)
		}
	}
}

// gaps describes each case of the suite the report does not show as run.
func (r Report) gaps() []string {
	var out []string
	for _, name := range allCaseNames() {
		if why, ok := r.NotRun[name]; ok {
			out = append(out, fmt.Sprintf("did not run %q (%s)", name, why))
		} else if !slices.Contains(r.Ran, name) {
			out = append(out, fmt.Sprintf("did not run %q", name))
		}
	}
	return out
}

// allCaseNames lists every case Run can run, as Report names them.
func allCaseNames() []string {
	var out []string
	for _, tc := range cases {
		out = append(out, tc.name)
	}
	out = append(out, reopenCase, namespacesCase)
	for _, tc := range lockerCases {
		out = append(out, lockerPrefix+tc.name)
	}
	for _, name := range groupCaseNames() {
		out = append(out, groupPrefix+name)
	}
	for _, name := range auditCaseNames() {
		out = append(out, auditPrefix+name)
	}
	return out
}

func testCreateGet(t *testing.T, s store.Store) {
	in := store.Link{
		ID:         "1001",
		UserName:   "Alice.Smith@Example.com",
		ExternalID: "00u1abc",
		Email:      "Alice.Smith@Example.com",
		Extras:     []byte(`{"title":"Engineer","urn:x":{"costCenter":"42"}}`),
		Version:    99,              // ignored
		Created:    time.Unix(1, 0), // ignored
		Modified:   time.Unix(2, 0), // ignored
	}
	before := time.Now().Truncate(time.Millisecond)
	got, err := s.Create(t.Context(), in)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	after := time.Now()

	want := in
	want.Version, want.Created, want.Modified = 1, got.Created, got.Created
	assertLink(t, got, want)
	if got.Created.Location() != time.UTC {
		t.Errorf("Created location = %v, want UTC", got.Created.Location())
	}
	if !got.Created.Equal(got.Created.Truncate(time.Millisecond)) {
		t.Errorf("Created = %v, want millisecond precision", got.Created)
	}
	if got.Created.Before(before) || got.Created.After(after) {
		t.Errorf("Created = %v, want between %v and %v", got.Created, before, after)
	}

	assertLink(t, mustGet(t, s, in.ID), got)
}

func testExtrasCopied(t *testing.T, s store.Store) {
	extras := []byte(`{"a":1}`)
	created := mustCreate(t, s, store.Link{ID: "1", UserName: "alice", Extras: extras})
	copy(extras, `{"b":2}`)
	created.Extras[2] = 'z'
	if got := mustGet(t, s, "1"); string(got.Extras) != `{"a":1}` {
		t.Errorf("Extras after the caller mutated its slices = %s, want {\"a\":1}", got.Extras)
	}
}

func testCreateConflicts(t *testing.T, s store.Store) {
	mustCreate(t, s, store.Link{ID: "1", UserName: "alice"})
	mustCreate(t, s, store.Link{ID: "2", UserName: "gone", Deleted: true})
	tests := []struct {
		name     string
		in       store.Link
		existing string // ID of the link that must be unchanged
	}{
		{"an id that exists", store.Link{ID: "1", UserName: "bob"}, "1"},
		{"an id held by a tombstone", store.Link{ID: "2", UserName: "carol"}, "2"},
		{"a live userName in another case", store.Link{ID: "3", UserName: "ALICE"}, "1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := mustGet(t, s, tc.existing)
			_, err := s.Create(t.Context(), tc.in)
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("Create error = %v, want ErrConflict", err)
			}
			assertLink(t, mustGet(t, s, tc.existing), before)
			if tc.in.ID != tc.existing {
				assertNotFound(t, s, tc.in.ID)
			}
		})
	}
}

func testCreateAllowed(t *testing.T, s store.Store) {
	mustCreate(t, s, store.Link{ID: "1", UserName: "alice", ExternalID: "ext", Email: "a@example.com", Deleted: true})
	mustCreate(t, s, store.Link{ID: "2", UserName: "bob", ExternalID: "ext", Email: "shared@example.com"})
	tests := []struct {
		name string
		in   store.Link
	}{
		{"a different id may take a tombstone's userName", store.Link{ID: "3", UserName: "ALICE"}},
		{"externalId is not unique", store.Link{ID: "4", UserName: "carol", ExternalID: "ext"}},
		{"email is not unique", store.Link{ID: "5", UserName: "dave", Email: "SHARED@example.com"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Create(t.Context(), tc.in); err != nil {
				t.Fatalf("Create: %v", err)
			}
		})
	}
}

func testCreateInvalid(t *testing.T, s store.Store) {
	for _, in := range []store.Link{{ID: "", UserName: "alice"}, {ID: "1", UserName: ""}} {
		if _, err := s.Create(t.Context(), in); err == nil {
			t.Errorf("Create(%+v) succeeded, want an error", in)
		}
	}
	if got := mustList(t, s, "", 10); len(got) != 0 {
		t.Errorf("List after rejected creates = %v, want none", ids(got))
	}
}

func testGetTombstone(t *testing.T, s store.Store) {
	created := mustCreate(t, s, store.Link{ID: "1", UserName: "alice", Deleted: true})
	got := mustGet(t, s, "1")
	if !got.Deleted {
		t.Errorf("Get returned Deleted = false for a tombstone")
	}
	assertLink(t, got, created)
	assertNotFound(t, s, "2")
}

func testLookup(t *testing.T, s store.Store) {
	for _, l := range []store.Link{
		{ID: "1", UserName: "Alice", ExternalID: "ext-A", Email: "Alice@Example.com"},
		{ID: "2", UserName: "bob", ExternalID: "ext-A", Email: "shared@example.com"},
		{ID: "3", UserName: "carol", ExternalID: "ext-c", Email: "SHARED@example.com"},
		{ID: "4", UserName: "dave", ExternalID: "ext-d", Email: "dave@example.com", Deleted: true},
		{ID: "5", UserName: "erin"},
	} {
		mustCreate(t, s, l)
	}
	tests := []struct {
		name  string
		by    store.Index
		value string
		want  []string
	}{
		{"userName matches exactly", store.ByUserName, "Alice", []string{"1"}},
		{"userName matches in lower case", store.ByUserName, "alice", []string{"1"}},
		{"userName matches in upper case", store.ByUserName, "ALICE", []string{"1"}},
		{"userName of a tombstone matches nothing", store.ByUserName, "dave", nil},
		{"unknown userName matches nothing", store.ByUserName, "nobody", nil},
		{"empty userName matches nothing", store.ByUserName, "", nil},
		{"externalId returns every live link that shares it", store.ByExternalID, "ext-A", []string{"1", "2"}},
		{"externalId is case-sensitive", store.ByExternalID, "EXT-A", nil},
		{"externalId of a tombstone matches nothing", store.ByExternalID, "ext-d", nil},
		{"empty externalId matches nothing, not the links without one", store.ByExternalID, "", nil},
		{"email matches case-insensitively and returns every live link", store.ByEmail, "Shared@EXAMPLE.com", []string{"2", "3"}},
		{"email of a tombstone matches nothing", store.ByEmail, "dave@example.com", nil},
		{"empty email matches nothing, not the links without one", store.ByEmail, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Lookup(t.Context(), tc.by, tc.value)
			if err != nil {
				t.Fatalf("Lookup(%v, %q): %v", tc.by, tc.value, err)
			}
			if got == nil {
				t.Errorf("Lookup(%v, %q) = nil, want a non-nil slice", tc.by, tc.value)
			}
			if !slices.Equal(ids(got), tc.want) {
				t.Errorf("Lookup(%v, %q) = %v, want %v", tc.by, tc.value, ids(got), tc.want)
			}
			for _, l := range got {
				assertLink(t, l, mustGet(t, s, l.ID))
			}
		})
	}
	t.Run("an unknown index is an error", func(t *testing.T) {
		if _, err := s.Lookup(t.Context(), store.Index(0), "alice"); err == nil {
			t.Error("Lookup(Index(0)) succeeded, want an error")
		}
	})
}

func testUpdateVersion(t *testing.T, s store.Store) {
	prev := mustCreate(t, s, store.Link{ID: "1", UserName: "alice", Email: "a@example.com"})
	for i, email := range []string{"b@example.com", "c@example.com"} {
		got, err := s.Update(t.Context(), "1", func(cur store.Link) (store.Link, error) {
			assertLink(t, cur, prev)
			cur.Email = email
			return cur, nil
		})
		if err != nil {
			t.Fatalf("Update %d: %v", i, err)
		}
		if got.Version != prev.Version+1 {
			t.Errorf("Version = %d, want %d", got.Version, prev.Version+1)
		}
		if !got.Modified.After(prev.Modified) {
			t.Errorf("Modified = %v, want after %v", got.Modified, prev.Modified)
		}
		if got.Modified.Location() != time.UTC {
			t.Errorf("Modified location = %v, want UTC", got.Modified.Location())
		}
		if !got.Created.Equal(prev.Created) {
			t.Errorf("Created = %v, want unchanged %v", got.Created, prev.Created)
		}
		if got.Email != email {
			t.Errorf("Email = %q, want %q", got.Email, email)
		}
		assertLink(t, mustGet(t, s, "1"), got)
		prev = got
	}
}

func testUpdateIgnoresBookkeeping(t *testing.T, s store.Store) {
	created := mustCreate(t, s, store.Link{ID: "1", UserName: "alice"})
	got, err := s.Update(t.Context(), "1", func(cur store.Link) (store.Link, error) {
		cur.Version, cur.Created, cur.Modified = 100, time.Time{}, time.Time{}
		return cur, nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got.Version != 2 || !got.Created.Equal(created.Created) || !got.Modified.After(created.Modified) {
		t.Errorf("Update = version %d created %v modified %v, want 2, %v, after %v",
			got.Version, got.Created, got.Modified, created.Created, created.Modified)
	}
}

func testUpdateConflicts(t *testing.T, s store.Store) {
	mustCreate(t, s, store.Link{ID: "1", UserName: "alice"})
	mustCreate(t, s, store.Link{ID: "2", UserName: "bob"})
	mustCreate(t, s, store.Link{ID: "3", UserName: "carol", Deleted: true})
	mustCreate(t, s, store.Link{ID: "4", UserName: "CAROL"})
	tests := []struct {
		name string
		id   string
		fn   func(store.Link) store.Link
	}{
		{"renaming to another live link's userName in another case", "2",
			func(l store.Link) store.Link { l.UserName = "ALICE"; return l }},
		{"reviving a tombstone whose userName was taken meanwhile", "3",
			func(l store.Link) store.Link { l.Deleted = false; return l }},
		{"reviving a tombstone under a taken userName", "3",
			func(l store.Link) store.Link { l.Deleted, l.UserName = false, "Bob"; return l }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := mustGet(t, s, tc.id)
			_, err := s.Update(t.Context(), tc.id, func(l store.Link) (store.Link, error) { return tc.fn(l), nil })
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("Update error = %v, want ErrConflict", err)
			}
			assertLink(t, mustGet(t, s, tc.id), before)
		})
	}
}

func testUpdateAllowed(t *testing.T, s store.Store) {
	mustCreate(t, s, store.Link{ID: "1", UserName: "alice"})
	mustCreate(t, s, store.Link{ID: "2", UserName: "bob", Deleted: true})
	tests := []struct {
		name string
		id   string
		fn   func(store.Link) store.Link
	}{
		{"a link may change the case of its own userName", "1",
			func(l store.Link) store.Link { l.UserName = "ALICE"; return l }},
		{"a tombstone may be revived while its userName is free", "2",
			func(l store.Link) store.Link { l.Deleted = false; return l }},
		{"a live link may become a tombstone", "1",
			func(l store.Link) store.Link { l.Deleted = true; return l }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var want store.Link
			got, err := s.Update(t.Context(), tc.id, func(l store.Link) (store.Link, error) {
				want = tc.fn(l)
				return want, nil
			})
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			if got.UserName != want.UserName || got.Deleted != want.Deleted {
				t.Errorf("Update = %q deleted=%v, want %q deleted=%v", got.UserName, got.Deleted, want.UserName, want.Deleted)
			}
			assertLink(t, mustGet(t, s, tc.id), got)
		})
	}
}

func testUpdateFnError(t *testing.T, s store.Store) {
	before := mustCreate(t, s, store.Link{ID: "1", UserName: "alice", Extras: []byte(`{}`)})
	boom := errors.New("upstream refused")
	_, err := s.Update(t.Context(), "1", func(l store.Link) (store.Link, error) {
		l.UserName, l.Deleted, l.Extras = "mallory", true, []byte(`{"x":1}`)
		return l, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update error = %v, want fn's error", err)
	}
	assertLink(t, mustGet(t, s, "1"), before)
}

func testUpdateMissing(t *testing.T, s store.Store) {
	mustCreate(t, s, store.Link{ID: "1", UserName: "alice"})
	_, err := s.Update(t.Context(), "2", func(l store.Link) (store.Link, error) {
		t.Error("fn called for a missing id")
		return l, nil
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Update error = %v, want ErrNotFound", err)
	}
	assertNotFound(t, s, "2")
}

func testUpdateID(t *testing.T, s store.Store) {
	before := mustCreate(t, s, store.Link{ID: "1", UserName: "alice"})
	_, err := s.Update(t.Context(), "1", func(l store.Link) (store.Link, error) {
		l.ID = "2"
		return l, nil
	})
	if err == nil {
		t.Fatal("Update that changed the id succeeded, want an error")
	}
	assertLink(t, mustGet(t, s, "1"), before)
	assertNotFound(t, s, "2")
}

func testDelete(t *testing.T, s store.Store) {
	mustCreate(t, s, store.Link{ID: "1", UserName: "alice", ExternalID: "ext"})
	mustCreate(t, s, store.Link{ID: "2", UserName: "bob"})
	if err := s.Delete(t.Context(), "1"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	assertNotFound(t, s, "1")
	if err := s.Delete(t.Context(), "1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second Delete error = %v, want ErrNotFound", err)
	}
	if got := mustLookup(t, s, store.ByUserName, "alice"); len(got) != 0 {
		t.Errorf("Lookup of a deleted userName = %v, want none", ids(got))
	}
	mustGet(t, s, "2")
	recreated := mustCreate(t, s, store.Link{ID: "1", UserName: "alice"})
	if recreated.Version != 1 || recreated.ExternalID != "" {
		t.Errorf("recreated link = %+v, want a fresh link at version 1", recreated)
	}
}

func testList(t *testing.T, s store.Store) {
	// IDs chosen so that numeric, case-insensitive or locale order would all differ from byte order.
	all := []string{"9", "10", "100", "2", "A", "a", "B", "b", "Z", "_", "~", "a1", "a10", "a2", "é", "z", "0", "00",
		"-1", "1001", "99", "aa", "Ab"}
	for i, id := range all {
		mustCreate(t, s, store.Link{ID: id, UserName: fmt.Sprint("user", i), Deleted: i%5 == 0})
	}
	want := slices.Clone(all)
	slices.Sort(want)

	var got []string
	after := ""
	for calls := 0; ; calls++ {
		if calls > len(all) {
			t.Fatalf("List did not finish after %d calls; so far %v", calls, got)
		}
		page := mustList(t, s, after, 4)
		if len(page) > 4 {
			t.Fatalf("List returned %d links, want at most 4", len(page))
		}
		if len(page) == 0 {
			break
		}
		got = append(got, ids(page)...)
		after = page[len(page)-1].ID
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged List = %v, want %v", got, want)
	}

	if one := mustList(t, s, "", 100); !slices.Equal(ids(one), want) {
		t.Errorf("List in one call = %v, want %v", ids(one), want)
	} else {
		for _, l := range one {
			assertLink(t, l, mustGet(t, s, l.ID))
		}
	}
	// An afterID that is not itself stored (the link was deleted between pages) still resumes in place.
	if got := ids(mustList(t, s, "a0", 2)); !slices.Equal(got, []string{"a1", "a10"}) {
		t.Errorf("List after a missing id = %v, want [a1 a10]", got)
	}
}

func testListLimit(t *testing.T, s store.Store) {
	mustCreate(t, s, store.Link{ID: "1", UserName: "alice"})
	for _, limit := range []int{0, -1} {
		if _, err := s.List(t.Context(), "", limit); err == nil {
			t.Errorf("List(limit %d) succeeded, want an error", limit)
		}
	}
}

func testLargeExtras(t *testing.T, s store.Store) {
	const size = 64 << 10
	prefix, suffix := `{"blob":"`, `"}`
	extras := []byte(prefix + strings.Repeat("x", size-len(prefix)-len(suffix)) + suffix)
	mustCreate(t, s, store.Link{ID: "1", UserName: "alice", Extras: extras})
	if got := mustGet(t, s, "1"); !bytes.Equal(got.Extras, extras) {
		t.Fatalf("Extras = %d bytes, want the %d bytes written", len(got.Extras), len(extras))
	}
	bigger := append(slices.Clone(extras[:len(extras)-2]), `y"}`...)
	if _, err := s.Update(t.Context(), "1", func(l store.Link) (store.Link, error) {
		l.Extras = bigger
		return l, nil
	}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got := mustGet(t, s, "1"); !bytes.Equal(got.Extras, bigger) {
		t.Fatalf("Extras after Update = %d bytes, want the %d bytes written", len(got.Extras), len(bigger))
	}
}

func testConcurrentCreate(t *testing.T, s store.Store) {
	const n = 20
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			name := "same.user@example.com"
			if i%2 == 1 {
				name = strings.ToUpper(name)
			}
			<-start
			_, errs[i] = s.Create(t.Context(), store.Link{ID: fmt.Sprint(i + 1), UserName: name})
		})
	}
	close(start)
	wg.Wait()

	var winners []string
	for i, err := range errs {
		switch {
		case err == nil:
			winners = append(winners, fmt.Sprint(i+1))
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("Create %d error = %v, want nil or ErrConflict", i+1, err)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("winners = %v, want exactly one", winners)
	}
	if got := ids(mustLookup(t, s, store.ByUserName, "Same.User@example.com")); !slices.Equal(got, winners) {
		t.Errorf("Lookup = %v, want the winner %v", got, winners)
	}
	if got := ids(mustList(t, s, "", 100)); !slices.Equal(got, winners) {
		t.Errorf("List = %v, want only the winner %v", got, winners)
	}
}

func testConcurrentUpdate(t *testing.T, s store.Store) {
	const n = 20
	type counter struct {
		N int `json:"n"`
	}
	mustCreate(t, s, store.Link{ID: "1", UserName: "alice", Extras: []byte(`{"n":0}`)})
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = s.Update(t.Context(), "1", func(l store.Link) (store.Link, error) {
				var c counter
				if err := json.Unmarshal(l.Extras, &c); err != nil {
					return l, err
				}
				c.N++
				b, err := json.Marshal(c)
				l.Extras = b
				return l, err
			})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Update %d: %v", i, err)
		}
	}
	got := mustGet(t, s, "1")
	var c counter
	if err := json.Unmarshal(got.Extras, &c); err != nil {
		t.Fatalf("Extras %s: %v", got.Extras, err)
	}
	if c.N != n || got.Version != n+1 {
		t.Errorf("counter = %d at version %d, want %d at version %d", c.N, got.Version, n, n+1)
	}
}

func testReopen(t *testing.T, h Harness) {
	s := h.New(t)
	live := mustCreate(t, s, store.Link{ID: "1", UserName: "Alice", ExternalID: "ext", Email: "a@example.com",
		Extras: []byte(`{"k":"v"}`)})
	tomb := mustCreate(t, s, store.Link{ID: "2", UserName: "bob", Deleted: true})
	s = h.Reopen(t, s)
	assertLink(t, mustGet(t, s, "1"), live)
	assertLink(t, mustGet(t, s, "2"), tomb)
	if _, err := s.Create(t.Context(), store.Link{ID: "3", UserName: "alice"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("Create of a taken userName after reopen: error = %v, want ErrConflict", err)
	}
	updated, err := s.Update(t.Context(), "1", func(l store.Link) (store.Link, error) { return l, nil })
	if err != nil {
		t.Fatalf("Update after reopen: %v", err)
	}
	if updated.Version != 2 {
		t.Errorf("Version after reopen and update = %d, want 2", updated.Version)
	}
}

func testNamespaces(t *testing.T, h Harness) {
	a, b := h.NewNamespace(t, "tenant-a"), h.NewNamespace(t, "tenant-b")
	inA := mustCreate(t, a, store.Link{ID: "1", UserName: "alice", ExternalID: "ext", Email: "a@example.com"})

	assertNotFound(t, b, "1")
	for _, by := range []store.Index{store.ByUserName, store.ByExternalID, store.ByEmail} {
		value := map[store.Index]string{store.ByUserName: "alice", store.ByExternalID: "ext", store.ByEmail: "a@example.com"}[by]
		if got := mustLookup(t, b, by, value); len(got) != 0 {
			t.Errorf("Lookup(%v) in the other namespace = %v, want none", by, ids(got))
		}
	}
	if got := mustList(t, b, "", 10); len(got) != 0 {
		t.Errorf("List in the other namespace = %v, want none", ids(got))
	}
	if _, err := b.Update(t.Context(), "1", func(l store.Link) (store.Link, error) { return l, nil }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Update in the other namespace: error = %v, want ErrNotFound", err)
	}
	if err := b.Delete(t.Context(), "1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Delete in the other namespace: error = %v, want ErrNotFound", err)
	}
	// The same id and userName are free in another namespace.
	inB := mustCreate(t, b, store.Link{ID: "1", UserName: "ALICE"})
	if err := b.Delete(t.Context(), "1"); err != nil {
		t.Fatalf("Delete in b: %v", err)
	}
	assertLink(t, mustGet(t, a, "1"), inA)
	if got := ids(mustList(t, a, "", 10)); !slices.Equal(got, []string{"1"}) {
		t.Errorf("List in a after b created and deleted %q = %v, want [1]", inB.ID, got)
	}
}

func mustCreate(t *testing.T, s store.Store, l store.Link) store.Link {
	t.Helper()
	got, err := s.Create(t.Context(), l)
	if err != nil {
		t.Fatalf("Create(%q, %q): %v", l.ID, l.UserName, err)
	}
	return got
}

func mustGet(t *testing.T, s store.Store, id string) store.Link {
	t.Helper()
	got, err := s.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get(%q): %v", id, err)
	}
	return got
}

func mustLookup(t *testing.T, s store.Store, by store.Index, value string) []store.Link {
	t.Helper()
	got, err := s.Lookup(t.Context(), by, value)
	if err != nil {
		t.Fatalf("Lookup(%v, %q): %v", by, value, err)
	}
	return got
}

func mustList(t *testing.T, s store.Store, after string, limit int) []store.Link {
	t.Helper()
	got, err := s.List(t.Context(), after, limit)
	if err != nil {
		t.Fatalf("List(%q, %d): %v", after, limit, err)
	}
	return got
}

func assertNotFound(t *testing.T, s store.Store, id string) {
	t.Helper()
	if _, err := s.Get(t.Context(), id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(%q) error = %v, want ErrNotFound", id, err)
	}
}

func assertLink(t *testing.T, got, want store.Link) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("link\n got %s\nwant %s", format(got), format(want))
	}
}

// format prints a link with times in full and long extras abbreviated, so a failure shows what differs.
func format(l store.Link) string {
	extras := "nil"
	if l.Extras != nil {
		extras = fmt.Sprintf("%q", l.Extras)
		if len(l.Extras) > 80 {
			extras = fmt.Sprintf("%d bytes", len(l.Extras))
		}
	}
	return fmt.Sprintf("{ID:%q UserName:%q ExternalID:%q Email:%q Extras:%s Deleted:%v Version:%d Created:%s Modified:%s}",
		l.ID, l.UserName, l.ExternalID, l.Email, extras, l.Deleted, l.Version,
		l.Created.Format(time.RFC3339Nano+" MST"), l.Modified.Format(time.RFC3339Nano+" MST"))
}

func ids(links []store.Link) []string {
	var out []string
	for _, l := range links {
		out = append(out, l.ID)
	}
	return out
}
