package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters/targets"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
)

// directHeader marks the calls scim-load makes straight to the emulator, so that the bridge's own vendor calls
// can be told apart from them.
const directHeader = "X-Scim-Load-Direct"

// vendorOps are the emulator's operations, for counting.
var vendorOps = []upstreamtest.Op{upstreamtest.OpFind, upstreamtest.OpGet, upstreamtest.OpList, upstreamtest.OpCreate,
	upstreamtest.OpUpdate, upstreamtest.OpDelete}

// vendor is the emulator served on 127.0.0.1 by this process, with the counts the report needs.
type vendor struct {
	target string
	emu    targets.Emulator
	apiKey string
	base   string // the API base, as SCIM_BRIDGE_UPSTREAM_URL
	srv    *http.Server
	client *http.Client

	direct    sync.Map     // upstreamtest.Op -> *atomic.Int64: calls scim-load made itself
	bridge429 atomic.Int64 // the bridge's calls answered 429

	mu    sync.Mutex
	trace []time.Time // times of the bridge's calls answered 2xx, while tracing (the storm)
	on    bool
}

func startVendor(target string) (*vendor, error) {
	t, err := targets.Lookup(target)
	if err != nil {
		return nil, err
	}
	v := &vendor{target: t.Name, apiKey: randomID() + randomID() + randomID() + randomID()}
	v.emu = t.Emulator(v.apiKey)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	v.base = v.emu.BaseURL("http://" + ln.Addr().String())
	v.srv = &http.Server{Handler: v, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = v.srv.Serve(ln) }()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 256
	v.client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	return v, nil
}

func (v *vendor) close() {
	_ = v.srv.Close()
	v.client.CloseIdleConnections()
}

// ServeHTTP hands every call to the emulator, counting the bridge's 429s and tracing its accepted calls.
func (v *vendor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(directHeader) != "" {
		v.emu.ServeHTTP(w, r)
		return
	}
	sw := &statusRecorder{ResponseWriter: w}
	v.emu.ServeHTTP(sw, r)
	switch {
	case sw.status == http.StatusTooManyRequests:
		v.bridge429.Add(1)
	case sw.status < 300:
		v.mu.Lock()
		if v.on {
			v.trace = append(v.trace, time.Now())
		}
		v.mu.Unlock()
	}
}

// traceAccepted starts (or stops, returning them) recording when the vendor accepted the bridge's calls.
func (v *vendor) traceAccepted(on bool) []time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := v.trace
	v.on, v.trace = on, nil
	return out
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Hijack lets the emulator cut a connection (a lost response) through the recorder.
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if hj, ok := s.ResponseWriter.(http.Hijacker); ok {
		return hj.Hijack()
	}
	return nil, nil, http.ErrNotSupported
}

// calls returns the emulator's call counts minus scim-load's own: what the bridge asked for, by operation.
func (v *vendor) calls() map[upstreamtest.Op]int64 {
	out := map[upstreamtest.Op]int64{}
	for _, op := range vendorOps {
		out[op] = int64(v.emu.Calls(op)) - v.directCalls(op)
	}
	return out
}

func (v *vendor) directCalls(op upstreamtest.Op) int64 {
	if c, ok := v.direct.Load(op); ok {
		return c.(*atomic.Int64).Load()
	}
	return 0
}

func (v *vendor) countDirect(op upstreamtest.Op) {
	c, _ := v.direct.LoadOrStore(op, new(atomic.Int64))
	c.(*atomic.Int64).Add(1)
}

// call makes one direct call and decodes a JSON answer into out (when not nil).
func (v *vendor) call(ctx context.Context, op upstreamtest.Op, method, path string, body any, out any) (int, error) {
	return v.callAt(ctx, v.base, op, method, path, body, out)
}

// callAt is call sent to base instead of the emulator's own address (the floor phase's relay).
func (v *vendor) callAt(ctx context.Context, base string, op upstreamtest.Op, method, path string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set(directHeader, "1")
	req.Header.Set("Content-Type", "application/json")
	if v.target == "trainual" {
		req.Header.Set("Authorization", "Bearer "+v.apiKey)
	} else {
		req.Header.Set("X-API-Key", v.apiKey)
	}
	v.countDirect(op)
	resp, err := v.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, truncate(data, 200))
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// The direct counterparts of the bridge's operations: the vendor calls the bridge makes for them (scim/calls_test.go
// holds the counts), made by scim-load itself on accounts the bridge never touches.

func (v *vendor) get(ctx context.Context, id string) (map[string]any, error) {
	return v.getAt(ctx, v.base, id)
}

func (v *vendor) getAt(ctx context.Context, base, id string) (map[string]any, error) {
	var env struct {
		User map[string]any `json:"user"`
	}
	_, err := v.callAt(ctx, base, upstreamtest.OpGet, "GET", "/users/"+url.PathEscape(id), nil, &env)
	return env.User, err
}

// find is the lookup by e-mail; it returns how many accounts hold email.
func (v *vendor) find(ctx context.Context, email string) (int, error) {
	var env struct {
		Total *int `json:"total"`
		Meta  struct {
			Total *int `json:"total"`
		} `json:"meta"`
		Users []any `json:"users"`
	}
	if _, err := v.call(ctx, upstreamtest.OpFind, "GET", "/users?email="+url.QueryEscape(email), nil, &env); err != nil {
		return 0, err
	}
	switch {
	case env.Total != nil:
		return *env.Total, nil
	case env.Meta.Total != nil:
		return *env.Meta.Total, nil
	}
	return len(env.Users), nil
}

// coldLookup is what a lookup of an account the bridge has not linked yet costs at the vendor.
func (v *vendor) coldLookup(ctx context.Context, email, id string) error {
	if _, err := v.find(ctx, email); err != nil {
		return err
	}
	if v.target == "trainual" { // the list item lacks the state: read the user
		_, err := v.get(ctx, id)
		return err
	}
	return nil
}

// update is a one-field write as the bridge makes it: read, write (Trainual: a PATCH of the changed field, then a
// read back of its short echo; Thought Industries: a PUT of the whole user read).
func (v *vendor) update(ctx context.Context, id string) error {
	u, err := v.get(ctx, id)
	if err != nil {
		return err
	}
	if v.target == "trainual" {
		if _, err := v.call(ctx, upstreamtest.OpUpdate, "PATCH", "/users/"+url.PathEscape(id), map[string]any{"first_name": u["first_name"]}, nil); err != nil {
			return err
		}
		_, err = v.get(ctx, id)
		return err
	}
	_, err = v.call(ctx, upstreamtest.OpUpdate, "PUT", "/users/"+url.PathEscape(id), u, nil)
	return err
}

// create makes an account and reads it back (both vendors echo a short object).
func (v *vendor) create(ctx context.Context, email string) error {
	body := map[string]any{"email": email, "first_name": "Direct", "last_name": "Create"}
	if v.target != "trainual" {
		body = map[string]any{"email": email, "firstName": "Direct", "lastName": "Create", "active": true}
	}
	var env struct {
		User struct {
			ID any `json:"id"`
		} `json:"user"`
	}
	if _, err := v.call(ctx, upstreamtest.OpCreate, "POST", "/users", body, &env); err != nil {
		return err
	}
	_, err := v.get(ctx, fmt.Sprint(jsonID(env.User.ID)))
	return err
}

// jsonID prints a numeric id without an exponent.
func jsonID(x any) any {
	if f, ok := x.(float64); ok {
		return int64(f)
	}
	return x
}
