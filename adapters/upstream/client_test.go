package upstream_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/pace"
	"github.com/scim-bridge/scim-bridge/adapters/upstream"
)

const secret = "sk_live_0123456789abcdef"

// newClient returns a client for srvURL (plus an API prefix) that sends the secret as a Bearer token.
func newClient(t *testing.T, srvURL string, mod func(*upstream.Options)) *upstream.Client {
	t.Helper()
	o := upstream.Options{
		Name:      "vendor",
		BaseURL:   srvURL + "/api/v1",
		Authorize: func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+secret) },
		Timeout:   5 * time.Second,
	}
	if mod != nil {
		mod(&o)
	}
	c, err := upstream.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func asError(t *testing.T, err error) *adapters.Error {
	t.Helper()
	e, ok := errors.AsType[*adapters.Error](err)
	if !ok {
		t.Fatalf("error %T %v is not an *adapters.Error", err, err)
	}
	return e
}

// wantKind is the status table, written out rather than derived, in the manner of alertmanager's
// notify/test.RetryTests: every status 100-599 has one expected Kind.
func wantKind(status int) adapters.Kind {
	switch status {
	case 401, 403:
		return adapters.KindUnauthorized
	case 404, 410:
		return adapters.KindNotFound
	case 408:
		return adapters.KindUnavailable
	case 409:
		return adapters.KindConflict
	case 429:
		return adapters.KindRateLimited
	}
	switch {
	case status >= 500:
		return adapters.KindUnavailable
	case status >= 400:
		return adapters.KindRejected
	}
	return adapters.KindInternal // 1xx, 2xx, 3xx are never classified as a vendor failure of a known kind
}

func TestDefaultClassifyMapsEveryStatus(t *testing.T) {
	for status := 100; status <= 599; status++ {
		if got := upstream.DefaultClassify(status, nil); got != wantKind(status) {
			t.Errorf("DefaultClassify(%d) = %v, want %v", status, got, wantKind(status))
		}
	}
}

func TestDoMapsEveryAnsweredStatus(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/api/v1/s/"))
		w.WriteHeader(code)
	})
	c := newClient(t, srv.URL, nil)
	for status := 200; status <= 599; status++ {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			err := c.Do(t.Context(), upstream.Request{Op: "probe", Method: method, Path: fmt.Sprintf("/s/%d", status), Body: map[string]int{}}, nil)
			if status < 300 {
				if err != nil {
					t.Errorf("%s %d: %v, want success", method, status, err)
				}
				continue
			}
			e := asError(t, err)
			if e.Kind != wantKind(status) || e.Status != status {
				t.Errorf("%s %d: kind %v status %d, want %v", method, status, e.Kind, e.Status, wantKind(status))
			}
			// Only a server error after a write may have been applied; a 4xx or 3xx was not.
			if want := status >= 500 && method == http.MethodPost; e.Ambiguous != want {
				t.Errorf("%s %d: ambiguous %v, want %v", method, status, e.Ambiguous, want)
			}
			if !strings.HasPrefix(e.Error(), "vendor: probe: ") {
				t.Errorf("%s %d: error %q lacks the operation prefix", method, status, e)
			}
		}
	}
}

