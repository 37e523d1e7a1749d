package trainualtest

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
)

// BasePath is where the emulator mounts the API, as Trainual does under https://app.trainual.com.
const BasePath = "/api/v1"

// PageSize is the emulator's fixed page size. Trainual documents none; 25 is a common Rails default and small
// enough that tests cross pages cheaply.
const PageSize = 25

// firstID is the first id handed out, as in the seed's examples (101).
const firstID = 101

// Messages the emulator answers, in the Rails style the seed implies.
const (
	msgTaken      = "Email has already been taken"
	msgSeatLimit  = "You have reached the seat limit for your plan"
	msgDeactivate = "User deactivated successfully."
	msgNotFound   = "Not found"
)

// Statuses.
const (
	statusActive      = "active"
	statusInvited     = "invited"
	statusDeactivated = "deactivated"
)

// Emulator is an in-memory Trainual API, faithful to the vendor seed including its traps: short create and update
// answers, list items without status, DELETE that deactivates, 422 for duplicates and a full plan, and throttling
// without Retry-After. It is safe for concurrent use.
type Emulator struct {
	upstreamtest.Faults

	apiKey string
	mux    *http.ServeMux

	mu          sync.Mutex
	users       map[int64]*record
	nextID      int64
	strictEmail bool
	emails      upstreamtest.EmailIndex[int64] // who may hold an e-mail: see indexEmail
	// sorted caches the ids in the listing's order; sortedLen and sortedNext are len(users) and nextID when it was
	// built: ids only come from nextID and only deletes shrink users, so a change of either means it is stale.
	sorted     []int64
	sortedLen  int
	sortedNext int64

	variants // a Variant breaking one of the adapter's assumptions, for the doctor's tests (variants.go)
}

// SetStrictEmail makes the emulator refuse an email without "@" with 422, as a live Trainual very likely does.
// It is off by default because the seed documents no format check, and Microsoft's SCIM test collection posts
// userNames such as "OMalley" that must land somewhere to exercise the rest of the protocol.
func (e *Emulator) SetStrictEmail(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.strictEmail = on
}

func (e *Emulator) strict() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.strictEmail
}

// record is a stored user.
type record struct {
	id                              int64
	email, firstName, lastName      string
	role, title, department, status string
	created, updated                time.Time
}

var _ upstreamtest.Emulator = (*Emulator)(nil)

// New returns an empty emulator that accepts apiKey as its Bearer token.
func New(apiKey string) *Emulator {
	e := &Emulator{apiKey: apiKey, users: map[int64]*record{}, nextID: firstID}
	m := http.NewServeMux()
	m.HandleFunc("GET "+BasePath+"/users", e.list)
	m.HandleFunc("POST "+BasePath+"/users", e.create)
	m.HandleFunc("GET "+BasePath+"/users/{id}", e.get)
	m.HandleFunc("PATCH "+BasePath+"/users/{id}", e.update)
	m.HandleFunc("DELETE "+BasePath+"/users/{id}", e.delete)
	m.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": msgNotFound})
	})
	e.mux = m
	return e
}

// BaseURL is the adapter's base URL for an emulator served at serverURL.
func (e *Emulator) BaseURL(serverURL string) string {
	return strings.TrimRight(serverURL, "/") + BasePath
}

// ServeHTTP implements http.Handler.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.mux.ServeHTTP(w, r) }

// MaxPageSize implements upstreamtest.Emulator.
func (e *Emulator) MaxPageSize() int { return e.pageSize() }

// Seed implements upstreamtest.Emulator: users are stored as given, active ones as "active", the others as
// "deactivated"; Created defaults to now.
func (e *Emulator) Seed(users ...adapters.User) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := make([]string, 0, len(users))
	now := time.Now().UTC()
	for _, u := range users {
		rec := &record{
			id: e.nextID, email: u.Email, firstName: u.GivenName, lastName: u.FamilyName,
			title: u.Attrs[adapters.AttrTitle], department: u.Attrs[adapters.AttrDepartment], role: u.Attrs[adapters.AttrRole],
			status: statusActive, created: u.Created, updated: u.Updated,
		}
		if !u.Active {
			rec.status = statusDeactivated
		}
		if rec.created.IsZero() {
			rec.created = now
		}
		if rec.updated.IsZero() {
			rec.updated = rec.created
		}
		e.users[rec.id] = rec
		e.indexEmail(rec)
		e.nextID++
		ids = append(ids, strconv.FormatInt(rec.id, 10))
	}
	return ids
}

