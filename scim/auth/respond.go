package auth

import (
	"encoding/json"
	"net/http"
	"strconv"
)

const scimErrorSchema = "urn:ietf:params:scim:api:messages:2.0:Error"

// scimError is the RFC 7644 §3.12 error body. It is written here rather than by the SCIM package because this
// middleware answers before any SCIM handler runs.
type scimError struct {
	Schemas []string `json:"schemas"`
	Detail  string   `json:"detail"`
	Status  string   `json:"status"`
}

// Fixed details: the client never learns which check failed.
const (
	detailUnauthenticated = "Authentication required."
	detailAuthFailed      = "Authentication failed."
	detailForbidden       = "Access from this address is not allowed."
	detailTooManyRequests = "Too many requests; retry later."
)

func writeSCIMError(w http.ResponseWriter, status int, detail string) {
	body, _ := json.Marshal(scimError{
		Schemas: []string{scimErrorSchema},
		Detail:  detail,
		Status:  strconv.Itoa(status),
	})
	h := w.Header()
	h.Set("Content-Type", "application/scim+json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// oauthError is the RFC 6749 §5.2 error body of the token endpoint.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func writeOAuthJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	// RFC 6749 §5.1: token responses must not be cached.
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
