package adapters_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/targets"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
)

const vendorPrefix = "scim_bridge_vendor_"

// vendorSeries gathers reg's scim_bridge_vendor_* series as `name{operation="get",status="ok"}` -> value: a
// counter's value, and a histogram's observation count under name_count. Every series must carry the connection
// and target the metrics were built with; those two labels are left out of the keys.
func vendorSeries(t *testing.T, reg *prometheus.Registry, connection, target string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), vendorPrefix) {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			var gotConn, gotTarget string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "connection":
					gotConn = l.GetValue()
				case "target":
					gotTarget = l.GetValue()
				default:
					labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
				}
			}
			key := "{" + strings.Join(labels, ",") + "}"
			if gotConn != connection || gotTarget != target {
				t.Errorf("%s%s has connection %q, target %q; want %q, %q", mf.GetName(), key, gotConn, gotTarget, connection, target)
			}
			switch {
			case m.GetCounter() != nil:
				out[mf.GetName()+key] = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				out[mf.GetName()+"_count"+key] = float64(m.GetHistogram().GetSampleCount())
			default:
				t.Errorf("%s is neither a counter nor a histogram", mf.GetName())
			}
		}
	}
	return out
}

// calls is what one vendor call adds to the series: a count and a latency observation.
func calls(op, status string, n float64) map[string]float64 {
	key := fmt.Sprintf("{operation=%q,status=%q}", op, status)
	return map[string]float64{
		"scim_bridge_vendor_calls_total" + key:                 n,
		"scim_bridge_vendor_call_duration_seconds_count" + key: n,
	}
}

func throttled(op string, n float64) map[string]float64 {
	return map[string]float64{fmt.Sprintf("scim_bridge_vendor_throttled_total{operation=%q}", op): n}
}

func retries(op, status string, n float64) map[string]float64 {
	return map[string]float64{fmt.Sprintf("scim_bridge_vendor_retries_total{operation=%q,status=%q}", op, status): n}
}

func merge(parts ...map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for _, p := range parts {
		for k, v := range p {
			out[k] += v
		}
	}
	return out
}

// retryWaits removes the retry-wait series from got and returns their sum.
func retryWaits(got map[string]float64) float64 {
	var sum float64
	for k, v := range got {
		if strings.HasPrefix(k, "scim_bridge_vendor_retry_wait_seconds_total{") {
			sum += v
			delete(got, k)
		}
	}
	return sum
}

func diffSeries(t *testing.T, got, want map[string]float64) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(merge(got, want))) {
		if got[k] != want[k] {
			t.Errorf("%s = %v, want %v", k, got[k], want[k])
		}
	}
}

func newMetrics(t *testing.T, connection, target string) (*prometheus.Registry, *adapters.VendorMetrics) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := adapters.NewVendorMetrics(reg, connection, target)
	if err != nil {
		t.Fatal(err)
	}
	return reg, m
}

// TestInstrumentedCountsEachCallByOperationAndOutcome drives one call per case straight through the decorator:
// each is counted and timed once under its operation and outcome, and a throttled one is counted as such.
func TestInstrumentedCountsEachCallByOperationAndOutcome(t *testing.T) {
	for _, tc := range []struct {
		method string
		err    error
		want   map[string]float64
	}{
		{"get", nil, calls("get", "ok", 1)},
		{"find", fail(adapters.KindNotFound), calls("find", "not_found", 1)},
		{"update", fail(adapters.KindRejected), calls("update", "rejected", 1)},
		{"list", fail(adapters.KindUnavailable), calls("list", "unavailable", 1)},
		{"create", fail(adapters.KindRateLimited), merge(calls("create", "rate_limited", 1), throttled("create", 1))},
		{"create", fail(adapters.KindConflict), calls("create", "conflict", 1)},
		{"delete", fail(adapters.KindUnauthorized), calls("delete", "unauthorized", 1)},
		{"delete", nil, calls("delete", "ok", 1)},
		// An error that is not an *Error is an adapter bug: internal, as KindOf says.
		{"get", errors.New("not an adapters.Error"), calls("get", "internal", 1)},
	} {
		name := tc.method + " ok"
		if tc.err != nil {
			name = tc.method + " " + adapters.KindOf(tc.err).String()
		}
		t.Run(name, func(t *testing.T) {
			reg, m := newMetrics(t, "okta-trainual", "trainual")
			f := &fake{script: map[string][]error{tc.method: {tc.err}}}
			a := adapters.Instrumented(fakeDeleter{f}, m)
			var err error
			if tc.method == "delete" {
				err = a.(adapters.Deleter).Delete(t.Context(), "7")
			} else {
				err = call(t.Context(), a, tc.method)
			}
			if err != tc.err {
				t.Errorf("returned %v, want the adapter's own %v", err, tc.err)
			}
			if got := f.count(tc.method); got != 1 {
				t.Errorf("%d calls reached the adapter, want 1", got)
			}
			diffSeries(t, vendorSeries(t, reg, "okta-trainual", "trainual"), tc.want)
		})
	}
}

