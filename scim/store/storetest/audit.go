package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/scim-bridge/scim-bridge/scim/store"
)

// AuditStore is what the audit part of the suite checks: a store that keeps its namespace's audit trail, its
// mass-deprovisioning guard, and counts its live links.
type AuditStore interface {
	store.Store
	store.AuditLog
	store.Guard
	store.LinkCounter
}

var auditCases = []struct {
	name string
	fn   func(t *testing.T, s AuditStore)
}{
	{"append returns each event with an ascending seq, UTC millisecond time, and reads back the same", testAppend},
	{"attribute names round-trip, nil and empty kept apart, and the store keeps its own copy", testAuditAttributes},
	{"text that is not UTF-8 or holds NUL is recorded readable, never refused", testAuditOddText},
	{"events select a user by SCIM id or by userName in any case", testEventsByUser},
	{"events select by since, page by after and limit, and refuse a negative limit", testEventsPaging},
	{"countSince counts the given operations at or after the time, every result or ok only", testCountSince},
	{"prune deletes the events before the time, says how many, and no seq is ever given twice", testPrune},
	{"concurrent appends get unique seqs, ascending per goroutine, and lose no event", testConcurrentAppend},
	{"the guard trips once, keeps its first since and reason, and releases", testGuard},
	{"countLive counts live links only, following tombstones, revivals and deletes", testCountLive},
}

const (
	auditPrefix         = "audit/"
	auditReopenCase     = "the audit trail and the guard survive closing and reopening the store"
	auditNamespacesCase = "namespaces sharing one database keep their own audit trail, guard and live count"
	auditReplicasCase   = "two stores of one namespace on one database share one audit trail and one guard"
)

// RunAudit runs the store.AuditLog, store.Guard and store.LinkCounter part of the suite: h.New must return
// AuditStores. Run calls it for such stores; cases the harness cannot run (no Reopen, no NewNamespace) are
// reported as not run.
func RunAudit(t *testing.T, h Harness) Report {
	t.Helper()
	var r Report
	for _, tc := range auditCases {
		r.runCase(t, tc.name, func(t *testing.T) { tc.fn(t, asAudit(t, h.New(t))) })
	}
	if h.Reopen != nil {
		r.runCase(t, auditReopenCase, func(t *testing.T) { testAuditReopen(t, h) })
	} else {
		r.notRun(auditReopenCase, "Harness.Reopen is nil")
	}
	if h.NewNamespace != nil {
		r.runCase(t, auditNamespacesCase, func(t *testing.T) { testAuditNamespaces(t, h) })
		r.runCase(t, auditReplicasCase, func(t *testing.T) { testAuditReplicas(t, h) })
	} else {
		r.notRun(auditNamespacesCase, "Harness.NewNamespace is nil")
		r.notRun(auditReplicasCase, "Harness.NewNamespace is nil")
	}
	return r
}

// auditCaseNames lists every case RunAudit can run.
func auditCaseNames() []string {
	var out []string
	for _, tc := range auditCases {
		out = append(out, tc.name)
	}
	return append(out, auditReopenCase, auditNamespacesCase, auditReplicasCase)
}

func asAudit(t *testing.T, s store.Store) AuditStore {
	t.Helper()
	as, ok := s.(AuditStore)
	if !ok {
		t.Fatalf("%T is not a store.AuditLog, store.Guard and store.LinkCounter", s)
	}
	return as
}

// auditBase is the time the cases' events are recorded around: fixed, so that windows and retention are exact.
var auditBase = time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)

// stored is e as the store keeps it: its time in UTC at millisecond precision, and seq.
func stored(e store.AuditEvent, seq int64) store.AuditEvent {
	e.Seq = seq
	e.Time = time.UnixMilli(e.Time.UnixMilli()).UTC()
	return e
}

