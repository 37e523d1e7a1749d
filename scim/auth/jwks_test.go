package auth

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	extIssuer   = "https://sts.example.test/tenant-1/"
	extAudience = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621"
	extSubject  = "service-principal-42"
)

func externalConfig(jwksURL string) Config {
	return Config{JWKSURL: jwksURL, JWTIssuer: extIssuer, JWTAudience: extAudience}
}

func extClaims(now time.Time) jwt.RegisteredClaims {
	return jwt.RegisteredClaims{Issuer: extIssuer, Audience: jwt.ClaimStrings{extAudience}, Subject: extSubject,
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}
}

func TestExternalJWTKeyRotation(t *testing.T) {
	srv := newJWKSServer(t, rsaJWK("old", &testRSAKey().PublicKey))
	clock := newFakeClock()
	a := newTestAuth(t, externalConfig(srv.URL), clock, nil)
	h := a.Middleware(echoPrincipal)
	if got := srv.hits.Load(); got != 1 {
		t.Fatalf("JWKS hits after New = %d, want 1 (the initial fetch)", got)
	}

	oldToken := sign(t, jwt.SigningMethodRS256, testRSAKey(), "old", extClaims(clock.now()))
	if rec := serve(h, request("Bearer "+oldToken)); rec.Code != http.StatusOK || rec.Body.String() != "jwt:"+extSubject {
		t.Fatalf("token signed by the current key: %d %q, want 200 jwt:%s", rec.Code, rec.Body.String(), extSubject)
	}

	// The authorization server rotates to an EC key; the next token arrives after the refetch interval.
	srv.serve(ecJWK("new", &testECKey().PublicKey))
	clock.advance(jwksMinRefetch)
	newToken := sign(t, jwt.SigningMethodES256, testECKey(), "new", extClaims(clock.now()))
	if rec := serve(h, request("Bearer "+newToken)); rec.Code != http.StatusOK {
		t.Fatalf("token signed by the rotated-in key: %d %s, want 200 after a refetch", rec.Code, rec.Body.String())
	}
	if got := srv.hits.Load(); got != 2 {
		t.Errorf("JWKS hits = %d, want 2 (one refetch for the new kid)", got)
	}
	// The old key left the set, so its tokens stop working without waiting for the hourly refresh.
	checkSCIMError(t, serve(h, request("Bearer "+oldToken)), http.StatusUnauthorized)
}

func TestExternalJWTUnknownKidRefetchIsRateLimited(t *testing.T) {
	srv := newJWKSServer(t, rsaJWK("k1", &testRSAKey().PublicKey))
	clock := newFakeClock()
	a := newTestAuth(t, externalConfig(srv.URL), clock, nil)
	h := a.Middleware(echoPrincipal)

	steps := []struct {
		name     string
		advance  time.Duration
		wantHits int64
	}{
		{name: "an unknown kid right after the initial fetch does not refetch", advance: time.Second, wantHits: 1},
		{name: "a burst of unknown kids inside the interval does not refetch", advance: 10 * time.Second, wantHits: 1},
		{name: "an unknown kid once the interval has passed refetches once", advance: jwksMinRefetch, wantHits: 2},
		{name: "another unknown kid just after that refetch does not refetch", advance: time.Second, wantHits: 2},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			clock.advance(st.advance)
			for range 5 {
				tok := sign(t, jwt.SigningMethodRS256, testRSAKey2(), "unknown-kid", extClaims(clock.now()))
				checkSCIMError(t, serve(h, request("Bearer "+tok)), http.StatusUnauthorized)
			}
			if got := srv.hits.Load(); got != st.wantHits {
				t.Errorf("JWKS hits = %d, want %d", got, st.wantHits)
			}
		})
	}
}