type withAttributes struct{ *fake }

func (withAttributes) Attributes() []string {
	return []string{adapters.AttrTitle, adapters.AttrDepartment}
}

func TestInstrumentedKeepsTheAdapterContract(t *testing.T) {
	_, m := newMetrics(t, "c", "t")
	for _, tc := range []struct {
		name        string
		a           adapters.Adapter
		wantDeleter bool
	}{
		{"without delete", withAttributes{&fake{}}, false},
		{"with delete", struct {
			withAttributes
			adapters.Deleter
		}{withAttributes{&fake{}}, fakeDeleter{&fake{}}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, a := range map[string]adapters.Adapter{
				"instrumented":          adapters.Instrumented(tc.a, m),
				"retrying instrumented": adapters.Retrying(adapters.Instrumented(tc.a, m), policy),
			} {
				if _, ok := a.(adapters.Deleter); ok != tc.wantDeleter {
					t.Errorf("%s: implements Deleter = %v, want %v", name, ok, tc.wantDeleter)
				}
				if got := a.Attributes(); !slices.Equal(got, tc.a.Attributes()) {
					t.Errorf("%s: Attributes() = %v, want the adapter's %v", name, got, tc.a.Attributes())
				}
			}
			if a := adapters.Instrumented(tc.a, nil); a != tc.a {
				t.Errorf("Instrumented without metrics wrapped the adapter")
			}
		})
	}
	// Two connections may share a registry (and a target); one connection may not be registered twice.
	reg := prometheus.NewRegistry()
	for _, conn := range []string{"okta-trainual", "entra-trainual"} {
		if _, err := adapters.NewVendorMetrics(reg, conn, "trainual"); err != nil {
			t.Errorf("second connection on one registry: %v", err)
		}
	}
	if _, err := adapters.NewVendorMetrics(reg, "okta-trainual", "trainual"); err == nil {
		t.Error("the same connection registered twice without an error")
	}
}

// TestRetryingReportsEachRetry checks the OnRetry hook in fake time: one report per retry actually made, with the
// failure that caused it and the wait that preceded it, and none for a definitive failure, for the last failed
// attempt, or for a wait the caller cut short.
func TestRetryingReportsEachRetry(t *testing.T) {
	type report struct {
		op   string
		kind adapters.Kind
		wait time.Duration
	}
	for _, tc := range []struct {
		name    string
		method  string
		script  []error
		cancel  time.Duration // cancel the caller's context after this long (0: never)
		want    []string      // op/kind of each report
		wantErr adapters.Kind // -1: success
	}{
		{"throttled then unavailable then served", "get",
			[]error{fail(adapters.KindRateLimited), fail(adapters.KindUnavailable)},
			0, []string{"get/rate_limited", "get/unavailable"}, -1},
		{"definitive failure", "update", []error{fail(adapters.KindRejected)}, 0, nil, adapters.KindRejected},
		{"gives up after the attempts", "list", times(4, func() *adapters.Error { return fail(adapters.KindRateLimited) }),
			0, []string{"list/rate_limited", "list/rate_limited", "list/rate_limited"}, adapters.KindRateLimited},
		{"ambiguous create reports under create", "create", []error{ambiguous(adapters.KindUnavailable)},
			0, []string{"create/unavailable"}, -1},
		{"caller gone during the wait", "find", times(4, func() *adapters.Error { return fail(adapters.KindUnavailable) }),
			time.Millisecond, nil, adapters.KindUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fake{script: map[string][]error{tc.method: tc.script}, found: alice}
				var got []report
				p := policy
				p.OnRetry = func(op string, kind adapters.Kind, wait time.Duration) {
					got = append(got, report{op, kind, wait})
				}
				ctx := t.Context()
				if tc.cancel > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tc.cancel)
					defer cancel()
				}
				err := call(ctx, adapters.Retrying(f, p), tc.method)
				switch {
				case tc.wantErr < 0 && err != nil:
					t.Fatalf("failed: %v", err)
				case tc.wantErr >= 0 && adapters.KindOf(err) != tc.wantErr:
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				var ops []string
				for _, r := range got {
					ops = append(ops, r.op+"/"+r.kind.String())
				}
				if !slices.Equal(ops, tc.want) {
					t.Fatalf("reports %v, want %v", ops, tc.want)
				}
				// Each report's wait is the fake time between the failed attempt and the one that follows it.
				for i, r := range got {
					if i+1 >= len(f.at) {
						t.Fatalf("report %d has no attempt after it", i)
					}
					if gap := f.at[i+1].Sub(f.at[i]); r.wait != gap || r.wait <= 0 || r.wait > policy.MaxDelay {
						t.Errorf("report %d says it waited %v; the attempts were %v apart (max %v)", i, r.wait, gap, policy.MaxDelay)
					}
				}
			})
		})
	}
}

