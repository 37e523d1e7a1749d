package doctor_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/doctor"
	"github.com/scim-bridge/scim-bridge/adapters/upstream"
)

const key = "sk-doctor-test-0f1e2d3c"

var list = []doctor.Assumption{
	{ID: "read.one", Title: "a read", Expected: "it reads"},
	{ID: "write.one", Title: "a write", Expected: "it writes", Write: true},
	{ID: "rate-limit", Title: "rate limits", Expected: "none"},
}

// scripted answers each request with the next status of a script (the last one repeats), and counts requests.
type scripted struct {
	mu       sync.Mutex
	statuses []int
	header   http.Header
	body     string
	n        int
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	st := s.statuses[min(s.n, len(s.statuses)-1)]
	s.n++
	s.mu.Unlock()
	for k, v := range s.header {
		w.Header()[k] = v
	}
	w.WriteHeader(st)
	// A careless vendor echoing the credential back: the report must still not show it.
	_, _ = w.Write([]byte(strings.ReplaceAll(s.body, "$KEY", r.Header.Get("Authorization"))))
}

func (s *scripted) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// session returns a session and an upstream client built on its HTTP client, as a vendor doctor does.
func session(t *testing.T, h http.Handler, opts doctor.Options) (*doctor.Session, *upstream.Client, *[]time.Duration) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	var waits []time.Duration
	opts.Wait = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	s := doctor.NewSession(list, opts, nil)
	c, err := upstream.New(upstream.Options{Name: "vendor", BaseURL: srv.URL, HTTP: s.HTTP(),
		Authorize: func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+key) }})
	if err != nil {
		t.Fatal(err)
	}
	s.Redact(key)
	return s, c, &waits
}

func TestCallRepeatsOnlyWhatCannotHaveBeenApplied(t *testing.T) {
	cases := []struct {
		name     string
		method   string
		statuses []int
		header   http.Header
		requests int
		waits    []time.Duration
		status   int
	}{
		{name: "a GET answered 200 is sent once", method: http.MethodGet, statuses: []int{200}, requests: 1, status: 200},
		{name: "a throttled GET waits as long as Retry-After asks", method: http.MethodGet, statuses: []int{429, 200},
			header: http.Header{"Retry-After": {"7"}}, requests: 2, waits: []time.Duration{7 * time.Second}, status: 200},
		{name: "a failing GET backs off, doubling, and gives up after the attempts", method: http.MethodGet, statuses: []int{503},
			requests: 3, waits: []time.Duration{time.Second, 2 * time.Second}, status: 503},
		{name: "a POST answered 5xx may have been applied and is not sent again", method: http.MethodPost, statuses: []int{502, 201},
			requests: 1, status: 502},
		{name: "a throttled POST was not applied and is sent again", method: http.MethodPost, statuses: []int{429, 201},
			requests: 2, waits: []time.Duration{time.Second}, status: 201},
		{name: "a refusal is not repeated", method: http.MethodGet, statuses: []int{422}, requests: 1, status: 422},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := &scripted{statuses: tc.statuses, header: tc.header, body: `{"error":"no"}`}
			s, c, waits := session(t, h, doctor.Options{Attempts: 3})
			ex, _ := s.Call(t.Context(), func(ctx context.Context) error {
				return c.Do(ctx, upstream.Request{Op: "t", Method: tc.method, Path: "/x", Body: map[string]any{}}, nil)
			})
			if h.requests() != tc.requests || ex.Status != tc.status || !slices.Equal(*waits, tc.waits) {
				t.Errorf("%d requests, last status %d, waits %v; want %d, %d, %v", h.requests(), ex.Status, *waits, tc.requests, tc.status, tc.waits)
			}
		})
	}
}

func TestCallDoesNotRetryAVendorThatDoesNotAnswer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	s := doctor.NewSession(list, doctor.Options{Wait: func(context.Context, time.Duration) error {
		t.Error("waited for a vendor that is not there")
		return nil
	}}, nil)
	c, _ := upstream.New(upstream.Options{Name: "vendor", BaseURL: url, HTTP: s.HTTP()})
	ex, err := s.Call(t.Context(), func(ctx context.Context) error {
		return c.Do(ctx, upstream.Request{Op: "t", Method: http.MethodGet, Path: "/x"}, nil)
	})
	if ex.Status != 0 || err == nil || !strings.HasPrefix(doctor.Describe(ex, err), "no answer") {
		t.Errorf("status %d, err %v, described %q", ex.Status, err, doctor.Describe(ex, err))
	}
}

