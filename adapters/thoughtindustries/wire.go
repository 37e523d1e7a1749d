package thoughtindustries

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"time"
)

// Every Thought Industries name the adapter uses lives in this file, so a difference found on a live tenant is
// corrected here without touching the logic. Quotes are from the seed document.

// baseURLFormat builds the per-tenant API base: "https://{subdomain}.thoughtindustries.com/incoming/api/v1". The
// key is tenant-scoped and there is no shared multi-tenant hostname.
const baseURLFormat = "https://%s.thoughtindustries.com/incoming/api/v1"

// headerAPIKey carries the key. The seed also allows an apiKey query parameter; the adapter never uses it because
// query strings end up in proxy and access logs.
const headerAPIKey = "X-API-Key"

// Paths, relative to the base URL.
const pathUsers = "/users"

func userPath(id string) string { return pathUsers + "/" + url.PathEscape(id) }

// groupUsersPath adds a member to a group: "POST /incoming/api/v1/groups/{groupId}/users" with {"userId": id}.
// The seed documents no call that removes one.
func groupUsersPath(groupID string) string { return "/groups/" + url.PathEscape(groupID) + "/users" }

// fieldUserID is the body field of groupUsersPath.
const fieldUserID = "userId"

// Listing: "Pagination method: offset", "Pagination pointer: page / per_page", "Default page size: 25",
// "Max page size: 100".
const (
	paramPage    = "page"
	paramPerPage = "per_page"
	paramEmail   = "email" // "GET /v1/users?email={email}" (seed: common scenarios)
	maxPerPage   = 100
)

// Envelope keys: {"users":[...],"total":T} for a listing (decoded by listEnvelope), {"user":{...}} for one user.
const (
	envelopeUsers = "users"
	envelopeUser  = "user"
)

// User object fields (seed: "User object / data model").
const (
	fieldID           = "id"
	fieldEmail        = "email"
	fieldFirstName    = "firstName"
	fieldLastName     = "lastName"
	fieldPassword     = "password" // write-only; never sent by the adapter
	fieldRole         = "role"
	fieldCustomFields = "customFields"
	fieldCreatedAt    = "createdAt"
	fieldUpdatedAt    = "updatedAt"
	fieldActive       = "active"
	fieldSSOID        = "ssoId"
	fieldLanguage     = "language"
)

// systemFields are "system-generated"/"immutable": they are dropped from the object read before it is PUT back,
// so a strict server cannot refuse the write for carrying them. Every other field read, known or not (groups,
// avatarUrl, future fields), is sent back unchanged.
var systemFields = []string{fieldID, fieldCreatedAt, fieldUpdatedAt}

// writeOnlyFields never come back in an answer, so their absence does not make an answer "short".
var writeOnlyFields = []string{fieldPassword}

// Error-body phrases. The seed says only "duplicate email returns an error" (no status), so a 400/422 whose body
// mentions the email together with one of these words is read as a duplicate.
var (
	duplicateEmailPhrases = []string{"taken", "duplicate", "exists", "already", "in use", "unique"}
	emailWord             = "email"
	// A full plan is undocumented; these are the phrases a seat or licence limit is expected to use.
	seatLimitPhrases = []string{"user limit", "seat", "licen", "plan limit", "limit reached"}
)

// errorKeys are where a refusal's body holds the reason, tried in order ({"error":"Email is invalid"}).
var errorKeys = []string{"error", "errors", "message"}

// tiUser is the part of a user object the adapter maps. Pointers tell "absent or null" from a value.
type tiUser struct {
	ID           flexString                 `json:"id"`
	Email        string                     `json:"email"`
	FirstName    *string                    `json:"firstName"`
	LastName     *string                    `json:"lastName"`
	Active       *bool                      `json:"active"`
	Role         *string                    `json:"role"`
	SSOID        *string                    `json:"ssoId"`
	Language     *string                    `json:"language"`
	CustomFields map[string]json.RawMessage `json:"customFields"`
	CreatedAt    string                     `json:"createdAt"`
	UpdatedAt    string                     `json:"updatedAt"`
}

// userEnvelope is {"user":{...}}. Some answers may carry the object unwrapped; rawUser handles both.
type userEnvelope struct {
	User json.RawMessage `json:"user"`
}

// listEnvelope is {"users":[...],"total":T}; Total is a pointer because a missing total means "unknown".
type listEnvelope struct {
	Users []json.RawMessage `json:"users"`
	Total *int              `json:"total"`
}

// flexString accepts an id sent as a JSON string or number: the seed shows strings ("abc123"), and nothing is lost
// by tolerating numbers.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*f = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}

// parseTime reads the seed's "ISO 8601" timestamps; an unreadable one becomes the zero time rather than an error,
// because losing meta.created is better than failing the whole request.
func parseTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// fieldString renders a custom-field value as SCIM text: strings as they are, numbers and booleans in their JSON
// form, null as empty.
func fieldString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return strconv.FormatBool(b)
	}
	return string(raw)
}
