package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scim-bridge/scim-bridge/adapters/targets"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
	"github.com/scim-bridge/scim-bridge/scim/auth"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAConfigFileReportsEveryProblemNamingConnectionAndKey(t *testing.T) {
	dir := t.TempDir()
	key := writeFile(t, dir, "key", "vendor-key\n")
	cfg := writeFile(t, dir, "config.yaml", fmt.Sprintf(`
listen: "127.0.0.1:0"
defaults:
  rate_limit: 10
connections:
  - name: a
    target: trainual
    base_path: /a/scim/v2
    upstream_token_file: %[1]s
    token: inline-secret
  - name: a
    target: thoughtindustries
    base_path: /a/scim/v2/
    upstream_token_file: /nonexistent/key
    colour: blue
  - name: "Bad Name"
    target: workday
    base_path: /c/scim/v2
    token_env: UNSET_VARIABLE
  - name: d
    target: trainual
    base_path: /d/scim/v2
    upstream_token_file: %[1]s
    token_file: %[1]s
    rate_limit: fast
`, key))
	err := run(t.Context(), []string{"serve"}, envOf(map[string]string{"SCIM_BRIDGE_CONFIG": cfg}), io.Discard, io.Discard,
		func(string) { t.Error("the server started") })
	if err == nil {
		t.Fatal("start-up did not fail")
	}
	for _, want := range []string{
		`connection "a": token is a secret: give token_file or token_env`,
		`connection "a": name is used by another connection`,
		`connection "a": base_path /a/scim/v2/ is also connection "a"'s`,
		`connection "a": upstream_token_file: cannot read the file`,
		`connection "a": unknown key "colour"`,
		`connection "Bad Name": name must be lower-case`,
		`connection "Bad Name": token_env: the environment variable UNSET_VARIABLE is empty`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%s", want, err)
		}
	}
	if strings.Contains(err.Error(), "inline-secret") || strings.Contains(err.Error(), "vendor-key") {
		t.Errorf("the error shows a secret:\n%s", err)
	}

	// Once the file parses, each connection's settings are checked with the target's own rules.
	cfg2 := writeFile(t, dir, "config2.yaml", fmt.Sprintf(`
connections:
  - name: d
    target: trainual
    base_path: /d/scim/v2
    upstream_token_file: %[1]s
    token_file: %[1]s
    rate_limit: fast
  - name: e
    target: thoughtindustries
    base_path: /e/scim/v2
    upstream_token_file: %[1]s
    token_file: %[1]s
`, key))
	err = run(t.Context(), []string{"serve"}, envOf(map[string]string{"SCIM_BRIDGE_CONFIG": cfg2}), io.Discard, io.Discard,
		func(string) { t.Error("the server started") })
	for _, want := range []string{`connection "d": rate_limit must be`, `connection "e":`, "ti_subdomain"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
}

func TestConnectionSettingsInTheEnvironmentNextToAFileAreRefused(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "c.yaml", "connections: []\n")
	err := run(t.Context(), []string{"serve"}, envOf(map[string]string{"SCIM_BRIDGE_CONFIG": cfg, "SCIM_BRIDGE_TOKEN": "t"}),
		io.Discard, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "SCIM_BRIDGE_TOKEN is set, but SCIM_BRIDGE_CONFIG describes the connections") {
		t.Errorf("error %v", err)
	}
}

// startServe runs `scim-bridge serve` in-process and returns its address and logs.
func startServe(t *testing.T, env map[string]string) (string, *upstreamtest.LogBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	var stderr upstreamtest.LogBuffer
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, envOf(env), io.Discard, &stderr, func(a string) { addrc <- a })
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case addr := <-addrc:
		return addr, &stderr
	case err := <-done:
		t.Fatalf("serve stopped: %v\n%s", err, stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not start")
	}
	return "", nil
}

