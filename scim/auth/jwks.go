package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	// jwksMinRefetch bounds how often an unknown kid can make the bridge call the JWKS URL, so that a stream of
	// forged tokens cannot turn the bridge into a load generator against the customer's authorization server.
	jwksMinRefetch = 30 * time.Second
	// jwksRefresh picks up key removals (a revoked key) even when no unknown kid forces a refetch.
	jwksRefresh = time.Hour
	// jwksFetchTimeout bounds a fetch that a request may be waiting on.
	jwksFetchTimeout = 10 * time.Second
	// jwksMaxBytes caps the response: real key sets are a few KiB.
	jwksMaxBytes = 1 << 20
)

// jwk is one usable verification key from the key set.
type jwk struct {
	kid string
	alg string // "" when the JWK does not restrict it
	key any    // *rsa.PublicKey or *ecdsa.PublicKey
}

// suits reports whether the key may verify a token signed with alg.
func (k jwk) suits(alg string) bool {
	if k.alg != "" && k.alg != alg {
		return false
	}
	switch key := k.key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return key.Curve == elliptic.P256()
		case "ES384":
			return key.Curve == elliptic.P384()
		case "ES512":
			return key.Curve == elliptic.P521()
		}
	}
	return false
}

// jwksCache holds the customer's verification keys. Lookups of known keys take only a read lock; fetches are
// serialised by fetchMu so that concurrent requests with the same new kid cause one fetch, not many.
type jwksCache struct {
	url     string
	safeURL string
	client  *http.Client
	logger  *slog.Logger
	now     func() time.Time

	mu   sync.RWMutex
	keys []jwk

	fetchMu     sync.Mutex
	lastAttempt time.Time
}

func newJWKSCache(rawURL string, client *http.Client, logger *slog.Logger, now func() time.Time) *jwksCache {
	return &jwksCache{url: rawURL, safeURL: redactURL(rawURL), client: client, logger: logger, now: now}
}

func (c *jwksCache) find(kid, alg string) (any, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var match []jwk
	for _, k := range c.keys {
		if k.kid == kid && k.suits(alg) {
			return k.key, true
		}
		if kid == "" && k.suits(alg) {
			match = append(match, k)
		}
	}
	// A token without a kid is accepted only when the choice of key is unambiguous.
	if len(match) == 1 {
		return match[0].key, true
	}
	return nil, false
}

// lookup finds the key for a token, refetching the key set when the kid is unknown (a rotation), at most once per
// jwksMinRefetch.
func (c *jwksCache) lookup(ctx context.Context, kid, alg string) (any, error) {
	if k, ok := c.find(kid, alg); ok {
		return k, nil
	}
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()
	if k, ok := c.find(kid, alg); ok {
		return k, nil // fetched by another request while this one waited
	}
	if !c.lastAttempt.IsZero() && c.now().Sub(c.lastAttempt) < jwksMinRefetch {
		return nil, errUnknownKey
	}
	// The fetch outlives a client that hangs up: other requests may be about to rely on its result.
	_ = c.fetchLocked(context.WithoutCancel(ctx))
	if k, ok := c.find(kid, alg); ok {
		return k, nil
	}
	return nil, errUnknownKey
}

// refresh is the periodic fetch; it honours the same minimum interval as lookups.
func (c *jwksCache) refresh(ctx context.Context) {
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()
	if !c.lastAttempt.IsZero() && c.now().Sub(c.lastAttempt) < jwksMinRefetch {
		return
	}
	_ = c.fetchLocked(ctx)
}

// fetchLocked replaces the key set on success and keeps the old one on any failure. Errors are logged with the
// redacted URL only, never the response body.
func (c *jwksCache) fetchLocked(ctx context.Context) error {
	c.lastAttempt = c.now()
	keys, skipped, err := c.get(ctx)
	if err == nil && len(keys) == 0 {
		err = fmt.Errorf("no usable signing keys (%d skipped)", skipped)
	}
	if err != nil {
		c.logger.Warn("auth: JWKS fetch failed; keeping the previous keys", "url", c.safeURL, "err", err)
		return err
	}
	c.mu.Lock()
	c.keys = keys
	c.mu.Unlock()
	c.logger.Info("auth: JWKS loaded", "url", c.safeURL, "keys", len(keys), "skipped", skipped)
	return nil
}

func (c *jwksCache) get(ctx context.Context) ([]jwk, int, error) {
	ctx, cancel := context.WithTimeout(ctx, jwksFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, 0, errors.New("jwks: build request: invalid URL")
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		// *url.Error repeats the full URL, which may carry a credential in its query: keep only the cause.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return nil, 0, fmt.Errorf("jwks: get: %w", err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, jwksMaxBytes))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("jwks: get: unexpected status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, jwksMaxBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("jwks: read body: %w", err)
	}
	if len(body) > jwksMaxBytes {
		return nil, 0, fmt.Errorf("jwks: body exceeds %d bytes", jwksMaxBytes)
	}
	return parseJWKS(body)
}

type jwkJSON struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parseJWKS keeps the RSA and EC signature keys (RFC 7517, RFC 7518 §6) and counts the others as skipped:
// encryption keys, symmetric keys (which would reopen alg confusion), unknown types and malformed entries.
func parseJWKS(body []byte) ([]jwk, int, error) {
	var set struct {
		Keys []jwkJSON `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, 0, fmt.Errorf("jwks: decode: %w", err)
	}
	var (
		keys    []jwk
		skipped int
	)
	for _, j := range set.Keys {
		k, err := j.publicKey()
		if err != nil {
			skipped++
			continue
		}
		keys = append(keys, k)
	}
	return keys, skipped, nil
}

func (j jwkJSON) publicKey() (jwk, error) {
	if j.Use != "" && j.Use != "sig" {
		return jwk{}, errors.New("not a signature key")
	}
	if j.Alg != "" && !slices.Contains(externalAlgs, j.Alg) {
		return jwk{}, errors.New("algorithm not allowed")
	}
	k := jwk{kid: j.Kid, alg: j.Alg}
	switch j.Kty {
	case "RSA":
		n, err := decodeB64URL(j.N)
		if err != nil {
			return jwk{}, err
		}
		e, err := decodeB64URL(j.E)
		if err != nil {
			return jwk{}, err
		}
		if len(e) == 0 || len(e) > 4 {
			return jwk{}, errors.New("bad RSA exponent")
		}
		exp := int(new(big.Int).SetBytes(e).Int64())
		if exp < 3 || exp%2 == 0 {
			return jwk{}, errors.New("bad RSA exponent")
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}
		if pub.N.BitLen() < 2048 {
			return jwk{}, errors.New("RSA key shorter than 2048 bits")
		}
		k.key = pub
	case "EC":
		var curve elliptic.Curve
		switch j.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return jwk{}, errors.New("unsupported curve")
		}
		x, err := decodeB64URL(j.X)
		if err != nil {
			return jwk{}, err
		}
		y, err := decodeB64URL(j.Y)
		if err != nil {
			return jwk{}, err
		}
		size := (curve.Params().BitSize + 7) / 8
		if len(x) != size || len(y) != size {
			return jwk{}, errors.New("bad EC coordinate length")
		}
		point := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
		if err != nil {
			return jwk{}, fmt.Errorf("bad EC point: %w", err)
		}
		k.key = pub
	default:
		return jwk{}, errors.New("unsupported key type")
	}
	return k, nil
}

// decodeB64URL accepts base64url with or without padding: RFC 7518 forbids the padding, but some servers send it.
func decodeB64URL(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("bad base64url: %w", err)
	}
	return b, nil
}
