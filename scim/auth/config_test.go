package auth

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	const secret = "super-secret-client-value-1234"
	tests := []struct {
		name    string
		cfg     Config
		wantEnv []string // each must be named in the error; none means valid
	}{
		{name: "static tokens alone are valid", cfg: Config{Tokens: []string{tokenA, sha256Form(tokenB)}}},
		{name: "every mode at once is valid", cfg: Config{
			Tokens: []string{tokenA}, OAuthClientID: "okta", OAuthClientSecret: secret, JWTTTL: 30 * time.Minute,
			JWKSURL: "https://login.example.com/keys", JWTIssuer: "https://login.example.com/", JWTAudience: "api://scim",
			BasicUser: "u", BasicPassword: "p", RateLimit: 50, AllowCIDRs: []string{"10.0.0.0/8", "192.0.2.1"},
			TrustedProxies: []string{"::1/128"},
		}},
		{name: "a loopback http JWKS URL is valid", cfg: Config{JWKSURL: "http://127.0.0.1:8080/keys", JWTIssuer: "i", JWTAudience: "a"}},
		{name: "no mode at all is refused", cfg: Config{}, wantEnv: []string{EnvToken, EnvOAuthClientID, EnvJWKSURL, EnvBasicUser}},
		{name: "an empty token is refused", cfg: Config{Tokens: []string{""}}, wantEnv: []string{EnvToken}},
		{name: "a short token is refused", cfg: Config{Tokens: []string{"Xq7kP9w"}}, wantEnv: []string{EnvToken}},
		{name: "a token with a space is refused", cfg: Config{Tokens: []string{"has a space in it 1234"}}, wantEnv: []string{EnvToken}},
		{name: "a sha256 form with bad hex is refused", cfg: Config{Tokens: []string{"sha256:xyz"}}, wantEnv: []string{EnvToken}},
		{name: "a sha256 form with the wrong length is refused", cfg: Config{Tokens: []string{"sha256:abcd"}}, wantEnv: []string{EnvToken}},
		{name: "a client id without a secret is refused", cfg: Config{OAuthClientID: "okta"}, wantEnv: []string{EnvOAuthClientSecret}},
		{name: "a client secret without an id is refused", cfg: Config{OAuthClientSecret: secret}, wantEnv: []string{EnvOAuthClientID}},
		{name: "a short client secret is refused", cfg: Config{OAuthClientID: "okta", OAuthClientSecret: "Xq7kP9w"}, wantEnv: []string{EnvOAuthClientSecret}},
		{name: "a short HS256 key is refused", cfg: Config{OAuthClientID: "okta", OAuthClientSecret: secret, JWTSigningKey: []byte("too-short-key")}, wantEnv: []string{EnvJWTSigningKey}},
		{name: "a broken PEM key is refused", cfg: Config{OAuthClientID: "okta", OAuthClientSecret: secret, JWTSigningKey: []byte("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n")}, wantEnv: []string{EnvJWTSigningKey}},
		{name: "a signing key without OAuth is refused", cfg: Config{Tokens: []string{tokenA}, JWTSigningKey: []byte(strings.Repeat("k", 32))}, wantEnv: []string{EnvJWTSigningKey}},
		{name: "a TTL below a minute is refused", cfg: Config{OAuthClientID: "okta", OAuthClientSecret: secret, JWTTTL: time.Second}, wantEnv: []string{EnvJWTTTL}},
		{name: "a negative TTL is refused", cfg: Config{OAuthClientID: "okta", OAuthClientSecret: secret, JWTTTL: -time.Hour}, wantEnv: []string{EnvJWTTTL}},
		{name: "a JWKS URL without issuer and audience is refused", cfg: Config{JWKSURL: "https://login.example.com/keys"}, wantEnv: []string{EnvJWTIssuer, EnvJWTAudience}},
		{name: "a plain http JWKS URL to a remote host is refused", cfg: Config{JWKSURL: "http://login.example.com/keys", JWTIssuer: "i", JWTAudience: "a"}, wantEnv: []string{EnvJWKSURL}},
		{name: "a relative JWKS URL is refused", cfg: Config{JWKSURL: "/keys", JWTIssuer: "i", JWTAudience: "a"}, wantEnv: []string{EnvJWKSURL}},
		{name: "a JWKS URL with credentials is refused", cfg: Config{JWKSURL: "https://user:" + secret + "@login.example.com/keys", JWTIssuer: "i", JWTAudience: "a"}, wantEnv: []string{EnvJWKSURL}},
		{name: "a basic user without a password is refused", cfg: Config{BasicUser: "u"}, wantEnv: []string{EnvBasicPassword}},
		{name: "a basic password without a user is refused", cfg: Config{BasicPassword: secret}, wantEnv: []string{EnvBasicUser}},
		{name: "a basic user with a colon is refused", cfg: Config{BasicUser: "a:b", BasicPassword: secret}, wantEnv: []string{EnvBasicUser}},
		{name: "a negative rate limit is refused", cfg: Config{Tokens: []string{tokenA}, RateLimit: -1}, wantEnv: []string{EnvRateLimit}},
		{name: "a bad allow-list entry is refused", cfg: Config{Tokens: []string{tokenA}, AllowCIDRs: []string{"10.0.0.0/33"}}, wantEnv: []string{EnvAllowCIDRs}},
		{name: "a bad trusted proxy is refused", cfg: Config{Tokens: []string{tokenA}, TrustedProxies: []string{"proxy.internal"}}, wantEnv: []string{EnvTrustedProxies}},
		{name: "every problem is reported at once", cfg: Config{Tokens: []string{"Xq7kP9w"}, BasicUser: "u", RateLimit: -1, AllowCIDRs: []string{"x"}},
			wantEnv: []string{EnvToken, EnvBasicPassword, EnvRateLimit, EnvAllowCIDRs}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.wantEnv) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error naming %v", tt.wantEnv)
			}
			for _, env := range tt.wantEnv {
				if !strings.Contains(err.Error(), env) {
					t.Errorf("Validate() = %q, want it to name %s", err, env)
				}
			}
			for _, s := range secretsOf(tt.cfg) {
				if strings.Contains(err.Error(), s) {
					t.Errorf("Validate() = %q, which contains a configured secret", err)
				}
			}
		})
	}
}