func testAppend(t *testing.T, s AuditStore) {
	east := time.FixedZone("UTC+2", 2*60*60)
	in := []store.AuditEvent{
		{Time: auditBase.In(east).Add(123_456_789 * time.Nanosecond), RequestID: "req-1",
			Credential: "token:sha256:9f86d081", Operation: "create", UserID: "1001", UserName: "Alice@Example.com",
			Attributes: []string{"email", "name.givenName"}, Result: "ok"},
		{Time: auditBase.Add(time.Second), RequestID: "req-2", Credential: "oauth:0oa1client", Operation: "deactivate",
			UserID: "1001", UserName: "Alice@Example.com", Attributes: []string{"active"}, Result: "unavailable",
			Seq: 999}, // ignored: the store sets it
		{Time: auditBase.Add(2 * time.Second), Credential: "cli", Operation: "release"},
	}
	var want []store.AuditEvent
	prev := int64(0)
	for i, e := range in {
		got := mustAppend(t, s, e)
		if got.Seq <= prev {
			t.Errorf("Append %d: seq %d, want above %d", i, got.Seq, prev)
		}
		prev = got.Seq
		assertEvent(t, got, stored(e, got.Seq))
		if got.Time.Location() != time.UTC {
			t.Errorf("Append %d: time location %v, want UTC", i, got.Time.Location())
		}
		want = append(want, got)
	}
	assertEvents(t, mustEvents(t, s, store.AuditQuery{}), want)

	// An event without a time is recorded at the store's clock, never outside every window.
	before := time.Now().Truncate(time.Millisecond)
	now := mustAppend(t, s, store.AuditEvent{Operation: "delete", UserID: "1002", Result: "ok"})
	after := time.Now()
	if now.Time.Before(before) || now.Time.After(after) || now.Time.Location() != time.UTC {
		t.Errorf("event appended without a time has time %v, want the store's clock (between %v and %v, UTC)",
			now.Time, before, after)
	}
	if n := mustCountSince(t, s, before, false, "delete"); n != 1 {
		t.Errorf("CountSince of the event appended without a time = %d, want 1", n)
	}
	// An event without an operation means nothing and is refused.
	if _, err := s.Append(t.Context(), store.AuditEvent{Time: auditBase, UserID: "1001"}); err == nil {
		t.Error("Append of an event without an operation succeeded, want an error")
	}
	if got := mustEvents(t, s, store.AuditQuery{}); len(got) != len(want)+1 {
		t.Errorf("events after the refused append = %d, want %d", len(got), len(want)+1)
	}
}

func testAuditAttributes(t *testing.T, s AuditStore) {
	names := []string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "name.familyName",
		"título ✓", `quote" and \ backslash`}
	in := slices.Clone(names)
	events := []store.AuditEvent{
		mustAppend(t, s, store.AuditEvent{Time: auditBase, Operation: "link", UserID: "1", Attributes: nil}),
		mustAppend(t, s, store.AuditEvent{Time: auditBase, Operation: "update", UserID: "1", Attributes: []string{}}),
		mustAppend(t, s, store.AuditEvent{Time: auditBase, Operation: "update", UserID: "1", Attributes: in}),
	}
	in[0] = "mutated by the caller"
	events[2].Attributes[1] = "mutated through the result"

	got := mustEvents(t, s, store.AuditQuery{})
	if len(got) != 3 {
		t.Fatalf("events = %d, want 3", len(got))
	}
	if got[0].Attributes != nil {
		t.Errorf("nil attributes read back as %#v, want nil", got[0].Attributes)
	}
	if got[1].Attributes == nil || len(got[1].Attributes) != 0 {
		t.Errorf("empty attributes read back as %#v, want an empty, non-nil slice", got[1].Attributes)
	}
	if !slices.Equal(got[2].Attributes, names) {
		t.Errorf("attributes read back as %q, want %q", got[2].Attributes, names)
	}
}

func testAuditOddText(t *testing.T, s AuditStore) {
	in := store.AuditEvent{Time: auditBase, RequestID: "req\x00", Operation: "update", UserID: "10\x0001",
		UserName: "b\xffb@Example.com", Attributes: []string{"name\xfe"}, Result: "ok"}
	got := mustAppend(t, s, in)
	for _, v := range append([]string{got.RequestID, got.UserID, got.UserName}, got.Attributes...) {
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			t.Errorf("Append kept %q: want valid UTF-8 without NUL", v)
		}
	}
	if !strings.HasPrefix(got.UserName, "b") || !strings.HasSuffix(got.UserName, "b@Example.com") {
		t.Errorf("userName %q was not kept apart from its bad byte", got.UserName)
	}
	assertEvents(t, mustEvents(t, s, store.AuditQuery{}), []store.AuditEvent{got})
	assertEvents(t, mustEvents(t, s, store.AuditQuery{User: strings.ToUpper(got.UserName)}), []store.AuditEvent{got})
}

