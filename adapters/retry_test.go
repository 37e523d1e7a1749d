package adapters_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/pace"
	"github.com/scim-bridge/scim-bridge/adapters/targets"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
)

// fake is a scripted Adapter: each method answers from its script, one entry per call, and succeeds once the
// script is used up. It records every call with the fake time it was made at.
type fake struct {
	mu     sync.Mutex
	script map[string][]error
	calls  []string
	at     []time.Time
	found  adapters.User // what a successful FindByEmail returns
}

var alice = adapters.User{ID: "7", Email: "alice@example.com", Active: true}

func (f *fake) next(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, method)
	f.at = append(f.at, time.Now())
	s := f.script[method]
	if len(s) == 0 {
		return nil
	}
	f.script[method] = s[1:]
	return s[0]
}

func (f *fake) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == method {
			n++
		}
	}
	return n
}

func (f *fake) Create(_ context.Context, u adapters.User) (adapters.User, error) {
	if err := f.next("create"); err != nil {
		return adapters.User{}, err
	}
	u.ID = "new"
	return u, nil
}

func (f *fake) Get(context.Context, string) (adapters.User, error) {
	if err := f.next("get"); err != nil {
		return adapters.User{}, err
	}
	return alice, nil
}

func (f *fake) FindByEmail(context.Context, string) (adapters.User, error) {
	if err := f.next("find"); err != nil {
		return adapters.User{}, err
	}
	return f.found, nil
}

func (f *fake) Update(context.Context, string, adapters.Change) (adapters.User, error) {
	if err := f.next("update"); err != nil {
		return adapters.User{}, err
	}
	return alice, nil
}

func (f *fake) List(context.Context, adapters.PageRequest) (adapters.Page, error) {
	if err := f.next("list"); err != nil {
		return adapters.Page{}, err
	}
	return adapters.Page{Users: []adapters.User{alice}, Total: 1, Last: true}, nil
}

type fakeDeleter struct{ *fake }

func (f fakeDeleter) Delete(context.Context, string) error { return f.next("delete") }

// fail builds a fresh error (Retrying may set RetryAfter on the one it returns).
func fail(kind adapters.Kind) *adapters.Error {
	return &adapters.Error{Kind: kind, Op: "fake: op", Err: errors.New("scripted")}
}

func ambiguous(kind adapters.Kind) *adapters.Error {
	e := fail(kind)
	e.Ambiguous = true
	return e
}

func times(n int, mk func() *adapters.Error) []error {
	out := make([]error, n)
	for i := range out {
		out[i] = mk()
	}
	return out
}

// call runs method on r, for the cases that apply to every method.
func call(ctx context.Context, r adapters.Adapter, method string) error {
	var err error
	switch method {
	case "get":
		_, err = r.Get(ctx, "7")
	case "find":
		_, err = r.FindByEmail(ctx, "alice@example.com")
	case "update":
		_, err = r.Update(ctx, "7", adapters.Change{GivenName: adapters.Ptr("A")})
	case "list":
		_, err = r.List(ctx, adapters.PageRequest{Number: 1})
	case "create":
		_, err = r.Create(ctx, alice)
	}
	return err
}

var policy = adapters.RetryPolicy{Attempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second, Budget: 20 * time.Second}

func TestRetryingRetriesThrottledAndUnavailableCalls(t *testing.T) {
	for _, kind := range []adapters.Kind{adapters.KindRateLimited, adapters.KindUnavailable} {
		for _, method := range []string{"get", "find", "update", "list", "create"} {
			t.Run(kind.String()+" "+method+" succeeds on the third attempt", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					f := &fake{script: map[string][]error{method: times(2, func() *adapters.Error { return fail(kind) })}}
					if err := call(t.Context(), adapters.Retrying(f, policy), method); err != nil {
						t.Fatal(err)
					}
					if got := f.count(method); got != 3 {
						t.Errorf("%d calls, want 3", got)
					}
				})
			})
		}
	}
}