func scimDo(t *testing.T, method, url, auth, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestTwoConnectionsFromOneFile(t *testing.T) {
	dir := t.TempDir()
	type conn struct {
		name, target, auth string
		emu                targets.Emulator
	}
	conns := []*conn{
		{name: "okta-trainual", target: "trainual", auth: "Bearer token-for-trainual-0123456789"},
		{name: "entra-ti", target: "thoughtindustries", auth: "Basic " + base64.StdEncoding.EncodeToString([]byte("entra:basic-password-0123456789"))},
	}
	var yaml strings.Builder
	yaml.WriteString("listen: 127.0.0.1:0\ndb: " + filepath.Join(dir, "links.db") + "\nconnections:\n")
	for _, c := range conns {
		tg, _ := targets.Lookup(c.target)
		c.emu = tg.Emulator("key-" + c.name)
		srv := httptest.NewServer(c.emu)
		t.Cleanup(srv.Close)
		keyFile := writeFile(t, dir, c.name+".key", "key-"+c.name+"\n")
		fmt.Fprintf(&yaml, "  - name: %s\n    target: %s\n    base_path: /%s/scim/v2\n    upstream_url: %s\n    upstream_token_file: %s\n",
			c.name, c.target, c.name, c.emu.BaseURL(srv.URL), keyFile)
		if strings.HasPrefix(c.auth, "Bearer ") {
			fmt.Fprintf(&yaml, "    token_file: %s\n", writeFile(t, dir, c.name+".token", strings.TrimPrefix(c.auth, "Bearer ")))
		} else {
			fmt.Fprintf(&yaml, "    basic_user: entra\n    basic_password_env: TEST_BASIC_PASSWORD\n")
		}
	}
	cfg := writeFile(t, dir, "config.yaml", yaml.String())
	addr, logs := startServe(t, map[string]string{"SCIM_BRIDGE_CONFIG": cfg, "TEST_BASIC_PASSWORD": "basic-password-0123456789"})

	for i, c := range conns {
		base := "http://" + addr + "/" + c.name + "/scim/v2"
		status, body := scimDo(t, "POST", base+"/Users", c.auth,
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"same@example.com","name":{"givenName":"Same","familyName":"Person"}}`)
		if status != http.StatusCreated {
			t.Fatalf("%s: create %d %s", c.name, status, body)
		}
		if c.emu.Users() != 1 {
			t.Errorf("%s: its vendor holds %d accounts", c.name, c.emu.Users())
		}
		// The other connection's credential never reaches this connection's users.
		other := conns[1-i]
		if status, _ := scimDo(t, "GET", base+"/Users", other.auth, ""); status != http.StatusUnauthorized {
			t.Errorf("%s's credential on %s: %d, want 401", other.name, c.name, status)
		}
		status, body = scimDo(t, "GET", base+`/Users?filter=userName%20eq%20%22same@example.com%22`, c.auth, "")
		if status != http.StatusOK || !strings.Contains(body, `"totalResults":1`) {
			t.Errorf("%s: lookup %d %s", c.name, status, body)
		}
	}
	// Access lines are written in batches (accesslog.go): wait for them.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), `"msg":"request"`); {
		if time.Now().After(deadline) {
			t.Fatal("no access log line within 5s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(line, `"msg":"request"`) && !strings.Contains(line, `"connection":"`) {
			t.Errorf("a request log line without its connection: %s", line)
		}
	}
	if strings.Contains(logs.String(), "basic-password-0123456789") || strings.Contains(logs.String(), "token-for-trainual") {
		t.Error("a credential reached the logs")
	}
}

