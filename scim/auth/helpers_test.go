package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// fakeClock is the time source handed to the Authenticator, so that expiry, refetch intervals and token buckets
// are tested by moving time instead of sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now().Truncate(time.Second)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestAuth(t testing.TB, cfg Config, clock *fakeClock, logger *slog.Logger) *Authenticator {
	t.Helper()
	if clock == nil {
		clock = newFakeClock()
	}
	a, err := newAuthenticator(cfg, logger, nil, clock.now)
	if err != nil {
		t.Fatalf("newAuthenticator: %v", err)
	}
	t.Cleanup(a.Close)
	return a
}

// echoPrincipal is the protected handler: it answers 200 with "kind:id" and fails loudly if the credential
// reached it.
var echoPrincipal = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		http.Error(w, "Authorization header leaked to the handler", http.StatusInternalServerError)
		return
	}
	p, ok := PrincipalFrom(r.Context())
	if !ok {
		http.Error(w, "no principal", http.StatusInternalServerError)
		return
	}
	_, _ = io.WriteString(w, p.String())
})

func request(authz ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://bridge.test/scim/v2/Users", nil)
	r.RemoteAddr = "192.0.2.10:50000"
	for _, v := range authz {
		r.Header.Add("Authorization", v)
	}
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// checkSCIMError asserts the SCIM error body and content type of a refused request.
func checkSCIMError(t *testing.T, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d (body %q)", rec.Code, status, rec.Body.String())
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/scim+json" {
		t.Errorf("Content-Type = %q, want application/scim+json", ct)
	}
	var body struct {
		Schemas []string `json:"schemas"`
		Detail  string   `json:"detail"`
		Status  string   `json:"status"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body is not JSON: %v (%q)", err, rec.Body.String())
	}
	if !slices.Equal(body.Schemas, []string{scimErrorSchema}) || body.Detail == "" || body.Status != strconv.Itoa(status) {
		t.Errorf("SCIM error body = %+v, want the Error schema, a detail and status %d", body, status)
	}
}

func basicHeader(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// Test keys are generated once per test binary: RSA generation is slow.
var (
	testRSAKey  = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
	testRSAKey2 = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
	testECKey   = sync.OnceValue(func() *ecdsa.PrivateKey { return mustEC(elliptic.P256()) })
)

func mustRSA(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

func mustEC(c elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

// unsignedToken builds an alg "none" token by hand, as an attacker would.
func unsignedToken(kid string, claims jwt.Claims) string {
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT", "kid": kid})
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
}

// tamper flips one character of the signature.
func tamper(token string) string {
	i := strings.LastIndexByte(token, '.') + 5
	b := []byte(token)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func rsaJWK(kid string, k *rsa.PublicKey) jwkJSON {
	return jwkJSON{Kty: "RSA", Kid: kid, Use: "sig", Alg: "RS256",
		N: base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
		E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
}

func ecJWK(kid string, k *ecdsa.PublicKey) jwkJSON {
	size := (k.Curve.Params().BitSize + 7) / 8
	b, err := k.Bytes() // uncompressed point: 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	return jwkJSON{Kty: "EC", Kid: kid, Use: "sig", Crv: k.Curve.Params().Name,
		X: base64.RawURLEncoding.EncodeToString(b[1 : 1+size]),
		Y: base64.RawURLEncoding.EncodeToString(b[1+size:])}
}

// jwksServer is the customer's authorization server: it serves whatever key set the test installs and counts
// fetches.
type jwksServer struct {
	*httptest.Server
	hits atomic.Int64

	mu     sync.Mutex
	keys   []jwkJSON
	status int
	body   []byte // raw body overriding keys when set
}

func newJWKSServer(t testing.TB, keys ...jwkJSON) *jwksServer {
	t.Helper()
	s := &jwksServer{keys: keys, status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s.status)
		if s.body != nil {
			_, _ = w.Write(s.body)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": s.keys})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) serve(keys ...jwkJSON) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys, s.status, s.body = keys, http.StatusOK, nil
}

func (s *jwksServer) fail(status int, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.body = status, body
}
