package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// Environment variables the bridge reads into Config. Validate names them in its messages so that an operator
// knows which setting to fix.
const (
	EnvToken             = "SCIM_BRIDGE_TOKEN"
	EnvOAuthClientID     = "SCIM_BRIDGE_OAUTH_CLIENT_ID"
	EnvOAuthClientSecret = "SCIM_BRIDGE_OAUTH_CLIENT_SECRET"
	EnvJWTSigningKey     = "SCIM_BRIDGE_JWT_SIGNING_KEY"
	EnvJWTTTL            = "SCIM_BRIDGE_JWT_TTL"
	EnvJWTIssuer         = "SCIM_BRIDGE_JWT_ISSUER"
	EnvJWTAudience       = "SCIM_BRIDGE_JWT_AUDIENCE"
	EnvJWKSURL           = "SCIM_BRIDGE_JWKS_URL"
	EnvBasicUser         = "SCIM_BRIDGE_BASIC_USER"
	EnvBasicPassword     = "SCIM_BRIDGE_BASIC_PASSWORD"
	EnvRateLimit         = "SCIM_BRIDGE_RATE_LIMIT"
	EnvAllowCIDRs        = "SCIM_BRIDGE_ALLOW_CIDRS"
	EnvTrustedProxies    = "SCIM_BRIDGE_TRUSTED_PROXIES"
)

// DefaultRateLimit is the per-principal request rate (requests per second) the bridge uses when
// SCIM_BRIDGE_RATE_LIMIT is unset. Entra asks gallery apps to sustain at least 25 requests/s per tenant, so this
// leaves headroom for one IdP tenant per credential.
const DefaultRateLimit = 50

const (
	defaultIssuer   = "scim-bridge"
	defaultAudience = "scim-bridge"
	defaultTTL      = time.Hour
	minTTL          = time.Minute
	maxTTL          = 24 * time.Hour

	// minSecretLen applies to machine-generated secrets (static tokens, the OAuth client secret): anything shorter
	// is guessable and was almost certainly typed by hand.
	minSecretLen = 16
	// minHMACKeyLen follows RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
	minHMACKeyLen = 32

	sha256Prefix = "sha256:"
)

// Config selects the authentication modes and admission rules. Any combination of modes may be enabled; at least
// one must be. Secret fields never appear in Validate's errors nor in the Config's String or LogValue.
type Config struct {
	// Tokens are static bearer tokens, several at once so that they can be rotated without downtime. Each is the
	// plain token or "sha256:<64 hex digits>" (the SHA-256 of the token), so that the plain token need not sit in
	// configuration.
	Tokens []string `env:"SCIM_BRIDGE_TOKEN"`

	// OAuthClientID and OAuthClientSecret enable POST /oauth/token (client credentials, RFC 6749 §4.4) and the
	// acceptance of the JWTs it issues.
	OAuthClientID     string `env:"SCIM_BRIDGE_OAUTH_CLIENT_ID"`
	OAuthClientSecret string `env:"SCIM_BRIDGE_OAUTH_CLIENT_SECRET"`
	// JWTSigningKey signs issued tokens: raw bytes (at least 32) for HS256, or a PEM private key: RSA (PKCS #1 or
	// PKCS #8, at least 2048 bits) for RS256, EC P-256/P-384/P-521 (SEC 1 or PKCS #8) for ES256/ES384/ES512.
	// Nil with OAuth on means a random HS256 key per process: issued tokens die on restart.
	JWTSigningKey []byte `env:"SCIM_BRIDGE_JWT_SIGNING_KEY"`
	// JWTTTL is the lifetime of issued tokens; 0 means one hour.
	JWTTTL time.Duration `env:"SCIM_BRIDGE_JWT_TTL"`

	// JWTIssuer and JWTAudience are, when JWKSURL is set, the iss and aud that external JWTs must carry (both
	// required); the tokens the bridge issues then use "scim-bridge" for both. Without JWKSURL they set iss and
	// aud of issued tokens (default "scim-bridge").
	JWTIssuer   string `env:"SCIM_BRIDGE_JWT_ISSUER"`
	JWTAudience string `env:"SCIM_BRIDGE_JWT_AUDIENCE"`
	// JWKSURL enables JWTs from an authorization server the customer runs (Entra tenant, Okta authorization
	// server). It must be https, except on a loopback host.
	JWKSURL string `env:"SCIM_BRIDGE_JWKS_URL"`

	// BasicUser and BasicPassword enable HTTP Basic.
	BasicUser     string `env:"SCIM_BRIDGE_BASIC_USER"`
	BasicPassword string `env:"SCIM_BRIDGE_BASIC_PASSWORD"`

	// RateLimit is the steady rate in requests per second allowed to each authenticated principal, with a burst
	// of twice that; 0 disables rate limiting.
	RateLimit float64 `env:"SCIM_BRIDGE_RATE_LIMIT"`
	// AllowCIDRs, when not empty, admits only clients whose address is in one of these prefixes (a bare address
	// means a single host).
	AllowCIDRs []string `env:"SCIM_BRIDGE_ALLOW_CIDRS"`
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is believed.
	TrustedProxies []string `env:"SCIM_BRIDGE_TRUSTED_PROXIES"`
}