func TestRetryAfter(t *testing.T) {
	future := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(http.TimeFormat) }
	cases := []struct {
		name     string
		status   int
		header   string
		cap      time.Duration
		min, max time.Duration
	}{
		{"no header gives no hint", 429, "", 0, 0, 0},
		{"seconds are read", 429, "7", 0, 7 * time.Second, 7 * time.Second},
		{"seconds on a 503 are read", 503, "3", 0, 3 * time.Second, 3 * time.Second},
		{"an HTTP date is read as the time until it", 503, future(30 * time.Second), 0, 25 * time.Second, 31 * time.Second},
		{"a date in the past gives no wait", 429, "Mon, 02 Jan 2006 15:04:05 GMT", 0, 0, 0},
		{"a negative number gives no wait", 429, "-5", 0, 0, 0},
		{"garbage gives no hint", 429, "soon", 0, 0, 0},
		{"a long wait is capped at the default minute", 429, "3600", 0, time.Minute, time.Minute},
		{"a long wait is capped at the configured cap", 429, "3600", 10 * time.Second, 10 * time.Second, 10 * time.Second},
		{"a far date is capped", 503, future(48 * time.Hour), 0, time.Minute, time.Minute},
		{"a number too large for a duration is capped, not wrapped", 429, "99999999999999", 0, time.Minute, time.Minute},
		{"a number that wraps to a short duration is still capped", 429, "18446744074", 0, time.Minute, time.Minute},
		{"a hint on a non-retryable answer is ignored", 404, "7", 0, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if c.header != "" {
					w.Header().Set("Retry-After", c.header)
				}
				w.WriteHeader(c.status)
			})
			cl := newClient(t, srv.URL, func(o *upstream.Options) { o.MaxRetryAfter = c.cap })
			e := asError(t, cl.Do(t.Context(), upstream.Request{Op: "get", Method: "GET", Path: "/x"}, nil))
			if e.RetryAfter < c.min || e.RetryAfter > c.max {
				t.Errorf("RetryAfter = %v, want within [%v, %v]", e.RetryAfter, c.min, c.max)
			}
		})
	}
}

// echo answers with everything it received, in the body and in headers, the way a careless vendor might.
func echo(status int, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo-Auth", r.Header.Get("Authorization"))
		w.Header().Set("X-Echo-URL", r.URL.String())
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		fmt.Fprintf(w, "not json: %s %s %s", r.URL.String(), r.Header.Get("Authorization"), r.URL.RawQuery)
	}
}

func TestErrorsNeverHoldTheQueryNorTheCredential(t *testing.T) {
	dead := func() string { // an address nobody listens on
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr
	}()
	cases := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"an error status echoing the request", func(t *testing.T) string { return serve(t, echo(400, "text/plain")).URL }},
		{"a server error echoing the request", func(t *testing.T) string { return serve(t, echo(500, "text/plain")).URL }},
		{"a success whose body is not JSON but echoes the request", func(t *testing.T) string { return serve(t, echo(200, "application/json")).URL }},
		{"a connection refused", func(*testing.T) string { return dead }},
		{"a redirect to a dead address carrying the secret", func(t *testing.T) string {
			return serve(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, dead+"/?token="+secret+"&"+r.URL.RawQuery, http.StatusFound)
			}).URL
		}},
		{"a connection cut after the request", func(t *testing.T) string {
			return serve(t, func(w http.ResponseWriter, r *http.Request) {
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close()
			}).URL
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := newClient(t, c.url(t), nil)
			q := url.Values{"apiKey": {secret}, "email": {"jane@example.com"}}
			var out map[string]any
			err := cl.Do(t.Context(), upstream.Request{Op: "find", Method: "GET", Path: "/users", Query: q}, &out)
			e := asError(t, err)
			for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%v", e.Err)} {
				for _, leak := range []string{secret, "apiKey", "jane@example.com", "jane%40example.com", "not json"} {
					if strings.Contains(text, leak) {
						t.Errorf("error %q holds %q", text, leak)
					}
				}
			}
			if !strings.Contains(err.Error(), "GET /users") {
				t.Errorf("error %q does not name the method and path", err)
			}
		})
	}
}