func TestRetryingGivesUpAfterAttemptsWithARetryHint(t *testing.T) {
	cases := []struct {
		name       string
		kind       adapters.Kind
		vendorHint time.Duration
		wantHint   time.Duration
	}{
		{"an unavailable vendor without a hint gets the policy's estimate", adapters.KindUnavailable, 0, policy.MaxDelay},
		{"a throttling vendor without a hint gets the policy's estimate", adapters.KindRateLimited, 0, policy.MaxDelay},
		{"the vendor's own hint is kept", adapters.KindRateLimited, 1500 * time.Millisecond, 1500 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fake{script: map[string][]error{"get": times(10, func() *adapters.Error {
					e := fail(c.kind)
					e.RetryAfter = c.vendorHint
					return e
				})}}
				_, err := adapters.Retrying(f, policy).Get(t.Context(), "7")
				e, ok := errors.AsType[*adapters.Error](err)
				if !ok || e.Kind != c.kind {
					t.Fatalf("got %v, want kind %v", err, c.kind)
				}
				if e.RetryAfter != c.wantHint {
					t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, c.wantHint)
				}
				if got := f.count("get"); got != policy.Attempts {
					t.Errorf("%d calls, want %d", got, policy.Attempts)
				}
			})
		})
	}
}

func TestRetryingNeverRetriesDefinitiveFailures(t *testing.T) {
	kinds := []adapters.Kind{adapters.KindConflict, adapters.KindNotFound, adapters.KindRejected,
		adapters.KindSeatLimit, adapters.KindUnauthorized, adapters.KindInternal}
	for _, kind := range kinds {
		for _, method := range []string{"get", "update", "create"} {
			t.Run(kind.String()+" on "+method+" is returned at once", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					f := &fake{script: map[string][]error{method: {fail(kind)}}}
					start := time.Now()
					err := call(t.Context(), adapters.Retrying(f, policy), method)
					if adapters.KindOf(err) != kind {
						t.Fatalf("got %v, want kind %v", err, kind)
					}
					if len(f.calls) != 1 || time.Since(start) != 0 {
						t.Errorf("calls %v after %v, want one call and no wait", f.calls, time.Since(start))
					}
				})
			})
		}
	}
	t.Run("an error that is not an adapters.Error is returned at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			boom := errors.New("boom")
			f := &fake{script: map[string][]error{"get": {boom}}}
			if _, err := adapters.Retrying(f, policy).Get(t.Context(), "7"); err != boom || len(f.calls) != 1 {
				t.Errorf("got %v after %d calls", err, len(f.calls))
			}
		})
	})
}

