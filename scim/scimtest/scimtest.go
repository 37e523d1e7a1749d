// Package scimtest starts the real bridge (HTTP server, store, adapter with retries) against a vendor emulator on
// 127.0.0.1, for end-to-end tests and benchmarks. It is the one package under scim/ that knows the concrete
// targets.
package scimtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/pace"
	"github.com/scim-bridge/scim-bridge/adapters/targets"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
	"github.com/scim-bridge/scim-bridge/scim"
	"github.com/scim-bridge/scim-bridge/scim/auth"
	"github.com/scim-bridge/scim-bridge/scim/provision"
	"github.com/scim-bridge/scim-bridge/scim/store"
	"github.com/scim-bridge/scim-bridge/scim/store/sqlstore"
)

// Token is the bearer token every test bridge accepts.
const Token = "test-token-0123456789abcdef"

// APIKey is the vendor API key the emulators expect.
const APIKey = "vendor-key-fedcba9876543210"

// Options configure Start.
type Options struct {
	Target string
	// DBPath reuses a database (restart tests); empty: a fresh one in t.TempDir().
	DBPath string
	// Emulator reuses a running emulator (restart tests); nil: a fresh one.
	Emulator targets.Emulator
	// Settings are extra target settings by env name (e.g. SCIM_BRIDGE_DELETE_MODE).
	Settings map[string]string
	// Auth replaces the default (static Token, no rate limit).
	Auth *auth.Config
	// Policy replaces the fast test retry policy.
	Policy *adapters.RetryPolicy
	// PublicURL is passed to scim.Config.PublicURL.
	PublicURL string
	// ListTTL is passed to provision.Options.ListTTL (0: its default).
	ListTTL time.Duration
	// EmailFrom is passed to provision.Options.EmailFrom.
	EmailFrom provision.EmailFrom
	// KeepNames turns off name derivation (on by default, as in serve).
	KeepNames bool
	// NoGroups turns /Groups off (SCIM_BRIDGE_GROUPS=off).
	NoGroups bool
	// GroupRules and GroupLinks are SCIM_BRIDGE_GROUP_RULES and SCIM_BRIDGE_GROUP_LINKS.
	GroupRules, GroupLinks string
	// Guard is the mass-deprovisioning guard's policy (off when zero).
	Guard provision.GuardPolicy
}

// Bridge is a running bridge.
type Bridge struct {
	URL     string // SCIM base URL, e.g. http://127.0.0.1:1234/scim/v2
	Root    string // server root, e.g. http://127.0.0.1:1234
	Emu     targets.Emulator
	DBPath  string
	Target  string
	Service *provision.Service
	Client  *http.Client
	Pacer   *pace.Pacer // the vendor account's pacer, as serve builds it
	logs    *upstreamtest.LogBuffer
	srv     *httptest.Server
	closeFn func()
}