func TestTheReportNeverShowsTheKey(t *testing.T) {
	h := &scripted{statuses: []int{401}, body: `{"error":"bad credentials: $KEY"}`, header: http.Header{"X-Ratelimit-Remaining": {"9"}}}
	s, c, _ := session(t, h, doctor.Options{})
	ex, err := s.Call(t.Context(), func(ctx context.Context) error {
		return c.Do(ctx, upstream.Request{Op: "t", Method: http.MethodGet, Path: "/x"}, nil)
	})
	if !strings.Contains(string(ex.Body), key) {
		t.Fatal("the scripted vendor did not echo the key; the test proves nothing")
	}
	s.Fails("read.one", doctor.Describe(ex, err), "vendor said "+string(ex.Body))
	s.Note("body: %s", ex.Body)
	s.Abort("refused: " + string(ex.Body))
	s.CheckRateLimit("rate-limit", "docs")
	rep := s.Report("vendor", "http://vendor.example")
	b, _ := json.Marshal(rep)
	if strings.Contains(string(b), key) {
		t.Errorf("the report shows the key: %s", b)
	}
	if r, _ := rep.Result("read.one"); !strings.Contains(r.Observed, "<secret>") {
		t.Errorf("the report does not show where the key was redacted: %q", r.Observed)
	}
}

func TestReportListsEveryAssumptionInOrderWithTheReasonForSkipping(t *testing.T) {
	cases := []struct {
		name      string
		testUser  string
		decide    func(s *doctor.Session)
		verdicts  []doctor.Verdict
		skippedBy string
		exit      int
	}{
		{name: "read-only: the write check says how to run it",
			decide:   func(s *doctor.Session) { s.Holds("read.one", "ok"); s.Holds("rate-limit", "none") },
			verdicts: []doctor.Verdict{doctor.Holds, doctor.Skipped, doctor.Holds}, skippedBy: "--write-test-user", exit: 0},
		{name: "a difference the bridge copes with exits 1", testUser: "t@example.com",
			decide: func(s *doctor.Session) {
				s.Holds("read.one", "ok")
				s.Differs("write.one", "other", "report it")
				s.Holds("rate-limit", "none")
			},
			verdicts: []doctor.Verdict{doctor.Holds, doctor.Differs, doctor.Holds}, exit: 1},
		{name: "an aborted run exits 2 and says it stopped early", testUser: "t@example.com",
			decide:   func(s *doctor.Session) { s.Fails("read.one", "401", "check the key"); s.Abort("key refused") },
			verdicts: []doctor.Verdict{doctor.Fails, doctor.Skipped, doctor.Skipped}, skippedBy: "stopped early", exit: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := doctor.NewSession(list, doctor.Options{TestUser: tc.testUser}, nil)
			tc.decide(s)
			rep := s.Report("vendor", "http://vendor.example")
			var got []doctor.Verdict
			for i, r := range rep.Results {
				got = append(got, r.Verdict)
				if r.ID != list[i].ID {
					t.Errorf("result %d is %s, want %s", i, r.ID, list[i].ID)
				}
				if r.Verdict == doctor.Skipped && !strings.Contains(r.Observed, tc.skippedBy) {
					t.Errorf("%s skipped with %q, want it to mention %q", r.ID, r.Observed, tc.skippedBy)
				}
			}
			if !slices.Equal(got, tc.verdicts) || rep.ExitCode() != tc.exit {
				t.Errorf("verdicts %v exit %d, want %v exit %d", got, rep.ExitCode(), tc.verdicts, tc.exit)
			}
		})
	}
}

func TestAnAssumptionIDMustBeKnownAndUnique(t *testing.T) {
	for name, f := range map[string]func(){
		"an unknown id":      func() { doctor.NewSession(list, doctor.Options{}, nil).Holds("no.such", "x") },
		"an id listed twice": func() { doctor.NewSession(append(slices.Clone(list), list[0]), doctor.Options{}, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("accepted")
				}
			}()
			f()
		})
	}
}

