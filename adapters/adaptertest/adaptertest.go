package adaptertest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
)

// Harness connects an adapter under test to its emulator.
type Harness struct {
	// New returns a raw adapter wired to a fresh, empty emulator (served by httptest.NewServer on 127.0.0.1),
	// and the emulator's controls.
	New func(t *testing.T) (adapters.Adapter, upstreamtest.Emulator)
	// Secrets must never appear in any error the adapter returns (nor in logs it writes through Deps.Logger,
	// which the harness constructor should point at a buffer exposed via Logs).
	Secrets []string
	Logs    func() string // optional: everything the adapter logged
	// Deletes says whether the adapter must implement adapters.Deleter.
	Deletes bool
}

// FastPolicy is the retry policy Run uses: real backoff shape, millisecond waits.
var FastPolicy = adapters.RetryPolicy{Attempts: 4, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, Budget: 2 * time.Second}

// throttlePolicy waits long enough to outlast the emulators' one-second rate-limit window.
var throttlePolicy = adapters.RetryPolicy{Attempts: 6, BaseDelay: 200 * time.Millisecond, MaxDelay: 1200 * time.Millisecond, Budget: 6 * time.Second}

// candidateAttrs are the optional attributes the suite sets; each adapter keeps the ones its vendor holds. The
// values are ones every vendor should accept (the role is one both seeds name).
var candidateAttrs = map[string]string{
	adapters.AttrTitle:             "Staff Engineer",
	adapters.AttrDepartment:        "Research",
	adapters.AttrRole:              "admin",
	adapters.AttrPreferredLanguage: "en",
	adapters.AttrLocale:            "en-US",
	adapters.AttrExternalID:        "ext-0001",
	adapters.AttrEmployeeNumber:    "E-1001",
	adapters.AttrCostCenter:        "CC-42",
	adapters.AttrOrganization:      "Example Org",
	adapters.AttrDivision:          "Platform",
}

// person returns a complete user with a distinct email.
func person(n int) adapters.User {
	return adapters.User{
		Email:      fmt.Sprintf("person%03d@example.com", n),
		GivenName:  fmt.Sprintf("Given%03d", n),
		FamilyName: fmt.Sprintf("Family%03d", n),
		Active:     true,
		Attrs:      maps.Clone(candidateAttrs),
	}
}

// Run checks that the adapter h.New builds keeps the adapters.Adapter contract against its emulator. Every subtest
// starts from a fresh emulator.
func Run(t *testing.T, h Harness) {
	t.Helper()
	s := &suite{h: h}
	t.Run("create then get returns every core field and every attribute the vendor holds", s.createGet)
	t.Run("every declared attribute path is held: set on create, read back, cleared by update", s.declaredAttributes)
	t.Run("an inactive create reports the vendor's real state and can be deactivated at once", s.inactiveCreate)
	t.Run("find by email ignores case", s.findIgnoresCase)
	t.Run("a missing user is not found by get nor by email", s.missing)
	t.Run("a duplicate email in any case is a conflict", s.duplicate)
	t.Run("listing more than two pages returns each user once and the total", s.list)
	t.Run("updating one field leaves every other field unchanged", s.updateOneField)
	t.Run("updating an attribute sets it and clearing empties it", s.updateAttr)
	t.Run("deactivate then reactivate", s.deactivateReactivate)
	t.Run("deleter is implemented exactly when the harness says so", s.deleter)
	t.Run("a full plan is a seat limit error and creates nobody", s.seatLimit)
	t.Run("two 429s then success succeed through Retrying", s.throttledTwice)
	t.Run("500 forever gives up as unavailable with a retry hint after a bounded number of calls", s.unavailable)
	t.Run("an undocumented rate limit is survived by Retrying for a small burst", s.rateLimit)
	t.Run("a lost create response yields the user and exactly one account", s.lostCreate)
	t.Run("a canceled context returns promptly with an error", s.canceled)
	t.Run("every error is an adapters.Error free of secrets", s.errorsAreClean)
	t.Run("thirty concurrent creates of distinct users all land", s.concurrentCreates)
	if h.Logs != nil {
		t.Run("logs hold no secret", func(t *testing.T) {
			logs := h.Logs()
			for _, sec := range h.Secrets {
				if sec != "" && strings.Contains(logs, sec) {
					t.Fatalf("a secret appears in the adapter's logs")
				}
			}
		})
	}
}

