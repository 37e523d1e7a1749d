package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/upstream"
)

// Options tune one doctor run.
type Options struct {
	// TestUser is the e-mail of a person the doctor may create, change and remove. Empty: read-only.
	TestUser string
	// Wait pauses for d or until ctx ends; nil uses a timer. Tests replace it to see the waits without sleeping.
	Wait func(ctx context.Context, d time.Duration) error
	// Attempts bounds the requests sent for one call that is throttled or answered 5xx. Default 4.
	Attempts int
}

// Exchange is one raw vendor answer, as the adapter's HTTP client received it. Request headers are never kept:
// they carry the API key.
type Exchange struct {
	Method string
	Path   string
	Status int // 0 when no answer came (network error)
	Header http.Header
	Body   []byte
}

// maxBody matches the upstream client's own cap on a successful answer.
const maxBody = 32 << 20

// recorder is the RoundTripper under the adapter's client: it keeps the last answer whole, so a check can read
// status, headers and body of a call the adapter's client made (with the adapter's own base URL, credentials and
// timeouts).
type recorder struct {
	next http.RoundTripper

	mu    sync.Mutex
	last  Exchange
	calls int
	// What the rate-limit check needs, from every answer (a lookup that walks pages makes several per Call).
	throttled  int
	rateHeader map[string]string // rate-limit header names seen, with a first value
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	ex := Exchange{Method: req.Method, Path: req.URL.Path}
	if err == nil {
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		_ = resp.Body.Close()
		if rerr != nil {
			resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{rerr}))
		} else {
			resp.Body = io.NopCloser(bytes.NewReader(body))
		}
		ex.Status, ex.Header, ex.Body = resp.StatusCode, resp.Header.Clone(), body
	}
	r.mu.Lock()
	r.last = ex
	r.calls++
	if ex.Status == http.StatusTooManyRequests {
		r.throttled++
	}
	for name, v := range ex.Header {
		l := strings.ToLower(name)
		if l == "retry-after" || strings.Contains(l, "ratelimit") || strings.Contains(l, "rate-limit") {
			if _, seen := r.rateHeader[name]; !seen && len(v) > 0 {
				r.rateHeader[name] = v[0]
			}
		}
	}
	r.mu.Unlock()
	return resp, err
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func (r *recorder) take() Exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	ex := r.last
	r.last = Exchange{}
	return ex
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// Session runs one doctor: the vendor calls of the checks, one at a time, and the verdicts they reach.
type Session struct {
	list    []Assumption
	opts    Options
	rec     *recorder
	client  *http.Client
	results map[string]Result
	notes   []string
	aborted string
	secrets []string
	// interrupted is set once the run's context ends: later failures are the interruption's, not the vendor's.
	interrupted bool
	waited      time.Duration
}