// Start runs a bridge for the test; it is stopped by t.Cleanup (or earlier by Close).
func Start(t testing.TB, o Options) *Bridge {
	t.Helper()
	if o.Target == "" {
		o.Target = "trainual"
	}
	tg, err := targets.Lookup(o.Target)
	if err != nil {
		t.Fatal(err)
	}
	b := &Bridge{Target: tg.Name, logs: &upstreamtest.LogBuffer{}, DBPath: o.DBPath, Emu: o.Emulator}
	var emuSrv *httptest.Server
	if b.Emu == nil {
		b.Emu = tg.Emulator(APIKey)
	}
	emuSrv = httptest.NewServer(b.Emu)
	if b.DBPath == "" {
		b.DBPath = filepath.Join(t.TempDir(), "bridge.db")
	}
	log := slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	settings := map[string]string{
		"SCIM_BRIDGE_UPSTREAM_URL":     b.Emu.BaseURL(emuSrv.URL),
		"SCIM_BRIDGE_UPSTREAM_TOKEN":   APIKey,
		"SCIM_BRIDGE_UPSTREAM_TIMEOUT": "5s",
	}
	for k, v := range o.Settings {
		settings[k] = v
	}
	// As in serve: every vendor call goes through the account's pacer, and Retrying relies on it for throttling.
	b.Pacer = pace.New(0)
	raw, err := tg.Open(func(k string) string { return settings[k] }, adapters.Deps{Logger: log, Pacer: b.Pacer})
	if err != nil {
		emuSrv.Close()
		t.Fatal(err)
	}
	policy := adapters.RetryPolicy{Attempts: 4, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, Budget: 2 * time.Second, Logger: log, Paced: true}
	if o.Policy != nil {
		policy = *o.Policy
	}
	st, err := sqlstore.Open(context.Background(), b.DBPath, tg.Name)
	if err != nil {
		emuSrv.Close()
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	ignored, err := scim.IgnoredAttributes(reg, tg.Name)
	if err != nil {
		t.Fatal(err)
	}
	vendor, err := adapters.NewVendorMetrics(reg, tg.Name, tg.Name)
	if err != nil {
		t.Fatal(err)
	}
	// As in serve: Instrumented under Retrying, so every vendor attempt is counted on /metrics.
	if own := policy.OnRetry; own != nil {
		policy.OnRetry = func(op string, kind adapters.Kind, wait time.Duration) {
			vendor.Retried(op, kind, wait)
			own(op, kind, wait)
		}
	} else {
		policy.OnRetry = vendor.Retried
	}
	popts := provision.Options{Target: tg.Name, Store: st, Locker: st,
		Adapter: adapters.Retrying(adapters.Instrumented(raw, vendor), policy), Logger: log, ListTTL: o.ListTTL, EmailFrom: o.EmailFrom,
		DeriveNames: !o.KeepNames, Ignored: ignored, GuardPolicy: o.Guard}
	if !o.NoGroups {
		popts.Groups = st
	}
	if popts.GroupRules, err = provision.ParseGroupRules(o.GroupRules, raw.Attributes()); err != nil {
		t.Fatal(err)
	}
	if popts.GroupLinks, err = provision.ParseGroupLinks(o.GroupLinks); err != nil {
		t.Fatal(err)
	}
	if al, ok := any(st).(store.AuditLog); ok {
		popts.Audit = al
	}
	if g, ok := any(st).(store.Guard); ok {
		popts.Guard = g
	}
	if lc, ok := any(st).(store.LinkCounter); ok {
		popts.Counter = lc
	}
	svc, err := provision.New(popts)
	if err != nil {
		t.Fatal(err)
	}
	b.Service = svc
	ac := auth.Config{Tokens: []string{Token}}
	if o.Auth != nil {
		ac = *o.Auth
	}
	authn, err := auth.New(ac, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := scim.NewHandler(scim.Options{
		Connections: []scim.Connection{{Name: tg.Name, Vendor: tg.DisplayName, Service: svc, Auth: authn, Config: scim.Config{BasePath: "/scim/v2", PublicURL: o.PublicURL}}},
		Logger:      log,
		Registry:    reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	b.srv = httptest.NewServer(h)
	b.Root = b.srv.URL
	b.URL = b.srv.URL + "/scim/v2"
	b.Client = b.srv.Client()
	var once sync.Once
	b.closeFn = func() {
		once.Do(func() {
			b.srv.Close()
			authn.Close()
			_ = st.Close()
			emuSrv.Close()
		})
	}
	t.Cleanup(b.closeFn)
	return b
}

// Close stops the bridge (its store is closed; the emulator's users are kept in Emu).
func (b *Bridge) Close() { b.closeFn() }

// Logs returns everything the bridge logged.
func (b *Bridge) Logs() string { return b.logs.String() }

// Response is a decoded answer.
type Response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

// Do sends a SCIM request with the test token. body may be nil, a string (sent as is) or a value (JSON).
// path is relative to the SCIM base URL ("/Users?...").
func (b *Bridge) Do(t testing.TB, method, path string, body any, headers ...string) Response {
	t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	case []byte:
		rd = bytes.NewReader(v)
	default:
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = b.URL + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(bytes.TrimSpace(raw)) > 0 && raw[0] == '{' {
		_ = json.Unmarshal(raw, &r.Body)
	}
	return r
}

// User is a minimal SCIM user body.
func User(userName, given, family string) map[string]any {
	return map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName,
		"name":     map[string]any{"givenName": given, "familyName": family},
		"emails":   []any{map[string]any{"value": userName, "type": "work", "primary": true}},
		"active":   true,
	}
}