func testEventsByUser(t *testing.T, s AuditStore) {
	at := func(i int) time.Time { return auditBase.Add(time.Duration(i) * time.Minute) }
	e := []store.AuditEvent{
		mustAppend(t, s, store.AuditEvent{Time: at(0), Operation: "create", UserID: "1001", UserName: "Alice@Example.com", Result: "ok"}),
		mustAppend(t, s, store.AuditEvent{Time: at(1), Operation: "update", UserID: "1002", UserName: "bob@example.com", Result: "ok"}),
		// Alice renamed: the events keep the userName of their time.
		mustAppend(t, s, store.AuditEvent{Time: at(2), Operation: "update", UserID: "1001", UserName: "Alice.Smith@Example.com", Result: "ok"}),
		mustAppend(t, s, store.AuditEvent{Time: at(3), Operation: "deactivate", UserID: "1001", UserName: "Alice.Smith@Example.com", Result: "ok"}),
		mustAppend(t, s, store.AuditEvent{Time: at(4), Operation: "release", Credential: "cli", Result: "ok"}),
	}
	tests := []struct {
		name string
		q    store.AuditQuery
		want []store.AuditEvent
	}{
		{"by SCIM id, every userName it had", store.AuditQuery{User: "1001"}, []store.AuditEvent{e[0], e[2], e[3]}},
		{"by the userName as written", store.AuditQuery{User: "Alice@Example.com"}, []store.AuditEvent{e[0]}},
		{"by the userName in lower case", store.AuditQuery{User: "alice@example.com"}, []store.AuditEvent{e[0]}},
		{"by the later userName in upper case", store.AuditQuery{User: "ALICE.SMITH@EXAMPLE.COM"}, []store.AuditEvent{e[2], e[3]}},
		{"by another user's id", store.AuditQuery{User: "1002"}, []store.AuditEvent{e[1]}},
		{"by another user's userName", store.AuditQuery{User: "Bob@Example.COM"}, []store.AuditEvent{e[1]}},
		{"nobody", store.AuditQuery{User: "nobody@example.com"}, nil},
		{"a user and since", store.AuditQuery{User: "1001", Since: at(2)}, []store.AuditEvent{e[2], e[3]}},
		{"a user, after and limit", store.AuditQuery{User: "1001", After: e[0].Seq, Limit: 1}, []store.AuditEvent{e[2]}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertEvents(t, mustEvents(t, s, tc.q), tc.want)
		})
	}
}

func testEventsPaging(t *testing.T, s AuditStore) {
	const n = 25
	at := func(i int) time.Time { return auditBase.Add(time.Duration(i) * time.Minute) }
	var all []store.AuditEvent
	for i := range n {
		all = append(all, mustAppend(t, s, store.AuditEvent{Time: at(i), RequestID: fmt.Sprint("req-", i),
			Operation: []string{"create", "update", "deactivate"}[i%3], UserID: fmt.Sprint(1000 + i%4), Result: "ok"}))
	}
	ms := time.Millisecond
	tests := []struct {
		name string
		q    store.AuditQuery
		want []store.AuditEvent
	}{
		{"everything", store.AuditQuery{}, all},
		{"since an event's time includes it", store.AuditQuery{Since: at(10)}, all[10:]},
		{"since a millisecond before", store.AuditQuery{Since: at(10).Add(-ms)}, all[10:]},
		{"since a millisecond after", store.AuditQuery{Since: at(10).Add(ms)}, all[11:]},
		{"since in another time zone", store.AuditQuery{Since: at(20).In(time.FixedZone("UTC-7", -7*60*60))}, all[20:]},
		{"since after the last event", store.AuditQuery{Since: at(n)}, nil},
		{"after a seq", store.AuditQuery{After: all[20].Seq}, all[21:]},
		{"after the last seq", store.AuditQuery{After: all[n-1].Seq}, nil},
		{"a limit", store.AuditQuery{Limit: 5}, all[:5]},
		{"since, after and limit together", store.AuditQuery{Since: at(5), After: all[10].Seq, Limit: 3}, all[11:14]},
		{"after a seq before since", store.AuditQuery{Since: at(15), After: all[3].Seq, Limit: 2}, all[15:17]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertEvents(t, mustEvents(t, s, tc.q), tc.want)
		})
	}

	t.Run("paging by after and limit visits every event once, in seq order", func(t *testing.T) {
		var got []store.AuditEvent
		after := int64(0)
		for calls := 0; ; calls++ {
			if calls > n {
				t.Fatalf("paging did not end after %d calls", calls)
			}
			page := mustEvents(t, s, store.AuditQuery{After: after, Limit: 7})
			if len(page) > 7 {
				t.Fatalf("page of %d events, want at most 7", len(page))
			}
			got = append(got, page...)
			if len(page) < 7 {
				break
			}
			after = page[len(page)-1].Seq
		}
		assertEvents(t, got, all)
	})
	t.Run("a negative limit is refused", func(t *testing.T) {
		if _, err := s.Events(t.Context(), store.AuditQuery{Limit: -1}); err == nil {
			t.Error("Events with limit -1 succeeded, want an error")
		}
	})
}

