package auth

import (
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	clientID     = "okta-scim-client"
	clientSecret = "cl1ent-s3cret+with/odd=chars:ok"
)

var hmacKey = []byte("0123456789abcdef0123456789abcdef-hs256-test-key")

func oauthConfig() Config {
	return Config{OAuthClientID: clientID, OAuthClientSecret: clientSecret, JWTSigningKey: hmacKey}
}

func tokenRequest(form url.Values, mutate ...func(*http.Request)) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://bridge.test/oauth/token", strings.NewReader(form.Encode()))
	r.RemoteAddr = "192.0.2.10:50000"
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, m := range mutate {
		m(r)
	}
	return r
}

func withBasic(user, password string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", basicHeader(user, password)) }
}

// fetchToken runs a successful token request and returns the access token.
func fetchToken(t *testing.T, a *Authenticator) string {
	t.Helper()
	rec := serve(a.TokenHandler(), tokenRequest(url.Values{"grant_type": {"client_credentials"}}, withBasic(clientID, clientSecret)))
	if rec.Code != http.StatusOK {
		t.Fatalf("token request: %d %s", rec.Code, rec.Body.String())
	}
	var resp tokenResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	return resp.AccessToken
}

func TestTokenEndpoint(t *testing.T) {
	a := newTestAuth(t, oauthConfig(), nil, nil)
	h := a.TokenHandler()
	cc := url.Values{"grant_type": {"client_credentials"}}
	with := func(extra url.Values) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}}
		for k, vs := range extra {
			v[k] = vs
		}
		return v
	}

	tests := []struct {
		name      string
		req       *http.Request
		status    int
		errCode   string // "" on success
		challenge bool
	}{
		{name: "credentials in the body get a token", req: tokenRequest(with(url.Values{"client_id": {clientID}, "client_secret": {clientSecret}})), status: 200},
		{name: "credentials in Basic get a token", req: tokenRequest(cc, withBasic(clientID, clientSecret)), status: 200},
		{name: "form-encoded credentials in Basic get a token (RFC 6749 §2.3.1)", req: tokenRequest(cc, withBasic(url.QueryEscape(clientID), url.QueryEscape(clientSecret))), status: 200},
		{name: "a lower-case basic scheme gets a token", req: tokenRequest(cc, func(r *http.Request) {
			r.Header.Set("Authorization", "basic"+strings.TrimPrefix(basicHeader(clientID, clientSecret), "Basic"))
		}), status: 200},
		{name: "a scope parameter is ignored", req: tokenRequest(with(url.Values{"scope": {"scim"}}), withBasic(clientID, clientSecret)), status: 200},
		{name: "a wrong secret in the body is invalid_client", req: tokenRequest(with(url.Values{"client_id": {clientID}, "client_secret": {clientSecret + "x"}})), status: 401, errCode: "invalid_client", challenge: true},
		{name: "a wrong secret in Basic is invalid_client with a challenge", req: tokenRequest(cc, withBasic(clientID, "nope")), status: 401, errCode: "invalid_client", challenge: true},
		{name: "a wrong client id is invalid_client", req: tokenRequest(cc, withBasic("other-client", clientSecret)), status: 401, errCode: "invalid_client", challenge: true},
		{name: "no client credentials is invalid_client", req: tokenRequest(cc), status: 401, errCode: "invalid_client", challenge: true},
		{name: "a bearer Authorization is invalid_client", req: tokenRequest(cc, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tokenA) }), status: 401, errCode: "invalid_client", challenge: true},
		{name: "another grant type is unsupported_grant_type", req: tokenRequest(url.Values{"grant_type": {"password"}}, withBasic(clientID, clientSecret)), status: 400, errCode: "unsupported_grant_type"},
		{name: "a missing grant type is invalid_request", req: tokenRequest(url.Values{}, withBasic(clientID, clientSecret)), status: 400, errCode: "invalid_request"},
		{name: "a repeated parameter is invalid_request", req: tokenRequest(url.Values{"grant_type": {"client_credentials", "client_credentials"}}, withBasic(clientID, clientSecret)), status: 400, errCode: "invalid_request"},
		{name: "two client authentication methods are invalid_request", req: tokenRequest(with(url.Values{"client_secret": {clientSecret}}), withBasic(clientID, clientSecret)), status: 400, errCode: "invalid_request"},
		{name: "a body client_id that differs from Basic is invalid_request", req: tokenRequest(with(url.Values{"client_id": {"someone-else"}}), withBasic(clientID, clientSecret)), status: 400, errCode: "invalid_request"},
		{name: "a JSON body is invalid_request", req: tokenRequest(cc, withBasic(clientID, clientSecret), func(r *http.Request) { r.Header.Set("Content-Type", "application/json") }), status: 400, errCode: "invalid_request"},
		{name: "a secret in the query string is invalid_request", req: tokenRequest(cc, withBasic(clientID, clientSecret), func(r *http.Request) { r.URL.RawQuery = "client_secret=" + url.QueryEscape(clientSecret) }), status: 400, errCode: "invalid_request"},
		{name: "an oversized body is refused", req: tokenRequest(with(url.Values{"pad": {strings.Repeat("x", maxTokenRequestBytes)}}), withBasic(clientID, clientSecret)), status: 413, errCode: "invalid_request"},
		{name: "GET is 405", req: func() *http.Request {
			r := tokenRequest(cc, withBasic(clientID, clientSecret))
			r.Method = http.MethodGet
			return r
		}(), status: 405, errCode: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(h, tt.req)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d (%s)", rec.Code, tt.status, rec.Body.String())
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if tt.status == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q, want POST", rec.Header().Get("Allow"))
			}
			if got := rec.Header().Get("WWW-Authenticate"); tt.challenge != (got == `Basic realm="scim-bridge", charset="UTF-8"`) {
				t.Errorf("WWW-Authenticate = %q, want challenge %v", got, tt.challenge)
			}
			if tt.errCode != "" {
				var e oauthError
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error != tt.errCode {
					t.Errorf("body = %s, want error %q", rec.Body.String(), tt.errCode)
				}
				return
			}
			var resp tokenResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				t.Fatal(err)
			}
			if resp.AccessToken == "" || resp.TokenType != "Bearer" || resp.ExpiresIn != 3600 {
				t.Errorf("response = %+v, want a Bearer token expiring in 3600 s", resp)
			}
		})
	}
}