type suite struct{ h Harness }

func (s *suite) fresh(t *testing.T) (adapters.Adapter, upstreamtest.Emulator) {
	t.Helper()
	a, em := s.h.New(t)
	if a == nil || em == nil {
		t.Fatal("Harness.New returned a nil adapter or emulator")
	}
	return a, em
}

// check fails the test unless err is an *adapters.Error whose text holds no secret, and returns it.
func (s *suite) check(t *testing.T, err error) *adapters.Error {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error, got nil")
	}
	e, ok := errors.AsType[*adapters.Error](err)
	if !ok {
		t.Fatalf("error %T is not an *adapters.Error: %v", err, err)
	}
	for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", e.Err)} {
		for _, sec := range s.h.Secrets {
			if sec != "" && strings.Contains(text, sec) {
				t.Fatalf("a secret appears in error %q", err.Error())
			}
		}
	}
	return e
}

// must fails the test on an unexpected error, checking it is clean first.
func (s *suite) must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		s.check(t, err)
		t.Fatalf("%s: %v", what, err)
	}
}

func (s *suite) wantKind(t *testing.T, err error, target error, what string) *adapters.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error, want %v", what, target)
	}
	e := s.check(t, err)
	if !errors.Is(err, target) {
		t.Fatalf("%s: got %v (kind %v), want %v", what, err, e.Kind, target)
	}
	return e
}

// sameUser compares what both sides must agree on; Updated is left out because writes move it.
func sameUser(t *testing.T, what string, got, want adapters.User) {
	t.Helper()
	if got.ID != want.ID || got.Email != want.Email || got.GivenName != want.GivenName ||
		got.FamilyName != want.FamilyName || got.Active != want.Active {
		t.Errorf("%s: got {%s %s %s %s active=%v}, want {%s %s %s %s active=%v}", what,
			got.ID, got.Email, got.GivenName, got.FamilyName, got.Active,
			want.ID, want.Email, want.GivenName, want.FamilyName, want.Active)
	}
	if !maps.Equal(got.Attrs, want.Attrs) {
		t.Errorf("%s: attrs %v, want %v", what, got.Attrs, want.Attrs)
	}
	// Vendors may render timestamps to the second only.
	if d := got.Created.Sub(want.Created); !want.Created.IsZero() && (d >= time.Second || d <= -time.Second) {
		t.Errorf("%s: created %v, want %v", what, got.Created, want.Created)
	}
}

// declaredAttributes proves Attributes() is the truth: the bridge forwards exactly these paths, so each one must
// reach the vendor and come back.
func (s *suite) declaredAttributes(t *testing.T) {
	a, em := s.fresh(t)
	paths := a.Attributes()
	if len(paths) == 0 {
		t.Fatal("the adapter declares no attribute path")
	}
	in := person(7)
	in.Attrs = map[string]string{}
	for i, p := range paths {
		v, ok := candidateAttrs[p]
		if !ok {
			v = fmt.Sprintf("value-%d", i)
		}
		in.Attrs[p] = v
	}
	created, err := a.Create(t.Context(), in)
	s.must(t, err, "create")
	view, _ := em.User(created.ID)
	got, err := a.Get(t.Context(), created.ID)
	s.must(t, err, "get")
	for _, p := range paths {
		if got.Attrs[p] != in.Attrs[p] {
			t.Errorf("declared %s: read back %q, want %q", p, got.Attrs[p], in.Attrs[p])
		}
		if view.Attrs[p] != in.Attrs[p] {
			t.Errorf("declared %s: the vendor holds %q, want %q", p, view.Attrs[p], in.Attrs[p])
		}
	}
	clear := adapters.Change{Attrs: map[string]*string{}}
	for _, p := range paths {
		clear.Attrs[p] = nil
	}
	updated, err := a.Update(t.Context(), created.ID, clear)
	s.must(t, err, "update")
	for _, p := range paths {
		if v, held := updated.Attrs[p]; !held || v != "" {
			t.Errorf("declared %s after clearing: %q (held %v), want held and empty", p, v, held)
		}
	}
}

