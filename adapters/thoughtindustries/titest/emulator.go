package titest

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
)

// BasePath is where the REST API lives on a tenant's host.
const BasePath = "/incoming/api/v1"

// Page sizes from the seed: "default page size is 25", "Max page size: 100".
const (
	DefaultPerPage = 25
	MaxPerPage     = 100
)

// Operations beyond the user operations every emulator knows.
const (
	OpAddToGroup  upstreamtest.Op = "add_to_group"
	OpEnrollments upstreamtest.Op = "enrollments"
	OpUnknown     upstreamtest.Op = "unknown"
)

// Answer bodies for the failures the seed mentions without spelling out.
const (
	msgDuplicateEmail = "Email has already been taken"
	msgSeatLimit      = "User limit reached for your plan"
	msgUnauthorized   = "Invalid API key"
	msgUserNotFound   = "User not found"
	msgGroupNotFound  = "Group not found"
)

const maxBody = 1 << 20

// Emulator is one Thought Industries tenant. It is safe for concurrent use.
type Emulator struct {
	upstreamtest.Faults

	apiKey string

	mu          sync.Mutex
	users       map[string]*record
	order       []string        // creation order: the listing's order
	groups      map[string]bool // groups that exist (AddGroup)
	customKeys  map[string]bool // nil: every key is accepted
	enrollments map[string][]Enrollment
	strictEmail atomic.Bool
	emails      upstreamtest.EmailIndex[string] // who may hold an e-mail: see indexEmail

	variants // a Variant breaking one of the adapter's assumptions, for the doctor's tests (variants.go)
}

// SetStrictEmail makes the emulator refuse an email without "@" with 422, as a live tenant very likely does. It is
// off by default because the seed documents no format check, and Microsoft's SCIM test collection posts userNames
// such as "OMalley" that must land somewhere to exercise the rest of the protocol.
func (e *Emulator) SetStrictEmail(on bool) { e.strictEmail.Store(on) }

// Enrollment is one course enrollment, as GET /users/{id}/enrollments lists it.
type Enrollment struct {
	CourseID    string     `json:"courseId"`
	Status      string     `json:"status"`
	CompletedAt *time.Time `json:"completedAt"`
}

// record is a stored user. Empty strings are "not set" and are served as null.
type record struct {
	id, email, firstName, lastName, role, ssoID, avatarURL, language string
	password                                                         string // write-only
	active                                                           bool
	groups                                                           []string
	customFields                                                     map[string]json.RawMessage
	createdAt, updatedAt                                             time.Time
}

var _ upstreamtest.Emulator = (*Emulator)(nil)

// New returns an empty tenant that accepts apiKey, as the apiKey query parameter or the X-API-Key header.
func New(apiKey string) *Emulator {
	return &Emulator{
		apiKey:      apiKey,
		users:       map[string]*record{},
		groups:      map[string]bool{},
		enrollments: map[string][]Enrollment{},
	}
}

// BaseURL returns the API base for an emulator served at serverURL (such as httptest.Server.URL).
func (e *Emulator) BaseURL(serverURL string) string {
	return strings.TrimRight(serverURL, "/") + BasePath
}

// MaxPageSize implements upstreamtest.Emulator.
func (e *Emulator) MaxPageSize() int { return e.maxPerPage() }

// SetCustomFieldKeys configures the custom-field keys the tenant's admin portal defines; any other key written is
// silently dropped, as the seed warns. With no keys, every key is dropped. Until it is called, every key is kept.
func (e *Emulator) SetCustomFieldKeys(keys ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.customKeys = map[string]bool{}
	for _, k := range keys {
		e.customKeys[k] = true
	}
}

// AddGroup creates a group users can be added to with POST /groups/{id}/users.
func (e *Emulator) AddGroup(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.groups[id] = true
}

// Enroll records a course enrollment (learning history) for a user; it reports whether the user exists.
func (e *Emulator) Enroll(userID, courseID, status string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.users[userID] == nil {
		return false
	}
	e.enrollments[userID] = append(e.enrollments[userID], Enrollment{CourseID: courseID, Status: status})
	return true
}

// Enrollments returns a user's enrollments, bypassing the API.
func (e *Emulator) Enrollments(userID string) []Enrollment {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.enrollments[userID])
}