func testCountSince(t *testing.T, s AuditStore) {
	since := auditBase.Add(10 * time.Minute)
	for _, e := range []store.AuditEvent{
		{Time: since.Add(-time.Millisecond), Operation: "deactivate", UserID: "1", Result: "ok"}, // before the window
		{Time: since, Operation: "deactivate", UserID: "2", Result: "ok"},
		{Time: since.Add(1 * time.Minute), Operation: "deactivate", UserID: "3", Result: "unavailable"},
		{Time: since.Add(2 * time.Minute), Operation: "delete", UserID: "4", Result: "ok"},
		{Time: since.Add(3 * time.Minute), Operation: "create", UserID: "5", Result: "ok"},
		{Time: since.Add(4 * time.Minute), Operation: "hold", UserID: "6", Attributes: []string{"deactivate"}, Result: "held"},
		{Time: since.Add(5 * time.Minute), Operation: "delete", UserID: "7", Result: "conflict"},
	} {
		mustAppend(t, s, e)
	}
	tests := []struct {
		name   string
		since  time.Time
		okOnly bool
		ops    []string
		want   int
	}{
		{"deactivations and deletions, any result", since, false, []string{"deactivate", "delete"}, 4},
		{"deactivations and deletions that went through", since, true, []string{"deactivate", "delete"}, 2},
		{"one operation", since, false, []string{"deactivate"}, 2},
		{"one operation, ok only", since, true, []string{"deactivate"}, 1},
		{"an operation named twice counts once", since, false, []string{"delete", "delete"}, 2},
		{"an operation nobody performed", since, false, []string{"reactivate"}, 0},
		{"a millisecond earlier takes in the event before", since.Add(-time.Millisecond), false, []string{"deactivate", "delete"}, 5},
		{"a millisecond later leaves out the event at since", since.Add(time.Millisecond), false, []string{"deactivate", "delete"}, 3},
		{"since in another time zone", since.In(time.FixedZone("UTC+9", 9*60*60)), false, []string{"deactivate", "delete"}, 4},
		{"after every event", since.Add(time.Hour), false, []string{"deactivate", "delete"}, 0},
		{"no operations named counts every operation", since, false, nil, 6},
		{"no operations named, ok only", since, true, nil, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustCountSince(t, s, tc.since, tc.okOnly, tc.ops...); got != tc.want {
				t.Errorf("CountSince(%v, okOnly=%v, %q) = %d, want %d", tc.since, tc.okOnly, tc.ops, got, tc.want)
			}
		})
	}
}

func testPrune(t *testing.T, s AuditStore) {
	at := func(i int) time.Time { return auditBase.Add(time.Duration(i) * time.Minute) }
	var all []store.AuditEvent
	for i := range 10 {
		all = append(all, mustAppend(t, s, store.AuditEvent{Time: at(i), Operation: "update", UserID: fmt.Sprint(i), Result: "ok"}))
	}
	if n := mustPrune(t, s, at(4)); n != 4 {
		t.Errorf("Prune(before event 4) = %d, want 4", n)
	}
	assertEvents(t, mustEvents(t, s, store.AuditQuery{}), all[4:])
	if n := mustPrune(t, s, at(4)); n != 0 {
		t.Errorf("a second Prune at the same time = %d, want 0", n)
	}
	if n := mustCountSince(t, s, time.Time{}, false); n != 6 {
		t.Errorf("CountSince after Prune = %d, want 6", n)
	}
	if n := mustPrune(t, s, at(4).Add(time.Millisecond)); n != 1 {
		t.Errorf("Prune a millisecond after event 4 = %d, want 1", n)
	}
	if n := mustPrune(t, s, at(100)); n != 5 {
		t.Errorf("Prune(after every event) = %d, want 5", n)
	}
	if got := mustEvents(t, s, store.AuditQuery{}); len(got) != 0 {
		t.Errorf("events after pruning everything = %d, want none", len(got))
	}
	// With every event gone, the next one still gets a seq above all those given before: a reader paging by
	// After from a seq it saw never misses it.
	next := mustAppend(t, s, store.AuditEvent{Time: at(200), Operation: "create", UserID: "x", Result: "ok"})
	if next.Seq <= all[len(all)-1].Seq {
		t.Errorf("seq after pruning everything = %d, want above %d", next.Seq, all[len(all)-1].Seq)
	}
	assertEvents(t, mustEvents(t, s, store.AuditQuery{After: all[len(all)-1].Seq}), []store.AuditEvent{next})
}