func TestIssuedTokenClaims(t *testing.T) {
	clock := newFakeClock()
	cfg := oauthConfig()
	cfg.JWTTTL = 15 * time.Minute
	a := newTestAuth(t, cfg, clock, nil)

	first, second := fetchToken(t, a), fetchToken(t, a)
	var claims jwt.RegisteredClaims
	tok, err := jwt.ParseWithClaims(first, &claims, func(*jwt.Token) (any, error) { return hmacKey, nil },
		jwt.WithTimeFunc(clock.now), jwt.WithValidMethods([]string{"HS256"}))
	if err != nil {
		t.Fatalf("issued token does not verify with the configured key: %v", err)
	}
	if tok.Header["kid"] == "" || claims.Issuer != "scim-bridge" || len(claims.Audience) != 1 || claims.Audience[0] != "scim-bridge" ||
		claims.Subject != clientID || claims.ID == "" {
		t.Errorf("header %v claims %+v: want kid, iss and aud scim-bridge, sub %s and a jti", tok.Header, claims, clientID)
	}
	if got := claims.ExpiresAt.Sub(claims.IssuedAt.Time); got != 15*time.Minute {
		t.Errorf("exp - iat = %v, want the configured 15m", got)
	}
	var claims2 jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(second, &claims2); err != nil || claims2.ID == claims.ID {
		t.Errorf("two tokens share jti %q: jti must be random", claims.ID)
	}
}