// NewSession starts a run over an adapter's assumptions. base is the HTTP client the process would hand the
// adapter (nil: the upstream package's default transport). An id listed twice is a programming error.
func NewSession(list []Assumption, opts Options, base *http.Client) *Session {
	seen := map[string]bool{}
	for _, a := range list {
		if seen[a.ID] || a.ID == "" {
			panic("doctor: assumption id " + strconv.Quote(a.ID) + " is empty or listed twice")
		}
		seen[a.ID] = true
	}
	next := http.RoundTripper(upstream.NewTransport())
	c := &http.Client{}
	if base != nil {
		if base.Transport != nil {
			next = base.Transport
		}
		c.CheckRedirect, c.Jar = base.CheckRedirect, base.Jar
	}
	rec := &recorder{next: next, rateHeader: map[string]string{}}
	c.Transport = rec
	if opts.Attempts <= 0 {
		opts.Attempts = 4
	}
	if opts.Wait == nil {
		opts.Wait = sleep
	}
	return &Session{list: list, opts: opts, rec: rec, client: c, results: map[string]Result{}}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// HTTP is the client to build the adapter with (adapters.Deps.HTTP), so that its calls are recorded.
func (s *Session) HTTP() *http.Client { return s.client }

// TestUser is the e-mail of the test person, "" in a read-only run.
func (s *Session) TestUser() string { return s.opts.TestUser }

// Redact makes sure secret never appears in the report, whatever a vendor echoes back.
func (s *Session) Redact(secret string) {
	if secret = strings.TrimSpace(secret); secret != "" {
		s.secrets = append(s.secrets, secret)
	}
}

// Call runs do, which must make one vendor request through the adapter's client, and returns that request's
// raw answer with do's error. An answer of 429 or 5xx to a request that cannot have been applied (the upstream
// client says so by leaving Ambiguous unset) is sent again after the vendor's Retry-After, or after a doubling
// pause when it gives none, up to Options.Attempts requests: the doctor must not add to a vendor's load, and a
// deployer's first run should not fail on a busy minute.
func (s *Session) Call(ctx context.Context, do func(ctx context.Context) error) (Exchange, error) {
	pause := time.Second
	for attempt := 1; ; attempt++ {
		s.rec.take()
		err := do(ctx)
		ex := s.rec.take()
		if ctx.Err() != nil {
			s.interrupt()
			return ex, err
		}
		e, ok := errors.AsType[*adapters.Error](err)
		if !ok || ex.Status == 0 || e.Ambiguous || attempt >= s.opts.Attempts ||
			(e.Kind != adapters.KindRateLimited && e.Kind != adapters.KindUnavailable) {
			return ex, err
		}
		wait := e.RetryAfter
		if wait <= 0 {
			wait, pause = pause, 2*pause
		}
		s.waited += wait
		if s.opts.Wait(ctx, wait) != nil {
			s.interrupt()
			return ex, err
		}
	}
}

// Send makes one request through the adapter's own client, so that base URL, credentials, timeouts and error
// classification are exactly serve's; the raw answer comes back in the exchange.
func (s *Session) Send(ctx context.Context, c *upstream.Client, method, path string, q url.Values, body any) (Exchange, error) {
	return s.Call(ctx, func(ctx context.Context) error {
		return c.Do(ctx, upstream.Request{Op: "doctor", Method: method, Path: path, Query: q, Body: body}, nil)
	})
}

// FindByEmail runs the adapter's own lookup as one Call; the exchange is the last answer of the walk it may make.
func (s *Session) FindByEmail(ctx context.Context, a adapters.Adapter, email string) (adapters.User, Exchange, error) {
	var u adapters.User
	ex, err := s.Call(ctx, func(ctx context.Context) error {
		var err error
		u, err = a.FindByEmail(ctx, email)
		return err
	})
	return u, ex, err
}

// TestUserUnused aborts the run, returning false, unless the adapter's lookup proves that nobody holds the test
// e-mail: the doctor only ever changes a person it created itself.
func (s *Session) TestUserUnused(ctx context.Context, a adapters.Adapter, vendor string) bool {
	email := s.opts.TestUser
	found, ex, err := s.FindByEmail(ctx, a, email)
	switch {
	case err == nil:
		s.Abort(fmt.Sprintf("refusing --write-test-user: %s already exists in %s (id %s); the doctor only changes a person it creates itself, so choose an address nobody uses", email, vendor, found.ID))
		return false
	case !errors.Is(err, adapters.ErrNotFound):
		s.Abort("could not check that the test e-mail is unused: " + Describe(ex, err))
		return false
	}
	return true
}

// CreateFailed sorts a failed create of the test person: a create that could not run (lost, no seat, e-mail taken
// meanwhile, throttled, key refused) aborts the run, naming vendor, or account for the holder of seats. It reports
// whether the person may exist although the answer was lost, and whether it aborted; when it did not, the refusal
// is the vendor's answer to the body and the caller judges it.
func (s *Session) CreateFailed(ex Exchange, err error, vendor, account string) (lost, aborted bool) {
	e, _ := errors.AsType[*adapters.Error](err)
	switch {
	case e == nil:
		s.Abort("could not create the test person: " + Describe(ex, err))
	case e.Ambiguous:
		s.Abort("the answer to creating the test person was lost (" + Describe(ex, err) + ")")
		return true, true
	case e.Kind == adapters.KindSeatLimit:
		s.Abort(account + " has no free seat for the test person (" + Describe(ex, err) + "): free one and run the doctor again")
	case e.Kind == adapters.KindConflict:
		s.Abort("the test e-mail was taken while the doctor ran (" + Describe(ex, err) + ")")
	case e.Kind.Retryable() || e.Kind == adapters.KindUnauthorized:
		s.Abort(vendor + " did not take the create: " + Describe(ex, err))
	default:
		return false, false
	}
	return false, true
}

// Duplicate judges assumption id from a create of the test person's e-mail a second time that failed (err), kind
// being how the adapter classifies the answer: a 422 read as a conflict holds, another status read as one differs
// (docs is the vendor's page to correct), anything else fails with failAdvice. An answer that proves nothing
// (none, throttled, 5xx, key refused) skips it. It reports whether the create may have been applied unseen.
func (s *Session) Duplicate(id string, ex Exchange, err error, kind adapters.Kind, docs, failAdvice string) (lost bool) {
	e, _ := errors.AsType[*adapters.Error](err)
	switch {
	case ex.Status == 0 || e == nil || e.Ambiguous || kind.Retryable() || kind == adapters.KindUnauthorized:
		s.Skip(id, "not observed: "+Describe(ex, err))
		return e != nil && e.Ambiguous
	case kind == adapters.KindConflict && ex.Status == http.StatusUnprocessableEntity:
		s.Holds(id, Describe(ex, err))
	case kind == adapters.KindConflict:
		s.Differs(id, Describe(ex, err), "The bridge copes: it reads this as a duplicate too, so the IdP gets 409 and the person is linked. "+
			"Report the status so "+docs+" and the emulator match.")
	default:
		s.Fails(id, Describe(ex, err), failAdvice)
	}
	return false
}

func (s *Session) interrupt() {
	s.interrupted = true
	s.Abort("interrupted before the checks finished")
}

// Set records the verdict on one assumption. An id the adapter did not list is a programming error. Once the run
// is interrupted nothing more is recorded, since what failed then failed because of the interruption.
func (s *Session) Set(id string, v Verdict, observed, advice string) {
	a, ok := s.assumption(id)
	if !ok {
		panic("doctor: unknown assumption " + id)
	}
	if s.interrupted {
		return
	}
	s.results[id] = Result{Assumption: a, Observed: observed, Verdict: v, Advice: advice}
}

// Holds records that the vendor did what the adapter expects.
func (s *Session) Holds(id, observed string) { s.Set(id, Holds, observed, "") }

// Differs records a difference the bridge copes with.
func (s *Session) Differs(id, observed, advice string) { s.Set(id, Differs, observed, advice) }

// Fails records a difference the bridge does not cope with.
func (s *Session) Fails(id, observed, advice string) { s.Set(id, Fails, observed, advice) }

// Skip records that an assumption could not be observed, and why.
func (s *Session) Skip(id, why string) { s.Set(id, Skipped, why, "") }

// Decided reports whether id has a verdict already.
func (s *Session) Decided(id string) bool {
	_, ok := s.results[id]
	return ok
}

// Note adds a fact to the report.
func (s *Session) Note(format string, args ...any) {
	s.notes = append(s.notes, fmt.Sprintf(format, args...))
}

// Abort stops the run: the doctor could not do its job (exit status 2). The first reason is kept.
func (s *Session) Abort(reason string) {
	if s.aborted == "" {
		s.aborted = reason
	}
}

// Aborted reports whether Abort was called.
func (s *Session) Aborted() bool { return s.aborted != "" }

func (s *Session) assumption(id string) (Assumption, bool) {
	for _, a := range s.list {
		if a.ID == id {
			return a, true
		}
	}
	return Assumption{}, false
}

// CheckRateLimit decides an assumption that the vendor sends neither rate-limit headers nor Retry-After, from
// every answer of the run; call it last.
func (s *Session) CheckRateLimit(id string, answers string) {
	s.rec.mu.Lock()
	calls, n429 := s.rec.calls, s.rec.throttled
	var seen []string
	for _, name := range sortedKeys(s.rec.rateHeader) {
		seen = append(seen, name+": "+s.rec.rateHeader[name])
	}
	s.rec.mu.Unlock()
	throttled := ""
	if n429 > 0 {
		throttled = fmt.Sprintf("; 429 answers: %d, waited %s in all", n429, s.waited.Round(time.Second))
	}
	if len(seen) == 0 {
		s.Holds(id, fmt.Sprintf("no rate-limit header and no Retry-After in %d answers%s", calls, throttled))
		return
	}
	s.Differs(id, "headers seen: "+strings.Join(seen, ", ")+throttled,
		"The bridge copes: it waits for Retry-After (capped) and otherwise backs off on 429 by itself, but it does not "+
			"pace itself by rate-limit headers. Report the header names so "+answers+" and the backoff can use them.")
}

// Report assembles the run's report: every listed assumption once, in the adapter's order, those without a verdict
// as skipped with the reason; secrets redacted everywhere.
func (s *Session) Report(target, baseURL string) Report {
	r := Report{Target: target, BaseURL: baseURL, TestUser: s.opts.TestUser, Calls: s.rec.count(), Aborted: s.aborted}
	for _, a := range s.list {
		res, ok := s.results[a.ID]
		if !ok {
			why := "not checked"
			switch {
			case s.aborted != "":
				why = "not checked: the doctor stopped early"
			case a.Write && s.opts.TestUser == "":
				why = "not checked: needs --write-test-user EMAIL"
			}
			res = Result{Assumption: a, Observed: why, Verdict: Skipped}
		}
		res.Observed, res.Advice = redact(res.Observed, s.secrets), redact(res.Advice, s.secrets)
		r.Results = append(r.Results, res)
	}
	if s.waited > 0 {
		s.notes = append(s.notes, fmt.Sprintf("The vendor throttled the doctor; it waited %s in all before asking again.", s.waited.Round(time.Second)))
	}
	for _, n := range s.notes {
		r.Notes = append(r.Notes, redact(n, s.secrets))
	}
	r.Aborted = redact(r.Aborted, s.secrets)
	return r
}

// Describe renders a vendor answer for the observed column: the status, the error message of a JSON error body
// ("error", "errors" or "message"), shortened, and err when it is the check's own finding (an unexpected shape)
// rather than the upstream client's account of the status.
func Describe(ex Exchange, err error) string {
	if ex.Status == 0 {
		if err != nil {
			return "no answer: " + err.Error()
		}
		return "no answer"
	}
	out := fmt.Sprintf("HTTP %d", ex.Status)
	if msg := ErrorMessage(ex.Body); msg != "" {
		out += " " + quote(msg)
	}
	if _, upstreamErr := errors.AsType[*adapters.Error](err); err != nil && !upstreamErr {
		out += ": " + err.Error()
	}
	return out
}

// Number renders an optional number, "missing" when absent.
func Number(p *int) string {
	if p == nil {
		return "missing"
	}
	return strconv.Itoa(*p)
}

// ErrorMessage extracts the message of a JSON error body ("error", "errors" or "message", in the shapes the
// upstream client reads for SCIM error details), "" when there is none.
func ErrorMessage(body []byte) string {
	return upstream.ReasonFromJSON(body, "error", "errors", "message")
}

func quote(s string) string {
	const max = 120
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "…"
	}
	return `"` + s + `"`
}

// Keys lists the keys of a JSON object in order ("" when raw is not an object).
func Keys(raw []byte) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return ""
	}
	return strings.Join(sortedKeys(m), ", ")
}

// ItemKeys lists in order every key of the items of the list under listKey in a JSON object, "no keys" when
// there are none.
func ItemKeys(body []byte, listKey string) string {
	var top map[string]json.RawMessage
	var items []map[string]json.RawMessage
	_ = json.Unmarshal(body, &top)
	_ = json.Unmarshal(top[listKey], &items)
	keys := map[string]bool{}
	for _, it := range items {
		for k := range it {
			keys[k] = true
		}
	}
	if len(keys) == 0 {
		return "no keys"
	}
	return strings.Join(sortedKeys(keys), ", ")
}

// Shape describes an answer body for the observed column: "empty body", "not JSON", or its top-level keys.
func Shape(body []byte) string {
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		return "empty body"
	case Keys(body) == "":
		return "not a JSON object"
	}
	return "keys " + Keys(body)
}