func testConcurrentAppend(t *testing.T, s AuditStore) {
	const goroutines, each = 16, 15
	got := make([][]store.AuditEvent, goroutines)
	errs := make(chan error, goroutines)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			<-start
			for i := range each {
				e, err := s.Append(t.Context(), store.AuditEvent{Time: auditBase, RequestID: fmt.Sprintf("g%d-%d", g, i),
					Operation: "deactivate", UserID: fmt.Sprint(g), Attributes: []string{"active"}, Result: "ok"})
				if err != nil {
					errs <- err
					return
				}
				got[g] = append(got[g], e)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Append: %v", err)
	}
	bySeq := map[int64]store.AuditEvent{}
	for g, events := range got {
		for i, e := range events {
			if i > 0 && e.Seq <= events[i-1].Seq {
				t.Errorf("goroutine %d: seq %d after %d, want ascending", g, e.Seq, events[i-1].Seq)
			}
			if other, dup := bySeq[e.Seq]; dup {
				t.Errorf("seq %d given to %s and %s", e.Seq, other.RequestID, e.RequestID)
			}
			bySeq[e.Seq] = e
		}
	}
	var read []store.AuditEvent
	after := int64(0)
	for {
		page := mustEvents(t, s, store.AuditQuery{After: after, Limit: 100})
		read = append(read, page...)
		if len(page) < 100 {
			break
		}
		after = page[len(page)-1].Seq
	}
	if len(read) != goroutines*each {
		t.Fatalf("events read back = %d, want %d", len(read), goroutines*each)
	}
	for i, e := range read {
		if i > 0 && e.Seq <= read[i-1].Seq {
			t.Errorf("events read back: seq %d after %d, want ascending", e.Seq, read[i-1].Seq)
		}
		if want, ok := bySeq[e.Seq]; !ok {
			t.Errorf("event %d read back was never returned by Append", e.Seq)
		} else {
			assertEvent(t, e, want)
		}
	}
	if n := mustCountSince(t, s, auditBase, true, "deactivate"); n != goroutines*each {
		t.Errorf("CountSince = %d, want %d", n, goroutines*each)
	}
}

func testGuard(t *testing.T, s AuditStore) {
	assertGuard(t, s, store.GuardState{})
	if was := mustRelease(t, s); was {
		t.Error("ReleaseGuard of a guard that never tripped reported it held")
	}
	at := auditBase.In(time.FixedZone("UTC+2", 2*60*60)).Add(1500 * time.Microsecond)
	first := store.GuardState{Held: true, Since: time.UnixMilli(at.UnixMilli()).UTC(),
		Reason: "12 deactivations and deletions in 10m0s (threshold 10)"}
	if got := mustTrip(t, s, at, first.Reason); !reflect.DeepEqual(got, first) {
		t.Errorf("TripGuard = %+v, want %+v", got, first)
	}
	assertGuard(t, s, first)
	if got := mustTrip(t, s, at.Add(time.Hour), "a later trip"); !reflect.DeepEqual(got, first) {
		t.Errorf("second TripGuard = %+v, want the first trip's state %+v", got, first)
	}
	assertGuard(t, s, first)

	if was := mustRelease(t, s); !was {
		t.Error("ReleaseGuard of a holding guard reported it was not holding")
	}
	assertGuard(t, s, store.GuardState{})
	if was := mustRelease(t, s); was {
		t.Error("a second ReleaseGuard reported the guard held")
	}

	again := store.GuardState{Held: true, Since: auditBase.Add(2 * time.Hour), Reason: "5% of 200 users"}
	if got := mustTrip(t, s, again.Since, again.Reason); !reflect.DeepEqual(got, again) {
		t.Errorf("TripGuard after a release = %+v, want a new state %+v", got, again)
	}
	assertGuard(t, s, again)
	mustRelease(t, s)

	// Trips racing each other agree on one state: the first trip's.
	assertConcurrentTrips(t, []store.Guard{s})
	if was := mustRelease(t, s); !was {
		t.Error("ReleaseGuard after concurrent trips reported it was not holding")
	}

	// A trip without a time holds from the store's clock.
	before := time.Now().Truncate(time.Millisecond)
	st := mustTrip(t, s, time.Time{}, "no time given")
	if !st.Held || st.Since.Before(before) || st.Since.After(time.Now()) {
		t.Errorf("TripGuard without a time = %+v, want held since the store's clock", st)
	}
}