func TestRetryingWaits(t *testing.T) {
	t.Run("backoff doubles with jitter between half and all of each step", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &fake{script: map[string][]error{"get": times(10, func() *adapters.Error { return fail(adapters.KindUnavailable) })}}
			p := adapters.RetryPolicy{Attempts: 5, BaseDelay: 100 * time.Millisecond, MaxDelay: 300 * time.Millisecond, Budget: time.Minute}
			_, _ = adapters.Retrying(f, p).Get(t.Context(), "7")
			steps := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond}
			for i, d := range steps {
				if w := f.at[i+1].Sub(f.at[i]); w < d/2 || w > d {
					t.Errorf("wait %d = %v, want within [%v, %v]", i+1, w, d/2, d)
				}
			}
		})
	})
	t.Run("a vendor hint is waited for, up to the cap", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			mk := func(d time.Duration) *adapters.Error { e := fail(adapters.KindRateLimited); e.RetryAfter = d; return e }
			f := &fake{script: map[string][]error{"get": {mk(1500 * time.Millisecond), mk(time.Hour)}}}
			if _, err := adapters.Retrying(f, policy).Get(t.Context(), "7"); err != nil {
				t.Fatal(err)
			}
			if w := f.at[1].Sub(f.at[0]); w < 1500*time.Millisecond || w > policy.MaxDelay {
				t.Errorf("first wait %v, want at least the hint of 1.5s", w)
			}
			if w := f.at[2].Sub(f.at[1]); w != policy.MaxDelay {
				t.Errorf("second wait %v, want the cap %v", w, policy.MaxDelay)
			}
		})
	})
	t.Run("the budget bounds the whole operation", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &fake{script: map[string][]error{"get": times(1000, func() *adapters.Error { return fail(adapters.KindUnavailable) })}}
			p := adapters.RetryPolicy{Attempts: 1000, BaseDelay: time.Second, MaxDelay: 4 * time.Second, Budget: 10 * time.Second}
			start := time.Now()
			_, err := adapters.Retrying(f, p).Get(t.Context(), "7")
			if elapsed := time.Since(start); elapsed > p.Budget {
				t.Errorf("gave up after %v, beyond the %v budget", elapsed, p.Budget)
			}
			e, _ := errors.AsType[*adapters.Error](err)
			if e == nil || e.RetryAfter <= 0 {
				t.Errorf("got %v, want an error with a retry hint", err)
			}
			if n := f.count("get"); n < 3 || n > 10 {
				t.Errorf("%d calls within the budget", n)
			}
		})
	})
	t.Run("a context ended during a wait returns at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			f := &fake{script: map[string][]error{"get": times(10, func() *adapters.Error { return fail(adapters.KindUnavailable) })}}
			p := adapters.RetryPolicy{Attempts: 4, BaseDelay: time.Minute, MaxDelay: time.Minute, Budget: time.Hour}
			done := make(chan error)
			go func() { _, err := adapters.Retrying(f, p).Get(ctx, "7"); done <- err }()
			synctest.Wait() // the first call failed and Retrying is waiting
			start := time.Now()
			cancel()
			err := <-done
			if adapters.KindOf(err) != adapters.KindUnavailable || time.Since(start) != 0 || f.count("get") != 1 {
				t.Errorf("got %v after %v and %d calls", err, time.Since(start), f.count("get"))
			}
		})
	})
}

func TestRetryingCreateNeverDuplicates(t *testing.T) {
	cases := []struct {
		name      string
		script    map[string][]error
		found     adapters.User
		wantID    string
		wantKind  adapters.Kind // when an error is expected
		wantCalls []string
		wantErr   bool
	}{
		{
			name:      "an ambiguous failure is followed by a lookup whose find is returned",
			script:    map[string][]error{"create": {ambiguous(adapters.KindUnavailable)}},
			found:     alice,
			wantID:    alice.ID,
			wantCalls: []string{"create", "find"},
		},
		{
			name: "a lookup that finds nobody allows the create again",
			script: map[string][]error{
				"create": {ambiguous(adapters.KindUnavailable)},
				"find":   {fail(adapters.KindNotFound)},
			},
			wantID:    "new",
			wantCalls: []string{"create", "find", "create"},
		},
		{
			name: "a lookup that fails transiently is retried, never the create",
			script: map[string][]error{
				"create": {ambiguous(adapters.KindUnavailable)},
				"find":   {fail(adapters.KindRateLimited)},
			},
			found:     alice,
			wantID:    alice.ID,
			wantCalls: []string{"create", "find", "find"},
		},
		{
			name: "a lookup that keeps failing gives up without a second create",
			script: map[string][]error{
				"create": {ambiguous(adapters.KindUnavailable)},
				"find":   times(10, func() *adapters.Error { return fail(adapters.KindUnavailable) }),
			},
			wantErr:   true,
			wantKind:  adapters.KindUnavailable,
			wantCalls: []string{"create", "find", "find", "find"},
		},
		{
			name:      "a 429 that was not applied retries the create itself",
			script:    map[string][]error{"create": {fail(adapters.KindRateLimited)}},
			wantID:    "new",
			wantCalls: []string{"create", "create"},
		},
		{
			name:      "an ambiguous failure of a kind not worth retrying is returned",
			script:    map[string][]error{"create": {ambiguous(adapters.KindInternal)}},
			wantErr:   true,
			wantKind:  adapters.KindInternal,
			wantCalls: []string{"create"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fake{script: c.script, found: c.found}
				u, err := adapters.Retrying(f, policy).Create(t.Context(), alice)
				if c.wantErr {
					if adapters.KindOf(err) != c.wantKind {
						t.Errorf("got %v, want kind %v", err, c.wantKind)
					}
				} else if err != nil || u.ID != c.wantID {
					t.Errorf("got %+v, %v; want id %s", u, err, c.wantID)
				}
				if strings.Join(f.calls, ",") != strings.Join(c.wantCalls, ",") {
					t.Errorf("calls %v, want %v", f.calls, c.wantCalls)
				}
			})
		})
	}
}

