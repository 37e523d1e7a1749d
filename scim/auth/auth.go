package auth

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Principal kinds.
const (
	KindToken = "token" // a static bearer token
	KindOAuth = "oauth" // a JWT issued by this bridge's token endpoint
	KindJWT   = "jwt"   // a JWT from the customer's authorization server
	KindBasic = "basic" // HTTP Basic
)

// realm names the protection space in every challenge.
const realm = "scim-bridge"

// maxCredentialLen refuses oversized Authorization values before any parsing or hashing.
const maxCredentialLen = 8 << 10

// Principal is the authenticated caller. ID is never secret: a static token is named by a prefix of its SHA-256
// ("sha256:1a2b3c4d"), the others by client id, JWT subject or Basic user name.
type Principal struct {
	Kind string
	ID   string
}

// String renders the principal for logs, as "kind:id".
func (p Principal) String() string { return p.Kind + ":" + p.ID }

type principalKey struct{}

// ContextWithPrincipal returns ctx carrying p; Middleware uses it, and tests of handlers behind it may too.
func ContextWithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal Middleware authenticated.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Scheme describes one authentication scheme for /ServiceProviderConfig (RFC 7643 §5, authenticationSchemes).
type Scheme struct {
	Type        string `json:"type"`
	Name        string `json:"name"`
	Description string `json:"description"`
	SpecURI     string `json:"specUri,omitempty"`
	Primary     bool   `json:"primary,omitempty"`
}

// identity is a successful authentication: the principal and the key of its rate-limit bucket, which for a static
// token is its full digest (two tokens never share a bucket) and never the secret itself.
type identity struct {
	Principal
	rateKey string
}

// failure is a refused authentication. reason goes to the debug log only.
type failure struct {
	reason string
	// bearer is set when a bearer token was presented and refused, which earns error="invalid_token" in the
	// challenge (RFC 6750 §3.1); a missing credential gets a bare challenge.
	bearer bool
	// missing selects the "Authentication required." detail.
	missing bool
	alg     string
	kid     string
}

// Authenticator authenticates inbound SCIM requests. It is safe for concurrent use; Close stops its background
// goroutines.
type Authenticator struct {
	logger *slog.Logger
	now    func() time.Time

	static   *staticTokens
	basic    *credentialPair
	client   *credentialPair // OAuth client credentials; nil when OAuth is off
	clientID string
	signer   *signer
	ttl      time.Duration
	issuer   string
	audience string
	own      *ownVerifier
	jwks     *jwksCache
	external *externalVerifier
	limiter  *limiter

	allow          []netip.Prefix
	trustedProxies []netip.Prefix

	stop      context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New validates cfg and builds an Authenticator. client fetches the JWKS; nil means a client with timeouts that
// does not follow redirects. When a JWKS URL is configured, New fetches it once before returning (a failure is
// logged, not returned, so that a briefly unreachable authorization server does not stop the bridge).
func New(cfg Config, logger *slog.Logger, client *http.Client) (*Authenticator, error) {
	return newAuthenticator(cfg, logger, client, time.Now)
}

func newAuthenticator(cfg Config, logger *slog.Logger, client *http.Client, now func() time.Time) (*Authenticator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("auth: new: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{logger: logger, now: now}
	var err error
	if a.static, err = newStaticTokens(cfg.Tokens); err != nil {
		return nil, fmt.Errorf("auth: new: %w", err)
	}
	if cfg.basicEnabled() {
		p := newCredentialPair(cfg.BasicUser, cfg.BasicPassword)
		a.basic = &p
	}
	if cfg.oauthEnabled() {
		if err := a.setUpOAuth(cfg); err != nil {
			return nil, fmt.Errorf("auth: new: %w", err)
		}
	}
	a.allow, _ = parsePrefixes(cfg.AllowCIDRs)
	a.trustedProxies, _ = parsePrefixes(cfg.TrustedProxies)

	ctx, stop := context.WithCancel(context.Background())
	a.stop = stop
	if cfg.RateLimit > 0 {
		a.limiter = newLimiter(cfg.RateLimit, now)
		a.every(ctx, limiterSweepEvery, a.limiter.sweep)
	}
	if cfg.jwksEnabled() {
		if client == nil {
			client = defaultJWKSClient()
		}
		a.jwks = newJWKSCache(cfg.JWKSURL, client, logger, now)
		a.external = newExternalVerifier(a.jwks, cfg.JWTIssuer, cfg.JWTAudience, now)
		a.jwks.refresh(ctx)
		a.every(ctx, jwksRefresh, func() { a.jwks.refresh(ctx) })
	}
	return a, nil
}

func (a *Authenticator) setUpOAuth(cfg Config) error {
	p := newCredentialPair(cfg.OAuthClientID, cfg.OAuthClientSecret)
	a.client = &p
	a.clientID = cfg.OAuthClientID
	if cfg.JWTSigningKey == nil {
		a.signer = randomSigner()
		a.logger.Warn("auth: " + EnvJWTSigningKey + " is not set; OAuth tokens are signed with a random " +
			"per-process key, so they stop working when the process restarts and other replicas refuse them")
	} else {
		s, err := parseSigningKey(cfg.JWTSigningKey)
		if err != nil {
			return fmt.Errorf("%s: %w", EnvJWTSigningKey, err)
		}
		a.signer = s
	}
	a.ttl = cfg.JWTTTL
	if a.ttl == 0 {
		a.ttl = defaultTTL
	}
	// With a JWKS, issuer and audience describe the external server; the bridge's own tokens keep the defaults.
	a.issuer, a.audience = defaultIssuer, defaultAudience
	if !cfg.jwksEnabled() {
		if cfg.JWTIssuer != "" {
			a.issuer = cfg.JWTIssuer
		}
		if cfg.JWTAudience != "" {
			a.audience = cfg.JWTAudience
		}
	}
	a.own = newOwnVerifier(a.signer, a.issuer, a.audience, cfg.OAuthClientID, a.now)
	return nil
}

// every runs f every d until Close.
func (a *Authenticator) every(ctx context.Context, d time.Duration, f func()) {
	a.wg.Go(func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				f()
			}
		}
	})
}

