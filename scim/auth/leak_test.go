package auth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestNoSecretLeaks drives good and bad requests through every mode with debug logging on, and asserts that no
// configured secret, no presented credential and no issued token appears in a log line or in a response the
// client gets (other than the token endpoint handing out its token).
func TestNoSecretLeaks(t *testing.T) {
	const (
		basicPassword = "basic-password-value-9f8e7d"
		wrongSecret   = "wrong-secret-value-3c2b1a0z"
		querySecret   = "jwks-query-secret-value"
	)
	srv := newJWKSServer(t, rsaJWK("rsa1", &testRSAKey().PublicKey))
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clock := newFakeClock()
	cfg := Config{
		Tokens:        []string{tokenA, tokenB},
		OAuthClientID: clientID, OAuthClientSecret: clientSecret, JWTSigningKey: hmacKey,
		JWKSURL: srv.URL + "/keys?key=" + querySecret, JWTIssuer: extIssuer, JWTAudience: extAudience,
		BasicUser: "okta", BasicPassword: basicPassword,
		RateLimit: 1,
	}
	a := newTestAuth(t, cfg, clock, logger)
	logger.Info("effective config", "auth", cfg)
	mw := a.Middleware(echoPrincipal)
	tokens := a.TokenHandler()

	var exposed bytes.Buffer
	record := func(rec *httptest.ResponseRecorder, includeBody bool) {
		for k, vs := range rec.Header() {
			fmt.Fprintf(&exposed, "%s: %s\n", k, strings.Join(vs, ", "))
		}
		if includeBody {
			exposed.Write(rec.Body.Bytes())
		}
	}

	// The token endpoint, good and bad.
	var issued []string
	for _, req := range []*http.Request{
		tokenRequest(url.Values{"grant_type": {"client_credentials"}}, withBasic(clientID, clientSecret)),
		tokenRequest(url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret}}),
		tokenRequest(url.Values{"grant_type": {"client_credentials"}}, withBasic(clientID, wrongSecret)),
		tokenRequest(url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {wrongSecret}}),
		tokenRequest(url.Values{"grant_type": {"password"}, "password": {basicPassword}}, withBasic(clientID, clientSecret)),
	} {
		rec := serve(tokens, req)
		if rec.Code == http.StatusOK {
			var resp tokenResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				t.Fatal(err)
			}
			issued = append(issued, resp.AccessToken)
			record(rec, false)
			continue
		}
		record(rec, true)
	}
	if len(issued) != 2 {
		t.Fatalf("issued %d tokens, want 2", len(issued))
	}

	now := clock.now()
	external := sign(t, jwt.SigningMethodRS256, testRSAKey(), "rsa1", extClaims(now))
	expired := sign(t, jwt.SigningMethodRS256, testRSAKey(), "rsa1", jwt.RegisteredClaims{Issuer: extIssuer,
		Audience: jwt.ClaimStrings{extAudience}, Subject: extSubject, ExpiresAt: jwt.NewNumericDate(now.Add(-time.Hour))})
	presented := []string{
		"Bearer " + tokenA, "Bearer " + tokenA, "Bearer " + tokenA, // the third is rate limited
		"Bearer " + tokenB,
		"Bearer " + tokenA + "-but-wrong",
		"bearer " + wrongSecret,
		"Bearer " + issued[0],
		"Bearer " + tamper(issued[1]),
		"Bearer " + external,
		"Bearer " + expired,
		"Bearer " + wrongSecret + ".x.y",
		basicHeader("okta", basicPassword),
		basicHeader("okta", wrongSecret),
		basicHeader(basicPassword, basicPassword),
		"non-token",
		wrongSecret,
		"Token " + tokenB,
	}
	for _, authz := range presented {
		record(serve(mw, request(authz)), true)
	}
	if !strings.Contains(exposed.String(), "429") || !strings.Contains(logs.String(), "request refused") {
		t.Fatalf("the run did not exercise refusals and rate limiting:\n%s\n%s", exposed.String(), logs.String())
	}

	secrets := map[string]string{
		"token A": tokenA, "token B": tokenB, "client secret": clientSecret, "basic password": basicPassword,
		"signing key": string(hmacKey), "wrong secret presented": wrongSecret, "JWKS query secret": querySecret,
		"issued token 1": issued[0], "issued token 2": issued[1], "external token": external, "expired token": expired,
	}
	for name, s := range secrets {
		if strings.Contains(logs.String(), s) {
			t.Errorf("the logs contain the %s", name)
		}
		if strings.Contains(exposed.String(), s) {
			t.Errorf("a response contains the %s", name)
		}
		// Signatures are the secret-bearing part of a JWT; catch partial echoes too.
		if i := strings.LastIndexByte(s, '.'); i > 0 && len(s)-i > 20 && strings.Contains(logs.String()+exposed.String(), s[i+1:]) {
			t.Errorf("the logs or responses contain the signature of the %s", name)
		}
	}
}
