package trainual

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
)

// Every name Trainual uses lives in this file, so a correction found against a live account is a one-line change
// here. The source is the vendor seed (shared/seeds/trainual-api.txt), which itself warns that "exact endpoint paths,
// response envelope structure, and error codes are not fully published": each name below is an assumption until a
// live account confirms it.

// DefaultBaseURL is the documented API base.
const DefaultBaseURL = "https://app.trainual.com/api/v1"

// Paths, relative to the base URL.
const (
	pathUsers = "/users" // GET (list, filter), POST (create/invite)
)

// pathUser is GET, PATCH and DELETE of one user.
func pathUser(id int64) string { return pathUsers + "/" + strconv.FormatInt(id, 10) }

// Query parameters.
const (
	// paramPage is the documented page pointer ("Pagination pointer: page"). No page size parameter is documented, so
	// none is sent: the vendor's own page size is whatever a page holds.
	paramPage = "page"
	// paramEmail is an ASSUMPTION: the seed says "GET /api/v1/users filtered by email" without naming the parameter.
	// FindByEmail matches the answer itself and walks on when the vendor ignores it, so a wrong guess costs calls,
	// not correctness.
	paramEmail = "email"
)

// JSON field names of the user object and of create/update bodies.
const (
	fieldID         = "id"
	fieldEmail      = "email"
	fieldFirstName  = "first_name"
	fieldLastName   = "last_name"
	fieldRole       = "role"
	fieldTitle      = "title"
	fieldDepartment = "department"
	fieldStatus     = "status"
)

// Status values. Only statusDeactivated means "inactive"; "invited" (a new user who has not accepted the invitation
// yet) is still active for SCIM. statusActive is what reactivation sends: an ASSUMPTION, because the seed lists
// status as "optional" on update without saying which values a PATCH accepts.
const (
	statusActive      = "active"
	statusInvited     = "invited"
	statusDeactivated = "deactivated"
)

// Error-body phrases, matched case-insensitively by classify.go. Trainual's error codes are unpublished; these are
// the Rails-style messages the seed's behaviour implies ("Must be unique within the account", "Seat limits apply").
var (
	// takenPhrases mark a uniqueness failure (422 "Email has already been taken").
	takenPhrases = []string{"has already been taken", "already exists"}
	// takenWords and seatWords are matched as whole words, so "explanation" does not read as "plan".
	takenWords = []string{"taken"}
	seatWords  = []string{"seat", "seats", "plan", "plans"}
)

// errorKeys are where a refusal's body holds the reason, tried in order: Rails renders {"errors":[...]} or
// {"errors":{"email":["is invalid"]}}; {"error":"..."} and {"message":"..."} cover other styles.
var errorKeys = []string{"errors", "error", "message"}

// trainualUser is the user object of GET /users/{id} (all fields) and of list items and short create/update answers
// (some fields). optString records whether a field was present, so a short answer is never read as "emptied".
type trainualUser struct {
	ID         trainualID `json:"id"`
	Email      optString  `json:"email"`
	FirstName  optString  `json:"first_name"`
	LastName   optString  `json:"last_name"`
	Role       optString  `json:"role"`
	Title      optString  `json:"title"`
	Department optString  `json:"department"`
	Status     optString  `json:"status"`
	CreatedAt  optString  `json:"created_at"`
	UpdatedAt  optString  `json:"updated_at"`
}

// userEnvelope wraps one user: GET /users/{id}, and the short answers of POST and PATCH.
type userEnvelope struct {
	User *trainualUser `json:"user"`
}

// listEnvelope is the answer of GET /users.
type listEnvelope struct {
	// Users is a pointer so that an answer without the key reads as a changed envelope, not as "nobody".
	Users *[]trainualUser `json:"users"`
	Meta  struct {
		Page  *int `json:"page"`
		Total *int `json:"total"`
	} `json:"meta"`
}

// createBody is POST /users. The optional fields are omitted when empty rather than sent as "", so an unset title
// stays unset instead of depending on how Trainual stores "".
type createBody struct {
	Email      string `json:"email"`
	FirstName  string `json:"first_name"`
	LastName   string `json:"last_name"`
	Title      string `json:"title,omitempty"`
	Department string `json:"department,omitempty"`
	Role       string `json:"role,omitempty"`
}

// attrFields maps the SCIM paths Trainual holds to its field names.
var attrFields = map[string]string{
	adapters.AttrTitle:      fieldTitle,
	adapters.AttrDepartment: fieldDepartment,
	adapters.AttrRole:       fieldRole,
}

