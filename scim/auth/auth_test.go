package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"testing"
)

const (
	tokenA = "a3f1c0de9b8e7d6c5b4a39281706f5e4"
	tokenB = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	tokenC = "hashed-token-7c2e9a1b5d4f3e6a8b0c"
)

func sha256Form(s string) string {
	d := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(d[:])
}

func TestMiddlewareStaticTokens(t *testing.T) {
	a := newTestAuth(t, Config{Tokens: []string{tokenA, tokenB, sha256Form(tokenC)}}, nil, nil)
	h := a.Middleware(echoPrincipal)
	bearerOnly := []string{`Bearer realm="scim-bridge"`}
	invalidToken := []string{`Bearer realm="scim-bridge", error="invalid_token"`}

	tests := []struct {
		name      string
		authz     []string
		principal string   // on success
		challenge []string // on 401
	}{
		{name: "the first configured token is accepted", authz: []string{"Bearer " + tokenA}, principal: "token:" + tokenID(sha256.Sum256([]byte(tokenA)))},
		{name: "the second configured token is accepted", authz: []string{"Bearer " + tokenB}, principal: "token:" + tokenID(sha256.Sum256([]byte(tokenB)))},
		{name: "a token configured by its sha256 is accepted", authz: []string{"Bearer " + tokenC}, principal: "token:" + tokenID(sha256.Sum256([]byte(tokenC)))},
		{name: "a lower-case bearer scheme is accepted", authz: []string{"bearer " + tokenA}, principal: "token:" + tokenID(sha256.Sum256([]byte(tokenA)))},
		{name: "an upper-case scheme with extra spaces is accepted", authz: []string{"BEARER   " + tokenB}, principal: "token:" + tokenID(sha256.Sum256([]byte(tokenB)))},
		{name: "a wrong token is refused as invalid_token", authz: []string{"Bearer " + tokenA + "x"}, challenge: invalidToken},
		{name: "a prefix of a valid token is refused", authz: []string{"Bearer " + tokenA[:20]}, challenge: invalidToken},
		{name: "the sha256 form itself is not a token", authz: []string{"Bearer " + sha256Form(tokenC)}, challenge: invalidToken},
		{name: "the bare hex digest is not a token", authz: []string{"Bearer " + strings.TrimPrefix(sha256Form(tokenC), "sha256:")}, challenge: invalidToken},
		{name: "a missing header gets a challenge without an error code", challenge: bearerOnly},
		{name: "an empty bearer token gets a challenge without an error code", authz: []string{"Bearer "}, challenge: bearerOnly},
		{name: "a credential without a scheme is refused (Okta's non-token test)", authz: []string{"non-token"}, challenge: bearerOnly},
		{name: "a bare token without a scheme is refused", authz: []string{tokenA}, challenge: bearerOnly},
		{name: "Basic credentials are refused when Basic is off", authz: []string{basicHeader("okta", tokenA)}, challenge: bearerOnly},
		{name: "an unknown scheme is refused", authz: []string{"Token " + tokenA}, challenge: bearerOnly},
		{name: "two Authorization headers are refused even if one is valid", authz: []string{"Bearer " + tokenA, "Bearer " + tokenB}, challenge: bearerOnly},
		{name: "an oversized header is refused", authz: []string{"Bearer " + strings.Repeat("a", maxCredentialLen)}, challenge: bearerOnly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(h, request(tt.authz...))
			if tt.principal != "" {
				if rec.Code != http.StatusOK || rec.Body.String() != tt.principal {
					t.Fatalf("got %d %q, want 200 %q", rec.Code, rec.Body.String(), tt.principal)
				}
				return
			}
			checkSCIMError(t, rec, http.StatusUnauthorized)
			if got := rec.Header().Values("WWW-Authenticate"); !slices.Equal(got, tt.challenge) {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.challenge)
			}
		})
	}
}