func (c Config) staticEnabled() bool { return len(c.Tokens) > 0 }
func (c Config) oauthEnabled() bool  { return c.OAuthClientID != "" || c.OAuthClientSecret != "" }
func (c Config) jwksEnabled() bool   { return c.JWKSURL != "" }
func (c Config) basicEnabled() bool  { return c.BasicUser != "" || c.BasicPassword != "" }

// Validate reports every problem in the configuration at once, each message naming its environment variable.
func (c Config) Validate() error {
	var errs []error
	add := func(env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", env, fmt.Sprintf(format, args...)))
	}

	if !c.staticEnabled() && !c.oauthEnabled() && !c.jwksEnabled() && !c.basicEnabled() {
		errs = append(errs, fmt.Errorf("no authentication mode is enabled: set %s, %s and %s, %s, or %s and %s",
			EnvToken, EnvOAuthClientID, EnvOAuthClientSecret, EnvJWKSURL, EnvBasicUser, EnvBasicPassword))
	}

	for i, t := range c.Tokens {
		if _, err := parseStaticToken(t); err != nil {
			add(EnvToken, "entry %d %v", i+1, err)
		}
	}

	if c.oauthEnabled() {
		switch {
		case c.OAuthClientID == "":
			add(EnvOAuthClientID, "is required when %s is set", EnvOAuthClientSecret)
		case hasSpaceOrControl(c.OAuthClientID):
			add(EnvOAuthClientID, "contains whitespace or control characters")
		}
		switch {
		case c.OAuthClientSecret == "":
			add(EnvOAuthClientSecret, "is required when %s is set", EnvOAuthClientID)
		case len(c.OAuthClientSecret) < minSecretLen:
			add(EnvOAuthClientSecret, "is shorter than %d characters", minSecretLen)
		case hasSpaceOrControl(c.OAuthClientSecret):
			add(EnvOAuthClientSecret, "contains whitespace or control characters")
		}
		if c.JWTSigningKey != nil {
			if _, err := parseSigningKey(c.JWTSigningKey); err != nil {
				add(EnvJWTSigningKey, "%v", err)
			}
		}
		if c.JWTTTL != 0 && (c.JWTTTL < minTTL || c.JWTTTL > maxTTL) {
			add(EnvJWTTTL, "must be between %v and %v, got %v", minTTL, maxTTL, c.JWTTTL)
		}
	} else if c.JWTSigningKey != nil {
		add(EnvJWTSigningKey, "is set but OAuth is not enabled (set %s and %s)", EnvOAuthClientID, EnvOAuthClientSecret)
	}

	if c.jwksEnabled() {
		if err := checkJWKSURL(c.JWKSURL); err != nil {
			add(EnvJWKSURL, "%v", err)
		}
		if c.JWTIssuer == "" {
			add(EnvJWTIssuer, "is required when %s is set", EnvJWKSURL)
		}
		if c.JWTAudience == "" {
			add(EnvJWTAudience, "is required when %s is set", EnvJWKSURL)
		}
	}

	if c.basicEnabled() {
		switch {
		case c.BasicUser == "":
			add(EnvBasicUser, "is required when %s is set", EnvBasicPassword)
		case strings.Contains(c.BasicUser, ":"):
			// RFC 7617 §2: the user-id cannot contain a colon, since the first colon ends it.
			add(EnvBasicUser, "must not contain a colon")
		case hasControl(c.BasicUser):
			add(EnvBasicUser, "contains control characters")
		}
		switch {
		case c.BasicPassword == "":
			add(EnvBasicPassword, "is required when %s is set", EnvBasicUser)
		case hasControl(c.BasicPassword):
			add(EnvBasicPassword, "contains control characters")
		}
	}

	if math.IsNaN(c.RateLimit) || math.IsInf(c.RateLimit, 0) || c.RateLimit < 0 {
		add(EnvRateLimit, "must be a number of requests per second >= 0 (0 disables the limit)")
	}
	_, bad := parsePrefixes(c.AllowCIDRs)
	for _, err := range bad {
		add(EnvAllowCIDRs, "%v", err)
	}
	_, bad = parsePrefixes(c.TrustedProxies)
	for _, err := range bad {
		add(EnvTrustedProxies, "%v", err)
	}
	return errors.Join(errs...)
}