// inactiveCreate: a vendor may be unable to create an inactive account (Trainual invites everyone); the adapter
// must then say so through the state it returns, or refuse as rejected, never claim a state the vendor lacks.
func (s *suite) inactiveCreate(t *testing.T) {
	a, em := s.fresh(t)
	in := person(8)
	in.Active = false
	created, err := a.Create(t.Context(), in)
	if err != nil {
		if adapters.KindOf(err) != adapters.KindRejected {
			t.Fatalf("an inactive create failed with %v, want success or a rejection", err)
		}
		if em.Users() != 0 {
			t.Errorf("a refused create left %d accounts", em.Users())
		}
		return
	}
	view, _ := em.User(created.ID)
	if view.Active != created.Active {
		t.Errorf("create reported active=%v while the vendor holds active=%v", created.Active, view.Active)
	}
	if created.Active {
		u, err := a.Update(t.Context(), created.ID, adapters.Change{Active: adapters.Ptr(false)})
		s.must(t, err, "deactivate after create")
		if u.Active {
			t.Error("still active after the deactivating update")
		}
	}
	if view, _ := em.User(created.ID); view.Active {
		t.Error("the vendor holds the person active")
	}
}

func (s *suite) createGet(t *testing.T) {
	a, em := s.fresh(t)
	in := person(1)
	created, err := a.Create(t.Context(), in)
	s.must(t, err, "create")
	if created.ID == "" {
		t.Fatal("create returned no id")
	}
	if created.Email != in.Email || created.GivenName != in.GivenName || created.FamilyName != in.FamilyName || !created.Active {
		t.Errorf("create returned %+v, want the values sent and active", created)
	}
	if len(created.Attrs) == 0 {
		t.Error("create returned no attributes: every vendor holds at least one of the candidates")
	}
	for k, v := range created.Attrs {
		sent, ok := in.Attrs[k]
		if !ok {
			if v != "" {
				t.Errorf("attribute %s = %q was never sent", k, v)
			}
			continue
		}
		if v != sent {
			t.Errorf("attribute %s = %q, want %q", k, v, sent)
		}
	}

	got, err := a.Get(t.Context(), created.ID)
	s.must(t, err, "get")
	sameUser(t, "get after create", got, created)

	view, ok := em.User(created.ID)
	if !ok {
		t.Fatal("the emulator does not hold the created user")
	}
	sameUser(t, "emulator after create", view, created)
	if em.Users() != 1 {
		t.Errorf("emulator holds %d accounts, want 1", em.Users())
	}
}

func (s *suite) findIgnoresCase(t *testing.T) {
	a, em := s.fresh(t)
	mixed := person(2)
	mixed.Email = "Jane.Doe@Example.COM"
	ids := em.Seed(person(1), mixed, person(3))
	for _, q := range []string{"jane.doe@example.com", "JANE.DOE@EXAMPLE.COM", "Jane.Doe@Example.COM"} {
		u, err := a.FindByEmail(t.Context(), q)
		s.must(t, err, "find "+q)
		if u.ID != ids[1] {
			t.Errorf("find %s returned id %s, want %s", q, u.ID, ids[1])
		}
		if u.Email != mixed.Email || u.GivenName != mixed.GivenName {
			t.Errorf("find %s returned %+v", q, u)
		}
	}
}

func (s *suite) missing(t *testing.T) {
	a, em := s.fresh(t)
	em.Seed(person(1))
	_, err := a.Get(t.Context(), "999999")
	s.wantKind(t, err, adapters.ErrNotFound, "get of an unknown id")
	_, err = a.FindByEmail(t.Context(), "nobody@example.com")
	s.wantKind(t, err, adapters.ErrNotFound, "find of an unknown email")
}

func (s *suite) duplicate(t *testing.T) {
	a, em := s.fresh(t)
	first := person(1)
	_, err := a.Create(t.Context(), first)
	s.must(t, err, "first create")
	second := person(2)
	second.Email = strings.ToUpper(first.Email)
	_, err = a.Create(t.Context(), second)
	s.wantKind(t, err, adapters.ErrConflict, "create of a taken email")
	if em.Users() != 1 {
		t.Errorf("emulator holds %d accounts, want 1", em.Users())
	}
}

