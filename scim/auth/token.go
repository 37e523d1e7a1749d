package auth

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// maxTokenRequestBytes caps the token request body; a client-credentials form is a few hundred bytes.
const maxTokenRequestBytes = 16 << 10

// RFC 6749 §5.2 error codes used by the token endpoint.
const (
	errInvalidRequest       = "invalid_request"
	errInvalidClient        = "invalid_client"
	errUnsupportedGrantType = "unsupported_grant_type"
	errServerError          = "server_error"
)

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// TokenHandler serves POST /oauth/token: the client credentials grant (RFC 6749 §4.4), with the client
// authenticated by HTTP Basic or by client_id and client_secret in the form body (§2.3.1). It returns nil when
// OAuth is not configured. The IP allow-list applies to it as to the SCIM endpoints.
func (a *Authenticator) TokenHandler() http.Handler {
	if a.client == nil {
		return nil
	}
	return http.HandlerFunc(a.serveToken)
}

func (a *Authenticator) serveToken(w http.ResponseWriter, r *http.Request) {
	if ip, ok := a.admitted(r); !ok {
		a.logger.DebugContext(r.Context(), "auth: token request from an address not allowed", "client_ip", ip.String())
		writeOAuthJSON(w, http.StatusForbidden, oauthError{Error: "access_denied", Description: detailForbidden})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeOAuthJSON(w, http.StatusMethodNotAllowed, oauthError{Error: errInvalidRequest, Description: "Use POST."})
		return
	}
	bad := func(desc string) {
		writeOAuthJSON(w, http.StatusBadRequest, oauthError{Error: errInvalidRequest, Description: desc})
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		bad("The body must be application/x-www-form-urlencoded.")
		return
	}
	// RFC 6749 §2.3.1: client credentials must not travel in the URL, where proxies and access logs keep them.
	if r.URL.Query().Has("client_secret") {
		bad("Client credentials must not be sent in the URL.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenRequestBytes)
	if err := r.ParseForm(); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeOAuthJSON(w, http.StatusRequestEntityTooLarge, oauthError{Error: errInvalidRequest, Description: "The body is too large."})
			return
		}
		bad("The body is not a valid form.")
		return
	}
	form := r.PostForm
	for _, v := range form {
		// RFC 6749 §3.1: parameters must not be repeated.
		if len(v) > 1 {
			bad("A parameter is repeated.")
			return
		}
	}
	switch grant := form.Get("grant_type"); grant {
	case "":
		bad("grant_type is required.")
		return
	case "client_credentials":
	default:
		writeOAuthJSON(w, http.StatusBadRequest, oauthError{Error: errUnsupportedGrantType, Description: "Only client_credentials is supported."})
		return
	}

	id, ok := a.authenticateClient(w, r)
	if !ok {
		return
	}
	token, err := a.issue(id)
	if err != nil {
		a.logger.ErrorContext(r.Context(), "auth: sign token", "err", err)
		writeOAuthJSON(w, http.StatusInternalServerError, oauthError{Error: errServerError})
		return
	}
	writeOAuthJSON(w, http.StatusOK, tokenResponse{AccessToken: token, TokenType: "Bearer", ExpiresIn: int64(a.ttl.Seconds())})
}

// authenticateClient writes the error response itself when it returns false.
func (a *Authenticator) authenticateClient(w http.ResponseWriter, r *http.Request) (string, bool) {
	form := r.PostForm
	basicUsed := false
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, cred, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Basic") {
			a.refuseClient(w, r, "unsupported client authentication scheme")
			return "", false
		}
		if form.Has("client_secret") {
			// RFC 6749 §2.3: one authentication method per request.
			writeOAuthJSON(w, http.StatusBadRequest, oauthError{Error: errInvalidRequest, Description: "Use one client authentication method."})
			return "", false
		}
		u, p, ok := decodeBasic(strings.Trim(cred, " \t"))
		if !ok {
			a.refuseClient(w, r, "malformed basic credentials")
			return "", false
		}
		if !a.client.matchClient(u, p) {
			a.refuseClient(w, r, "client credentials refused")
			return "", false
		}
		basicUsed = true
	} else {
		id, secret := form.Get("client_id"), form.Get("client_secret")
		if id == "" || secret == "" {
			a.refuseClient(w, r, "no client credentials")
			return "", false
		}
		if !a.client.match(id, secret) {
			a.refuseClient(w, r, "client credentials refused")
			return "", false
		}
	}
	// Both paths matched the configured id (in raw or form-decoded spelling), so that is who the client is.
	if basicUsed && form.Has("client_id") && form.Get("client_id") != a.clientID {
		writeOAuthJSON(w, http.StatusBadRequest, oauthError{Error: errInvalidRequest, Description: "client_id does not match the authenticated client."})
		return "", false
	}
	return a.clientID, true
}

// refuseClient answers invalid_client with 401 and a Basic challenge: RFC 6749 §5.2 requires the challenge when
// Basic was tried, and RFC 9110 §15.5.2 requires one on every 401.
func (a *Authenticator) refuseClient(w http.ResponseWriter, r *http.Request, reason string) {
	a.logger.DebugContext(r.Context(), "auth: token request refused", "reason", reason, "client_ip", a.ClientIP(r).String())
	w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`", charset="UTF-8"`)
	writeOAuthJSON(w, http.StatusUnauthorized, oauthError{Error: errInvalidClient, Description: "Client authentication failed."})
}

// issue signs an access token for the client: iss, aud, sub, iat, nbf, exp and a random jti.
func (a *Authenticator) issue(clientID string) (string, error) {
	now := a.now()
	claims := jwt.RegisteredClaims{
		Issuer:    a.issuer,
		Subject:   clientID,
		Audience:  jwt.ClaimStrings{a.audience},
		ExpiresAt: jwt.NewNumericDate(now.Add(a.ttl)),
		NotBefore: jwt.NewNumericDate(now),
		IssuedAt:  jwt.NewNumericDate(now),
		ID:        rand.Text(),
	}
	t := jwt.NewWithClaims(a.signer.method, claims)
	t.Header["kid"] = a.signer.kid
	s, err := t.SignedString(a.signer.signKey)
	if err != nil {
		return "", fmt.Errorf("auth: issue token: %w", err)
	}
	return s, nil
}

// TokenRouter serves one /oauth/token for several authenticators (one per connection; client ids are unique
// across them): a request goes to the token endpoint of the authenticator whose client id it carries, in HTTP
// Basic or the form; an unknown client is invalid_client, as at any one endpoint. Nil when none has OAuth on.
func TokenRouter(auths ...*Authenticator) http.Handler {
	byClient := map[string]*Authenticator{}
	for _, a := range auths {
		if a.client != nil {
			byClient[a.clientID] = a
		}
	}
	switch len(byClient) {
	case 0:
		return nil
	case 1:
		for _, a := range byClient {
			return a.TokenHandler()
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The form is read here to find the client and put back for its endpoint, which enforces the same cap.
		body, _ := io.ReadAll(io.LimitReader(r.Body, maxTokenRequestBytes+1))
		r.Body = io.NopCloser(bytes.NewReader(body))
		id, _, ok := r.BasicAuth()
		if !ok {
			if form, err := url.ParseQuery(string(body)); err == nil {
				id = form.Get("client_id")
			}
		}
		if a, found := byClient[id]; found && id != "" {
			a.serveToken(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`", charset="UTF-8"`)
		writeOAuthJSON(w, http.StatusUnauthorized, oauthError{Error: errInvalidClient, Description: "Client authentication failed."})
	})
}
