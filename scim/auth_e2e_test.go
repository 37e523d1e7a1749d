package scim_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scim-bridge/scim-bridge/scim/auth"
	"github.com/scim-bridge/scim-bridge/scim/scimtest"
)

// Credentials of the auth end-to-end suite. Each is long and distinctive, so that finding one in a log or a
// response is proof of a leak and never a coincidence.
const (
	e2eTokenOld        = "e2e-static-token-outgoing-7f3a9c1d"
	e2eTokenNew        = "e2e-static-token-incoming-2b8e4f60"
	e2eTokenHashed     = "e2e-static-token-hashed-c51d0e93aa"
	e2eClientID        = "okta-provisioning-client"
	e2eClientSecret    = "e2e-oauth-client-secret-91c7d2e4f8"
	e2eSigningKey      = "e2e-hs256-signing-key-0f1e2d3c4b5a69788796"
	e2eBasicUser       = "entra-sync"
	e2eBasicPassword   = "e2e basic pässword: with colon 5d4c"
	e2eExternalIssuer  = "https://login.example.test/5f1c0b2a/v2.0"
	e2eExternalAud     = "api://scim-bridge-e2e"
	e2eExternalSubject = "service-principal-e2e"
)

const wantInvalidTokenChallenge = `Bearer realm="scim-bridge", error="invalid_token"`

// leakWatch collects every response of a run and every secret configured or presented during it; check fails the
// test if any secret appears in a response header, a response body or a bridge's log.
type leakWatch struct {
	mu        sync.Mutex
	secrets   map[string]string // secret -> what it is, for the failure message
	responses []string
	bridges   []*scimtest.Bridge
}

func newLeakWatch() *leakWatch { return &leakWatch{secrets: map[string]string{}} }

func (w *leakWatch) secret(what, s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.secrets[s] = what
}

func (w *leakWatch) start(t *testing.T, cfg auth.Config) *scimtest.Bridge {
	t.Helper()
	b := scimtest.Start(t, scimtest.Options{Auth: &cfg})
	w.mu.Lock()
	defer w.mu.Unlock()
	w.bridges = append(w.bridges, b)
	return b
}

func (w *leakWatch) record(r scimtest.Response, allowed ...string) {
	text := string(r.Raw) + "\n" + fmt.Sprint(r.Header)
	for _, a := range allowed {
		text = strings.ReplaceAll(text, a, "<expected>")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.responses = append(w.responses, text)
}

// do sends a request with exactly the Authorization given ("" sends none) and records the answer.
func (w *leakWatch) do(t *testing.T, b *scimtest.Bridge, method, path, authorization string, headers ...string) scimtest.Response {
	t.Helper()
	r := b.Do(t, method, path, nil, append([]string{"Authorization", authorization}, headers...)...)
	w.record(r)
	return r
}

func (w *leakWatch) check(t *testing.T) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.responses) == 0 || len(w.bridges) == 0 {
		t.Fatal("nothing was recorded: the leak check would pass vacuously")
	}
	var all strings.Builder
	for _, r := range w.responses {
		all.WriteString(r)
		all.WriteByte('\n')
	}
	for _, b := range w.bridges {
		all.WriteString(b.Logs())
	}
	text := all.String()
	for s, what := range w.secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s leaked into a log line or a response", what)
		}
	}
}

// TestAuthModesEndToEnd proves every inbound authentication mode and admission rule through the real server. The
// modes run in parallel; the leak check runs once all of them are done.
func TestAuthModesEndToEnd(t *testing.T) {
	w := newLeakWatch()
	t.Run("modes", func(t *testing.T) {
		for _, m := range []struct {
			name string
			run  func(*testing.T, *leakWatch)
		}{
			{"static tokens", testStaticTokens},
			{"OAuth client credentials", testOAuthClientCredentials},
			{"external JWTs", testExternalJWTs},
			{"external JWT key rotation", testExternalJWTKeyRotation},
			{"HTTP Basic", testHTTPBasic},
			{"rate limit", testRateLimit},
			{"IP allow-list", testIPAllowList},
			{"ServiceProviderConfig", testAuthenticationSchemes},
		} {
			t.Run(m.name, func(t *testing.T) {
				t.Parallel()
				m.run(t, w)
			})
		}
	})
	t.Run("no configured or presented secret appears in a log, a header or a body", w.check)
}

