package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/pace"
)

// Options configure a Client. Only BaseURL and Name are required.
type Options struct {
	Name      string              // vendor name used as error prefix, e.g. "trainual"
	BaseURL   string              // e.g. https://app.trainual.com/api/v1
	Authorize func(*http.Request) // sets the credential on each request
	// Classify turns a non-2xx answer into a Kind; nil uses DefaultClassify.
	Classify func(status int, body []byte) adapters.Kind
	// Reason extracts the vendor's words from a refusal's body (see ReasonFromJSON); nil: none are shown.
	Reason func(body []byte) string
	// Timeout bounds one attempt (connect to last byte). Default 15s.
	Timeout   time.Duration
	UserAgent string
	// HTTP replaces the default client (tests, proxies); its Timeout is ignored in favour of Timeout.
	HTTP *http.Client
	// MaxRetryAfter caps a vendor's Retry-After hint. Default 60s.
	MaxRetryAfter time.Duration
	// Pacer, when set, spaces every call to the vendor account it is shared by (see package pace); nil: calls go
	// out at once.
	Pacer *pace.Pacer
}

// Client calls one vendor API. It is safe for concurrent use and is built once per adapter.
type Client struct {
	name          string
	base          *url.URL
	authorize     func(*http.Request)
	classify      func(int, []byte) adapters.Kind
	reason        func([]byte) string
	timeout       time.Duration
	userAgent     string
	http          *http.Client
	maxRetryAfter time.Duration
	pacer         *pace.Pacer
}

// maxErrorBody caps how much of a failed answer is read: enough to classify, never enough to exhaust memory.
const maxErrorBody = 64 << 10

// maxBody caps a successful answer (a page of users is a few hundred KiB at most).
const maxBody = 32 << 20

// New builds a Client. It does no network I/O.
func New(o Options) (*Client, error) {
	if o.Name == "" {
		return nil, errors.New("upstream: Options.Name is required")
	}
	u, err := url.Parse(strings.TrimRight(o.BaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: base URL must be an absolute http(s) URL", o.Name)
	}
	if u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("%s: base URL must not carry a query string or credentials", o.Name)
	}
	c := &Client{
		name:          o.Name,
		base:          u,
		authorize:     o.Authorize,
		classify:      o.Classify,
		reason:        o.Reason,
		timeout:       o.Timeout,
		userAgent:     o.UserAgent,
		http:          o.HTTP,
		maxRetryAfter: o.MaxRetryAfter,
		pacer:         o.Pacer,
	}
	if c.classify == nil {
		c.classify = DefaultClassify
	}
	if c.timeout <= 0 {
		c.timeout = 15 * time.Second
	}
	if c.maxRetryAfter <= 0 {
		c.maxRetryAfter = 60 * time.Second
	}
	if c.userAgent == "" {
		c.userAgent = "scim-bridge"
	}
	if c.http == nil {
		c.http = &http.Client{Transport: NewTransport()}
	}
	return c, nil
}

// NewTransport returns the transport adapters share by default: bounded dial, TLS and header waits, and enough
// idle connections per host for an IdP's parallel requests.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32,
		ForceAttemptHTTP2:     true,
	}
}

// Request is one vendor call.
type Request struct {
	Op     string     // logical operation for error text, e.g. "create user"
	Method string     // GET, POST, ...
	Path   string     // relative to the base URL, e.g. "/users/101"
	Query  url.Values // never logged nor put in errors
	Body   any        // marshalled as JSON when non-nil
}