func TestRetryingDeleter(t *testing.T) {
	t.Run("Deleter is offered exactly when the adapter has it", func(t *testing.T) {
		if _, ok := adapters.Retrying(&fake{}, policy).(adapters.Deleter); ok {
			t.Error("an adapter without Delete became a Deleter")
		}
		if _, ok := adapters.Retrying(fakeDeleter{&fake{}}, policy).(adapters.Deleter); !ok {
			t.Error("an adapter with Delete lost it")
		}
	})
	cases := []struct {
		name      string
		script    []error
		wantKind  adapters.Kind
		wantErr   bool
		wantCalls int
	}{
		{"a delete passes through", nil, 0, false, 1},
		{"a retried delete that answers 404 has succeeded", []error{ambiguous(adapters.KindUnavailable), fail(adapters.KindNotFound)}, 0, false, 2},
		{"a first delete that answers 404 is success too", []error{fail(adapters.KindNotFound)}, 0, false, 1},
		{"a refused delete is returned", []error{fail(adapters.KindRejected)}, adapters.KindRejected, true, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fake{script: map[string][]error{"delete": c.script}}
				err := adapters.Retrying(fakeDeleter{f}, policy).(adapters.Deleter).Delete(t.Context(), "7")
				if c.wantErr != (err != nil) || (c.wantErr && adapters.KindOf(err) != c.wantKind) {
					t.Errorf("got %v", err)
				}
				if f.count("delete") != c.wantCalls {
					t.Errorf("%d deletes, want %d", f.count("delete"), c.wantCalls)
				}
			})
		})
	}
}

func TestRetryingLogsOnlyWhenTheFailureChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		p := policy
		p.Logger = slog.New(slog.NewTextHandler(&buf, nil))
		f := &fake{script: map[string][]error{"get": {
			fail(adapters.KindUnavailable), fail(adapters.KindUnavailable), fail(adapters.KindRateLimited),
		}}}
		if _, err := adapters.Retrying(f, p).Get(t.Context(), "7"); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(buf.String(), "retrying"); n != 2 {
			t.Errorf("%d log lines, want 2:\n%s", n, buf.String())
		}
	})
}

// hanging is a vendor that accepted the connection and went silent: each call lasts until its context ends or its
// own timeout passes (as an upstream.Client attempt does), and records the deadline its context carried.
type hanging struct {
	own       time.Duration
	mu        sync.Mutex
	calls     []string
	deadlines []time.Time
}

func (h *hanging) wait(ctx context.Context, method string) error {
	d, _ := ctx.Deadline()
	h.mu.Lock()
	h.calls, h.deadlines = append(h.calls, method), append(h.deadlines, d)
	h.mu.Unlock()
	t := time.NewTimer(h.own)
	defer t.Stop()
	cause := errors.New("attempt timed out")
	select {
	case <-ctx.Done():
		cause = ctx.Err()
	case <-t.C:
	}
	// A create that was sent and never answered may have landed.
	return &adapters.Error{Kind: adapters.KindUnavailable, Op: "hanging: " + method, Ambiguous: method == "create", Err: cause}
}

func (h *hanging) Create(ctx context.Context, _ adapters.User) (adapters.User, error) {
	return adapters.User{}, h.wait(ctx, "create")
}
func (h *hanging) Get(ctx context.Context, _ string) (adapters.User, error) {
	return adapters.User{}, h.wait(ctx, "get")
}
func (h *hanging) FindByEmail(ctx context.Context, _ string) (adapters.User, error) {
	return adapters.User{}, h.wait(ctx, "find")
}
func (h *hanging) Update(ctx context.Context, _ string, _ adapters.Change) (adapters.User, error) {
	return adapters.User{}, h.wait(ctx, "update")
}
func (h *hanging) List(ctx context.Context, _ adapters.PageRequest) (adapters.Page, error) {
	return adapters.Page{}, h.wait(ctx, "list")
}
func (h *hanging) Attributes() []string { return nil }