func bearer(token string) string { return "Bearer " + token }

func basicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// assertAdmitted checks that a credential reaches the SCIM handler: a list response, not an auth error.
func assertAdmitted(t *testing.T, r scimtest.Response) {
	t.Helper()
	assertStatus(t, r, http.StatusOK)
	if schemas, _ := r.Body["schemas"].([]any); len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:ListResponse" {
		t.Errorf("not a ListResponse: %s", r.Raw)
	}
}

// assertRefused checks a 401 with the SCIM error body and exactly the challenges given.
func assertRefused(t *testing.T, r scimtest.Response, challenges ...string) {
	t.Helper()
	assertSCIMError(t, r, http.StatusUnauthorized, "")
	if got := r.Header.Values("WWW-Authenticate"); !slices.Equal(got, challenges) {
		t.Errorf("WWW-Authenticate %q, want %q", got, challenges)
	}
}

func testStaticTokens(t *testing.T, w *leakWatch) {
	digest := sha256.Sum256([]byte(e2eTokenHashed))
	hashedEntry := "sha256:" + hex.EncodeToString(digest[:])
	for _, s := range []string{e2eTokenOld, e2eTokenNew, e2eTokenHashed} {
		w.secret("a static token", s)
	}
	b := w.start(t, auth.Config{Tokens: []string{e2eTokenOld, e2eTokenNew, hashedEntry}})

	for _, tc := range []struct {
		name          string
		authorization string
		admitted      bool
		challenge     string
	}{
		{"the outgoing token of a rotation is accepted", bearer(e2eTokenOld), true, ""},
		{"the incoming token of a rotation is accepted", bearer(e2eTokenNew), true, ""},
		{"a token configured as its sha256 digest is accepted by its plain value", bearer(e2eTokenHashed), true, ""},
		{"the scheme name is case-insensitive", "bearer " + e2eTokenNew, true, ""},
		{"the sha256 entry itself is not a credential", bearer(hashedEntry), false, wantInvalidTokenChallenge},
		{"a configured token with one more character is refused", bearer(e2eTokenOld + "x"), false, wantInvalidTokenChallenge},
		{"an unknown token is refused", bearer("e2e-never-configured-token-00"), false, wantInvalidTokenChallenge},
		{"a missing Authorization header gets a bare challenge", "", false, `Bearer realm="scim-bridge"`},
		{"a static token sent as Basic is refused", basicAuth("x", e2eTokenOld), false, `Bearer realm="scim-bridge"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.do(t, b, "GET", "/Users", tc.authorization)
			if tc.admitted {
				assertAdmitted(t, r)
			} else {
				assertRefused(t, r, tc.challenge)
			}
		})
	}

	t.Run("a user created with the outgoing token is read with the incoming one", func(t *testing.T) {
		r := b.Do(t, "POST", "/Users", scimtest.User("rotation@example.com", "Ro", "Tation"), "Authorization", bearer(e2eTokenOld))
		w.record(r)
		assertStatus(t, r, http.StatusCreated)
		got := w.do(t, b, "GET", "/Users/"+str(r.Body, "id"), bearer(e2eTokenNew))
		assertStatus(t, got, http.StatusOK)
		if str(got.Body, "userName") != "rotation@example.com" {
			t.Errorf("read back %s", got.Raw)
		}
	})
}

// tokenRequest posts a client-credentials request; basic, when set, is the Authorization header.
func tokenRequest(t *testing.T, w *leakWatch, b *scimtest.Bridge, endpoint string, form url.Values, basic string, headers ...string) (scimtest.Response, string) {
	t.Helper()
	r := b.Do(t, "POST", endpoint, form.Encode(), append([]string{"Authorization", basic, "Content-Type", "application/x-www-form-urlencoded"}, headers...)...)
	tok, _ := r.Body["access_token"].(string)
	if tok != "" {
		w.secret("an issued access token", tok)
	}
	w.record(r, tok)
	return r, tok
}

func assertOAuthError(t *testing.T, r scimtest.Response, status int, code string) {
	t.Helper()
	if r.Status != status || r.Body["error"] != code {
		t.Fatalf("token endpoint answered %d %s, want %d with error %q", r.Status, r.Raw, status, code)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
}

func testOAuthClientCredentials(t *testing.T, w *leakWatch) {
	w.secret("the OAuth client secret", e2eClientSecret)
	w.secret("the JWT signing key", e2eSigningKey)
	w.secret("the base64 JWT signing key", base64.RawURLEncoding.EncodeToString([]byte(e2eSigningKey)))
	w.secret("the client's Basic credential", base64.StdEncoding.EncodeToString([]byte(e2eClientID+":"+e2eClientSecret)))
	b := w.start(t, auth.Config{OAuthClientID: e2eClientID, OAuthClientSecret: e2eClientSecret, JWTSigningKey: []byte(e2eSigningKey)})
	grant := url.Values{"grant_type": {"client_credentials"}}
	withBody := url.Values{"grant_type": {"client_credentials"}, "client_id": {e2eClientID}, "client_secret": {e2eClientSecret}}

	var issued string
	for _, tc := range []struct {
		name     string
		endpoint string
		form     url.Values
		basic    string
	}{
		{"client credentials in the body at the root endpoint", b.Root + "/oauth/token", withBody, ""},
		{"client credentials by HTTP Basic at the root endpoint", b.Root + "/oauth/token", grant, basicAuth(e2eClientID, e2eClientSecret)},
		{"client credentials in the body at the base path endpoint", b.URL + "/oauth/token", withBody, ""},
	} {
		t.Run(tc.name+" issue a token that the SCIM API accepts", func(t *testing.T) {
			r, tok := tokenRequest(t, w, b, tc.endpoint, tc.form, tc.basic)
			if r.Status != http.StatusOK || tok == "" || r.Body["token_type"] != "Bearer" || r.Body["expires_in"] != float64(3600) {
				t.Fatalf("token response %d %s", r.Status, r.Raw)
			}
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
			assertAdmitted(t, w.do(t, b, "GET", "/Users", bearer(tok)))
			issued = tok
		})
	}
	if issued == "" {
		t.Fatal("no token was issued; the remaining cases need its kid")
	}

	for _, tc := range []struct {
		name   string
		form   url.Values
		basic  string
		status int
		code   string
	}{
		{"a wrong secret in the body", url.Values{"grant_type": {"client_credentials"}, "client_id": {e2eClientID}, "client_secret": {e2eClientSecret + "-wrong"}}, "", http.StatusUnauthorized, "invalid_client"},
		{"a wrong secret by Basic", grant, basicAuth(e2eClientID, "e2e-wrong-client-secret-000000"), http.StatusUnauthorized, "invalid_client"},
		{"an unknown client id", url.Values{"grant_type": {"client_credentials"}, "client_id": {"someone-else"}, "client_secret": {e2eClientSecret}}, "", http.StatusUnauthorized, "invalid_client"},
		{"no client credentials", grant, "", http.StatusUnauthorized, "invalid_client"},
		{"the password grant", url.Values{"grant_type": {"password"}, "client_id": {e2eClientID}, "client_secret": {e2eClientSecret}}, "", http.StatusBadRequest, "unsupported_grant_type"},
	} {
		t.Run(tc.name+" is refused with "+tc.code, func(t *testing.T) {
			r, tok := tokenRequest(t, w, b, b.Root+"/oauth/token", tc.form, tc.basic)
			if tok != "" {
				t.Fatalf("a token was issued: %d", r.Status)
			}
			assertOAuthError(t, r, tc.status, tc.code)
			if tc.status == http.StatusUnauthorized && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("WWW-Authenticate %q, want a Basic challenge", r.Header.Get("WWW-Authenticate"))
			}
		})
	}

	// Tokens signed by hand with the configured key: only the claims differ from an issued token, so the control
	// case proves that the expired one is refused for its expiry alone.
	parsed, _, err := jwt.NewParser().ParseUnverified(issued, &jwt.RegisteredClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := parsed.Header["kid"].(string)
	now := time.Now()
	handSigned := func(key string, exp time.Time) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Issuer: "scim-bridge", Audience: jwt.ClaimStrings{"scim-bridge"},
			Subject: e2eClientID, IssuedAt: jwt.NewNumericDate(now.Add(-2 * time.Hour)), NotBefore: jwt.NewNumericDate(now.Add(-2 * time.Hour)),
			ExpiresAt: jwt.NewNumericDate(exp), ID: rand.Text()})
		tok.Header["kid"] = kid
		s, err := tok.SignedString([]byte(key))
		if err != nil {
			t.Fatal(err)
		}
		w.secret("a hand-signed access token", s)
		return s
	}
	for _, tc := range []struct {
		name     string
		token    string
		admitted bool
	}{
		{"a hand-signed token that is still valid is accepted", handSigned(e2eSigningKey, now.Add(time.Hour)), true},
		{"an expired token is refused", handSigned(e2eSigningKey, now.Add(-5*time.Minute)), false},
		{"a token signed with another key under the right kid is refused", handSigned("e2e-another-hs256-key-0123456789abcdef", now.Add(time.Hour)), false},
		{"the client secret is not a bearer token", e2eClientSecret, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.do(t, b, "GET", "/Users", bearer(tc.token))
			if tc.admitted {
				assertAdmitted(t, r)
			} else {
				assertRefused(t, r, wantInvalidTokenChallenge)
			}
		})
	}
}

// Keys of the customer's authorization server, generated once per test binary: RSA generation is slow.
var (
	e2eRSAKey      = sync.OnceValue(func() *rsa.PrivateKey { return mustGenerate(rsa.GenerateKey(rand.Reader, 2048)) })
	e2eECKey       = sync.OnceValue(func() *ecdsa.PrivateKey { return mustGenerate(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)) })
	e2eAttackerKey = sync.OnceValue(func() *ecdsa.PrivateKey { return mustGenerate(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)) })
)

func mustGenerate[K any](k K, err error) K {
	if err != nil {
		panic(err)
	}
	return k
}

type jwk map[string]string

func rsaJWK(kid string, k *rsa.PublicKey) jwk {
	return jwk{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
}

func ecJWK(kid string, k *ecdsa.PublicKey) jwk {
	b := mustGenerate(k.Bytes()) // 0x04 || X || Y
	size := (len(b) - 1) / 2
	return jwk{"kty": "EC", "kid": kid, "use": "sig", "crv": "P-256",
		"x": base64.RawURLEncoding.EncodeToString(b[1 : 1+size]),
		"y": base64.RawURLEncoding.EncodeToString(b[1+size:])}
}

// jwksServer is the customer's authorization server on 127.0.0.1: it serves the key set the test installs and
// counts fetches.
type jwksServer struct {
	*httptest.Server
	hits atomic.Int64
	mu   sync.Mutex
	keys []jwk
}

func newJWKSServer(t *testing.T, keys ...jwk) *jwksServer {
	s := &jwksServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": s.keys})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) rotate(keys ...jwk) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = keys
}

func externalClaims(now time.Time) jwt.RegisteredClaims {
	return jwt.RegisteredClaims{Issuer: e2eExternalIssuer, Audience: jwt.ClaimStrings{e2eExternalAud}, Subject: e2eExternalSubject,
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}
}

func externalToken(t *testing.T, w *leakWatch, method jwt.SigningMethod, key any, kid string, claims jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	w.secret("a presented JWT", s)
	return s
}

func externalConfig(srv *jwksServer) auth.Config {
	return auth.Config{JWKSURL: srv.URL + "/discovery/v2.0/keys", JWTIssuer: e2eExternalIssuer, JWTAudience: e2eExternalAud}
}

func testExternalJWTs(t *testing.T, w *leakWatch) {
	srv := newJWKSServer(t, rsaJWK("rsa-2026", &e2eRSAKey().PublicKey), ecJWK("ec-2026", &e2eECKey().PublicKey))
	b := w.start(t, externalConfig(srv))
	now := time.Now()
	claims := func(f func(*jwt.RegisteredClaims)) jwt.RegisteredClaims {
		c := externalClaims(now)
		f(&c)
		return c
	}
	rs := func(c jwt.RegisteredClaims) string {
		return externalToken(t, w, jwt.SigningMethodRS256, e2eRSAKey(), "rsa-2026", c)
	}
	pubDER := mustGenerate(x509.MarshalPKIXPublicKey(&e2eRSAKey().PublicKey))
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	valid := rs(externalClaims(now))
	tampered := []byte(valid)
	if i := strings.LastIndexByte(valid, '.') + 10; tampered[i] == 'A' {
		tampered[i] = 'B'
	} else {
		tampered[i] = 'A'
	}
	none := func() string {
		h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT", "kid": "rsa-2026"})
		c, _ := json.Marshal(externalClaims(now))
		s := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
		w.secret("a presented JWT", s)
		return s
	}

	for _, tc := range []struct {
		name     string
		token    string
		admitted bool
	}{
		{"an RS256 token from the customer's server is accepted", valid, true},
		{"an ES256 token from the second key of the set is accepted", externalToken(t, w, jwt.SigningMethodES256, e2eECKey(), "ec-2026", externalClaims(now)), true},
		{"a token from the wrong issuer is refused", rs(claims(func(c *jwt.RegisteredClaims) { c.Issuer = "https://login.evil.test/v2.0" })), false},
		{"a token for the wrong audience is refused", rs(claims(func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{"api://another-app"} })), false},
		{"an expired token is refused", rs(claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-5 * time.Minute)) })), false},
		{"a token with nbf in the future is refused", rs(claims(func(c *jwt.RegisteredClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(10 * time.Minute)) })), false},
		{"a token with a tampered signature is refused", string(tampered), false},
		{"an alg none token is refused", none(), false},
		{"a token under a kid the server never published is refused", externalToken(t, w, jwt.SigningMethodES256, e2eAttackerKey(), "unpublished-kid", externalClaims(now)), false},
		{"a token signed by another key under a published kid is refused", externalToken(t, w, jwt.SigningMethodES256, e2eAttackerKey(), "ec-2026", externalClaims(now)), false},
		{"an HS256 token keyed with the RSA public key (alg confusion) is refused", externalToken(t, w, jwt.SigningMethodHS256, pubPEM, "rsa-2026", externalClaims(now)), false},
		{"an HS256 token keyed with the RSA public key's DER is refused", externalToken(t, w, jwt.SigningMethodHS256, pubDER, "rsa-2026", externalClaims(now)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.do(t, b, "GET", "/Users", bearer(tc.token))
			if tc.admitted {
				assertAdmitted(t, r)
			} else {
				assertRefused(t, r, wantInvalidTokenChallenge)
			}
		})
	}
}

// testExternalJWTKeyRotation rotates the customer's signing key to a new kid, dropping the old one. The bridge
// refetches the key set for an unknown kid at most once per 30 s (so that forged kids cannot make it hammer the
// customer's server), so the new kid is retried until accepted; the whole burst of retries costs one refetch.
func testExternalJWTKeyRotation(t *testing.T, w *leakWatch) {
	srv := newJWKSServer(t, rsaJWK("key-2026-01", &e2eRSAKey().PublicKey))
	b := w.start(t, externalConfig(srv))
	if got := srv.hits.Load(); got != 1 {
		t.Fatalf("JWKS fetched %d times at start, want once", got)
	}
	oldToken := externalToken(t, w, jwt.SigningMethodRS256, e2eRSAKey(), "key-2026-01", externalClaims(time.Now()))
	assertAdmitted(t, w.do(t, b, "GET", "/Users", bearer(oldToken)))

	srv.rotate(ecJWK("key-2026-07", &e2eECKey().PublicKey))
	newToken := externalToken(t, w, jwt.SigningMethodES256, e2eECKey(), "key-2026-07", externalClaims(time.Now()))
	deadline := time.Now().Add(45 * time.Second)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	attempts := 0
	for {
		attempts++
		r := w.do(t, b, "GET", "/Users", bearer(newToken))
		if r.Status == http.StatusOK {
			break
		}
		assertRefused(t, r, wantInvalidTokenChallenge)
		if time.Now().After(deadline) {
			t.Fatalf("a token under the rotated-in kid was still refused after %d attempts", attempts)
		}
		<-tick.C
	}
	if got := srv.hits.Load(); got != 2 {
		t.Errorf("JWKS fetched %d times for %d attempts with a new kid, want 2 (start and one refetch)", got, attempts)
	}
	// The old key left the set with the refetch, so its tokens stop working at once.
	assertRefused(t, w.do(t, b, "GET", "/Users", bearer(oldToken)), wantInvalidTokenChallenge)
}

func testHTTPBasic(t *testing.T, w *leakWatch) {
	w.secret("the Basic password", e2eBasicPassword)
	w.secret("the Basic credential", base64.StdEncoding.EncodeToString([]byte(e2eBasicUser+":"+e2eBasicPassword)))
	b := w.start(t, auth.Config{BasicUser: e2eBasicUser, BasicPassword: e2eBasicPassword})
	const challenge = `Basic realm="scim-bridge", charset="UTF-8"`
	for _, tc := range []struct {
		name          string
		authorization string
		admitted      bool
	}{
		{"the right user and password are accepted", basicAuth(e2eBasicUser, e2eBasicPassword), true},
		{"a wrong password is refused", basicAuth(e2eBasicUser, "e2e wrong pässword: 000000"), false},
		{"a wrong user is refused", basicAuth("someone-else", e2eBasicPassword), false},
		{"the password as a bearer token is refused", bearer(e2eBasicPassword), false},
		{"credentials that are not base64 are refused", "Basic %%%not-base64%%%", false},
		{"no credentials are refused", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.do(t, b, "GET", "/Users", tc.authorization)
			if tc.admitted {
				assertAdmitted(t, r)
			} else {
				assertRefused(t, r, challenge)
			}
		})
	}
}

func testRateLimit(t *testing.T, w *leakWatch) {
	w.secret("a static token", e2eTokenOld)
	w.secret("a static token", e2eTokenNew)
	// 0.1 request/s gives a burst of one: the second request inside ten seconds is over the limit, however slow
	// the machine.
	b := w.start(t, auth.Config{Tokens: []string{e2eTokenOld, e2eTokenNew}, RateLimit: 0.1})
	assertAdmitted(t, w.do(t, b, "GET", "/Users", bearer(e2eTokenOld)))

	t.Run("the request past the burst gets 429 with Retry-After and a SCIM body", func(t *testing.T) {
		r := w.do(t, b, "GET", "/Users", bearer(e2eTokenOld))
		assertSCIMError(t, r, http.StatusTooManyRequests, "")
		if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 10 {
			t.Errorf("Retry-After %q, want whole seconds in [1, 10]", r.Header.Get("Retry-After"))
		}
	})
	t.Run("another credential has its own bucket", func(t *testing.T) {
		assertAdmitted(t, w.do(t, b, "GET", "/Users", bearer(e2eTokenNew)))
	})
	t.Run("an unknown credential gets 401, not 429", func(t *testing.T) {
		assertRefused(t, w.do(t, b, "GET", "/Users", bearer("e2e-never-configured-token-00")), wantInvalidTokenChallenge)
	})
}

func testIPAllowList(t *testing.T, w *leakWatch) {
	w.secret("a static token", e2eTokenNew)
	w.secret("the OAuth client secret", e2eClientSecret)
	base := auth.Config{Tokens: []string{e2eTokenNew}, OAuthClientID: e2eClientID, OAuthClientSecret: e2eClientSecret,
		JWTSigningKey: []byte(e2eSigningKey)}
	withAllow := func(allow, proxies []string) auth.Config {
		c := base
		c.AllowCIDRs, c.TrustedProxies = allow, proxies
		return c
	}
	for _, tc := range []struct {
		name     string
		cfg      auth.Config
		xff      string
		admitted bool
	}{
		{"a loopback client is admitted by 127.0.0.0/8", withAllow([]string{"127.0.0.0/8"}, nil), "", true},
		{"a loopback client is admitted by the bare address 127.0.0.1", withAllow([]string{"10.0.0.0/8", "127.0.0.1"}, nil), "", true},
		{"a loopback client is refused by a list that excludes it", withAllow([]string{"10.0.0.0/8", "192.0.2.7"}, nil), "", false},
		{"X-Forwarded-For from an untrusted peer is ignored", withAllow([]string{"10.0.0.0/8"}, nil), "10.1.2.3", false},
		{"X-Forwarded-For from a trusted proxy names the client", withAllow([]string{"10.0.0.0/8"}, []string{"127.0.0.1"}), "10.1.2.3", true},
		{"a trusted proxy forwarding an excluded client is refused", withAllow([]string{"10.0.0.0/8"}, []string{"127.0.0.1"}), "192.0.2.99", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := w.start(t, tc.cfg)
			var extra []string
			if tc.xff != "" {
				extra = []string{"X-Forwarded-For", tc.xff}
			}
			r := w.do(t, b, "GET", "/Users", bearer(e2eTokenNew), extra...)
			form := url.Values{"grant_type": {"client_credentials"}, "client_id": {e2eClientID}, "client_secret": {e2eClientSecret}}
			tr, _ := tokenRequest(t, w, b, b.Root+"/oauth/token", form, "", extra...)
			if tc.admitted {
				assertAdmitted(t, r)
				if tr.Status != http.StatusOK {
					t.Errorf("token endpoint %d %s, want 200", tr.Status, tr.Raw)
				}
				return
			}
			assertSCIMError(t, r, http.StatusForbidden, "")
			assertOAuthError(t, tr, http.StatusForbidden, "access_denied")
			health, err := b.Client.Get(b.Root + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			health.Body.Close()
			if health.StatusCode != http.StatusOK {
				t.Errorf("/healthz %d for an address outside the allow-list, want 200 (probes are not SCIM clients)", health.StatusCode)
			}
		})
	}
}

func testAuthenticationSchemes(t *testing.T, w *leakWatch) {
	w.secret("a static token", e2eTokenNew)
	w.secret("the Basic password", e2eBasicPassword)
	w.secret("the OAuth client secret", e2eClientSecret)
	jwks := newJWKSServer(t, rsaJWK("rsa-2026", &e2eRSAKey().PublicKey))
	basic := basicAuth(e2eBasicUser, e2eBasicPassword)
	for _, tc := range []struct {
		name          string
		cfg           auth.Config
		authorization string
		want          []string
	}{
		{"static tokens advertise the bearer scheme", auth.Config{Tokens: []string{e2eTokenNew}}, bearer(e2eTokenNew), []string{"oauthbearertoken"}},
		{"Basic alone advertises httpbasic", auth.Config{BasicUser: e2eBasicUser, BasicPassword: e2eBasicPassword}, basic, []string{"httpbasic"}},
		{"external JWTs advertise the bearer scheme", externalConfig(jwks), bearer(externalToken(t, w, jwt.SigningMethodRS256, e2eRSAKey(), "rsa-2026", externalClaims(time.Now()))), []string{"oauthbearertoken"}},
		{"OAuth and Basic advertise both, bearer first", auth.Config{OAuthClientID: e2eClientID, OAuthClientSecret: e2eClientSecret,
			BasicUser: e2eBasicUser, BasicPassword: e2eBasicPassword}, basic, []string{"oauthbearertoken", "httpbasic"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := w.start(t, tc.cfg)
			r := w.do(t, b, "GET", "/ServiceProviderConfig", tc.authorization)
			assertStatus(t, r, http.StatusOK)
			schemes, _ := r.Body["authenticationSchemes"].([]any)
			var types []string
			for i, s := range schemes {
				m, _ := s.(map[string]any)
				types = append(types, fmt.Sprint(m["type"]))
				if m["name"] == "" || m["description"] == "" {
					t.Errorf("scheme %v lacks a name or description", m)
				}
				if primary, _ := m["primary"].(bool); primary != (i == 0) {
					t.Errorf("scheme %d primary=%v, want only the first primary", i, m["primary"])
				}
			}
			if !slices.Equal(types, tc.want) {
				t.Errorf("authenticationSchemes types %v, want %v", types, tc.want)
			}
		})
	}
}
