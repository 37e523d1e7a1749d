package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// fuzzAuthenticator enables every mode, so that any header value reaches some parser.
func fuzzAuthenticator(f *testing.F) (*Authenticator, *fakeClock, []string) {
	srv := newJWKSServer(f, rsaJWK("rsa1", &testRSAKey().PublicKey), ecJWK("ec1", &testECKey().PublicKey))
	// A fixed clock and fixed claims make the valid tokens the same in every fuzz worker and every run, so that a
	// token kept in the fuzz cache from an earlier run is still recognised as one of them.
	clock := &fakeClock{t: time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg := Config{
		Tokens:        []string{tokenA, sha256Form(tokenC)},
		OAuthClientID: clientID, OAuthClientSecret: clientSecret, JWTSigningKey: hmacKey,
		JWKSURL: srv.URL, JWTIssuer: extIssuer, JWTAudience: extAudience,
		BasicUser: "okta", BasicPassword: "pw-for-fuzzing",
		RateLimit: 1000,
	}
	a := newTestAuth(f, cfg, clock, nil)
	now := clock.now()
	valid := []string{
		sign(f, jwt.SigningMethodHS256, hmacKey, a.signer.kid, jwt.RegisteredClaims{Issuer: defaultIssuer,
			Audience: jwt.ClaimStrings{defaultAudience}, Subject: clientID, ID: "fuzz",
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}),
		sign(f, jwt.SigningMethodRS256, testRSAKey(), "rsa1", extClaims(now)),
		sign(f, jwt.SigningMethodES256, testECKey(), "ec1", extClaims(now)),
	}
	return a, clock, valid
}

func FuzzAuthorizationHeader(f *testing.F) {
	a, _, valid := fuzzAuthenticator(f)
	h := a.Middleware(echoPrincipal)
	for _, seed := range []string{
		"", "Bearer " + tokenA, "bearer " + tokenC, "BEARER  " + tokenA, "Bearer", "Bearer ", "non-token",
		basicHeader("okta", "pw-for-fuzzing"), "Basic", "Basic =", "Basic Og==", "Digest x=y",
		"Bearer " + valid[0], "Bearer " + valid[1], "Bearer " + valid[2], "Bearer " + tamper(valid[1]),
		"Bearer eyJhbGciOiJub25lIn0.e30.", "Bearer a.b.c", "Bearer ..", "Bearer \x00\xff", "Bearer " + strings.Repeat("é", 100),
	} {
		f.Add(seed)
	}
	allowed := []int{http.StatusOK, http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusForbidden}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest(http.MethodGet, "http://bridge.test/scim/v2/Users", nil)
		r.RemoteAddr = "192.0.2.10:1"
		r.Header["Authorization"] = []string{header}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if !slices.Contains(allowed, rec.Code) {
			t.Fatalf("Authorization %q: status %d, want one of %v", header, rec.Code, allowed)
		}
		if rec.Code != http.StatusOK && rec.Header().Get("Content-Type") != "application/scim+json" {
			t.Fatalf("Authorization %q: refusal without a SCIM body", header)
		}
	})
}

func FuzzParseJWT(f *testing.F) {
	a, _, valid := fuzzAuthenticator(f)
	for _, v := range valid {
		f.Add(v)
		f.Add(tamper(v))
		f.Add(v[:strings.LastIndexByte(v, '.')+1])
	}
	for _, seed := range []string{
		"", ".", "..", "a.b.c", "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0.",
		"eyJhbGciOiJIUzI1NiIsImtpZCI6InJzYTEifQ.eyJzdWIiOiJ4In0.c2ln",
		"eyJhbGciOiJSUzI1NiIsImtpZCI6W119.e30.AA", "eyJ9.e30.", "e30.e30.e30",
	} {
		f.Add(seed)
	}
	var signedParts []string
	for _, v := range valid {
		signedParts = append(signedParts, signedPart(v))
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, token string) {
		id, fail := a.authJWT(ctx, token)
		// ECDSA signatures are randomised (and malleable), so compare what was signed, not the signature: the
		// property is that no header or claims the fuzzer made up are ever accepted.
		if fail == nil && !slices.Contains(signedParts, signedPart(token)) {
			t.Fatalf("accepted a token whose header and claims were never signed: %q as %v", token, id.Principal)
		}
		if fail != nil && !fail.bearer {
			t.Fatalf("refusal of %q is not marked invalid_token", token)
		}
		_, _ = peekHeader(token)
	})
}

func signedPart(token string) string {
	if i := strings.LastIndexByte(token, '.'); i >= 0 {
		return token[:i]
	}
	return token
}

func BenchmarkStaticToken(b *testing.B) {
	a, err := newAuthenticator(Config{Tokens: []string{tokenA, tokenB, sha256Form(tokenC)}}, nil, nil, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	h := a.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := request("Bearer " + tokenC) // the last configured token: every digest is compared anyway
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