// Do sends one attempt and decodes a 2xx JSON answer into out (when out is non-nil and the body is not empty).
// Every failure is an *adapters.Error.
func (c *Client) Do(ctx context.Context, req Request, out any) error {
	op := c.name + ": " + req.Op
	// The error text names the method and path only: paths hold ids, never credentials; queries may (apiKey).
	where := req.Method + " " + req.Path

	var body io.Reader
	if req.Body != nil {
		b, err := json.Marshal(req.Body)
		if err != nil {
			return &adapters.Error{Kind: adapters.KindInternal, Op: op, Err: fmt.Errorf("%s: encode body: %w", where, err)}
		}
		body = bytes.NewReader(b)
	}
	u := *c.base
	u.Path = c.base.Path + req.Path
	u.RawQuery = req.Query.Encode()

	// The turn is taken before the attempt's own timeout starts: waiting for it is not the vendor being slow.
	var turn pace.Turn
	if c.pacer != nil {
		var err error
		if turn, err = c.pacer.Wait(ctx); err != nil {
			e := &adapters.Error{Kind: adapters.KindRateLimited, Op: op, Err: fmt.Errorf("%s: not sent: %w", where, err)}
			if r, ok := errors.AsType[*pace.Refused](err); ok {
				e.RetryAfter = r.Wait
			}
			return e
		}
	}

	ctx, cancel := context.WithTimeoutCause(ctx, c.timeout, errAttemptTimeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, req.Method, u.String(), body)
	if err != nil {
		return &adapters.Error{Kind: adapters.KindInternal, Op: op, Err: fmt.Errorf("%s: build request", where)}
	}
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if c.authorize != nil {
		c.authorize(hr)
	}

	resp, err := c.http.Do(hr)
	if err != nil {
		turn.Done(false, 0)
		return c.transportError(ctx, op, where, req.Method, err)
	}
	defer drain(resp.Body)

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		kind := c.classify(resp.StatusCode, b)
		turn.Done(kind == adapters.KindRateLimited, c.retryAfter(resp.Header.Get("Retry-After")))
		e := &adapters.Error{
			Kind:   kind,
			Op:     op,
			Status: resp.StatusCode,
			Err:    fmt.Errorf("%s", where),
			// A 5xx after the request was sent may still have been applied; a 429 or a 4xx was not.
			Ambiguous: resp.StatusCode >= 500 && req.Method != http.MethodGet,
		}
		if kind.Retryable() {
			e.RetryAfter = c.retryAfter(resp.Header.Get("Retry-After"))
		}
		if kind == adapters.KindRejected && c.reason != nil {
			e.Detail = cleanReason(c.reason(b))
		}
		return e
	}
	turn.Done(false, 0)
	if out == nil {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return c.transportError(ctx, op, where, req.Method, err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return &adapters.Error{Kind: adapters.KindInternal, Op: op, Status: resp.StatusCode,
			Err: fmt.Errorf("%s: decode answer: %w", where, stripJSONValue(err))}
	}
	return nil
}

var errAttemptTimeout = errors.New("attempt timed out")

func (c *Client) transportError(ctx context.Context, op, where, method string, err error) error {
	// net/url errors quote the whole URL, query included: keep only our own words and the underlying cause's class.
	cause := "network error"
	switch {
	case errors.Is(context.Cause(ctx), errAttemptTimeout):
		cause = "timed out"
	case errors.Is(err, context.Canceled):
		return &adapters.Error{Kind: adapters.KindUnavailable, Op: op, Ambiguous: method != http.MethodGet,
			Err: fmt.Errorf("%s: %w", where, context.Canceled)}
	case errors.Is(err, context.DeadlineExceeded):
		return &adapters.Error{Kind: adapters.KindUnavailable, Op: op, Ambiguous: method != http.MethodGet,
			Err: fmt.Errorf("%s: %w", where, context.DeadlineExceeded)}
	}
	var dnsErr *net.DNSError
	var opErr *net.OpError
	ambiguous := method != http.MethodGet
	if errors.As(err, &dnsErr) {
		cause, ambiguous = "DNS lookup failed", false
	} else if errors.As(err, &opErr) && opErr.Op == "dial" {
		// Nothing was sent when the dial failed.
		cause, ambiguous = "connection refused or unreachable", false
	}
	return &adapters.Error{Kind: adapters.KindUnavailable, Op: op, Ambiguous: ambiguous, Err: fmt.Errorf("%s: %s", where, cause)}
}

// retryAfter parses both forms of Retry-After (RFC 9110 §10.2.3) and caps the result.
func (c *Client) retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		// Compare in seconds first: multiplying a huge value would overflow and wrap to a short wait.
		if n > int(c.maxRetryAfter/time.Second) {
			return c.maxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	}
	if d < 0 {
		d = 0
	}
	return min(d, c.maxRetryAfter)
}

// DefaultClassify maps statuses the way most JSON APIs use them; adapters pass their own Classify to add vendor
// bodies (a duplicate email sent back as 422, a seat limit) and fall back to this.
func DefaultClassify(status int, _ []byte) adapters.Kind {
	switch {
	case status == http.StatusNotFound || status == http.StatusGone:
		return adapters.KindNotFound
	case status == http.StatusConflict:
		return adapters.KindConflict
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return adapters.KindUnauthorized
	case status == http.StatusTooManyRequests:
		return adapters.KindRateLimited
	case status == http.StatusRequestTimeout || status >= 500:
		return adapters.KindUnavailable
	case status >= 400:
		return adapters.KindRejected
	}
	return adapters.KindInternal
}

// drain reads what is left of a body so the connection can be reused, then closes it.
func drain(rc io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(rc, maxErrorBody))
	_ = rc.Close()
}

// stripJSONValue keeps a decode error's class without the offending value, which may be user data.
func stripJSONValue(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at offset %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("field %q has unexpected type %s", te.Field, te.Value)
	}
	return errors.New("invalid JSON")
}