func (s *suite) list(t *testing.T) {
	a, em := s.fresh(t)
	n := 2*em.MaxPageSize() + 1
	people := make([]adapters.User, n)
	for i := range people {
		people[i] = person(i)
	}
	people[n-1].Active = false // deactivated users are listed too
	ids := em.Seed(people...)

	seen := map[string]int{}
	for u, err := range adapters.All(t.Context(), a) {
		s.must(t, err, "list")
		seen[u.ID]++
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("user %s listed %d times, want once", id, seen[id])
		}
	}
	if len(seen) != n {
		t.Errorf("listed %d distinct users, want %d", len(seen), n)
	}
	p, err := a.List(t.Context(), adapters.PageRequest{Number: 1})
	s.must(t, err, "first page")
	if p.Total >= 0 && p.Total != n {
		t.Errorf("total = %d, want %d", p.Total, n)
	}
	if p.Last {
		t.Error("the first of three pages says it is the last")
	}
}

// seedFull seeds one user with every field and every candidate attribute set and returns the id and the emulator's
// view of it, which is the baseline every update case compares to.
func seedFull(t *testing.T, em upstreamtest.Emulator) (string, adapters.User) {
	t.Helper()
	id := em.Seed(person(7))[0]
	before, ok := em.User(id)
	if !ok {
		t.Fatal("the emulator does not hold the seeded user")
	}
	return id, before
}

func (s *suite) updateOneField(t *testing.T) {
	cases := []struct {
		name  string
		ch    adapters.Change
		apply func(*adapters.User)
	}{
		{"given name", adapters.Change{GivenName: adapters.Ptr("Renamed")}, func(u *adapters.User) { u.GivenName = "Renamed" }},
		{"family name", adapters.Change{FamilyName: adapters.Ptr("Newname")}, func(u *adapters.User) { u.FamilyName = "Newname" }},
		{"email", adapters.Change{Email: adapters.Ptr("moved@example.com")}, func(u *adapters.User) { u.Email = "moved@example.com" }},
		{"an attribute the vendor does not hold is ignored", adapters.Change{Attrs: map[string]*string{"urn:example:unheld": adapters.Ptr("x")}}, func(*adapters.User) {}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, em := s.fresh(t)
			id, want := seedFull(t, em)
			c.apply(&want)
			got, err := a.Update(t.Context(), id, c.ch)
			s.must(t, err, "update")
			after, _ := em.User(id)
			sameUser(t, "emulator after update", after, want)
			sameUser(t, "update result", got, want)
		})
	}
}

func (s *suite) updateAttr(t *testing.T) {
	_, probe := s.fresh(t)
	_, base := seedFull(t, probe)
	if len(base.Attrs) == 0 {
		t.Fatal("the emulator holds no attribute for a user seeded with all of them")
	}
	for _, key := range slices.Sorted(maps.Keys(base.Attrs)) {
		t.Run(key, func(t *testing.T) {
			a, em := s.fresh(t)
			id, want := seedFull(t, em)
			want.Attrs[key] = "changed"
			_, err := a.Update(t.Context(), id, adapters.Change{Attrs: map[string]*string{key: adapters.Ptr("changed")}})
			s.must(t, err, "set")
			after, _ := em.User(id)
			sameUser(t, "emulator after set", after, want)

			want.Attrs[key] = ""
			got, err := a.Update(t.Context(), id, adapters.Change{Attrs: map[string]*string{key: nil}})
			s.must(t, err, "clear")
			after, _ = em.User(id)
			sameUser(t, "emulator after clear", after, want)
			if got.Attrs[key] != "" {
				t.Errorf("update result after clear holds %s = %q", key, got.Attrs[key])
			}
		})
	}
}

