package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// staticTokens holds only SHA-256 digests: the plain tokens are not kept in memory past New, and comparing
// fixed-size digests keeps the comparison time independent of the presented token's length.
type staticTokens struct {
	digests [][sha256.Size]byte
}

func newStaticTokens(tokens []string) (*staticTokens, error) {
	if len(tokens) == 0 {
		return nil, nil
	}
	s := &staticTokens{digests: make([][sha256.Size]byte, 0, len(tokens))}
	for i, t := range tokens {
		d, err := parseStaticToken(t)
		if err != nil {
			return nil, fmt.Errorf("%s: entry %d %w", EnvToken, i+1, err)
		}
		s.digests = append(s.digests, d)
	}
	return s, nil
}

// parseStaticToken returns the digest a configured token stands for. Its errors never quote the token.
func parseStaticToken(t string) ([sha256.Size]byte, error) {
	var d [sha256.Size]byte
	if hexDigest, ok := strings.CutPrefix(t, sha256Prefix); ok {
		b, err := hex.DecodeString(hexDigest)
		if err != nil || len(b) != sha256.Size {
			return d, errors.New("has the sha256: prefix but is not followed by 64 hex digits")
		}
		copy(d[:], b)
		return d, nil
	}
	switch {
	case t == "":
		return d, errors.New("is empty")
	case hasSpaceOrControl(t):
		// A bearer credential cannot carry whitespace (RFC 6750 §2.1), so such a token could never be presented.
		return d, errors.New("contains whitespace or control characters")
	case len(t) < minSecretLen:
		return d, fmt.Errorf("is shorter than %d characters", minSecretLen)
	}
	return sha256.Sum256([]byte(t)), nil
}

// match compares the presented token with every configured digest, without stopping at the first match, so the
// time taken does not say which entry (if any) matched.
func (s *staticTokens) match(token string) (identity, bool) {
	got := sha256.Sum256([]byte(token))
	found := 0
	for i := range s.digests {
		eq := subtle.ConstantTimeCompare(got[:], s.digests[i][:])
		found = subtle.ConstantTimeSelect(eq, i+1, found)
	}
	if found == 0 {
		return identity{}, false
	}
	d := s.digests[found-1]
	return identity{
		Principal: Principal{Kind: KindToken, ID: tokenID(d)},
		rateKey:   "token:" + hex.EncodeToString(d[:]),
	}, true
}

// tokenID names a static token by the first 8 hex digits of its SHA-256: stable across rotations (unlike a
// position in the list) and reproducible by the operator with sha256sum, while saying nothing useful about a
// high-entropy token.
func tokenID(d [sha256.Size]byte) string {
	return sha256Prefix + hex.EncodeToString(d[:4])
}