func TestRetryingBudgetIsAHardBound(t *testing.T) {
	// A 1.5s attempt timeout in a 2s budget: before the budget reached into attempts, the second attempt started
	// with 0.4s left and ran its full 1.5s, so the operation took about 3s.
	p := adapters.RetryPolicy{Attempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, Budget: 2 * time.Second}
	cases := []struct {
		method    string
		wantCalls []string
	}{
		{"get", []string{"get", "get"}},
		{"find", []string{"find", "find"}},
		{"update", []string{"update", "update"}},
		{"list", []string{"list", "list"}},
		// The ambiguous create is followed by its lookup, which the budget cuts as well.
		{"create", []string{"create", "find"}},
	}
	for _, c := range cases {
		t.Run("a hanging vendor's "+c.method+" ends with the budget", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := &hanging{own: 1500 * time.Millisecond}
				start := time.Now()
				err := call(t.Context(), adapters.Retrying(h, p), c.method)
				elapsed := time.Since(start)
				if elapsed > p.Budget {
					t.Errorf("took %v, beyond the %v budget", elapsed, p.Budget)
				}
				e, ok := errors.AsType[*adapters.Error](err)
				if !ok || e.Kind != adapters.KindUnavailable || e.RetryAfter <= 0 {
					t.Errorf("got %v, want unavailable with a retry hint", err)
				}
				if strings.Join(h.calls, ",") != strings.Join(c.wantCalls, ",") {
					t.Errorf("calls %v, want %v", h.calls, c.wantCalls)
				}
				for i, d := range h.deadlines {
					if d.IsZero() {
						t.Errorf("attempt %d had no deadline, want the end of the budget", i+1)
					} else if d.After(start.Add(p.Budget)) {
						t.Errorf("attempt %d had deadline %v, after the end of the budget %v", i+1, d.Sub(start), p.Budget)
					}
				}
			})
		})
	}
	t.Run("a caller's earlier deadline still wins", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := &hanging{own: time.Hour}
			ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, _ = adapters.Retrying(h, p).Get(ctx, "7")
			if elapsed := time.Since(start); elapsed != 500*time.Millisecond {
				t.Errorf("took %v, want the caller's 500ms", elapsed)
			}
		})
	})
	t.Run("a vendor hint longer than what is left is not waited for", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := fail(adapters.KindRateLimited)
			e.RetryAfter = 3 * time.Second
			f := &fake{script: map[string][]error{"get": {e}}}
			q := p
			q.MaxDelay = 10 * time.Second
			start := time.Now()
			_, err := adapters.Retrying(f, q).Get(t.Context(), "7")
			if elapsed := time.Since(start); elapsed != 0 || adapters.KindOf(err) != adapters.KindRateLimited || f.count("get") != 1 {
				t.Errorf("got %v after %v and %d calls, want the throttle at once", err, elapsed, f.count("get"))
			}
		})
	})
}