func TestExternalJWTClaimsAndAlgorithms(t *testing.T) {
	anyRSAAlg := rsaJWK("rsa1", &testRSAKey().PublicKey)
	anyRSAAlg.Alg = "" // Entra's keys carry no alg, so RS* and PS* both apply
	srv := newJWKSServer(t, anyRSAAlg, rsaJWK("rs256-only", &testRSAKey2().PublicKey), ecJWK("ec1", &testECKey().PublicKey))
	clock := newFakeClock()
	a := newTestAuth(t, externalConfig(srv.URL), clock, nil)
	h := a.Middleware(echoPrincipal)
	now := clock.now()
	mod := func(f func(*jwt.RegisteredClaims)) jwt.RegisteredClaims { c := extClaims(now); f(&c); return c }
	pubDER, err := x509.MarshalPKIXPublicKey(&testRSAKey().PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaPublicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	rs := func(c jwt.RegisteredClaims) string { return sign(t, jwt.SigningMethodRS256, testRSAKey(), "rsa1", c) }

	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{name: "an RS256 token with the right claims is accepted", token: rs(extClaims(now)), ok: true},
		{name: "a PS256 token from the RSA key is accepted", token: sign(t, jwt.SigningMethodPS256, testRSAKey(), "rsa1", extClaims(now)), ok: true},
		{name: "an ES256 token from the EC key is accepted", token: sign(t, jwt.SigningMethodES256, testECKey(), "ec1", extClaims(now)), ok: true},
		{name: "a token expired within the 60 s skew is accepted", token: rs(mod(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-30 * time.Second)) })), ok: true},
		{name: "a token with nbf within the 60 s skew is accepted", token: rs(mod(func(c *jwt.RegisteredClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(30 * time.Second)) })), ok: true},
		{name: "a token from the wrong issuer is refused", token: rs(mod(func(c *jwt.RegisteredClaims) { c.Issuer = "https://evil.example.test/" }))},
		{name: "a token for the wrong audience is refused", token: rs(mod(func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{"another-app"} }))},
		{name: "an expired token is refused", token: rs(mod(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-2 * time.Minute)) }))},
		{name: "a token without exp is refused", token: rs(mod(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil }))},
		{name: "a token with nbf in the future is refused", token: rs(mod(func(c *jwt.RegisteredClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(5 * time.Minute)) }))},
		{name: "a token issued in the future is refused", token: rs(mod(func(c *jwt.RegisteredClaims) { c.IssuedAt = jwt.NewNumericDate(now.Add(5 * time.Minute)) }))},
		{name: "a token without sub is refused", token: rs(mod(func(c *jwt.RegisteredClaims) { c.Subject = "" }))},
		{name: "HS256 with the RSA public key as secret is refused (alg confusion)", token: sign(t, jwt.SigningMethodHS256, rsaPublicPEM, "rsa1", extClaims(now))},
		{name: "HS256 with the raw modulus as secret is refused", token: sign(t, jwt.SigningMethodHS256, testRSAKey().N.Bytes(), "rsa1", extClaims(now))},
		{name: "alg none is refused", token: unsignedToken("rsa1", extClaims(now))},
		{name: "a token signed by another key under a known kid is refused", token: sign(t, jwt.SigningMethodRS256, testRSAKey2(), "rsa1", extClaims(now))},
		{name: "a token signed by a key of the set under another key's kid is refused", token: sign(t, jwt.SigningMethodRS256, testRSAKey(), "rs256-only", extClaims(now))},
		{name: "a PS256 token for a key whose JWK says RS256 is refused", token: sign(t, jwt.SigningMethodPS256, testRSAKey2(), "rs256-only", extClaims(now))},
		{name: "an ES256 token naming the RSA key's kid is refused", token: sign(t, jwt.SigningMethodES256, testECKey(), "rsa1", extClaims(now))},
		{name: "a tampered signature is refused", token: tamper(rs(extClaims(now)))},
		{name: "a token without kid is refused when several keys suit its alg", token: sign(t, jwt.SigningMethodRS256, testRSAKey(), "", extClaims(now))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(h, request("Bearer "+tt.token))
			if tt.ok {
				if rec.Code != http.StatusOK {
					t.Fatalf("status = %d, want 200", rec.Code)
				}
				return
			}
			checkSCIMError(t, rec, http.StatusUnauthorized)
			if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer realm="scim-bridge", error="invalid_token"` {
				t.Errorf("WWW-Authenticate = %q, want invalid_token", got)
			}
		})
	}
}

func TestExternalJWTWithoutKidUsesTheOnlyKey(t *testing.T) {
	srv := newJWKSServer(t, rsaJWK("only", &testRSAKey().PublicKey))
	clock := newFakeClock()
	a := newTestAuth(t, externalConfig(srv.URL), clock, nil)
	tok := sign(t, jwt.SigningMethodRS256, testRSAKey(), "", extClaims(clock.now()))
	if rec := serve(a.Middleware(echoPrincipal), request("Bearer "+tok)); rec.Code != http.StatusOK {
		t.Errorf("status = %d, want 200", rec.Code)
	}
}

func TestJWKSFetchFailureKeepsKeysAndLogsNoSecret(t *testing.T) {
	srv := newJWKSServer(t, rsaJWK("k1", &testRSAKey().PublicKey))
	clock := newFakeClock()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a := newTestAuth(t, externalConfig(srv.URL+"/keys?api_key=jwks-query-secret"), clock, logger)
	h := a.Middleware(echoPrincipal)
	good := func() string { return sign(t, jwt.SigningMethodRS256, testRSAKey(), "k1", extClaims(clock.now())) }

	failures := []struct {
		name   string
		status int
		body   []byte
	}{
		{name: "a 500 from the JWKS URL keeps the previous keys", status: http.StatusInternalServerError, body: []byte("oops")},
		{name: "a body that is not JSON keeps the previous keys", status: http.StatusOK, body: []byte("<html>")},
		{name: "a key set without usable keys keeps the previous keys", status: http.StatusOK, body: []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`)},
		{name: "an oversized body keeps the previous keys", status: http.StatusOK, body: bytes.Repeat([]byte(" "), jwksMaxBytes+10)},
	}
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			srv.fail(f.status, f.body)
			clock.advance(jwksMinRefetch)
			before := srv.hits.Load()
			a.jwks.refresh(t.Context())
			if srv.hits.Load() != before+1 {
				t.Fatalf("refresh did not fetch")
			}
			if rec := serve(h, request("Bearer "+good())); rec.Code != http.StatusOK {
				t.Errorf("status = %d, want 200 with the previous keys", rec.Code)
			}
		})
	}
	if !strings.Contains(logs.String(), "JWKS fetch failed") {
		t.Errorf("fetch failures were not logged: %s", logs.String())
	}
	if strings.Contains(logs.String(), "jwks-query-secret") {
		t.Errorf("logs contain the JWKS URL's query secret: %s", logs.String())
	}
}