func (s *suite) deactivateReactivate(t *testing.T) {
	a, em := s.fresh(t)
	id, want := seedFull(t, em)

	got, err := a.Update(t.Context(), id, adapters.Change{Active: adapters.Ptr(false)})
	s.must(t, err, "deactivate")
	want.Active = false
	after, _ := em.User(id)
	sameUser(t, "emulator after deactivation", after, want)
	sameUser(t, "deactivation result", got, want)

	got, err = a.Update(t.Context(), id, adapters.Change{Active: adapters.Ptr(true)})
	s.must(t, err, "reactivate")
	want.Active = true
	after, _ = em.User(id)
	sameUser(t, "emulator after reactivation", after, want)
	sameUser(t, "reactivation result", got, want)

	// Repeating a request for the current state must not fail (Retrying repeats updates).
	_, err = a.Update(t.Context(), id, adapters.Change{Active: adapters.Ptr(true)})
	s.must(t, err, "reactivate an active user")
	after, _ = em.User(id)
	sameUser(t, "emulator after a repeated reactivation", after, want)

	if em.Users() != 1 {
		t.Errorf("emulator holds %d accounts, want 1", em.Users())
	}
}

func (s *suite) deleter(t *testing.T) {
	a, em := s.fresh(t)
	d, ok := a.(adapters.Deleter)
	if ok != s.h.Deletes {
		t.Fatalf("adapter implements Deleter: %v, harness says Deletes: %v", ok, s.h.Deletes)
	}
	if !ok {
		return
	}
	id := em.Seed(person(1))[0]
	s.must(t, d.Delete(t.Context(), id), "delete")
	if _, ok := em.User(id); ok {
		t.Error("the emulator still holds the deleted user")
	}
	_, err := a.Get(t.Context(), id)
	s.wantKind(t, err, adapters.ErrNotFound, "get after delete")
	if em.Users() != 0 {
		t.Errorf("emulator holds %d accounts, want 0", em.Users())
	}
}

func (s *suite) seatLimit(t *testing.T) {
	a, em := s.fresh(t)
	em.Seed(person(1))
	em.SetSeatLimit(1)
	_, err := a.Create(t.Context(), person(2))
	s.wantKind(t, err, adapters.ErrSeatLimit, "create beyond the plan")
	if em.Users() != 1 {
		t.Errorf("emulator holds %d accounts, want 1", em.Users())
	}
}

func (s *suite) throttledTwice(t *testing.T) {
	a, em := s.fresh(t)
	id := em.Seed(person(1))[0]
	r := adapters.Retrying(a, FastPolicy)

	em.Fail(upstreamtest.OpGet, 429, 2, 0)
	u, err := r.Get(t.Context(), id)
	s.must(t, err, "get through two 429s")
	if u.ID != id {
		t.Errorf("got id %s, want %s", u.ID, id)
	}
	if n := em.Calls(upstreamtest.OpGet); n != 3 {
		t.Errorf("emulator saw %d gets, want 3", n)
	}

	em.Fail(upstreamtest.OpCreate, 429, 2, 0)
	created, err := r.Create(t.Context(), person(2))
	s.must(t, err, "create through two 429s")
	if created.Email != person(2).Email {
		t.Errorf("created %q", created.Email)
	}
	if em.Users() != 2 {
		t.Errorf("emulator holds %d accounts, want 2", em.Users())
	}
}

func (s *suite) unavailable(t *testing.T) {
	a, em := s.fresh(t)
	id := em.Seed(person(1))[0]
	em.Fail(upstreamtest.OpGet, 500, -1, 0)
	_, err := adapters.Retrying(a, FastPolicy).Get(t.Context(), id)
	e := s.wantKind(t, err, adapters.ErrUnavailable, "get against a failing vendor")
	if e.RetryAfter <= 0 {
		t.Errorf("RetryAfter = %v, want a positive hint for the IdP", e.RetryAfter)
	}
	if n := em.Calls(upstreamtest.OpGet); n < 2 || n > FastPolicy.Attempts {
		t.Errorf("emulator saw %d gets, want between 2 and %d", n, FastPolicy.Attempts)
	}
}

func (s *suite) rateLimit(t *testing.T) {
	a, em := s.fresh(t)
	ids := em.Seed(person(1), person(2), person(3), person(4), person(5), person(6))
	em.SetRateLimit(3)
	r := adapters.Retrying(a, throttlePolicy)
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			_, errs[i] = r.Get(t.Context(), id)
		})
	}
	wg.Wait()
	for i, err := range errs {
		s.must(t, err, fmt.Sprintf("get %d of the burst", i))
	}
	if em.Calls(upstreamtest.OpGet) <= len(ids) {
		t.Errorf("emulator saw %d gets: the rate limit never triggered", em.Calls(upstreamtest.OpGet))
	}
}