func TestIssuedTokenIsAcceptedUntilItExpires(t *testing.T) {
	clock := newFakeClock()
	a := newTestAuth(t, oauthConfig(), clock, nil)
	h := a.Middleware(echoPrincipal)
	token := fetchToken(t, a)

	if rec := serve(h, request("Bearer "+token)); rec.Code != http.StatusOK || rec.Body.String() != "oauth:"+clientID {
		t.Fatalf("fresh token: %d %q, want 200 oauth:%s", rec.Code, rec.Body.String(), clientID)
	}
	clock.advance(time.Hour + ownSkew + time.Second)
	rec := serve(h, request("Bearer "+token))
	checkSCIMError(t, rec, http.StatusUnauthorized)
	if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer realm="scim-bridge", error="invalid_token"` {
		t.Errorf("WWW-Authenticate = %q, want invalid_token", got)
	}
}

func TestForgedOwnTokensAreRefused(t *testing.T) {
	clock := newFakeClock()
	a := newTestAuth(t, oauthConfig(), clock, nil)
	h := a.Middleware(echoPrincipal)
	kid := a.signer.kid
	now := clock.now()
	valid := func() jwt.RegisteredClaims {
		return jwt.RegisteredClaims{Issuer: "scim-bridge", Audience: jwt.ClaimStrings{"scim-bridge"}, Subject: clientID,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), ID: "j"}
	}
	mod := func(f func(*jwt.RegisteredClaims)) jwt.RegisteredClaims { c := valid(); f(&c); return c }

	// The control proves the forgeries below fail for the reason named, not because signing is broken.
	if rec := serve(h, request("Bearer "+sign(t, jwt.SigningMethodHS256, hmacKey, kid, valid()))); rec.Code != http.StatusOK {
		t.Fatalf("a correctly signed token was refused: %d", rec.Code)
	}
	tests := []struct {
		name  string
		token string
	}{
		{name: "an expired token is refused", token: sign(t, jwt.SigningMethodHS256, hmacKey, kid, mod(func(c *jwt.RegisteredClaims) {
			c.IssuedAt = jwt.NewNumericDate(now.Add(-2 * time.Hour))
			c.ExpiresAt = jwt.NewNumericDate(now.Add(-2 * time.Minute))
		}))},
		{name: "a token without exp is refused", token: sign(t, jwt.SigningMethodHS256, hmacKey, kid, mod(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil }))},
		{name: "a tampered signature is refused", token: tamper(sign(t, jwt.SigningMethodHS256, hmacKey, kid, valid()))},
		{name: "alg none is refused", token: unsignedToken(kid, valid())},
		{name: "an HS256 token signed with a different key is refused", token: sign(t, jwt.SigningMethodHS256, []byte("another-key-of-sufficient-length-0123456789"), kid, valid())},
		{name: "an HS512 token with the right key is refused", token: sign(t, jwt.SigningMethodHS512, hmacKey, kid, valid())},
		{name: "a token for another audience is refused", token: sign(t, jwt.SigningMethodHS256, hmacKey, kid, mod(func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{"other"} }))},
		{name: "a token from another issuer is refused", token: sign(t, jwt.SigningMethodHS256, hmacKey, kid, mod(func(c *jwt.RegisteredClaims) { c.Issuer = "other" }))},
		{name: "a token for another client is refused", token: sign(t, jwt.SigningMethodHS256, hmacKey, kid, mod(func(c *jwt.RegisteredClaims) { c.Subject = "other-client" }))},
		{name: "a token issued in the future is refused", token: sign(t, jwt.SigningMethodHS256, hmacKey, kid, mod(func(c *jwt.RegisteredClaims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour)) }))},
		{name: "a correctly signed token with another kid is refused", token: sign(t, jwt.SigningMethodHS256, hmacKey, "other-kid", valid())},
		{name: "a token from a previous process (random key) is refused", token: fetchToken(t, newTestAuth(t, Config{OAuthClientID: clientID, OAuthClientSecret: clientSecret}, clock, nil))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(h, request("Bearer "+tt.token))
			checkSCIMError(t, rec, http.StatusUnauthorized)
			if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer realm="scim-bridge", error="invalid_token"` {
				t.Errorf("WWW-Authenticate = %q, want invalid_token", got)
			}
		})
	}
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func mustPKCS8(k any) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err)
	}
	return der
}

func TestSigningKeyKinds(t *testing.T) {
	sec1, err := x509.MarshalECPrivateKey(testECKey())
	if err != nil {
		t.Fatal(err)
	}
	p384 := mustEC(elliptic.P384())
	tests := []struct {
		name    string
		key     []byte
		wantAlg string
	}{
		{name: "a raw secret signs HS256", key: hmacKey, wantAlg: "HS256"},
		{name: "an RSA PKCS #1 PEM key signs RS256", key: pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(testRSAKey())), wantAlg: "RS256"},
		{name: "an RSA PKCS #8 PEM key signs RS256", key: pemBlock("PRIVATE KEY", mustPKCS8(testRSAKey())), wantAlg: "RS256"},
		{name: "an EC P-256 SEC 1 PEM key signs ES256", key: pemBlock("EC PRIVATE KEY", sec1), wantAlg: "ES256"},
		{name: "an EC P-256 PKCS #8 PEM key signs ES256", key: pemBlock("PRIVATE KEY", mustPKCS8(testECKey())), wantAlg: "ES256"},
		{name: "an EC P-384 PKCS #8 PEM key signs ES384", key: pemBlock("PRIVATE KEY", mustPKCS8(p384)), wantAlg: "ES384"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := oauthConfig()
			cfg.JWTSigningKey = tt.key
			a := newTestAuth(t, cfg, nil, nil)
			token := fetchToken(t, a)
			tok, _, err := jwt.NewParser().ParseUnverified(token, &jwt.RegisteredClaims{})
			if err != nil || tok.Method.Alg() != tt.wantAlg {
				t.Fatalf("issued token alg = %v (%v), want %s", tok.Header["alg"], err, tt.wantAlg)
			}
			if rec := serve(a.Middleware(echoPrincipal), request("Bearer "+token)); rec.Code != http.StatusOK {
				t.Errorf("issued %s token refused: %d", tt.wantAlg, rec.Code)
			}
		})
	}
}

