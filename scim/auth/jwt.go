package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// ownSkew tolerates clock differences between replicas that share a signing key.
	ownSkew = 30 * time.Second
	// externalSkew tolerates clock differences with the customer's authorization server.
	externalSkew = 60 * time.Second
	// maxHeaderSegment bounds the work done on an unverified JWT header.
	maxHeaderSegment = 4 << 10
)

// externalAlgs are the only algorithms accepted from an external authorization server: asymmetric ones, so that a
// public key from the JWKS can never be used as an HMAC secret (the alg-confusion attack), and never "none".
var externalAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}

var (
	errUnknownKey   = errors.New("no key for this kid and alg")
	errMissingSub   = errors.New("token has no sub claim")
	errNotOurKey    = errors.New("token is not signed by a key the bridge trusts")
	errMalformedJWT = errors.New("malformed JWT header")
)

// signer is the key that signs the tokens the bridge issues, and the public half that verifies them.
type signer struct {
	method    jwt.SigningMethod
	signKey   any
	verifyKey any
	kid       string
}

// parseSigningKey reads an HS256 secret or a PEM private key. Its errors never include key material.
func parseSigningKey(b []byte) (*signer, error) {
	if !strings.Contains(string(b), "-----BEGIN") {
		if len(b) < minHMACKeyLen {
			return nil, fmt.Errorf("an HS256 key must be at least %d bytes, got %d", minHMACKeyLen, len(b))
		}
		key := append([]byte(nil), b...)
		return &signer{method: jwt.SigningMethodHS256, signKey: key, verifyKey: key, kid: hmacKID(key)}, nil
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("looks like PEM but no PEM block could be decoded")
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("encrypted PEM keys are not supported; decrypt it first (openssl pkey)")
	default:
		return nil, fmt.Errorf("unsupported PEM block type %q (want RSA PRIVATE KEY, EC PRIVATE KEY or PRIVATE KEY)", block.Type)
	}
	if err != nil {
		// The x509 errors describe the structure, never the key bytes.
		return nil, fmt.Errorf("parse %s: %w", block.Type, err)
	}
	return signerFor(key)
}

func signerFor(key any) (*signer, error) {
	var (
		method jwt.SigningMethod
		pub    crypto.PublicKey
	)
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("an RSA key must have at least 2048 bits, got %d", k.N.BitLen())
		}
		method, pub = jwt.SigningMethodRS256, &k.PublicKey
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			method = jwt.SigningMethodES256
		case elliptic.P384():
			method = jwt.SigningMethodES384
		case elliptic.P521():
			method = jwt.SigningMethodES512
		default:
			return nil, errors.New("unsupported EC curve (want P-256, P-384 or P-521)")
		}
		pub = &k.PublicKey
	default:
		return nil, fmt.Errorf("unsupported private key type %T (want RSA or EC)", key)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return &signer{method: method, signKey: key, verifyKey: pub, kid: hex.EncodeToString(sum[:8])}, nil
}

// randomSigner is the fallback when OAuth is on and no key is configured.
func randomSigner() *signer {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails (it aborts the process instead).
	return &signer{method: jwt.SigningMethodHS256, signKey: key, verifyKey: key, kid: hmacKID(key)}
}

// hmacKID derives the kid from a domain-separated hash, so the header of every issued token does not carry a
// plain digest of the secret.
func hmacKID(key []byte) string {
	h := sha256.New()
	h.Write([]byte("scim-bridge kid\x00"))
	h.Write(key)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// jwtHeader is the part of an unverified header used to route a token to its verifier.
type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

func peekHeader(token string) (jwtHeader, error) {
	seg, _, ok := strings.Cut(token, ".")
	if !ok || seg == "" || len(seg) > maxHeaderSegment {
		return jwtHeader{}, errMalformedJWT
	}
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return jwtHeader{}, errMalformedJWT
	}
	var h jwtHeader
	if err := json.Unmarshal(b, &h); err != nil {
		return jwtHeader{}, errMalformedJWT
	}
	return h, nil
}

// ownVerifier checks the tokens the bridge issued itself.
type ownVerifier struct {
	signer *signer
	parser *jwt.Parser
}

func newOwnVerifier(s *signer, iss, aud, clientID string, now func() time.Time) *ownVerifier {
	return &ownVerifier{
		signer: s,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{s.method.Alg()}),
			jwt.WithIssuer(iss),
			jwt.WithAudience(aud),
			// Tokens belong to the configured client: changing the client id revokes every token issued before.
			jwt.WithSubject(clientID),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(ownSkew),
			jwt.WithTimeFunc(now),
			jwt.WithStrictDecoding(),
		),
	}
}

func (v *ownVerifier) verify(token string) (string, error) {
	var claims jwt.RegisteredClaims
	_, err := v.parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) {
		return v.signer.verifyKey, nil
	})
	if err != nil {
		return "", err
	}
	return claims.Subject, nil
}

// externalVerifier checks JWTs from the customer's authorization server against its JWKS.
type externalVerifier struct {
	keys   *jwksCache
	parser *jwt.Parser
}

func newExternalVerifier(keys *jwksCache, iss, aud string, now func() time.Time) *externalVerifier {
	return &externalVerifier{
		keys: keys,
		parser: jwt.NewParser(
			jwt.WithValidMethods(externalAlgs),
			jwt.WithIssuer(iss),
			jwt.WithAudience(aud),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(externalSkew),
			jwt.WithTimeFunc(now),
		),
	}
}

func (v *externalVerifier) verify(ctx context.Context, token string) (string, error) {
	var claims jwt.RegisteredClaims
	_, err := v.parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return v.keys.lookup(ctx, kid, t.Method.Alg())
	})
	if err != nil {
		return "", err
	}
	if claims.Subject == "" {
		// The subject keys the rate limiter and names the principal; a token without one identifies nobody.
		return "", errMissingSub
	}
	return claims.Subject, nil
}

// jwtReason names why a JWT was refused, for debug logs only: the client always gets the same generic answer.
func jwtReason(err error) string {
	for _, r := range []struct {
		err    error
		reason string
	}{
		{errMalformedJWT, "malformed"},
		{errNotOurKey, "unknown signer"},
		{errUnknownKey, "unknown kid"},
		{errMissingSub, "missing sub"},
		{jwt.ErrTokenMalformed, "malformed"},
		{jwt.ErrTokenSignatureInvalid, "bad signature or disallowed alg"},
		{jwt.ErrTokenUnverifiable, "unverifiable"},
		{jwt.ErrTokenExpired, "expired"},
		{jwt.ErrTokenNotValidYet, "not valid yet"},
		{jwt.ErrTokenUsedBeforeIssued, "issued in the future"},
		{jwt.ErrTokenInvalidIssuer, "wrong issuer"},
		{jwt.ErrTokenInvalidAudience, "wrong audience"},
		{jwt.ErrTokenInvalidSubject, "wrong subject"},
		{jwt.ErrTokenRequiredClaimMissing, "required claim missing"},
		{jwt.ErrTokenInvalidClaims, "invalid claims"},
	} {
		if errors.Is(err, r.err) {
			return "jwt: " + r.reason
		}
	}
	return "jwt: invalid"
}