// assertConcurrentTrips trips the released guard from many goroutines spread over guards (replicas of one
// namespace) and checks that every trip returned one and the same state, with one of the reasons given.
func assertConcurrentTrips(t *testing.T, guards []store.Guard) {
	t.Helper()
	const n = 12
	states := make([]store.GuardState, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			states[i], errs[i] = guards[i%len(guards)].TripGuard(t.Context(), auditBase.Add(time.Duration(i)*time.Second),
				fmt.Sprint("trip ", i))
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("TripGuard %d: %v", i, err)
		}
	}
	for i, st := range states {
		if !reflect.DeepEqual(st, states[0]) {
			t.Errorf("concurrent TripGuard %d returned %+v, TripGuard 0 %+v: want one state", i, st, states[0])
		}
	}
	if !states[0].Held || !strings.HasPrefix(states[0].Reason, "trip ") {
		t.Errorf("state after concurrent trips = %+v, want held with one of the reasons", states[0])
	}
	for _, g := range guards {
		if got, err := g.GuardState(t.Context()); err != nil || !reflect.DeepEqual(got, states[0]) {
			t.Errorf("GuardState after concurrent trips = %+v, %v; want %+v", got, err, states[0])
		}
	}
}

func testCountLive(t *testing.T, s AuditStore) {
	assertLive := func(want int) {
		t.Helper()
		if n, err := s.CountLive(t.Context()); err != nil || n != want {
			t.Errorf("CountLive = %d, %v; want %d", n, err, want)
		}
	}
	assertLive(0)
	for _, l := range []store.Link{
		{ID: "1", UserName: "alice"}, {ID: "2", UserName: "bob"}, {ID: "3", UserName: "carol"},
		{ID: "4", UserName: "dave", Deleted: true},
	} {
		mustCreate(t, s, l)
	}
	assertLive(3)
	setDeleted := func(id string, deleted bool) {
		t.Helper()
		if _, err := s.Update(t.Context(), id, func(l store.Link) (store.Link, error) {
			l.Deleted = deleted
			return l, nil
		}); err != nil {
			t.Fatalf("Update(%s): %v", id, err)
		}
	}
	setDeleted("2", true)
	assertLive(2)
	setDeleted("4", false)
	assertLive(3)
	if err := s.Delete(t.Context(), "1"); err != nil {
		t.Fatal(err)
	}
	assertLive(2)
	if err := s.Delete(t.Context(), "2"); err != nil { // a tombstone: the count does not move
		t.Fatal(err)
	}
	assertLive(2)
}

func testAuditReopen(t *testing.T, h Harness) {
	s := asAudit(t, h.New(t))
	mustCreate(t, s, store.Link{ID: "1", UserName: "alice"})
	mustCreate(t, s, store.Link{ID: "2", UserName: "bob", Deleted: true})
	events := []store.AuditEvent{
		mustAppend(t, s, store.AuditEvent{Time: auditBase, RequestID: "r1", Credential: "token:sha256:9f86d081",
			Operation: "create", UserID: "1", UserName: "alice", Attributes: []string{"email"}, Result: "ok"}),
		mustAppend(t, s, store.AuditEvent{Time: auditBase.Add(time.Minute), Operation: "deactivate", UserID: "2",
			UserName: "bob", Attributes: []string{}, Result: "ok"}),
	}
	st := mustTrip(t, s, auditBase.Add(2*time.Minute), "tripped before the restart")
	s = asAudit(t, h.Reopen(t, s))
	assertEvents(t, mustEvents(t, s, store.AuditQuery{}), events)
	assertGuard(t, s, st)
	if n, err := s.CountLive(t.Context()); err != nil || n != 1 {
		t.Errorf("CountLive after reopen = %d, %v; want 1", n, err)
	}
	next := mustAppend(t, s, store.AuditEvent{Time: auditBase.Add(3 * time.Minute), Operation: "release", Result: "ok"})
	if next.Seq <= events[1].Seq {
		t.Errorf("seq after reopen = %d, want above %d", next.Seq, events[1].Seq)
	}
	if was := mustRelease(t, s); !was {
		t.Error("ReleaseGuard after reopen reported the guard was not holding")
	}
}