// Seed implements upstreamtest.Emulator. Attrs map as the vendor would hold them: externalId to ssoId,
// preferredLanguage (or locale) to language, roles to role, and any other attribute to the custom field named by
// its short name (department for the enterprise department, title for title), subject to SetCustomFieldKeys.
func (e *Emulator) Seed(users ...adapters.User) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := make([]string, 0, len(users))
	now := time.Now().UTC()
	for _, u := range users {
		r := &record{
			id: u.ID, email: u.Email, firstName: u.GivenName, lastName: u.FamilyName, active: u.Active,
			createdAt: u.Created.UTC(), updatedAt: u.Updated.UTC(), customFields: map[string]json.RawMessage{},
		}
		if r.id == "" || e.users[r.id] != nil {
			r.id = e.newID()
		}
		if u.Created.IsZero() {
			r.createdAt = now
		}
		if u.Updated.IsZero() {
			r.updatedAt = r.createdAt
		}
		for k, v := range u.Attrs {
			if v == "" {
				continue
			}
			switch k {
			case adapters.AttrExternalID:
				r.ssoID = v
			case adapters.AttrPreferredLanguage:
				r.language = v
			case adapters.AttrLocale:
				if u.Attrs[adapters.AttrPreferredLanguage] == "" {
					r.language = v
				}
			case adapters.AttrRole:
				r.role = v
			default:
				if key := ShortName(k); e.keepCustomKey(key) {
					b, _ := json.Marshal(v)
					r.customFields[key] = b
				}
			}
		}
		e.users[r.id] = r
		e.indexEmail(r)
		e.order = append(e.order, r.id)
		ids = append(ids, r.id)
	}
	return ids
}

// ShortName is the custom-field key Seed uses for a SCIM path: the attribute name without its schema URN and
// without a trailing ".value" (…:enterprise:2.0:User:department -> department, …:manager.value -> manager).
func ShortName(path string) string {
	if i := strings.LastIndex(path, ":"); i >= 0 {
		path = path[i+1:]
	}
	return strings.TrimSuffix(path, ".value")
}

// attrPath is the inverse of ShortName for the names the bridge can route to custom fields; other keys come back
// as they are.
func attrPath(key string) string {
	switch key {
	case "employeeNumber", "costCenter", "organization", "division", "department":
		return adapters.EnterpriseURN + ":" + key
	case "manager":
		return adapters.EnterpriseURN + ":manager.value"
	}
	return key
}

// User implements upstreamtest.Emulator: the vendor's view, with ssoId as externalId, language as
// preferredLanguage, role as roles, and each custom field under attrPath(key) (every key set with
// SetCustomFieldKeys, "" when empty).
func (e *Emulator) User(id string) (adapters.User, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.users[id]
	if r == nil {
		return adapters.User{}, false
	}
	u := adapters.User{
		ID: r.id, Email: r.email, GivenName: r.firstName, FamilyName: r.lastName, Active: r.active,
		Created: r.createdAt, Updated: r.updatedAt,
		Attrs: map[string]string{
			adapters.AttrExternalID:        r.ssoID,
			adapters.AttrPreferredLanguage: r.language,
			adapters.AttrRole:              r.role,
		},
	}
	// A key the tenant defines is held even when empty, like the core fields; with no definition (accept all)
	// only the keys with a value are known.
	for k := range e.customKeys {
		u.Attrs[attrPath(k)] = ""
	}
	for k, v := range r.customFields {
		u.Attrs[attrPath(k)] = rawString(v)
	}
	return u, true
}

// Raw returns a user exactly as GET /users/{id} serves it (the "user" object), bypassing the API.
func (e *Emulator) Raw(id string) (map[string]any, bool) {
	e.mu.Lock()
	r := e.users[id]
	var b []byte
	if r != nil {
		b, _ = json.Marshal(r.object())
	}
	e.mu.Unlock()
	if r == nil {
		return nil, false
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m, true
}

// Users implements upstreamtest.Emulator.
func (e *Emulator) Users() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.users)
}