func TestMiddlewareBasic(t *testing.T) {
	const user, password = "okta-provisioner", "correct horse battery staple"
	a := newTestAuth(t, Config{BasicUser: user, BasicPassword: password}, nil, nil)
	h := a.Middleware(echoPrincipal)

	tests := []struct {
		name  string
		authz string
		ok    bool
	}{
		{name: "the right user and password are accepted", authz: basicHeader(user, password), ok: true},
		{name: "an upper-case BASIC scheme is accepted", authz: "BASIC " + strings.TrimPrefix(basicHeader(user, password), "Basic "), ok: true},
		{name: "a wrong user is refused", authz: basicHeader("someone-else", password)},
		{name: "a wrong password is refused", authz: basicHeader(user, password+"!")},
		{name: "a user that is a prefix of the real one is refused", authz: basicHeader(user[:4], password)},
		{name: "credentials without a colon are refused", authz: "Basic " + strings.TrimPrefix(basicHeader(user, ""), "Basic ")[:8]},
		{name: "credentials that are not base64 are refused", authz: "Basic ***"},
		{name: "a bearer token is refused when only Basic is on", authz: "Bearer " + tokenA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(h, request(tt.authz))
			if tt.ok {
				if rec.Code != http.StatusOK || rec.Body.String() != "basic:"+user {
					t.Fatalf("got %d %q, want 200 basic:%s", rec.Code, rec.Body.String(), user)
				}
				return
			}
			checkSCIMError(t, rec, http.StatusUnauthorized)
			want := []string{`Basic realm="scim-bridge", charset="UTF-8"`}
			if got := rec.Header().Values("WWW-Authenticate"); !slices.Equal(got, want) {
				t.Errorf("WWW-Authenticate = %q, want %q", got, want)
			}
		})
	}
}

func TestRefusalChallengesEveryEnabledScheme(t *testing.T) {
	a := newTestAuth(t, Config{Tokens: []string{tokenA}, BasicUser: "u", BasicPassword: "p"}, nil, nil)
	rec := serve(a.Middleware(echoPrincipal), request("Bearer wrong-token-value"))
	checkSCIMError(t, rec, http.StatusUnauthorized)
	want := []string{`Bearer realm="scim-bridge", error="invalid_token"`, `Basic realm="scim-bridge", charset="UTF-8"`}
	if got := rec.Header().Values("WWW-Authenticate"); !slices.Equal(got, want) {
		t.Errorf("WWW-Authenticate = %q, want %q", got, want)
	}
}

func TestRefusalDetailIsGeneric(t *testing.T) {
	a := newTestAuth(t, Config{Tokens: []string{tokenA}}, nil, nil)
	h := a.Middleware(echoPrincipal)
	// Different failures must be indistinguishable to the client apart from the missing-credential case.
	first := serve(h, request("Bearer nope")).Body.String()
	for _, authz := range []string{"Bearer " + tokenA + "0", "Bearer a.b.c", "Basic Zm9vOmJhcg==", "non-token"} {
		if got := serve(h, request(authz)).Body.String(); got != first {
			t.Errorf("body for %q = %s, want the same as for any other failure: %s", authz, got, first)
		}
	}
}

func TestSchemes(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []Scheme
	}{
		{
			name: "static tokens alone list one primary bearer scheme",
			cfg:  Config{Tokens: []string{tokenA}},
			want: []Scheme{{Type: "oauthbearertoken", Primary: true}},
		},
		{
			name: "Basic alone is primary",
			cfg:  Config{BasicUser: "u", BasicPassword: "p"},
			want: []Scheme{{Type: "httpbasic", Primary: true}},
		},
		{
			name: "OAuth and Basic list bearer first as primary",
			cfg:  Config{OAuthClientID: "okta", OAuthClientSecret: tokenB, BasicUser: "u", BasicPassword: "p"},
			want: []Scheme{{Type: "oauthbearertoken", Primary: true}, {Type: "httpbasic"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := newTestAuth(t, tt.cfg, nil, nil).Schemes()
			if len(got) != len(tt.want) {
				t.Fatalf("Schemes() = %+v, want %d entries", got, len(tt.want))
			}
			for i := range got {
				if got[i].Type != tt.want[i].Type || got[i].Primary != tt.want[i].Primary || got[i].Name == "" || got[i].Description == "" || got[i].SpecURI == "" {
					t.Errorf("Schemes()[%d] = %+v, want type %q primary %v with name, description and specUri", i, got[i], tt.want[i].Type, tt.want[i].Primary)
				}
			}
		})
	}
}

func TestTokenHandlerIsNilWithoutOAuth(t *testing.T) {
	a := newTestAuth(t, Config{Tokens: []string{tokenA}}, nil, nil)
	if h := a.TokenHandler(); h != nil {
		t.Errorf("TokenHandler() = %v, want nil when OAuth is not configured", h)
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	a, err := New(Config{Tokens: []string{tokenA}, RateLimit: 5}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	a.Close()
}