// User implements upstreamtest.Emulator.
func (e *Emulator) User(id string) (adapters.User, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return adapters.User{}, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rec, ok := e.users[n]
	if !ok {
		return adapters.User{}, false
	}
	return adapters.User{
		ID: id, Email: rec.email, GivenName: rec.firstName, FamilyName: rec.lastName,
		Active: rec.status != statusDeactivated,
		Attrs: map[string]string{
			adapters.AttrTitle: rec.title, adapters.AttrDepartment: rec.department, adapters.AttrRole: rec.role,
		},
		Created: rec.created, Updated: rec.updated,
	}, true
}

// Status returns the raw Trainual status of a user ("invited", "active", "deactivated").
func (e *Emulator) Status(id string) (string, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return "", false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rec, ok := e.users[n]
	if !ok {
		return "", false
	}
	return rec.status, true
}

// Users implements upstreamtest.Emulator.
func (e *Emulator) Users() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.users)
}

// begin records the request, applies injected faults and checks the key. It returns the writer to answer on, the
// body read, and false when the request has been answered already.
func (e *Emulator) begin(w http.ResponseWriter, r *http.Request, op upstreamtest.Op) (http.ResponseWriter, []byte, bool) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	e.Record(op, r, body)
	out, handled := e.Intercept(w, op)
	if handled {
		return nil, nil, false
	}
	if !e.authorized(r) {
		writeJSON(out, http.StatusUnauthorized, map[string]any{"error": "Unauthorized"})
		return nil, nil, false
	}
	return out, body, true
}

func (e *Emulator) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") && e.apiKey != "" &&
		subtle.ConstantTimeCompare([]byte(token), []byte(e.apiKey)) == 1
}

// list serves GET /users?page=N[&email=...]. Items hold only id, email, first_name and last_name, as in the seed's
// list example; meta.total counts every user (deactivated included) matching the filter.
func (e *Emulator) list(w http.ResponseWriter, r *http.Request) {
	email := r.URL.Query().Get("email")
	op := upstreamtest.OpList
	if email != "" {
		op = upstreamtest.OpFind
	}
	w, _, ok := e.begin(w, r, op)
	if !ok {
		return
	}
	page, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || page < 1 {
		page = 1 // Rails paginators treat a missing or bad page as the first
	}
	size := e.pageSize()
	e.mu.Lock()
	var match []*record // every user the filter matches, in id order; nil for the whole listing
	total := 0
	switch {
	case email == "":
		// The whole listing: only the page is looked at below.
		total = len(e.users)
	case !e.variant().IgnoreEmailFilter:
		// Every account the filter can match holds the address ignoring case, so the index's candidates suffice.
		for _, id := range e.emails.Candidates(email) {
			if rec := e.users[id]; rec != nil && e.emailMatches(rec.email, email) {
				match = append(match, rec)
			}
		}
	default:
		for _, rec := range e.users {
			if e.emailMatches(rec.email, email) {
				match = append(match, rec)
			}
		}
	}
	if email != "" {
		sort.Slice(match, func(i, j int) bool { return match[i].id < match[j].id })
		total = len(match)
	}
	items := []map[string]any{}
	for i := (page - 1) * size; i < total && i < page*size; i++ {
		var rec *record
		if email == "" {
			rec = e.users[e.sortedIDs()[i]]
		} else {
			rec = match[i]
		}
		items = append(items, map[string]any{
			"id": rec.id, "email": rec.email, "first_name": rec.firstName, "last_name": rec.lastName,
		})
	}
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"users": items, "meta": map[string]any{"page": page, "total": total}})
}