// ServeHTTP implements http.Handler.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, route := classifyRoute(r)
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		body = nil
	}
	e.Record(op, r, body)
	w, handled := e.Intercept(w, op)
	if handled {
		return
	}
	if !e.authorized(r) {
		writeError(w, http.StatusUnauthorized, msgUnauthorized)
		return
	}
	if len(body) > maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "Request body too large")
		return
	}
	switch route.kind {
	case routeUsers:
		switch r.Method {
		case http.MethodGet:
			e.list(w, r)
		case http.MethodPost:
			e.create(w, body)
		default:
			writeError(w, http.StatusMethodNotAllowed, "Method not allowed")
		}
	case routeUser:
		switch r.Method {
		case http.MethodGet:
			e.get(w, route.id)
		case http.MethodPut:
			e.replace(w, route.id, body)
		case http.MethodDelete:
			e.delete(w, route.id)
		default:
			writeError(w, http.StatusMethodNotAllowed, "Method not allowed")
		}
	case routeEnrollments:
		if r.Method != http.MethodGet {
			writeError(w, http.StatusMethodNotAllowed, "Method not allowed")
			return
		}
		e.listEnrollments(w, route.id)
	case routeGroupUsers:
		if r.Method != http.MethodPost {
			writeError(w, http.StatusMethodNotAllowed, "Method not allowed")
			return
		}
		e.addToGroup(w, route.id, body)
	default:
		writeError(w, http.StatusNotFound, "Not found")
	}
}

type routeKind int

const (
	routeNone routeKind = iota
	routeUsers
	routeUser
	routeEnrollments
	routeGroupUsers
)

type route struct {
	kind routeKind
	id   string
}

func classifyRoute(r *http.Request) (upstreamtest.Op, route) {
	rest, ok := strings.CutPrefix(r.URL.Path, BasePath+"/")
	if !ok {
		return OpUnknown, route{}
	}
	seg := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	switch {
	case len(seg) == 1 && seg[0] == "users":
		if r.Method == http.MethodPost {
			return upstreamtest.OpCreate, route{kind: routeUsers}
		}
		if r.URL.Query().Has("email") {
			return upstreamtest.OpFind, route{kind: routeUsers}
		}
		return upstreamtest.OpList, route{kind: routeUsers}
	case len(seg) == 2 && seg[0] == "users" && seg[1] != "":
		op := upstreamtest.OpGet
		switch r.Method {
		case http.MethodPut, http.MethodPatch:
			op = upstreamtest.OpUpdate
		case http.MethodDelete:
			op = upstreamtest.OpDelete
		}
		return op, route{kind: routeUser, id: seg[1]}
	case len(seg) == 3 && seg[0] == "users" && seg[2] == "enrollments":
		return OpEnrollments, route{kind: routeEnrollments, id: seg[1]}
	case len(seg) == 3 && seg[0] == "groups" && seg[2] == "users":
		return OpAddToGroup, route{kind: routeGroupUsers, id: seg[1]}
	}
	return OpUnknown, route{}
}

func (e *Emulator) authorized(r *http.Request) bool {
	for _, k := range []string{r.Header.Get("X-API-Key"), r.URL.Query().Get("apiKey")} {
		if k != "" && subtle.ConstantTimeCompare([]byte(k), []byte(e.apiKey)) == 1 {
			return true
		}
	}
	return false
}

func (e *Emulator) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	perPage, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || perPage < 1 {
		perPage = e.defaultPerPage()
	}
	perPage = min(perPage, e.maxPerPage())
	email, filter := q.Get("email"), q.Has("email")

	e.mu.Lock()
	matched := e.order // ids, in the listing's order
	if filter {
		matched = e.matchEmail(email)
	}
	out := []map[string]any{}
	if start := (page - 1) * perPage; start < len(matched) {
		for _, id := range matched[start:min(start+perPage, len(matched))] {
			out = append(out, e.users[id].object())
		}
	}
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"users": out, "total": len(matched)})
}