// Close stops the background goroutines (JWKS refresh, bucket eviction) and waits for them. It is idempotent.
func (a *Authenticator) Close() {
	a.closeOnce.Do(func() {
		a.stop()
		a.wg.Wait()
	})
}

func defaultJWKSClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 5 * time.Second
	t.ResponseHeaderTimeout = jwksFetchTimeout
	return &http.Client{
		Transport: t,
		Timeout:   jwksFetchTimeout,
		// A redirect could lead off https; JWKS endpoints do not redirect, so a redirect is an error.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (a *Authenticator) bearerEnabled() bool {
	return a.static != nil || a.own != nil || a.external != nil
}

// Schemes lists the enabled schemes for /ServiceProviderConfig. Static tokens, the bridge's OAuth tokens and
// external JWTs are all presented as bearer tokens, so they share one "oauthbearertoken" entry, which is primary
// when present.
func (a *Authenticator) Schemes() []Scheme {
	var out []Scheme
	if a.bearerEnabled() {
		out = append(out, Scheme{
			Type:        "oauthbearertoken",
			Name:        "OAuth Bearer Token",
			Description: "Authentication scheme using the OAuth Bearer Token Standard",
			SpecURI:     "https://www.rfc-editor.org/info/rfc6750",
		})
	}
	if a.basic != nil {
		out = append(out, Scheme{
			Type:        "httpbasic",
			Name:        "HTTP Basic",
			Description: "Authentication scheme using the HTTP Basic Standard",
			SpecURI:     "https://www.rfc-editor.org/info/rfc7617",
		})
	}
	if len(out) > 0 {
		out[0].Primary = true
	}
	return out
}

// Middleware admits a request in three steps: the IP allow-list (403), authentication (401), the principal's
// rate limit (429). The next handler sees the principal in the context (PrincipalFrom) and no Authorization
// header, so that nothing downstream can log the credential.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip, ok := a.admitted(r)
		if !ok {
			a.logger.DebugContext(r.Context(), "auth: address not allowed", "client_ip", ip.String())
			writeSCIMError(w, http.StatusForbidden, detailForbidden)
			return
		}
		id, f := a.authenticate(r)
		if f != nil {
			a.refuse(w, r, ip, f)
			return
		}
		if a.limiter != nil {
			if ok, wait := a.limiter.allow(id.rateKey); !ok {
				a.logger.DebugContext(r.Context(), "auth: rate limited", "principal", id.Principal.String())
				w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
				writeSCIMError(w, http.StatusTooManyRequests, detailTooManyRequests)
				return
			}
		}
		r2 := r.WithContext(ContextWithPrincipal(r.Context(), id.Principal))
		r2.Header = r.Header.Clone()
		r2.Header.Del("Authorization")
		next.ServeHTTP(w, r2)
	})
}