func TestBodyCaps(t *testing.T) {
	t.Run("a classifier sees at most 64 KiB of an error body", func(t *testing.T) {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(422)
			_, _ = io.WriteString(w, strings.Repeat("x", 1<<20))
		})
		var seen int
		cl := newClient(t, srv.URL, func(o *upstream.Options) {
			o.Classify = func(status int, body []byte) adapters.Kind { seen = len(body); return adapters.KindRejected }
		})
		e := asError(t, cl.Do(t.Context(), upstream.Request{Op: "create", Method: "POST", Path: "/users", Body: struct{}{}}, nil))
		if e.Kind != adapters.KindRejected || seen != 64<<10 {
			t.Errorf("kind %v, classifier saw %d bytes; want rejected and %d", e.Kind, seen, 64<<10)
		}
	})
	t.Run("a success body beyond 32 MiB is refused, not decoded", func(t *testing.T) {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"users":"`)
			chunk := strings.Repeat("a", 1<<20)
			for range 33 {
				_, _ = io.WriteString(w, chunk)
			}
			_, _ = io.WriteString(w, `"}`)
		})
		var out map[string]any
		e := asError(t, newClient(t, srv.URL, nil).Do(t.Context(), upstream.Request{Op: "list", Method: "GET", Path: "/users"}, &out))
		if e.Kind != adapters.KindInternal || out != nil {
			t.Errorf("kind %v, decoded %d keys: want internal and nothing decoded", e.Kind, len(out))
		}
	})
}

func TestTransportErrors(t *testing.T) {
	cases := []struct {
		name          string
		handler       func(release <-chan struct{}) http.HandlerFunc
		dead          bool
		method        string
		ctx           func(context.Context) context.Context
		wantAmbiguous bool
		wantText      string
	}{
		{name: "a refused POST was never sent", dead: true, method: "POST", wantText: "connection refused or unreachable"},
		{name: "a refused GET was never sent", dead: true, method: "GET", wantText: "connection refused or unreachable"},
		{name: "a POST cut after sending may have landed", method: "POST", wantAmbiguous: true, wantText: "network error",
			handler: func(<-chan struct{}) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					_, _ = io.ReadAll(r.Body)
					conn, _, _ := w.(http.Hijacker).Hijack()
					conn.Close()
				}
			}},
		{name: "a GET cut after sending is not ambiguous", method: "GET", wantText: "network error",
			handler: func(<-chan struct{}) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					conn, _, _ := w.(http.Hijacker).Hijack()
					conn.Close()
				}
			}},
		{name: "a POST that times out may have landed", method: "POST", wantAmbiguous: true, wantText: "timed out",
			handler: func(release <-chan struct{}) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) { <-release }
			}},
		{name: "a caller's cancellation is reported as such", method: "POST", wantAmbiguous: true, wantText: "context canceled",
			ctx: func(ctx context.Context) context.Context {
				ctx, cancel := context.WithCancel(ctx)
				cancel()
				return ctx
			},
			handler: func(release <-chan struct{}) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) { <-release }
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var base string
			if c.dead {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				base = "http://" + l.Addr().String()
				l.Close()
			} else {
				release := make(chan struct{})
				base = serve(t, c.handler(release)).URL
				t.Cleanup(func() { close(release) }) // runs before the server closes
			}
			cl := newClient(t, base, func(o *upstream.Options) { o.Timeout = 100 * time.Millisecond })
			ctx := t.Context()
			if c.ctx != nil {
				ctx = c.ctx(ctx)
			}
			err := cl.Do(ctx, upstream.Request{Op: "op", Method: c.method, Path: "/users", Body: map[string]string{"a": "b"}}, nil)
			e := asError(t, err)
			if e.Kind != adapters.KindUnavailable || e.Ambiguous != c.wantAmbiguous || e.Status != 0 {
				t.Errorf("kind %v ambiguous %v status %d; want unavailable, %v, 0", e.Kind, e.Ambiguous, e.Status, c.wantAmbiguous)
			}
			if !strings.Contains(err.Error(), c.wantText) {
				t.Errorf("error %q lacks %q", err, c.wantText)
			}
		})
	}
}