func TestJWKSUnreachableAtStartDoesNotFailNew(t *testing.T) {
	srv := newJWKSServer(t)
	url := srv.URL
	srv.Close()
	clock := newFakeClock()
	a := newTestAuth(t, externalConfig(url), clock, nil)
	tok := sign(t, jwt.SigningMethodRS256, testRSAKey(), "k1", extClaims(clock.now()))
	checkSCIMError(t, serve(a.Middleware(echoPrincipal), request("Bearer "+tok)), http.StatusUnauthorized)
}

func TestParseJWKSSkipsUnusableKeys(t *testing.T) {
	small := mustRSA(1024)
	good := rsaJWK("good", &testRSAKey().PublicKey)
	enc := rsaJWK("enc", &testRSAKey().PublicKey)
	enc.Use = "enc"
	hs := rsaJWK("hs", &testRSAKey().PublicKey)
	hs.Alg = "HS256"
	badCurve := ecJWK("p224", &testECKey().PublicKey)
	badCurve.Crv = "P-224"
	offCurve := ecJWK("off", &testECKey().PublicKey)
	offCurve.Y = offCurve.X
	evenE := rsaJWK("even", &testRSAKey().PublicKey)
	evenE.E = "Ag" // 2

	keys, skipped, err := parseJWKSFrom(t, []jwkJSON{
		good, enc, hs, rsaJWK("small", &small.PublicKey), badCurve, offCurve, evenE,
		{Kty: "oct", Kid: "sym"}, {Kty: "OKP", Kid: "ed", Crv: "Ed25519"}, {Kty: "RSA", Kid: "broken", N: "!!", E: "AQAB"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].kid != "good" || skipped != 9 {
		t.Errorf("kept %d keys (%v), skipped %d; want only \"good\" kept and 9 skipped", len(keys), keys, skipped)
	}
}

func parseJWKSFrom(t *testing.T, keys []jwkJSON) ([]jwk, int, error) {
	t.Helper()
	srv := newJWKSServer(t, keys...)
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return parseJWKS(buf.Bytes())
}

func TestOwnAndExternalTokensTogether(t *testing.T) {
	srv := newJWKSServer(t, rsaJWK("rsa1", &testRSAKey().PublicKey))
	clock := newFakeClock()
	cfg := externalConfig(srv.URL)
	cfg.OAuthClientID, cfg.OAuthClientSecret, cfg.JWTSigningKey = clientID, clientSecret, hmacKey
	a := newTestAuth(t, cfg, clock, nil)
	h := a.Middleware(echoPrincipal)

	if rec := serve(h, request("Bearer "+fetchToken(t, a))); rec.Code != http.StatusOK || rec.Body.String() != "oauth:"+clientID {
		t.Errorf("own token: %d %q, want 200 oauth:%s", rec.Code, rec.Body.String(), clientID)
	}
	ext := sign(t, jwt.SigningMethodRS256, testRSAKey(), "rsa1", extClaims(clock.now()))
	if rec := serve(h, request("Bearer "+ext)); rec.Code != http.StatusOK || rec.Body.String() != "jwt:"+extSubject {
		t.Errorf("external token: %d %q, want 200 jwt:%s", rec.Code, rec.Body.String(), extSubject)
	}
	// The bridge's HMAC key must not verify a token routed to the JWKS, even one with the external claims.
	forged := sign(t, jwt.SigningMethodHS256, hmacKey, "rsa1", extClaims(clock.now()))
	checkSCIMError(t, serve(h, request("Bearer "+forged)), http.StatusUnauthorized)
}

func TestConcurrentRequestsWithANewKidShareOneRefetch(t *testing.T) {
	srv := newJWKSServer(t, rsaJWK("old", &testRSAKey().PublicKey))
	clock := newFakeClock()
	a := newTestAuth(t, externalConfig(srv.URL), clock, nil)
	h := a.Middleware(echoPrincipal)
	srv.serve(rsaJWK("new", &testRSAKey2().PublicKey))
	clock.advance(jwksMinRefetch)
	token := sign(t, jwt.SigningMethodRS256, testRSAKey2(), "new", extClaims(clock.now()))

	const n = 20
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { codes <- serve(h, request("Bearer "+token)).Code })
	}
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != http.StatusOK {
			t.Errorf("status = %d, want 200 for every request once the key set is refetched", code)
		}
	}
	if got := srv.hits.Load(); got != 2 {
		t.Errorf("JWKS hits = %d, want 2: the initial fetch and one shared refetch", got)
	}
}