// TestRetryingBudgetBoundsAHangingVendorOverHTTP is the same bound through each target's real adapter and HTTP
// client against its emulator answering too late: an attempt timeout of 500ms in a 600ms budget used to let a
// second attempt start with 100ms left and run 500ms more (1s in all). A GET is simply repeated; an ambiguous
// POST is followed by a lookup.
func TestRetryingBudgetBoundsAHangingVendorOverHTTP(t *testing.T) {
	const (
		budget  = 600 * time.Millisecond
		timeout = 500 * time.Millisecond
		latency = time.Second // longer than any attempt: the emulator never answers in time
		slack   = 250 * time.Millisecond
	)
	p := adapters.RetryPolicy{Attempts: 4, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, Budget: budget}
	for _, name := range targets.Names() {
		for _, method := range []string{"get", "create"} {
			t.Run(name+" "+method, func(t *testing.T) {
				t.Parallel()
				tg, err := targets.Lookup(name)
				if err != nil {
					t.Fatal(err)
				}
				emu := tg.Emulator("key-0123456789")
				id := emu.Seed(adapters.User{Email: "seeded@example.com", GivenName: "S", FamilyName: "D", Active: true})[0]
				srv := httptest.NewServer(emu)
				t.Cleanup(srv.Close) // waits for the emulator's sleeping handlers
				settings := map[string]string{
					"SCIM_BRIDGE_UPSTREAM_URL":     emu.BaseURL(srv.URL),
					"SCIM_BRIDGE_UPSTREAM_TOKEN":   "key-0123456789",
					"SCIM_BRIDGE_UPSTREAM_TIMEOUT": timeout.String(),
				}
				raw, err := tg.Open(func(k string) string { return settings[k] }, adapters.Deps{})
				if err != nil {
					t.Fatal(err)
				}
				emu.SetLatency(latency)
				r := adapters.Retrying(raw, p)
				start := time.Now()
				switch method {
				case "get":
					_, err = r.Get(t.Context(), id)
				case "create":
					_, err = r.Create(t.Context(), adapters.User{Email: "new@example.com", GivenName: "N", FamilyName: "U", Active: true})
				}
				elapsed := time.Since(start)
				t.Logf("answered after %v", elapsed)
				if elapsed > budget+slack {
					t.Errorf("took %v, beyond the %v budget (+%v slack)", elapsed, budget, slack)
				}
				if e, ok := errors.AsType[*adapters.Error](err); !ok || e.Kind != adapters.KindUnavailable || e.RetryAfter <= 0 {
					t.Errorf("got %v, want unavailable with a retry hint", err)
				}
			})
		}
	}
}

// baseRecorder remembers the Base each Update attempt was given.
type baseRecorder struct {
	fake
	bases []*adapters.User
}

func (b *baseRecorder) Update(ctx context.Context, id string, ch adapters.Change) (adapters.User, error) {
	b.bases = append(b.bases, ch.Base)
	return b.fake.Update(ctx, id, ch)
}

func TestRetryingDropsTheCallersReadAfterAFailedAttempt(t *testing.T) {
	rec := &baseRecorder{fake: fake{script: map[string][]error{"update": {fail(adapters.KindUnavailable), nil}}}}
	r := adapters.Retrying(rec, adapters.RetryPolicy{Attempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, Budget: time.Second})
	base := alice
	if _, err := r.Update(context.Background(), alice.ID, adapters.Change{Active: adapters.Ptr(false), Base: &base}); err != nil {
		t.Fatal(err)
	}
	if len(rec.bases) != 2 || rec.bases[0] == nil || rec.bases[1] != nil {
		t.Errorf("bases per attempt %v: want the caller's read on the first attempt only", rec.bases)
	}
}

// TestRetryingPacedRetriesThrottlingUntilTheBudget: with a pacer under it, a throttled call is tried again as
// long as the budget allows, without backoff (the pacer spaces the attempts), while other failures keep the
// attempts bound; a turn the pacer cannot give before the budget ends is answered at once.
func TestRetryingPacedRetriesThrottlingUntilTheBudget(t *testing.T) {
	paced := policy
	paced.Paced = true
	t.Run("ten throttled attempts, then success", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &fake{script: map[string][]error{"update": times(10, func() *adapters.Error { return fail(adapters.KindRateLimited) })}}
			start := time.Now()
			if err := call(t.Context(), adapters.Retrying(f, paced), "update"); err != nil {
				t.Fatal(err)
			}
			if got := f.count("update"); got != 11 {
				t.Errorf("%d calls, want 11", got)
			}
			// At most BaseDelay/5 of jitter per retry: no backoff of its own.
			if el, most := time.Since(start), 10*paced.BaseDelay/5; el > most {
				t.Errorf("took %v, want at most %v", el, most)
			}
		})
	})
	t.Run("unavailable keeps the attempts bound", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &fake{script: map[string][]error{"get": times(10, func() *adapters.Error { return fail(adapters.KindUnavailable) })}}
			if err := call(t.Context(), adapters.Retrying(f, paced), "get"); !errors.Is(err, adapters.ErrUnavailable) {
				t.Fatalf("got %v", err)
			}
			if got := f.count("get"); got != paced.Attempts {
				t.Errorf("%d calls, want %d", got, paced.Attempts)
			}
		})
	})
	t.Run("a turn past the budget is answered at once with its wait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &fake{script: map[string][]error{"get": {&adapters.Error{Kind: adapters.KindRateLimited, Op: "fake: op",
				RetryAfter: paced.Budget + time.Second, Err: errors.New("not sent")}}}}
			start := time.Now()
			_, err := adapters.Retrying(f, paced).Get(t.Context(), "7")
			e, ok := errors.AsType[*adapters.Error](err)
			if !ok || e.Kind != adapters.KindRateLimited || e.RetryAfter != paced.Budget+time.Second {
				t.Fatalf("got %v, want rate_limited with the pacer's wait", err)
			}
			if f.count("get") != 1 || time.Since(start) != 0 {
				t.Errorf("%d calls over %v, want 1 at once", f.count("get"), time.Since(start))
			}
		})
	})
}