func TestDoSendsAndDecodes(t *testing.T) {
	var got *http.Request
	var gotBody string
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		if r.Method == http.MethodDelete {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		_, _ = io.WriteString(w, `{"user":{"id":7}}`)
	})
	c := newClient(t, srv.URL, func(o *upstream.Options) { o.UserAgent = "ua-test" })

	var out struct{ User struct{ ID int } }
	err := c.Do(t.Context(), upstream.Request{Op: "create", Method: "POST", Path: "/users", Query: url.Values{"page": {"2"}}, Body: map[string]string{"email": "a@b"}}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if out.User.ID != 7 {
		t.Errorf("decoded %+v", out)
	}
	if got.URL.Path != "/api/v1/users" || got.URL.RawQuery != "page=2" || gotBody != `{"email":"a@b"}` {
		t.Errorf("sent %s %s?%s %s", got.Method, got.URL.Path, got.URL.RawQuery, gotBody)
	}
	for h, want := range map[string]string{"Authorization": "Bearer " + secret, "Content-Type": "application/json", "Accept": "application/json", "User-Agent": "ua-test"} {
		if got.Header.Get(h) != want {
			t.Errorf("header %s = %q, want %q", h, got.Header.Get(h), want)
		}
	}

	if err := c.Do(t.Context(), upstream.Request{Op: "delete", Method: "DELETE", Path: "/users/7"}, &out); err != nil {
		t.Errorf("an empty 204 failed: %v", err)
	}
	if got.Header.Get("Content-Type") != "" {
		t.Error("a request without a body declared a content type")
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	cases := map[string]upstream.Options{
		"no name":              {BaseURL: "https://x.example"},
		"a relative URL":       {Name: "v", BaseURL: "/api"},
		"another scheme":       {Name: "v", BaseURL: "ftp://x.example"},
		"a query in the URL":   {Name: "v", BaseURL: "https://x.example/api?apiKey=" + secret},
		"credentials in a URL": {Name: "v", BaseURL: "https://u:" + secret + "@x.example/api"},
	}
	for name, o := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := upstream.New(o)
			if err == nil {
				t.Fatal("New accepted the options")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q quotes the secret", err)
			}
		})
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := upstream.Secret(secret)
	b, _ := s.MarshalJSON()
	for _, text := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s), string(b)} {
		if strings.Contains(text, secret) {
			t.Errorf("%q reveals the secret", text)
		}
	}
	if s.Reveal() != secret {
		t.Error("Reveal does not return the secret")
	}
}

// TestThePacerHearsEveryAnswerAndHoldsBackCalls: a 429 (and its Retry-After) reaches the client's pacer, whose
// pause then holds the next call; a call whose turn comes after its deadline is not sent and is answered as
// throttled, with the wait as its Retry-After.
func TestThePacerHearsEveryAnswerAndHoldsBackCalls(t *testing.T) {
	var sent atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if sent.Add(1) == 3 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = io.WriteString(w, `{}`)
	})
	p := pace.New(0)
	c := newClient(t, srv.URL, func(o *upstream.Options) { o.Pacer = p })
	get := func(ctx context.Context) error {
		return c.Do(ctx, upstream.Request{Op: "get user", Method: http.MethodGet, Path: "/users/1"}, nil)
	}
	for range 2 {
		if err := get(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if e := asError(t, get(t.Context())); e.Kind != adapters.KindRateLimited || e.RetryAfter != 2*time.Second {
		t.Fatalf("got %v (retry after %v), want rate_limited after 2s", e, e.RetryAfter)
	}
	if p.Rate() == 0 {
		t.Fatal("the pacer did not hear the 429")
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	e := asError(t, get(ctx))
	if e.Kind != adapters.KindRateLimited || e.Status != 0 || e.RetryAfter <= time.Second || e.RetryAfter > 2*time.Second || e.Ambiguous {
		t.Fatalf("got %v (status %d, retry after %v, ambiguous %v), want an unsent, unambiguous rate_limited with the wait",
			e, e.Status, e.RetryAfter, e.Ambiguous)
	}
	if n := sent.Load(); n != 3 {
		t.Fatalf("the vendor received %d calls, want 3: the held-back call must not be sent", n)
	}
	if strings.Contains(e.Error(), secret) {
		t.Fatal("the error holds the secret")
	}
}