// String keeps secrets out of fmt output (%v and %+v).
func (c Config) String() string { return c.LogValue().String() }

// GoString keeps secrets out of %#v.
func (c Config) GoString() string { return c.String() }

// LogValue describes the effective configuration with every secret replaced by "<secret>".
func (c Config) LogValue() slog.Value {
	secret := func(set bool) string {
		if set {
			return "<secret>"
		}
		return ""
	}
	return slog.GroupValue(
		slog.Int("tokens", len(c.Tokens)),
		slog.String("oauth_client_id", c.OAuthClientID),
		slog.String("oauth_client_secret", secret(c.OAuthClientSecret != "")),
		slog.String("jwt_signing_key", secret(c.JWTSigningKey != nil)),
		slog.Duration("jwt_ttl", c.JWTTTL),
		slog.String("jwt_issuer", c.JWTIssuer),
		slog.String("jwt_audience", c.JWTAudience),
		slog.String("jwks_url", redactURL(c.JWKSURL)),
		slog.String("basic_user", c.BasicUser),
		slog.String("basic_password", secret(c.BasicPassword != "")),
		slog.Float64("rate_limit", c.RateLimit),
		slog.Any("allow_cidrs", c.AllowCIDRs),
		slog.Any("trusted_proxies", c.TrustedProxies),
	)
}

// checkJWKSURL never quotes the URL: a query string could carry a credential.
func checkJWKSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return errors.New("is not an absolute URL")
	}
	if u.User != nil {
		return errors.New("must not contain credentials")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopbackHost(u.Hostname()) {
			return nil
		}
		return errors.New("must use https (plain http is accepted only for a loopback host)")
	default:
		return errors.New("must use https")
	}
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.IsLoopback()
}

// redactURL keeps scheme, host and path: enough to recognise the endpoint in a log, nothing that may be secret.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable>"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// parsePrefixes accepts CIDR prefixes and bare addresses; the error quotes the entry, which is not secret.
func parsePrefixes(list []string) ([]netip.Prefix, []error) {
	var (
		out  []netip.Prefix
		errs []error
	)
	for i, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			out = append(out, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		errs = append(errs, fmt.Errorf("entry %d (%q) is not a CIDR prefix or an IP address", i+1, s))
	}
	return out, errs
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}

func hasSpaceOrControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
}