// TestInstrumentedUnderRetryingAgainstTheEmulators drives each target's real adapter over HTTP, through the
// decorators as serve stacks them, against its emulator answering injected 429s and 503s: every attempt the vendor
// received is a call, every 429 a throttled call, every repeat a retry.
func TestInstrumentedUnderRetryingAgainstTheEmulators(t *testing.T) {
	const key = "vendor-key-0123456789"
	p := adapters.RetryPolicy{Attempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, Budget: 5 * time.Second}
	newUser := adapters.User{Email: "new@example.com", GivenName: "N", FamilyName: "U", Active: true}
	for _, tc := range []struct {
		name     string
		settings map[string]string // extra target settings
		only     string            // run for this target only
		fault    func(upstreamtest.Emulator)
		run      func(ctx context.Context, a adapters.Adapter, id string) error
		wantErr  adapters.Kind // -1: success
		want     map[string]float64
		wantWait float64 // retry wait, exactly (a Retry-After above MaxDelay is waited as MaxDelay); 0: only > 0 if retried
	}{{
		name:  "get throttled twice, then served",
		fault: func(e upstreamtest.Emulator) { e.Fail(upstreamtest.OpGet, http.StatusTooManyRequests, 2, 0) },
		run: func(ctx context.Context, a adapters.Adapter, id string) error {
			_, err := a.Get(ctx, id)
			return err
		},
		wantErr: -1,
		want: merge(calls("get", "rate_limited", 2), calls("get", "ok", 1), throttled("get", 2),
			retries("get", "rate_limited", 2)),
	}, {
		name:  "list throttled with a Retry-After beyond the policy's cap",
		fault: func(e upstreamtest.Emulator) { e.Fail(upstreamtest.OpList, http.StatusTooManyRequests, 1, time.Second) },
		run: func(ctx context.Context, a adapters.Adapter, _ string) error {
			_, err := a.List(ctx, adapters.PageRequest{Number: 1})
			return err
		},
		wantErr:  -1,
		want:     merge(calls("list", "rate_limited", 1), calls("list", "ok", 1), throttled("list", 1), retries("list", "rate_limited", 1)),
		wantWait: p.MaxDelay.Seconds(),
	}, {
		name:  "get keeps being throttled: every attempt counted, the last not retried",
		fault: func(e upstreamtest.Emulator) { e.Fail(upstreamtest.OpGet, http.StatusTooManyRequests, -1, 0) },
		run: func(ctx context.Context, a adapters.Adapter, id string) error {
			_, err := a.Get(ctx, id)
			return err
		},
		wantErr: adapters.KindRateLimited,
		want:    merge(calls("get", "rate_limited", 3), throttled("get", 3), retries("get", "rate_limited", 2)),
	}, {
		name:  "update unavailable once",
		fault: func(e upstreamtest.Emulator) { e.Fail(upstreamtest.OpUpdate, http.StatusServiceUnavailable, 1, 0) },
		run: func(ctx context.Context, a adapters.Adapter, id string) error {
			_, err := a.Update(ctx, id, adapters.Change{GivenName: adapters.Ptr("Renamed")})
			return err
		},
		wantErr: -1,
		want:    merge(calls("update", "unavailable", 1), calls("update", "ok", 1), retries("update", "unavailable", 1)),
	}, {
		// A 503 to a POST may have been applied: Retrying looks the e-mail up before sending it again, and that
		// look-up is a vendor call of its own.
		name:  "create unavailable: the look-up before the second POST is a find",
		fault: func(e upstreamtest.Emulator) { e.Fail(upstreamtest.OpCreate, http.StatusServiceUnavailable, 1, 0) },
		run: func(ctx context.Context, a adapters.Adapter, _ string) error {
			_, err := a.Create(ctx, newUser)
			return err
		},
		wantErr: -1,
		want: merge(calls("create", "unavailable", 1), calls("find", "not_found", 1), calls("create", "ok", 1),
			retries("create", "unavailable", 1)),
	}, {
		name: "get of an unknown user: one call, not retried",
		run: func(ctx context.Context, a adapters.Adapter, id string) error {
			_, err := a.Get(ctx, id+"404")
			return err
		},
		wantErr: adapters.KindNotFound,
		want:    calls("get", "not_found", 1),
	}, {
		name:     "delete unavailable once",
		only:     "thoughtindustries",
		settings: map[string]string{"SCIM_BRIDGE_DELETE_MODE": "delete"},
		fault:    func(e upstreamtest.Emulator) { e.Fail(upstreamtest.OpDelete, http.StatusServiceUnavailable, 1, 0) },
		run: func(ctx context.Context, a adapters.Adapter, id string) error {
			d, ok := a.(adapters.Deleter)
			if !ok {
				return errors.New("the stacked adapter lost Deleter")
			}
			return d.Delete(ctx, id)
		},
		wantErr: -1,
		want:    merge(calls("delete", "unavailable", 1), calls("delete", "ok", 1), retries("delete", "unavailable", 1)),
	}} {
		for _, target := range targets.Names() {
			if tc.only != "" && tc.only != target {
				continue
			}
			t.Run(target+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				tg, err := targets.Lookup(target)
				if err != nil {
					t.Fatal(err)
				}
				emu := tg.Emulator(key)
				id := emu.Seed(adapters.User{Email: "seeded@example.com", GivenName: "S", FamilyName: "D", Active: true})[0]
				srv := httptest.NewServer(emu)
				t.Cleanup(srv.Close)
				settings := map[string]string{
					"SCIM_BRIDGE_UPSTREAM_URL":     emu.BaseURL(srv.URL),
					"SCIM_BRIDGE_UPSTREAM_TOKEN":   key,
					"SCIM_BRIDGE_UPSTREAM_TIMEOUT": "5s",
				}
				maps.Copy(settings, tc.settings)
				raw, err := tg.Open(func(k string) string { return settings[k] }, adapters.Deps{})
				if err != nil {
					t.Fatal(err)
				}
				reg, m := newMetrics(t, "conn-"+target, target)
				pol := p
				pol.OnRetry = m.Retried
				a := adapters.Retrying(adapters.Instrumented(raw, m), pol)
				if tc.fault != nil {
					tc.fault(emu)
				}
				err = tc.run(t.Context(), a, id)
				switch {
				case tc.wantErr < 0 && err != nil:
					t.Fatalf("failed: %v", err)
				case tc.wantErr >= 0 && adapters.KindOf(err) != tc.wantErr:
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				got := vendorSeries(t, reg, "conn-"+target, target)
				wait := retryWaits(got)
				diffSeries(t, got, tc.want)
				// A GET is one HTTP request per adapter call: the calls counted are the requests the vendor saw.
				var gets float64
				for k, v := range got {
					if strings.HasPrefix(k, `scim_bridge_vendor_calls_total{operation="get",`) {
						gets += v
					}
				}
				if n := emu.Calls(upstreamtest.OpGet); strings.HasPrefix(tc.name, "get") && float64(n) != gets {
					t.Errorf("the emulator served %d GETs, the metrics count %v", n, gets)
				}
				var retried float64
				for k, v := range tc.want {
					if strings.HasPrefix(k, "scim_bridge_vendor_retries_total") {
						retried += v
					}
				}
				switch {
				case tc.wantWait > 0 && wait != tc.wantWait:
					t.Errorf("retry wait %vs, want %vs", wait, tc.wantWait)
				case retried == 0 && wait != 0, retried > 0 && (wait <= 0 || wait > retried*p.MaxDelay.Seconds()):
					t.Errorf("retry wait %vs for %v retries (each at most %v)", wait, retried, p.MaxDelay)
				}
			})
		}
	}
}