// get serves GET /users/{id} with the full object.
func (e *Emulator) get(w http.ResponseWriter, r *http.Request) {
	w, _, ok := e.begin(w, r, upstreamtest.OpGet)
	if !ok {
		return
	}
	e.mu.Lock()
	rec := e.lookup(r)
	var obj map[string]any
	if rec != nil {
		obj = rec.full()
	}
	e.mu.Unlock()
	if obj == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": msgNotFound})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": obj})
}

// create serves POST /users: it invites the user and answers the short object of the seed.
func (e *Emulator) create(w http.ResponseWriter, r *http.Request) {
	w, body, ok := e.begin(w, r, upstreamtest.OpCreate)
	if !ok {
		return
	}
	var in map[string]any
	if json.Unmarshal(body, &in) != nil || in == nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": []string{"Request body is not valid JSON"}})
		return
	}
	rec := &record{status: statusInvited}
	var errs []string
	for _, f := range []struct {
		name, label string
		dst         *string
		required    bool
	}{
		{"email", "Email", &rec.email, true},
		{"first_name", "First name", &rec.firstName, true},
		{"last_name", "Last name", &rec.lastName, true},
		{"title", "Title", &rec.title, false},
		{"department", "Department", &rec.department, false},
		{"role", "Role", &rec.role, false},
	} {
		v, present, valid := stringField(in, f.name)
		switch {
		case !valid:
			errs = append(errs, f.label+" is invalid")
		case f.required && strings.TrimSpace(v) == "":
			errs = append(errs, f.label+" can't be blank")
		case present:
			*f.dst = v
		}
	}
	if len(errs) == 0 && e.strict() && !strings.Contains(rec.email, "@") {
		errs = append(errs, "Email is invalid")
	}
	if len(errs) > 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"errors": errs})
		return
	}

	e.mu.Lock()
	if e.emailTaken(rec.email, 0) {
		e.mu.Unlock()
		e.writeTaken(w)
		return
	}
	if e.seatsFull() {
		e.mu.Unlock()
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"errors": []string{msgSeatLimit}})
		return
	}
	e.drop(rec, nil, nil)
	rec.id = e.nextID
	e.nextID++
	rec.created = time.Now().UTC()
	rec.updated = rec.created
	e.users[rec.id] = rec
	e.indexEmail(rec)
	short := map[string]any{"id": rec.id, "email": rec.email, "status": rec.status}
	e.mu.Unlock()
	e.echo(w, http.StatusCreated, map[string]any{"user": short})
}

// update serves PATCH /users/{id}: a partial update answering id plus the fields changed, as in the seed.
func (e *Emulator) update(w http.ResponseWriter, r *http.Request) {
	w, body, ok := e.begin(w, r, upstreamtest.OpUpdate)
	if !ok {
		return
	}
	var in map[string]any
	if json.Unmarshal(body, &in) != nil || in == nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": []string{"Request body is not valid JSON"}})
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rec := e.lookup(r)
	if rec == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": msgNotFound})
		return
	}
	next := *rec
	short := map[string]any{"id": rec.id}
	var errs []string
	for _, f := range []struct {
		name, label string
		dst         *string
		required    bool
	}{
		{"email", "Email", &next.email, true},
		{"first_name", "First name", &next.firstName, true},
		{"last_name", "Last name", &next.lastName, true},
		{"title", "Title", &next.title, false},
		{"department", "Department", &next.department, false},
		{"role", "Role", &next.role, false},
		{"status", "Status", &next.status, true},
	} {
		v, present, valid := stringField(in, f.name)
		switch {
		case !present:
			continue
		case !valid:
			errs = append(errs, f.label+" is invalid")
		case f.required && strings.TrimSpace(v) == "":
			errs = append(errs, f.label+" can't be blank")
		default:
			*f.dst = v
			short[f.name] = v
		}
	}
	if _, ok := in["email"]; ok && len(errs) == 0 && e.strictEmail && !strings.Contains(next.email, "@") {
		errs = append(errs, "Email is invalid")
	}
	if next.status != rec.status && next.status != statusActive && next.status != statusDeactivated {
		errs = append(errs, "Status is invalid")
	}
	if len(errs) > 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"errors": errs})
		return
	}
	if !strings.EqualFold(next.email, rec.email) && e.emailTaken(next.email, rec.id) {
		e.writeTaken(w)
		return
	}
	// Reactivating takes a seat back.
	if rec.status == statusDeactivated && next.status != statusDeactivated && e.seatsFull() {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"errors": []string{msgSeatLimit}})
		return
	}
	e.drop(&next, rec, short)
	next.updated = time.Now().UTC()
	emailChanged := next.email != rec.email
	*rec = next
	if emailChanged {
		e.indexEmail(rec)
	}
	e.echo(w, http.StatusOK, map[string]any{"user": short})
}