func (e *Emulator) get(w http.ResponseWriter, id string) {
	e.mu.Lock()
	u := e.users[id]
	var obj map[string]any
	if u != nil {
		obj = u.object()
	}
	e.mu.Unlock()
	if u == nil {
		writeError(w, http.StatusNotFound, msgUserNotFound)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": obj})
}

func (e *Emulator) create(w http.ResponseWriter, body []byte) {
	in, err := parseInput(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	r := &record{}
	if err := e.fill(r, in); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	email, _, err := in.str("email")
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if email = strings.TrimSpace(email); email == "" {
		writeError(w, http.StatusUnprocessableEntity, "Email can't be blank")
		return
	}
	if e.strictEmail.Load() && !strings.Contains(email, "@") {
		writeError(w, http.StatusUnprocessableEntity, "Email is invalid")
		return
	}
	r.email = email

	e.mu.Lock()
	if e.emailTaken(email, "") {
		e.mu.Unlock()
		e.writeTaken(w)
		return
	}
	if limit := e.SeatLimit(); limit > 0 && r.active && e.activeCount() >= limit {
		e.mu.Unlock()
		writeError(w, http.StatusForbidden, msgSeatLimit)
		return
	}
	e.drop(r, nil)
	now := time.Now().UTC()
	r.id, r.createdAt, r.updatedAt = e.newID(), now, now
	e.users[r.id] = r
	e.indexEmail(r)
	e.order = append(e.order, r.id)
	// The seed's create answer is a subset of the user: callers must read back what they need.
	answer := map[string]any{"id": r.id, "email": r.email, "firstName": nullable(r.firstName), "active": r.active}
	e.mu.Unlock()
	e.echo(w, http.StatusCreated, map[string]any{"user": answer})
}

// replace is PUT /users/{id}: full replacement, the trap the seed warns about.
func (e *Emulator) replace(w http.ResponseWriter, id string, body []byte) {
	in, err := parseInput(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	next := &record{}
	if err := e.fill(next, in); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	email, hasEmail, err := in.str("email")
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	email = strings.TrimSpace(email)
	if hasEmail && e.strictEmail.Load() && !strings.Contains(email, "@") {
		writeError(w, http.StatusUnprocessableEntity, "Email is invalid")
		return
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	cur := e.users[id]
	if cur == nil {
		writeError(w, http.StatusNotFound, msgUserNotFound)
		return
	}
	if hasEmail && e.emailTaken(email, id) {
		e.writeTaken(w)
		return
	}
	next.id, next.createdAt, next.updatedAt = cur.id, cur.createdAt, time.Now().UTC()
	next.email = cur.email
	if hasEmail {
		next.email = email
	}
	if _, ok := in["password"]; !ok {
		next.password = cur.password
	}
	e.drop(next, cur)
	emailChanged := next.email != cur.email
	*cur = *next
	if emailChanged {
		e.indexEmail(cur)
	}
	e.echo(w, http.StatusOK, map[string]any{"user": cur.object()})
}

func (e *Emulator) delete(w http.ResponseWriter, id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.users[id] == nil {
		writeError(w, http.StatusNotFound, msgUserNotFound)
		return
	}
	if e.softDelete(w, id) {
		return
	}
	// Permanent: the account and its learning history are gone.
	delete(e.users, id)
	delete(e.enrollments, id)
	e.order = slices.DeleteFunc(e.order, func(x string) bool { return x == id })
	writeJSON(w, http.StatusOK, map[string]any{"success": true})
}

func (e *Emulator) listEnrollments(w http.ResponseWriter, id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.users[id] == nil {
		writeError(w, http.StatusNotFound, msgUserNotFound)
		return
	}
	list := e.enrollments[id]
	if list == nil {
		list = []Enrollment{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"enrollments": list})
}

func (e *Emulator) addToGroup(w http.ResponseWriter, groupID string, body []byte) {
	var req struct {
		UserID string `json:"userId"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "Invalid JSON")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.groups[groupID] {
		writeError(w, http.StatusNotFound, msgGroupNotFound)
		return
	}
	u := e.users[req.UserID]
	if u == nil {
		writeError(w, http.StatusNotFound, msgUserNotFound)
		return
	}
	if !slices.Contains(u.groups, groupID) {
		u.groups = append(u.groups, groupID)
		u.updatedAt = time.Now().UTC()
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true})
}

// fill sets every writable field of r from in; a field absent or null is cleared, and active defaults to true.
func (e *Emulator) fill(r *record, in input) error {
	var err error
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"firstName", &r.firstName}, {"lastName", &r.lastName}, {"role", &r.role}, {"ssoId", &r.ssoID},
		{"avatarUrl", &r.avatarURL}, {"language", &r.language}, {"password", &r.password},
	} {
		if *f.dst, _, err = in.str(f.name); err != nil {
			return err
		}
	}
	r.active = true
	if raw, ok := in["active"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &r.active); err != nil {
			return errors.New("active must be a boolean")
		}
	}
	r.groups = nil
	if raw, ok := in["groups"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &r.groups); err != nil {
			return errors.New("groups must be an array of group ids")
		}
	}
	r.customFields = map[string]json.RawMessage{}
	if raw, ok := in["customFields"]; ok && !isNull(raw) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil || m == nil {
			return errors.New("customFields must be an object")
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		for k, v := range m {
			v = bytes.TrimSpace(v)
			if isNull(v) {
				continue
			}
			if len(v) > 0 && (v[0] == '{' || v[0] == '[') {
				return fmt.Errorf("customFields.%s must be a string, number or boolean", k)
			}
			if e.keepCustomKey(k) { // unknown keys vanish without a word, as the seed warns
				r.customFields[k] = v
			}
		}
	}
	return nil
}

// keepCustomKey reports whether the tenant defines key. e.mu must be held.
func (e *Emulator) keepCustomKey(key string) bool {
	return e.customKeys == nil || e.customKeys[key]
}

// emailTaken reports whether another user (not except) has email, ignoring case. e.mu must be held.
func (e *Emulator) emailTaken(email, except string) bool {
	for _, id := range e.emails.Candidates(email) {
		if u := e.users[id]; u != nil && id != except && strings.EqualFold(u.email, email) {
			return true
		}
	}
	return false
}

// indexEmail records that r holds its e-mail now; call it whenever an account gets an address. e.mu must be held.
func (e *Emulator) indexEmail(r *record) {
	e.emails.Add(r.email, r.id, func(id string) bool {
		other := e.users[id]
		return other != nil && strings.EqualFold(other.email, r.email)
	})
}

// matchEmail returns the ids the ?email= filter matches, in the listing's order. e.mu must be held.
func (e *Emulator) matchEmail(email string) []string {
	if !e.variant().IgnoreEmailFilter {
		// Every account the filter can match holds the address ignoring case, so the index's candidates suffice;
		// the listing's order only matters when there are several.
		var ids []string
		for _, id := range e.emails.Candidates(email) {
			if u := e.users[id]; u != nil && e.emailMatches(u.email, email) {
				ids = append(ids, id)
			}
		}
		if len(ids) <= 1 {
			return ids
		}
	}
	var ids []string
	for _, id := range e.order {
		if e.emailMatches(e.users[id].email, email) {
			ids = append(ids, id)
		}
	}
	return ids
}

func (e *Emulator) activeCount() int {
	n := 0
	for _, u := range e.users {
		if u.active {
			n++
		}
	}
	return n
}

// newID returns an unused id shaped like the seed's ("abc123", "xyz789"). e.mu must be held.
func (e *Emulator) newID() string {
	const letters, digits = "abcdefghijklmnopqrstuvwxyz", "0123456789"
	for n := 3; ; n++ {
		for range 10 {
			b := make([]byte, 0, 2*n)
			for range n {
				b = append(b, letters[rand.N(len(letters))])
			}
			for range n {
				b = append(b, digits[rand.N(len(digits))])
			}
			if id := string(b); e.users[id] == nil {
				return id
			}
		}
	}
}

// object is the user as the API serves it; password is never included.
func (r *record) object() map[string]any {
	groups := slices.Clone(r.groups)
	if groups == nil {
		groups = []string{}
	}
	custom := make(map[string]json.RawMessage, len(r.customFields))
	for k, v := range r.customFields {
		custom[k] = v
	}
	return map[string]any{
		"id":           r.id,
		"email":        r.email,
		"firstName":    nullable(r.firstName),
		"lastName":     nullable(r.lastName),
		"role":         nullable(r.role),
		"groups":       groups,
		"customFields": custom,
		"createdAt":    r.createdAt.Format(time.RFC3339Nano),
		"updatedAt":    r.updatedAt.Format(time.RFC3339Nano),
		"active":       r.active,
		"ssoId":        nullable(r.ssoID),
		"avatarUrl":    nullable(r.avatarURL),
		"language":     nullable(r.language),
	}
}

// input is a request body decoded one level deep.
type input map[string]json.RawMessage

func parseInput(body []byte) (input, error) {
	var in input
	if err := json.Unmarshal(body, &in); err != nil || in == nil {
		return nil, errors.New("Invalid JSON body")
	}
	return in, nil
}

// str reads a string field; absent and null both give "" with present=false.
func (in input) str(field string) (v string, present bool, err error) {
	raw, ok := in[field]
	if !ok || isNull(raw) {
		return "", false, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false, fmt.Errorf("%s must be a string", field)
	}
	return v, true, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func rawString(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	return string(raw)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"Internal server error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