func TestAsymmetricOwnKeyRefusesHMACWithPublicKey(t *testing.T) {
	cfg := oauthConfig()
	cfg.JWTSigningKey = pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(testRSAKey()))
	clock := newFakeClock()
	a := newTestAuth(t, cfg, clock, nil)
	pubDER, err := x509.MarshalPKIXPublicKey(&testRSAKey().PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	now := clock.now()
	forged := sign(t, jwt.SigningMethodHS256, pemBlock("PUBLIC KEY", pubDER), a.signer.kid, jwt.RegisteredClaims{
		Issuer: "scim-bridge", Audience: jwt.ClaimStrings{"scim-bridge"}, Subject: clientID,
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	})
	checkSCIMError(t, serve(a.Middleware(echoPrincipal), request("Bearer "+forged)), http.StatusUnauthorized)
}

func TestParseSigningKeyRefusesWeakOrUnsupportedKeys(t *testing.T) {
	small := mustRSA(1024)
	p224 := mustEC(elliptic.P224())
	tests := []struct {
		name string
		key  []byte
	}{
		{name: "an RSA key below 2048 bits", key: pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(small))},
		{name: "an EC key on P-224", key: pemBlock("PRIVATE KEY", mustPKCS8(p224))},
		{name: "an encrypted PEM key", key: pemBlock("ENCRYPTED PRIVATE KEY", []byte{1, 2, 3})},
		{name: "a certificate instead of a key", key: pemBlock("CERTIFICATE", []byte{1, 2, 3})},
		{name: "a public key instead of a private key", key: pemBlock("PUBLIC KEY", []byte{1, 2, 3})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseSigningKey(tt.key); err == nil {
				t.Errorf("parseSigningKey accepted %s", tt.name)
			}
		})
	}
}

func TestTokenRouterSendsEachClientToItsAuthenticator(t *testing.T) {
	other := Config{OAuthClientID: "entra-client", OAuthClientSecret: "another-s3cret-0123456789", JWTSigningKey: hmacKey}
	okta, entra := newTestAuth(t, oauthConfig(), nil, nil), newTestAuth(t, other, nil, nil)
	if TokenRouter(newTestAuth(t, Config{Tokens: []string{"static-token-0123456789abcdef0123"}}, nil, nil)) != nil {
		t.Error("a router with no OAuth client serves /oauth/token")
	}
	router := TokenRouter(okta, entra)
	grant := url.Values{"grant_type": {"client_credentials"}}
	for _, tc := range []struct {
		name string
		req  *http.Request
		sub  string
	}{
		{"form", tokenRequest(url.Values{"grant_type": {"client_credentials"}, "client_id": {other.OAuthClientID}, "client_secret": {other.OAuthClientSecret}}), other.OAuthClientID},
		{"Basic", tokenRequest(grant, withBasic(clientID, clientSecret)), clientID},
	} {
		rec := serve(router, tc.req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", tc.name, rec.Code, rec.Body)
		}
		var body tokenResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		var claims jwt.RegisteredClaims
		if _, err := jwt.ParseWithClaims(body.AccessToken, &claims, func(*jwt.Token) (any, error) { return hmacKey, nil }); err != nil || claims.Subject != tc.sub {
			t.Errorf("%s: token for %q (%v), want %q", tc.name, claims.Subject, err, tc.sub)
		}
	}
	// An unknown client is answered as either endpoint would answer it.
	rec := serve(router, tokenRequest(grant, withBasic("nobody", clientSecret)))
	var e oauthError
	_ = json.Unmarshal(rec.Body.Bytes(), &e)
	if rec.Code != http.StatusUnauthorized || e.Error != errInvalidClient ||
		rec.Header().Get("WWW-Authenticate") != `Basic realm="scim-bridge", charset="UTF-8"` || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("unknown client: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
}