func TestCheckTestUser(t *testing.T) {
	for in, ok := range map[string]bool{
		"scim-doctor@example.com":    true,
		"a.b+doctor@sub.example.org": true,
		"doctor":                     false,
		"doctor@localhost":           false,
		"@example.com":               false,
		"a@b@example.com":            false,
		"a b@example.com":            false,
		"a@example.com\n":            false,
	} {
		if err := doctor.CheckTestUser(in); (err == nil) != ok {
			t.Errorf("CheckTestUser(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}

func TestHelpers(t *testing.T) {
	if got := doctor.SwapCase("Jane.Doe@Example.com"); got != "jANE.dOE@eXAMPLE.COM" {
		t.Errorf("SwapCase = %q", got)
	}
	for _, c := range []struct{ total, size, want int }{{0, 25, 1}, {25, 25, 1}, {26, 25, 2}, {130, 50, 3}, {5, 0, 1}} {
		if got := doctor.Pages(c.total, c.size); got != c.want {
			t.Errorf("Pages(%d, %d) = %d, want %d", c.total, c.size, got, c.want)
		}
	}
	a, b := doctor.AbsentAddress(), doctor.AbsentAddress()
	if a == b || doctor.CheckTestUser(a) != nil {
		t.Errorf("AbsentAddress gave %q and %q", a, b)
	}
	for body, want := range map[string]string{
		`{"error":"Not found"}`:                   "Not found",
		`{"errors":["Email is invalid","Taken"]}`: "Email is invalid; Taken",
		`{"message":"Nope"}`:                      "Nope",
		`{"errors":{"email":["is invalid"]}}`:     "email is invalid",
		`{"users":[]}`:                            "",
		`not json`:                                "",
	} {
		if got := doctor.ErrorMessage([]byte(body)); got != want {
			t.Errorf("ErrorMessage(%s) = %q, want %q", body, got, want)
		}
	}
	for body, want := range map[string]string{
		`{"users":[{"id":1,"email":"a"},{"id":2,"name":"b"}]}`: "email, id, name",
		`{"users":[]}`:  "no keys",
		`{"people":[]}`: "no keys",
		`not json`:      "no keys",
	} {
		if got := doctor.ItemKeys([]byte(body), "users"); got != want {
			t.Errorf("ItemKeys(%s) = %q, want %q", body, got, want)
		}
	}
}

// TestCreateFailedAbortsOnlyWhatCouldNotRun: a refusal of the body is the vendor's verdict on it and is left to the
// caller; everything else says the doctor could not run, and a lost answer may have made the person.
func TestCreateFailedAbortsOnlyWhatCouldNotRun(t *testing.T) {
	cases := []struct {
		err           error
		lost, aborted bool
		mention       string
		status        int
	}{
		{err: errors.New("dial tcp: refused"), aborted: true, mention: "could not create the test person"},
		{err: &adapters.Error{Kind: adapters.KindUnavailable, Ambiguous: true}, status: 502, lost: true, aborted: true, mention: "was lost"},
		{err: &adapters.Error{Kind: adapters.KindSeatLimit}, status: 403, aborted: true, mention: "the tenant has no free seat"},
		{err: &adapters.Error{Kind: adapters.KindConflict}, status: 422, aborted: true, mention: "taken while the doctor ran"},
		{err: &adapters.Error{Kind: adapters.KindRateLimited}, status: 429, aborted: true, mention: "Vendor did not take the create"},
		{err: &adapters.Error{Kind: adapters.KindRejected}, status: 400},
	}
	for _, tc := range cases {
		s := doctor.NewSession(list, doctor.Options{}, nil)
		lost, aborted := s.CreateFailed(doctor.Exchange{Status: tc.status}, tc.err, "Vendor", "the tenant")
		rep := s.Report("x", "")
		if lost != tc.lost || aborted != tc.aborted || aborted != s.Aborted() || !strings.Contains(rep.Aborted, tc.mention) {
			t.Errorf("%v: lost %v aborted %v (%q), want %v %v mentioning %q", tc.err, lost, aborted, rep.Aborted, tc.lost, tc.aborted, tc.mention)
		}
	}
}

func TestDuplicateReadsTheRefusalAsTheAdapterDoes(t *testing.T) {
	cases := []struct {
		status int
		err    error
		kind   adapters.Kind
		want   doctor.Verdict
		lost   bool
	}{
		{status: 422, err: &adapters.Error{Kind: adapters.KindConflict}, kind: adapters.KindConflict, want: doctor.Holds},
		{status: 409, err: &adapters.Error{Kind: adapters.KindConflict}, kind: adapters.KindConflict, want: doctor.Differs},
		{status: 400, err: &adapters.Error{Kind: adapters.KindRejected}, kind: adapters.KindRejected, want: doctor.Fails},
		{status: 429, err: &adapters.Error{Kind: adapters.KindRateLimited}, kind: adapters.KindRateLimited, want: doctor.Skipped},
		{status: 502, err: &adapters.Error{Kind: adapters.KindUnavailable, Ambiguous: true}, kind: adapters.KindUnavailable, want: doctor.Skipped, lost: true},
		{err: errors.New("no answer"), want: doctor.Skipped},
	}
	for _, tc := range cases {
		s := doctor.NewSession(list, doctor.Options{}, nil)
		lost := s.Duplicate("write.one", doctor.Exchange{Status: tc.status}, tc.err, tc.kind, "docs/x.md", "fail advice")
		res, _ := s.Report("x", "").Result("write.one")
		if res.Verdict != tc.want || lost != tc.lost {
			t.Errorf("HTTP %d %v: %s (%s), lost %v; want %s, lost %v", tc.status, tc.err, res.Verdict, res.Observed, lost, tc.want, tc.lost)
		}
		if tc.want == doctor.Differs && !strings.Contains(res.Advice, "docs/x.md") || tc.want == doctor.Fails && res.Advice != "fail advice" {
			t.Errorf("HTTP %d: advice %q", tc.status, res.Advice)
		}
	}
}
