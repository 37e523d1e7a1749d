package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"strings"
)

// credentialPair is a user (or client id) and password (or client secret) held as digests, compared in constant
// time as a pair: both halves are always compared, so a wrong user takes as long as a wrong password.
type credentialPair struct {
	user     [sha256.Size]byte
	password [sha256.Size]byte
}

func newCredentialPair(user, password string) credentialPair {
	return credentialPair{user: sha256.Sum256([]byte(user)), password: sha256.Sum256([]byte(password))}
}

func (c credentialPair) match(user, password string) bool {
	u := sha256.Sum256([]byte(user))
	p := sha256.Sum256([]byte(password))
	return subtle.ConstantTimeCompare(u[:], c.user[:])&subtle.ConstantTimeCompare(p[:], c.password[:]) == 1
}

// decodeBasic splits the token68 of a Basic credential (RFC 7617 §2) into user and password.
func decodeBasic(cred string) (user, password string, ok bool) {
	b, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(b), ":")
}

// matchClient checks OAuth client credentials sent with Basic. RFC 6749 §2.3.1 says the client form-urlencodes
// id and secret before Basic-encoding them, but many clients do not, and unescaping would turn a literal "+" in
// a secret into a space; so both the raw and the unescaped forms are tried, each in constant time.
func (c credentialPair) matchClient(user, password string) bool {
	ok := c.match(user, password)
	u, errU := url.QueryUnescape(user)
	p, errP := url.QueryUnescape(password)
	if errU == nil && errP == nil && (u != user || p != password) {
		ok = c.match(u, p) || ok
	}
	return ok
}