// patchBody builds the PATCH /users/{id} body from the fields ch sets, and nothing else: Trainual's PUT/PATCH
// semantics are unconfirmed, so the bridge never sends a field it does not mean to change. A cleared attribute is
// sent as "" (Rails stores it as such; whether Trainual prefers null is unverified). It reports whether any field
// is set.
func patchBody(ch adapters.Change) (map[string]any, bool) {
	b := map[string]any{}
	if ch.Email != nil {
		b[fieldEmail] = *ch.Email
	}
	if ch.GivenName != nil {
		b[fieldFirstName] = *ch.GivenName
	}
	if ch.FamilyName != nil {
		b[fieldLastName] = *ch.FamilyName
	}
	for path, v := range ch.Attrs {
		field, ok := attrFields[path]
		if !ok {
			continue // the contract: keys the vendor does not hold are ignored
		}
		if v == nil {
			b[field] = ""
		} else {
			b[field] = *v
		}
	}
	return b, len(b) > 0
}

// statusBody is the PATCH that reactivates a user.
func statusBody(status string) map[string]any { return map[string]any{fieldStatus: status} }

// toUser converts a Trainual user. full says the object is a complete GET /users/{id} answer: then every attribute
// Trainual holds is reported ("" when empty); otherwise (a list item) only the attributes present in the item are,
// so the caller cannot mistake "not listed" for "empty".
func (tu trainualUser) toUser(full bool) adapters.User {
	u := adapters.User{
		ID:         strconv.FormatInt(int64(tu.ID), 10),
		Email:      tu.Email.v,
		GivenName:  tu.FirstName.v,
		FamilyName: tu.LastName.v,
		// A list item may lack status (the seed's list example does); Trainual's default state is not deactivated.
		Active:  !strings.EqualFold(strings.TrimSpace(tu.Status.v), statusDeactivated),
		Attrs:   map[string]string{},
		Created: parseTime(tu.CreatedAt.v),
		Updated: parseTime(tu.UpdatedAt.v),
	}
	for path, f := range map[string]optString{
		adapters.AttrTitle:      tu.Title,
		adapters.AttrDepartment: tu.Department,
		adapters.AttrRole:       tu.Role,
	} {
		if full || f.set {
			u.Attrs[path] = f.v
		}
	}
	// Without a status the list item cannot say whether the person is active.
	u.Partial = !full && !tu.Status.set
	return u
}

// complete reports whether a list item carries every field a GET /users/{id} answers, so reading it again
// would tell nothing new. The seed's list example carries id, email and names only.
func (tu trainualUser) complete() bool {
	return tu.Email.set && tu.FirstName.set && tu.LastName.set && tu.Status.set &&
		tu.Role.set && tu.Title.set && tu.Department.set
}

// isDeactivated reports whether the object says the user is deactivated.
func (tu trainualUser) isDeactivated() bool {
	return strings.EqualFold(strings.TrimSpace(tu.Status.v), statusDeactivated)
}

// timeLayouts are tried in order: the seed says "ISO 8601", which Rails renders as RFC 3339 with milliseconds; the
// others cover ISO 8601 variants without a colon in the offset or without seconds' fraction.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05Z0700"}

// parseTime returns the zero time for an empty or unparseable value: a timestamp in an unexpected format must not
// block provisioning, and the bridge keeps its own meta.created/lastModified when the vendor's is zero.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// trainualID is the integer user id. It also accepts a quoted integer, in case the live API serialises ids as
// strings; anything else is a decode error.
type trainualID int64

func (id *trainualID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("id is not an integer")
	}
	*id = trainualID(n)
	return nil
}

// optString is a JSON string that remembers whether it was present; null reads as present and empty.
type optString struct {
	v   string
	set bool
}

func (o *optString) UnmarshalJSON(b []byte) error {
	o.set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		o.v = ""
		return nil
	}
	return json.Unmarshal(b, &o.v)
}

// parseID turns an adapter id back into Trainual's integer, rejecting anything else before it reaches a URL path.
func parseID(id string) (int64, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != id {
		return 0, false
	}
	return n, true
}

// attributePaths are the SCIM paths Trainual holds (adapters.Adapter.Attributes), in a stable order.
var attributePaths = []string{adapters.AttrTitle, adapters.AttrDepartment, adapters.AttrRole}