func testAuditNamespaces(t *testing.T, h Harness) {
	a := asAudit(t, h.NewNamespace(t, "tenant-a"))
	b := asAudit(t, h.NewNamespace(t, "tenant-b"))
	inA := mustAppend(t, a, store.AuditEvent{Time: auditBase, Operation: "deactivate", UserID: "1001",
		UserName: "alice", Result: "ok"})
	held := mustTrip(t, a, auditBase, "tripped in a")
	mustCreate(t, a, store.Link{ID: "1", UserName: "alice"})
	mustCreate(t, a, store.Link{ID: "2", UserName: "bob"})

	for _, q := range []store.AuditQuery{{}, {User: "1001"}, {User: "ALICE"}, {Since: auditBase}} {
		if got := mustEvents(t, b, q); len(got) != 0 {
			t.Errorf("Events(%+v) in the other namespace = %d events, want none", q, len(got))
		}
	}
	if n := mustCountSince(t, b, time.Time{}, false, "deactivate"); n != 0 {
		t.Errorf("CountSince in the other namespace = %d, want 0", n)
	}
	assertGuard(t, b, store.GuardState{})
	if was := mustRelease(t, b); was {
		t.Error("ReleaseGuard in the other namespace reported a holding guard")
	}
	if n := mustPrune(t, b, auditBase.Add(time.Hour)); n != 0 {
		t.Errorf("Prune in the other namespace deleted %d events, want 0", n)
	}
	if n, err := b.CountLive(t.Context()); err != nil || n != 0 {
		t.Errorf("CountLive in the other namespace = %d, %v; want 0", n, err)
	}

	// b's trail, guard and links are its own.
	inB := mustAppend(t, b, store.AuditEvent{Time: auditBase, Operation: "deactivate", UserID: "1001",
		UserName: "alice", Result: "ok"})
	heldB := mustTrip(t, b, auditBase.Add(time.Minute), "tripped in b")
	mustCreate(t, b, store.Link{ID: "1", UserName: "alice"})
	assertEvents(t, mustEvents(t, b, store.AuditQuery{}), []store.AuditEvent{inB})
	assertGuard(t, b, heldB)
	if was := mustRelease(t, b); !was {
		t.Error("ReleaseGuard in b reported it was not holding")
	}

	assertEvents(t, mustEvents(t, a, store.AuditQuery{}), []store.AuditEvent{inA})
	assertGuard(t, a, held)
	if n, err := a.CountLive(t.Context()); err != nil || n != 2 {
		t.Errorf("CountLive in a = %d, %v; want 2", n, err)
	}
	if n := mustCountSince(t, a, time.Time{}, false, "deactivate"); n != 1 {
		t.Errorf("CountSince in a = %d, want 1", n)
	}
}