// TestAPacedChainKeepsAThrottlingVendorBusy runs the chain serve builds (Retrying over a raw adapter whose calls
// share a pace.Pacer) against an emulator that accepts 20 calls a second and answers 429 beyond: eight clients
// reading as fast as they can all succeed, the vendor's accepted rate stays near its limit, and few calls are
// refused once the first burst has taught the pacer.
func TestAPacedChainKeepsAThrottlingVendorBusy(t *testing.T) {
	const limit, clients, runFor = 20, 8, 4 * time.Second
	tg, err := targets.Lookup("trainual")
	if err != nil {
		t.Fatal(err)
	}
	emu := tg.Emulator("key-0123456789")
	id := emu.Seed(adapters.User{Email: "seeded@example.com", GivenName: "S", FamilyName: "D", Active: true})[0]
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	settings := map[string]string{"SCIM_BRIDGE_UPSTREAM_URL": emu.BaseURL(srv.URL), "SCIM_BRIDGE_UPSTREAM_TOKEN": "key-0123456789"}
	p := pace.New(0)
	raw, err := tg.Open(func(k string) string { return settings[k] }, adapters.Deps{Pacer: p})
	if err != nil {
		t.Fatal(err)
	}
	r := adapters.Retrying(raw, adapters.RetryPolicy{Budget: 20 * time.Second, Paced: true})
	emu.SetRateLimit(limit)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok, failed int
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for time.Since(start) < runFor {
				_, err := r.Get(t.Context(), id)
				mu.Lock()
				if err != nil {
					failed++
					t.Errorf("a read failed: %v", err)
				} else {
					ok++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	calls := emu.Calls(upstreamtest.OpGet)
	t.Logf("%d reads in %v (%.1f/s), %d vendor calls (%d refused), pace %.1f/s", ok, elapsed.Round(time.Millisecond),
		float64(ok)/elapsed.Seconds(), calls, calls-ok, p.Rate())
	if failed > 0 {
		return
	}
	// A fixed one-second window admits at most limit per window: over the run at most limit × (windows + 1).
	if most := limit * (int(elapsed/time.Second) + 2); ok > most {
		t.Errorf("%d reads succeeded, more than the vendor's limit allows (%d)", ok, most)
	}
	// The slack is for a loaded CI machine: the measured figures are ≈ 80 % and ≈ 11 refusals.
	if least := int(0.5 * limit * elapsed.Seconds()); ok < least {
		t.Errorf("%d reads in %v, want at least %d (50 %% of the vendor's limit)", ok, elapsed, least)
	}
	// The first burst is refused once per client in flight; after it, refusals are the pacer's rare probes.
	if refused := calls - ok; refused > clients+3*int(elapsed/time.Second)+6 {
		t.Errorf("%d calls refused, want at most the first burst (%d) plus a few probes", refused, clients)
	}
	if p.Rate() == 0 {
		t.Error("the pacer learned no pace from the 429s")
	}
}