func (s *suite) lostCreate(t *testing.T) {
	a, em := s.fresh(t)
	em.DropResponse(upstreamtest.OpCreate)
	in := person(1)
	u, err := adapters.Retrying(a, FastPolicy).Create(t.Context(), in)
	s.must(t, err, "create with a lost response")
	if !strings.EqualFold(u.Email, in.Email) || u.ID == "" {
		t.Errorf("create returned %+v", u)
	}
	if em.Users() != 1 {
		t.Errorf("emulator holds %d accounts, want exactly 1", em.Users())
	}
	if n := em.Calls(upstreamtest.OpCreate); n != 1 {
		t.Errorf("the create was sent %d times, want once", n)
	}
}

func (s *suite) canceled(t *testing.T) {
	a, em := s.fresh(t)
	id := em.Seed(person(1))[0]

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for name, r := range map[string]adapters.Adapter{"raw": a, "retrying": adapters.Retrying(a, FastPolicy)} {
		_, err := r.Create(ctx, person(2))
		s.check(t, err)
		_, err = r.Get(ctx, id)
		s.check(t, err)
		if em.Users() != 1 {
			t.Fatalf("%s: a create with a canceled context created a user", name)
		}
	}

	// A slow vendor: the caller's deadline must end the call long before the vendor answers.
	const latency = time.Second
	em.SetLatency(latency)
	t.Cleanup(func() { em.SetLatency(0) })
	ctx, cancel = context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := adapters.Retrying(a, FastPolicy).Get(ctx, id)
	s.check(t, err)
	if elapsed := time.Since(start); elapsed >= latency/2 {
		t.Errorf("the call returned after %v although its context ended after 20ms", elapsed)
	}
}

func (s *suite) errorsAreClean(t *testing.T) {
	a, em := s.fresh(t)
	id := em.Seed(person(1))[0]
	r := adapters.Retrying(a, FastPolicy)
	ctx := t.Context()
	calls := []struct {
		name string
		do   func() error
	}{
		{"get of a missing user", func() error { _, err := a.Get(ctx, "999999"); return err }},
		{"find of a missing user", func() error { _, err := a.FindByEmail(ctx, "nobody@example.com"); return err }},
		{"create of a taken email", func() error { _, err := a.Create(ctx, person(1)); return err }},
		{"create without an email", func() error { u := person(2); u.Email = ""; _, err := a.Create(ctx, u); return err }},
		{"update of a missing user", func() error {
			_, err := a.Update(ctx, "999999", adapters.Change{GivenName: adapters.Ptr("x")})
			return err
		}},
		{"refused credentials", func() error {
			em.Fail(upstreamtest.OpGet, 401, 1, 0)
			_, err := a.Get(ctx, id)
			return err
		}},
		{"a vendor down for good", func() error {
			em.Fail(upstreamtest.OpList, 503, -1, 0)
			defer em.Fail(upstreamtest.OpList, 503, 0, 0)
			_, err := r.List(ctx, adapters.PageRequest{Number: 1})
			return err
		}},
		{"a lost update response", func() error {
			em.DropResponse(upstreamtest.OpUpdate)
			_, err := a.Update(ctx, id, adapters.Change{GivenName: adapters.Ptr("x")})
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) { s.check(t, c.do()) })
	}
}

func (s *suite) concurrentCreates(t *testing.T) {
	a, em := s.fresh(t)
	const n = 30
	got := make([]adapters.User, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = a.Create(t.Context(), person(100+i)) })
	}
	wg.Wait()
	ids := map[string]bool{}
	for i, err := range errs {
		s.must(t, err, fmt.Sprintf("create %d", i))
		if got[i].Email != person(100+i).Email {
			t.Errorf("create %d returned %q", i, got[i].Email)
		}
		ids[got[i].ID] = true
	}
	if len(ids) != n {
		t.Errorf("%d distinct ids, want %d", len(ids), n)
	}
	if em.Users() != n {
		t.Errorf("emulator holds %d accounts, want %d", em.Users(), n)
	}
}