func testAuditReplicas(t *testing.T, h Harness) {
	r1 := asAudit(t, h.NewNamespace(t, "shared"))
	r2 := asAudit(t, h.NewNamespace(t, "shared"))

	st := mustTrip(t, r1, auditBase, "tripped by replica 1")
	assertGuard(t, r2, st)
	if got := mustTrip(t, r2, auditBase.Add(time.Hour), "tripped by replica 2"); !reflect.DeepEqual(got, st) {
		t.Errorf("TripGuard on replica 2 = %+v, want replica 1's %+v", got, st)
	}
	if was := mustRelease(t, r2); !was {
		t.Error("ReleaseGuard on replica 2 reported the guard replica 1 tripped was not holding")
	}
	assertGuard(t, r1, store.GuardState{})
	if was := mustRelease(t, r1); was {
		t.Error("ReleaseGuard on replica 1 after replica 2 released reported it held")
	}
	assertConcurrentTrips(t, []store.Guard{r1, r2})
	if was := mustRelease(t, r1); !was {
		t.Error("ReleaseGuard after concurrent trips on both replicas reported it was not holding")
	}

	// Appends from both replicas make one trail: unique seqs, ascending, every event visible to both.
	const perReplica, goroutines = 10, 4
	var (
		mu   sync.Mutex
		seqs = map[int64]bool{}
		wg   sync.WaitGroup
		errs = make(chan error, 2*goroutines)
	)
	for g := range 2 * goroutines {
		r := []AuditStore{r1, r2}[g%2]
		wg.Go(func() {
			for i := range perReplica {
				e, err := r.Append(t.Context(), store.AuditEvent{Time: auditBase, Operation: "delete",
					RequestID: fmt.Sprintf("g%d-%d", g, i), Result: "ok"})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if seqs[e.Seq] {
					errs <- fmt.Errorf("seq %d given twice", e.Seq)
				}
				seqs[e.Seq] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, r := range []AuditStore{r1, r2} {
		got := mustEvents(t, r, store.AuditQuery{})
		if len(got) != 2*goroutines*perReplica {
			t.Errorf("events seen by a replica = %d, want %d", len(got), 2*goroutines*perReplica)
		}
		for i, e := range got {
			if !seqs[e.Seq] || (i > 0 && e.Seq <= got[i-1].Seq) {
				t.Errorf("event %d has seq %d: want one Append returned, ascending", i, e.Seq)
			}
		}
		if n := mustCountSince(t, r, auditBase, false, "delete"); n != 2*goroutines*perReplica {
			t.Errorf("CountSince on a replica = %d, want %d", n, 2*goroutines*perReplica)
		}
	}
	mustCreate(t, r1, store.Link{ID: "1", UserName: "alice"})
	if n, err := r2.CountLive(t.Context()); err != nil || n != 1 {
		t.Errorf("CountLive on replica 2 of a link replica 1 created = %d, %v; want 1", n, err)
	}
}

func mustAppend(t *testing.T, s store.AuditLog, e store.AuditEvent) store.AuditEvent {
	t.Helper()
	got, err := s.Append(t.Context(), e)
	if err != nil {
		t.Fatalf("Append(%s %s): %v", e.Operation, e.UserID, err)
	}
	return got
}

func mustEvents(t *testing.T, s store.AuditLog, q store.AuditQuery) []store.AuditEvent {
	t.Helper()
	got, err := s.Events(t.Context(), q)
	if err != nil {
		t.Fatalf("Events(%+v): %v", q, err)
	}
	if got == nil {
		t.Errorf("Events(%+v) = nil, want a non-nil slice", q)
	}
	return got
}

func mustCountSince(t *testing.T, s store.AuditLog, since time.Time, okOnly bool, ops ...string) int {
	t.Helper()
	n, err := s.CountSince(t.Context(), since, okOnly, ops...)
	if err != nil {
		t.Fatalf("CountSince: %v", err)
	}
	return n
}

func mustPrune(t *testing.T, s store.AuditLog, before time.Time) int {
	t.Helper()
	n, err := s.Prune(t.Context(), before)
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	return n
}

func mustTrip(t *testing.T, g store.Guard, at time.Time, reason string) store.GuardState {
	t.Helper()
	st, err := g.TripGuard(t.Context(), at, reason)
	if err != nil {
		t.Fatalf("TripGuard: %v", err)
	}
	return st
}

func mustRelease(t *testing.T, g store.Guard) bool {
	t.Helper()
	was, err := g.ReleaseGuard(t.Context())
	if err != nil {
		t.Fatalf("ReleaseGuard: %v", err)
	}
	return was
}

func assertGuard(t *testing.T, g store.Guard, want store.GuardState) {
	t.Helper()
	got, err := g.GuardState(t.Context())
	if err != nil {
		t.Fatalf("GuardState: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GuardState = %+v, want %+v", got, want)
	}
}

func assertEvent(t *testing.T, got, want store.AuditEvent) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("event\n got %s\nwant %s", formatEvent(got), formatEvent(want))
	}
}

func assertEvents(t *testing.T, got, want []store.AuditEvent) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		var g, w []string
		for _, e := range got {
			g = append(g, formatEvent(e))
		}
		for _, e := range want {
			w = append(w, formatEvent(e))
		}
		t.Errorf("events\n got %s\nwant %s", strings.Join(g, "\n     "), strings.Join(w, "\n     "))
	}
}

func formatEvent(e store.AuditEvent) string {
	attrs := "nil"
	if e.Attributes != nil {
		attrs = fmt.Sprintf("%q", e.Attributes)
	}
	return fmt.Sprintf("{Seq:%d Time:%s RequestID:%q Credential:%q Operation:%q UserID:%q UserName:%q Attributes:%s Result:%q}",
		e.Seq, e.Time.Format(time.RFC3339Nano+" MST"), e.RequestID, e.Credential, e.Operation, e.UserID, e.UserName,
		attrs, e.Result)
}

var errNotAudit = errors.New("the store is not a store.AuditLog, store.Guard and store.LinkCounter")