// noop answers at once, so that a benchmark of a decorator measures the decorator alone.
type noop struct{ err error }

func (n noop) Create(context.Context, adapters.User) (adapters.User, error) {
	return adapters.User{}, n.err
}
func (n noop) Get(context.Context, string) (adapters.User, error) { return adapters.User{}, n.err }
func (n noop) FindByEmail(context.Context, string) (adapters.User, error) {
	return adapters.User{}, n.err
}
func (n noop) Update(context.Context, string, adapters.Change) (adapters.User, error) {
	return adapters.User{}, n.err
}
func (n noop) List(context.Context, adapters.PageRequest) (adapters.Page, error) {
	return adapters.Page{}, n.err
}
func (noop) Attributes() []string { return nil }

// BenchmarkInstrumented is what instrumenting adds to every vendor call (a vendor round trip is 100-300 ms).
func BenchmarkInstrumented(b *testing.B) {
	for _, tc := range []struct {
		name string
		err  error
	}{{"ok", nil}, {"throttled", fail(adapters.KindRateLimited)}} {
		b.Run(tc.name, func(b *testing.B) {
			m, err := adapters.NewVendorMetrics(prometheus.NewRegistry(), "c", "t")
			if err != nil {
				b.Fatal(err)
			}
			a := adapters.Instrumented(noop{tc.err}, m)
			ctx := b.Context()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_, _ = a.Get(ctx, "7")
				}
			})
		})
	}
}