func TestSandboxServesEveryTargetSideBySide(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr upstreamtest.LogBuffer
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"sandbox", "--target", "all", "--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "s.db")},
			envOf(nil), &stdout, &stderr, func(a string) { addrc <- a })
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("sandbox stopped: %v\n%s", err, stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatal("sandbox did not start")
	}
	out := stdout.String()
	m := regexp.MustCompile(`SCIM base URL: (\S+)\s+Bearer token:\s+(\S+)`).FindAllStringSubmatch(out, -1)
	if len(m) != len(targets.Names()) || !strings.Contains(out, "Rate limit: off") {
		t.Fatalf("the sandbox does not print one URL and token per target, or the rate limit:\n%s", out)
	}
	for i, c := range m {
		if !strings.HasPrefix(c[1], "http://"+addr+"/") {
			t.Errorf("URL %s", c[1])
		}
		status, body := scimDo(t, "POST", c[1]+"/Users", "Bearer "+c[2],
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"jane@example.com","name":{"givenName":"Jane","familyName":"Doe"}}`)
		if status != http.StatusCreated {
			t.Errorf("%s: %d %s", c[1], status, body)
		}
		other := m[(i+1)%len(m)]
		if status, _ := scimDo(t, "GET", c[1]+"/Users", "Bearer "+other[2], ""); status != http.StatusUnauthorized {
			t.Errorf("another connection's token on %s: %d", c[1], status)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

func TestACredentialOpensOneConnectionOnly(t *testing.T) {
	a := func(mod func(*auth.Config)) auth.Config {
		var c auth.Config
		mod(&c)
		return c
	}
	sum := sha256.Sum256([]byte("shared-token-0123456789"))
	for _, tc := range []struct {
		name string
		a, b auth.Config
		want string
	}{
		{"one token", a(func(c *auth.Config) { c.Tokens = []string{"x-token-000000000000", "shared-token-0123456789"} }),
			a(func(c *auth.Config) { c.Tokens = []string{"shared-token-0123456789"} }), "token"},
		{"a token and its sha256 form", a(func(c *auth.Config) { c.Tokens = []string{"shared-token-0123456789"} }),
			a(func(c *auth.Config) { c.Tokens = []string{"sha256:" + hex.EncodeToString(sum[:])} }), "token"},
		{"Basic", a(func(c *auth.Config) { c.BasicUser, c.BasicPassword = "u", "p" }), a(func(c *auth.Config) { c.BasicUser, c.BasicPassword = "u", "p" }), "basic_user"},
		{"OAuth client", a(func(c *auth.Config) { c.OAuthClientID = "client" }), a(func(c *auth.Config) { c.OAuthClientID = "client" }), "oauth_client_id"},
		{"external JWTs", a(func(c *auth.Config) { c.JWKSURL, c.JWTIssuer, c.JWTAudience = "https://idp/jwks", "iss", "aud" }),
			a(func(c *auth.Config) { c.JWKSURL, c.JWTIssuer, c.JWTAudience = "https://idp/jwks", "iss", "aud" }), "jwks_url"},
		{"issued JWTs", a(func(c *auth.Config) { c.JWTSigningKey = []byte("k") }), a(func(c *auth.Config) { c.JWTSigningKey = []byte("k") }), "jwt_signing_key"},
		{"distinct credentials", a(func(c *auth.Config) { c.Tokens = []string{"one"}; c.JWKSURL, c.JWTAudience = "https://idp/jwks", "a" }),
			a(func(c *auth.Config) { c.Tokens = []string{"two"}; c.JWKSURL, c.JWTAudience = "https://idp/jwks", "b" }), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := sharedCredentials([]string{"a", "b"}, []auth.Config{tc.a, tc.b})
			if tc.want == "" {
				if len(got) != 0 {
					t.Errorf("refused: %v", got)
				}
				return
			}
			if len(got) != 1 || !strings.Contains(got[0], `connection "b": its `+tc.want) || !strings.Contains(got[0], `connection "a"`) {
				t.Errorf("problems %v, want one naming %s", got, tc.want)
			}
			if strings.Contains(strings.Join(got, ""), "shared-token") {
				t.Error("a problem shows the credential")
			}
		})
	}
}

// TestAnOAuthClientOrAJWTOpensItsOwnConnectionOnly covers the token-based auth modes (static tokens and Basic are
// in TestTwoConnectionsFromOneFile): a token issued to, or minted for, one connection is refused by the other.
func TestAnOAuthClientOrAJWTOpensItsOwnConnectionOnly(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"keys":[{"kty":"RSA","kid":"k1","use":"sig","alg":"RS256","n":%q,"e":%q}]}`,
			base64.RawURLEncoding.EncodeToString(key.N.Bytes()), base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()))
	}))
	t.Cleanup(jwks.Close)

	dir := t.TempDir()
	var yaml strings.Builder
	yaml.WriteString("listen: 127.0.0.1:0\ndb: " + filepath.Join(dir, "links.db") + "\nconnections:\n")
	for _, name := range []string{"a", "b"} {
		tg, _ := targets.Lookup("trainual")
		em := tg.Emulator("key")
		srv := httptest.NewServer(em)
		t.Cleanup(srv.Close)
		fmt.Fprintf(&yaml, `  - name: %[1]s
    target: trainual
    base_path: /%[1]s/scim/v2
    upstream_url: %[2]s
    upstream_token_file: %[3]s
    oauth_client_id: client-%[1]s
    oauth_client_secret_env: SECRET_%[1]s
    jwks_url: %[4]s
    jwt_issuer: https://idp.example
    jwt_audience: scim-%[1]s
`, name, em.BaseURL(srv.URL), writeFile(t, dir, name+".key", "key"), jwks.URL)
	}
	cfg := writeFile(t, dir, "config.yaml", yaml.String())
	addr, _ := startServe(t, map[string]string{"SCIM_BRIDGE_CONFIG": cfg,
		"SECRET_a": "secret-a-0123456789abcdef", "SECRET_b": "secret-b-0123456789abcdef"})
	root := "http://" + addr

	token := func(path, client, secret string) (int, string) {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {client}, "client_secret": {secret}}
		resp, err := http.PostForm(root+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.AccessToken
	}
	mint := func(aud string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.RegisteredClaims{Issuer: "https://idp.example",
			Audience: jwt.ClaimStrings{aud}, Subject: "entra", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))})
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	users := func(conn, bearer string) int {
		status, _ := scimDo(t, "GET", root+"/"+conn+"/scim/v2/Users", "Bearer "+bearer, "")
		return status
	}

	for _, c := range []struct{ conn, other string }{{"a", "b"}, {"b", "a"}} {
		// /oauth/token sends the request to the connection whose client it names.
		status, tok := token("/oauth/token", "client-"+c.conn, "secret-"+c.conn+"-0123456789abcdef")
		if status != http.StatusOK || tok == "" {
			t.Fatalf("token for %s: %d", c.conn, status)
		}
		if got := users(c.conn, tok); got != http.StatusOK {
			t.Errorf("%s's OAuth token on %s: %d", c.conn, c.conn, got)
		}
		if got := users(c.other, tok); got != http.StatusUnauthorized {
			t.Errorf("%s's OAuth token on %s: %d, want 401", c.conn, c.other, got)
		}
		// A client is only known at its own connection's token endpoint.
		if status, _ := token("/"+c.other+"/scim/v2/oauth/token", "client-"+c.conn, "secret-"+c.conn+"-0123456789abcdef"); status != http.StatusUnauthorized {
			t.Errorf("%s's client at %s's token endpoint: %d, want 401", c.conn, c.other, status)
		}
		jwtFor := mint("scim-" + c.conn)
		if got := users(c.conn, jwtFor); got != http.StatusOK {
			t.Errorf("a JWT for %s on %s: %d", c.conn, c.conn, got)
		}
		if got := users(c.other, jwtFor); got != http.StatusUnauthorized {
			t.Errorf("a JWT for %s on %s: %d, want 401", c.conn, c.other, got)
		}
	}
	if status, _ := token("/oauth/token", "client-nobody", "x"); status != http.StatusUnauthorized {
		t.Errorf("an unknown client at /oauth/token: %d", status)
	}
}