// delete serves DELETE /users/{id}: it deactivates, it does not delete.
func (e *Emulator) delete(w http.ResponseWriter, r *http.Request) {
	w, _, ok := e.begin(w, r, upstreamtest.OpDelete)
	if !ok {
		return
	}
	e.mu.Lock()
	rec := e.lookup(r)
	e.hardDelete(rec)
	if rec != nil && rec.status != statusDeactivated {
		rec.status = statusDeactivated
		rec.updated = time.Now().UTC()
	}
	e.mu.Unlock()
	if rec == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": msgNotFound})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": msgDeactivate})
}

// lookup finds the user named by the {id} path segment; e.mu must be held.
func (e *Emulator) lookup(r *http.Request) *record {
	n, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil
	}
	return e.users[n]
}

// emailTaken reports whether another user than except holds email, ignoring case; e.mu must be held. Deactivated
// users keep their email, so it stays taken.
func (e *Emulator) emailTaken(email string, except int64) bool {
	for _, id := range e.emails.Candidates(email) {
		if rec := e.users[id]; rec != nil && id != except && strings.EqualFold(rec.email, email) {
			return true
		}
	}
	return false
}

// indexEmail records that rec holds its e-mail now; call it whenever an account gets an address. e.mu must be
// held.
func (e *Emulator) indexEmail(rec *record) {
	e.emails.Add(rec.email, rec.id, func(id int64) bool {
		other := e.users[id]
		return other != nil && strings.EqualFold(other.email, rec.email)
	})
}

// sortedIDs returns every id in ascending order, rebuilt only when accounts were added or removed. e.mu must be
// held; the slice must not be modified.
func (e *Emulator) sortedIDs() []int64 {
	if e.sorted != nil && e.sortedLen == len(e.users) && e.sortedNext == e.nextID {
		return e.sorted
	}
	ids := make([]int64, 0, len(e.users))
	for id := range e.users {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	e.sorted, e.sortedLen, e.sortedNext = ids, len(e.users), e.nextID
	return ids
}

// seatsFull reports whether the plan has no free seat: invited users hold one too; e.mu must be held.
func (e *Emulator) seatsFull() bool {
	limit := e.SeatLimit()
	if limit <= 0 {
		return false
	}
	used := 0
	for _, rec := range e.users {
		if rec.status != statusDeactivated {
			used++
		}
	}
	return used >= limit
}

// full is the GET /users/{id} object; empty optional fields are null, as Rails renders unset columns.
func (rec *record) full() map[string]any {
	return map[string]any{
		"id": rec.id, "email": rec.email, "first_name": rec.firstName, "last_name": rec.lastName,
		"role": nullable(rec.role), "title": nullable(rec.title), "department": nullable(rec.department),
		"status":     rec.status,
		"created_at": rec.created.Format(time.RFC3339Nano),
		"updated_at": rec.updated.Format(time.RFC3339Nano),
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// stringField reads a string field: present says the key was sent, valid that it is a string or null (null reads
// as "").
func stringField(in map[string]any, name string) (v string, present, valid bool) {
	raw, ok := in[name]
	if !ok {
		return "", false, true
	}
	switch x := raw.(type) {
	case nil:
		return "", true, true
	case string:
		return x, true, true
	}
	return "", true, false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