// secretsOf lists the secret values of a config that are long enough to search for meaningfully.
func secretsOf(c Config) []string {
	var out []string
	for _, s := range append(append([]string{}, c.Tokens...), c.OAuthClientSecret, c.BasicPassword, string(c.JWTSigningKey)) {
		if len(s) >= 4 && !strings.HasPrefix(s, "sha256:") {
			out = append(out, s)
		}
	}
	return out
}

func TestConfigPrintsNoSecrets(t *testing.T) {
	cfg := Config{
		Tokens: []string{tokenA}, OAuthClientID: "okta", OAuthClientSecret: "client-secret-value-123",
		JWTSigningKey: []byte("signing-key-value-0123456789abcdef"), BasicUser: "u", BasicPassword: "basic-password-value",
		JWKSURL: "https://login.example.com/keys?api_key=query-secret-value", JWTIssuer: "i", JWTAudience: "a",
	}
	var b strings.Builder
	logger := slog.New(slog.NewJSONHandler(&b, nil))
	logger.Info("config", "cfg", cfg)
	out := b.String() + fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg)
	for _, s := range append(secretsOf(cfg), "query-secret-value") {
		if strings.Contains(out, s) {
			t.Errorf("printed config contains secret %q: %s", s, out)
		}
	}
	if !strings.Contains(out, "okta") || !strings.Contains(out, "<secret>") {
		t.Errorf("printed config should show non-secret values and <secret> markers: %s", out)
	}
}

func TestParsePrefixes(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "a CIDR prefix is masked", in: "10.1.2.3/8", want: "10.0.0.0/8"},
		{name: "a bare IPv4 address is a /32", in: "192.0.2.7", want: "192.0.2.7/32"},
		{name: "a bare IPv6 address is a /128", in: "2001:db8::1", want: "2001:db8::1/128"},
		{name: "an IPv4-mapped address matches as IPv4", in: "::ffff:192.0.2.7", want: "192.0.2.7/32"},
		{name: "surrounding spaces are ignored", in: " 10.0.0.0/8 ", want: "10.0.0.0/8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := parsePrefixes([]string{tt.in})
			if len(errs) != 0 || len(got) != 1 || got[0].String() != tt.want {
				t.Errorf("parsePrefixes(%q) = %v, %v; want %s", tt.in, got, errs, tt.want)
			}
		})
	}
}