func (a *Authenticator) authenticate(r *http.Request) (identity, *failure) {
	values := r.Header.Values("Authorization")
	switch {
	case len(values) == 0 || values[0] == "":
		return identity{}, &failure{reason: "no credentials", missing: true}
	case len(values) > 1:
		return identity{}, &failure{reason: "several Authorization headers"}
	case len(values[0]) > maxCredentialLen:
		return identity{}, &failure{reason: "credentials too long"}
	}
	scheme, cred, ok := strings.Cut(values[0], " ")
	if !ok {
		// "Authorization: non-token" (Okta's spec test): a credential without a scheme.
		return identity{}, &failure{reason: "no auth scheme"}
	}
	cred = strings.Trim(cred, " \t")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		return a.authBearer(r.Context(), cred)
	case strings.EqualFold(scheme, "Basic"):
		return a.authBasic(cred)
	default:
		return identity{}, &failure{reason: "unsupported auth scheme"}
	}
}

func (a *Authenticator) authBearer(ctx context.Context, token string) (identity, *failure) {
	if !a.bearerEnabled() {
		return identity{}, &failure{reason: "bearer tokens are not enabled"}
	}
	if token == "" {
		return identity{}, &failure{reason: "empty bearer token", missing: true}
	}
	if a.static != nil {
		if id, ok := a.static.match(token); ok {
			return id, nil
		}
	}
	if strings.Count(token, ".") == 2 && (a.own != nil || a.external != nil) {
		return a.authJWT(ctx, token)
	}
	return identity{}, &failure{reason: "unknown bearer token", bearer: true}
}

// authJWT routes a token by its kid: the bridge's own tokens carry the signer's kid, everything else goes to the
// JWKS. Each path has its own allowed algorithms, so a token cannot borrow the other path's key.
func (a *Authenticator) authJWT(ctx context.Context, token string) (identity, *failure) {
	h, err := peekHeader(token)
	if err != nil {
		return identity{}, &failure{reason: jwtReason(err), bearer: true}
	}
	fail := func(err error) (identity, *failure) {
		return identity{}, &failure{reason: jwtReason(err), bearer: true, alg: clip(h.Alg), kid: clip(h.Kid)}
	}
	switch {
	case a.own != nil && h.Kid == a.signer.kid:
		sub, err := a.own.verify(token)
		if err != nil {
			return fail(err)
		}
		return identity{Principal: Principal{Kind: KindOAuth, ID: sub}, rateKey: KindOAuth + ":" + sub}, nil
	case a.external != nil:
		sub, err := a.external.verify(ctx, token)
		if err != nil {
			return fail(err)
		}
		return identity{Principal: Principal{Kind: KindJWT, ID: sub}, rateKey: KindJWT + ":" + sub}, nil
	default:
		return fail(errNotOurKey)
	}
}

func (a *Authenticator) authBasic(cred string) (identity, *failure) {
	if a.basic == nil {
		return identity{}, &failure{reason: "basic auth is not enabled"}
	}
	user, password, ok := decodeBasic(cred)
	if !ok {
		return identity{}, &failure{reason: "malformed basic credentials"}
	}
	if !a.basic.match(user, password) {
		return identity{}, &failure{reason: "basic credentials refused"}
	}
	return identity{Principal: Principal{Kind: KindBasic, ID: user}, rateKey: KindBasic + ":" + user}, nil
}

// refuse answers 401 with the challenges of every enabled scheme and a generic detail; the reason is logged at
// debug level, without the credential.
func (a *Authenticator) refuse(w http.ResponseWriter, r *http.Request, ip netip.Addr, f *failure) {
	attrs := []any{"reason", f.reason, "client_ip", ip.String()}
	if f.alg != "" || f.kid != "" {
		attrs = append(attrs, "alg", f.alg, "kid", f.kid)
	}
	a.logger.DebugContext(r.Context(), "auth: request refused", attrs...)

	h := w.Header()
	if a.bearerEnabled() {
		c := `Bearer realm="` + realm + `"`
		if f.bearer {
			c += `, error="invalid_token"`
		}
		h.Add("WWW-Authenticate", c)
	}
	if a.basic != nil {
		h.Add("WWW-Authenticate", `Basic realm="`+realm+`", charset="UTF-8"`)
	}
	detail := detailAuthFailed
	if f.missing {
		detail = detailUnauthenticated
	}
	writeSCIMError(w, http.StatusUnauthorized, detail)
}

// clip bounds attacker-controlled header values before they reach a log line.
func clip(s string) string {
	const n = 64
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
