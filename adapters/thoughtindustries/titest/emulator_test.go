package titest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/thoughtindustries/titest"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
)

const key = "ti-test-key"

type tenant struct {
	em  *titest.Emulator
	srv *httptest.Server
}

func newTenant(t *testing.T) *tenant {
	t.Helper()
	em := titest.New(key)
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	return &tenant{em: em, srv: srv}
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

// call sends one request; pathQuery is relative to the base path and the key goes where auth says.
func (tn *tenant) call(t *testing.T, method, pathQuery, auth string, body any) answer {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	u := tn.em.BaseURL(tn.srv.URL) + pathQuery
	if auth == "query" {
		sep := "?"
		if strings.Contains(pathQuery, "?") {
			sep = "&"
		}
		u += sep + "apiKey=" + key
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	if auth == "header" {
		req.Header.Set("X-API-Key", key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := tn.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, pathQuery, err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &a.body); err != nil {
			t.Fatalf("%s %s: answer is not a JSON object: %s", method, pathQuery, b)
		}
	}
	return a
}

func (a answer) user(t *testing.T) map[string]any {
	t.Helper()
	u, ok := a.body["user"].(map[string]any)
	if !ok {
		t.Fatalf("answer %d has no user object: %v", a.status, a.body)
	}
	return u
}

func (a answer) users(t *testing.T) []any {
	t.Helper()
	u, ok := a.body["users"].([]any)
	if !ok {
		t.Fatalf("answer %d has no users array: %v", a.status, a.body)
	}
	return u
}

func person(n int) adapters.User {
	return adapters.User{Email: fmt.Sprintf("user%03d@example.com", n), GivenName: "Jane", FamilyName: "Doe", Active: true}
}

func TestListAnswersTheSeedEnvelope(t *testing.T) {
	tn := newTenant(t)
	ids := tn.em.Seed(adapters.User{Email: "user@example.com", GivenName: "Jane", FamilyName: "Doe", Active: true})

	// Seed: GET /incoming/api/v1/users?apiKey=YOUR_KEY&page=1&per_page=25
	a := tn.call(t, http.MethodGet, "/users?page=1&per_page=25", "query", nil)
	if a.status != http.StatusOK {
		t.Fatalf("status %d", a.status)
	}
	if a.body["total"] != float64(1) {
		t.Errorf("total = %v, want 1", a.body["total"])
	}
	users := a.users(t)
	if len(users) != 1 {
		t.Fatalf("%d users, want 1", len(users))
	}
	u := users[0].(map[string]any)
	want := map[string]any{"id": ids[0], "email": "user@example.com", "firstName": "Jane", "lastName": "Doe", "active": true}
	for k, v := range want {
		if u[k] != v {
			t.Errorf("%s = %v, want %v", k, u[k], v)
		}
	}
}

func TestListPages(t *testing.T) {
	tn := newTenant(t)
	people := make([]adapters.User, 150)
	for i := range people {
		people[i] = person(i)
	}
	tn.em.Seed(people...)
	cases := []struct {
		name      string
		query     string
		wantCount int
		wantFirst string
	}{
		{"without per_page a page holds the default 25", "/users", 25, "user000@example.com"},
		{"per_page above 100 is clamped to 100", "/users?per_page=500", 100, "user000@example.com"},
		{"per_page of exactly 100 is served", "/users?per_page=100&page=1", 100, "user000@example.com"},
		{"the second page of 100 holds the remaining 50", "/users?per_page=100&page=2", 50, "user100@example.com"},
		{"a page past the end is empty", "/users?per_page=100&page=3", 0, ""},
		{"a nonsense page number reads as the first page", "/users?page=zero&per_page=10", 10, "user000@example.com"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := tn.call(t, http.MethodGet, c.query, "header", nil)
			users := a.users(t)
			if len(users) != c.wantCount {
				t.Fatalf("%d users, want %d", len(users), c.wantCount)
			}
			if a.body["total"] != float64(150) {
				t.Errorf("total = %v, want 150", a.body["total"])
			}
			if c.wantCount > 0 && users[0].(map[string]any)["email"] != c.wantFirst {
				t.Errorf("first user %v, want %s", users[0].(map[string]any)["email"], c.wantFirst)
			}
		})
	}
}

func TestEmailFilterMatchesTheWholeAddressIgnoringCase(t *testing.T) {
	tn := newTenant(t)
	ids := tn.em.Seed(adapters.User{Email: "Jane.Doe@Example.com", Active: true}, person(1))
	cases := []struct {
		query string
		want  int
	}{
		{"jane.doe@example.com", 1},
		{"JANE.DOE@EXAMPLE.COM", 1},
		{"jane.doe", 0},
		{"doe@example.com", 0},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			a := tn.call(t, http.MethodGet, "/users?email="+c.query, "header", nil)
			users := a.users(t)
			if len(users) != c.want {
				t.Fatalf("%d users, want %d", len(users), c.want)
			}
			if c.want == 1 && users[0].(map[string]any)["id"] != ids[0] {
				t.Errorf("found %v", users[0])
			}
		})
	}
	if n := tn.em.Calls(upstreamtest.OpFind); n != len(cases) {
		t.Errorf("emulator counted %d finds, want %d", n, len(cases))
	}
}

func TestCreateAnswersTheSeedExample(t *testing.T) {
	tn := newTenant(t)
	// Seed: POST /incoming/api/v1/users?apiKey=YOUR_KEY with email, firstName, lastName.
	a := tn.call(t, http.MethodPost, "/users", "query",
		map[string]any{"email": "newuser@example.com", "firstName": "John", "lastName": "Smith"})
	if a.status != http.StatusCreated {
		t.Fatalf("status %d: %v", a.status, a.body)
	}
	u := a.user(t)
	id, _ := u["id"].(string)
	if !regexp.MustCompile(`^[a-z]{3,}[0-9]{3,}$`).MatchString(id) {
		t.Errorf("id %q is not shaped like the seed's xyz789", id)
	}
	if u["email"] != "newuser@example.com" || u["firstName"] != "John" || u["active"] != true {
		t.Errorf("answer %v, want the seed's id, email, firstName and active:true", u)
	}
	if _, ok := u["lastName"]; ok {
		t.Error("the create answer carries lastName; the seed's example answer does not, and adapters must read back")
	}
	got := tn.call(t, http.MethodGet, "/users/"+id, "header", nil).user(t)
	if got["lastName"] != "Smith" {
		t.Errorf("stored lastName %v, want Smith", got["lastName"])
	}
}

func TestCreateRefusals(t *testing.T) {
	cases := []struct {
		name       string
		setup      func(*titest.Emulator)
		body       map[string]any
		wantStatus int
		wantError  string
	}{
		{"an email taken in another case is refused", func(e *titest.Emulator) { e.Seed(person(1)) },
			map[string]any{"email": "USER001@EXAMPLE.COM"}, http.StatusUnprocessableEntity, "Email has already been taken"},
		{"a missing email is refused", nil, map[string]any{"firstName": "X"}, http.StatusUnprocessableEntity, "Email can't be blank"},
		{"a full plan refuses a new active user", func(e *titest.Emulator) { e.Seed(person(1)); e.SetSeatLimit(1) },
			map[string]any{"email": "new@example.com"}, http.StatusForbidden, "User limit reached for your plan"},
		{"a wrongly typed field is refused", nil, map[string]any{"email": "a@example.com", "active": "yes"}, http.StatusUnprocessableEntity, "active must be a boolean"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tn := newTenant(t)
			if c.setup != nil {
				c.setup(tn.em)
			}
			before := tn.em.Users()
			a := tn.call(t, http.MethodPost, "/users", "header", c.body)
			if a.status != c.wantStatus || a.body["error"] != c.wantError {
				t.Errorf("got %d %v, want %d %q", a.status, a.body, c.wantStatus, c.wantError)
			}
			if tn.em.Users() != before {
				t.Errorf("a refused create changed the account count from %d to %d", before, tn.em.Users())
			}
		})
	}
}

// fullUser creates a user with every writable field set, through the API.
func fullUser(t *testing.T, tn *tenant) string {
	t.Helper()
	tn.em.AddGroup("grp001")
	a := tn.call(t, http.MethodPost, "/users", "header", map[string]any{
		"email": "newuser@example.com", "firstName": "John", "lastName": "Smith", "password": "pw-Secret-1",
		"role": "learner", "groups": []string{"grp001"}, "customFields": map[string]any{"dept": "Research", "level": 3},
		"ssoId": "sso-1", "avatarUrl": "https://cdn.example.com/a.png", "language": "en",
	})
	if a.status != http.StatusCreated {
		t.Fatalf("create: %d %v", a.status, a.body)
	}
	return a.user(t)["id"].(string)
}

func TestPutReplacesTheWholeUser(t *testing.T) {
	tn := newTenant(t)
	id := fullUser(t, tn)

	// Seed: PUT /incoming/api/v1/users/xyz789 {"firstName":"Jonathan","active":false}.
	a := tn.call(t, http.MethodPut, "/users/"+id, "query", map[string]any{"firstName": "Jonathan", "active": false})
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %v", a.status, a.body)
	}
	u := a.user(t)
	if u["id"] != id || u["email"] != "newuser@example.com" || u["firstName"] != "Jonathan" || u["active"] != false {
		t.Errorf("answer %v, want the seed's id, email, firstName Jonathan and active:false", u)
	}
	for _, field := range []string{"lastName", "role", "ssoId", "avatarUrl", "language"} {
		if u[field] != nil {
			t.Errorf("%s = %v after a PUT that left it out, want it cleared (null)", field, u[field])
		}
	}
	if g := u["groups"].([]any); len(g) != 0 {
		t.Errorf("groups = %v after a PUT that left them out, want []", g)
	}
	if cf := u["customFields"].(map[string]any); len(cf) != 0 {
		t.Errorf("customFields = %v after a PUT that left them out, want {}", cf)
	}
	if _, ok := u["password"]; ok {
		t.Error("the answer carries the write-only password")
	}

	a = tn.call(t, http.MethodPut, "/users/"+id, "header", map[string]any{})
	if a.user(t)["active"] != true {
		t.Errorf("active left out of a PUT = %v, want the default true", a.user(t)["active"])
	}
}

func TestPutKeepsWhatItIsSent(t *testing.T) {
	tn := newTenant(t)
	id := fullUser(t, tn)
	full, _ := tn.em.Raw(id)
	body := map[string]any{}
	for k, v := range full {
		body[k] = v
	}
	body["lastName"] = "Smythe"
	a := tn.call(t, http.MethodPut, "/users/"+id, "header", body)
	u := a.user(t)
	if u["lastName"] != "Smythe" {
		t.Errorf("lastName = %v, want Smythe", u["lastName"])
	}
	for _, field := range []string{"email", "firstName", "role", "ssoId", "avatarUrl", "language", "active", "createdAt"} {
		if u[field] != full[field] {
			t.Errorf("%s = %v, want %v", field, u[field], full[field])
		}
	}
	if fmt.Sprint(u["groups"]) != "[grp001]" || fmt.Sprint(u["customFields"]) != "map[dept:Research level:3]" {
		t.Errorf("groups %v, customFields %v changed", u["groups"], u["customFields"])
	}
}

func TestPutRefusesAnEmailTakenByAnotherUser(t *testing.T) {
	tn := newTenant(t)
	ids := tn.em.Seed(person(1), person(2))
	a := tn.call(t, http.MethodPut, "/users/"+ids[1], "header", map[string]any{"email": "User001@example.com"})
	if a.status != http.StatusUnprocessableEntity || a.body["error"] != "Email has already been taken" {
		t.Errorf("got %d %v", a.status, a.body)
	}
	a = tn.call(t, http.MethodPut, "/users/"+ids[0], "header", map[string]any{"email": "USER001@example.com"})
	if a.status != http.StatusOK {
		t.Errorf("changing the case of one's own email: %d %v", a.status, a.body)
	}
}

func TestCustomFieldKeysTheTenantDoesNotDefineAreDropped(t *testing.T) {
	tn := newTenant(t)
	tn.em.SetCustomFieldKeys("dept")
	a := tn.call(t, http.MethodPost, "/users", "header",
		map[string]any{"email": "a@example.com", "customFields": map[string]any{"dept": "R&D", "costCentre": "42"}})
	if a.status != http.StatusCreated {
		t.Fatalf("status %d: the seed says unknown keys may be silently ignored, not refused", a.status)
	}
	u := tn.call(t, http.MethodGet, "/users/"+a.user(t)["id"].(string), "header", nil).user(t)
	if got := fmt.Sprint(u["customFields"]); got != "map[dept:R&D]" {
		t.Errorf("customFields = %s, want only dept", got)
	}
}

func TestDeleteIsPermanent(t *testing.T) {
	tn := newTenant(t)
	id := fullUser(t, tn)
	if !tn.em.Enroll(id, "crs001", "completed") {
		t.Fatal("enroll failed")
	}
	// Seed: DELETE /incoming/api/v1/users/xyz789 -> {"success": true}.
	a := tn.call(t, http.MethodDelete, "/users/"+id, "query", nil)
	if a.status != http.StatusOK || a.body["success"] != true {
		t.Fatalf("got %d %v, want the seed's {\"success\":true}", a.status, a.body)
	}
	if a := tn.call(t, http.MethodGet, "/users/"+id, "header", nil); a.status != http.StatusNotFound {
		t.Errorf("get after delete: %d", a.status)
	}
	if a := tn.call(t, http.MethodDelete, "/users/"+id, "header", nil); a.status != http.StatusNotFound {
		t.Errorf("second delete: %d", a.status)
	}
	if tn.em.Users() != 0 || len(tn.em.Enrollments(id)) != 0 {
		t.Errorf("%d users and %d enrollments remain", tn.em.Users(), len(tn.em.Enrollments(id)))
	}
}

func TestEnrollmentsSurviveDeactivation(t *testing.T) {
	tn := newTenant(t)
	id := tn.em.Seed(person(1))[0]
	a := tn.call(t, http.MethodGet, "/users/"+id+"/enrollments", "header", nil)
	if list, ok := a.body["enrollments"].([]any); !ok || len(list) != 0 {
		t.Fatalf("enrollments of a new user: %v", a.body)
	}
	tn.em.Enroll(id, "crs001", "in_progress")
	tn.call(t, http.MethodPut, "/users/"+id, "header", map[string]any{"active": false})
	a = tn.call(t, http.MethodGet, "/users/"+id+"/enrollments", "header", nil)
	list, _ := a.body["enrollments"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["courseId"] != "crs001" {
		t.Errorf("enrollments after deactivation: %v", a.body)
	}
}

func TestAddUserToGroup(t *testing.T) {
	tn := newTenant(t)
	id := tn.em.Seed(person(1))[0]
	tn.em.AddGroup("grp001")
	cases := []struct {
		name       string
		group      string
		userID     string
		wantStatus int
	}{
		{"an existing group takes the user", "grp001", id, http.StatusOK},
		{"adding twice is harmless", "grp001", id, http.StatusOK},
		{"a group that does not exist is an error", "grp404", id, http.StatusNotFound},
		{"a user that does not exist is an error", "grp001", "nobody", http.StatusNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := tn.call(t, http.MethodPost, "/groups/"+c.group+"/users", "header", map[string]any{"userId": c.userID})
			if a.status != c.wantStatus {
				t.Errorf("status %d, want %d: %v", a.status, c.wantStatus, a.body)
			}
		})
	}
	raw, _ := tn.em.Raw(id)
	if fmt.Sprint(raw["groups"]) != "[grp001]" {
		t.Errorf("groups = %v, want [grp001]", raw["groups"])
	}
}

func TestTheKeyIsAcceptedAsQueryParameterOrHeaderOnly(t *testing.T) {
	tn := newTenant(t)
	id := tn.em.Seed(person(1))[0]
	cases := []struct {
		name string
		auth string
		want int
	}{
		{"the apiKey query parameter is accepted", "query", http.StatusOK},
		{"the X-API-Key header is accepted", "header", http.StatusOK},
		{"no key is refused", "none", http.StatusUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if a := tn.call(t, http.MethodGet, "/users/"+id, c.auth, nil); a.status != c.want {
				t.Errorf("status %d, want %d", a.status, c.want)
			}
		})
	}
	t.Run("a wrong key is refused", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, tn.em.BaseURL(tn.srv.URL)+"/users/"+id+"?apiKey=wrong", nil)
		req.Header.Set("X-API-Key", "also-wrong")
		resp, err := tn.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", resp.StatusCode)
		}
	})
	for _, c := range tn.em.Log() {
		if strings.Contains(c.Query, key) {
			t.Errorf("the call log holds the key in %q", c.Query)
		}
	}
}

func TestInjectedFaults(t *testing.T) {
	t.Run("a failure answers its status and applies nothing", func(t *testing.T) {
		tn := newTenant(t)
		tn.em.Fail(upstreamtest.OpCreate, http.StatusServiceUnavailable, 1, 0)
		if a := tn.call(t, http.MethodPost, "/users", "header", map[string]any{"email": "a@example.com"}); a.status != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503", a.status)
		}
		if tn.em.Users() != 0 {
			t.Error("a failed create was applied")
		}
		if a := tn.call(t, http.MethodPost, "/users", "header", map[string]any{"email": "a@example.com"}); a.status != http.StatusCreated {
			t.Errorf("the next create: status %d", a.status)
		}
	})
	t.Run("the undocumented rate limit answers 429 without Retry-After", func(t *testing.T) {
		tn := newTenant(t)
		tn.em.SetRateLimit(1)
		tn.call(t, http.MethodGet, "/users", "header", nil)
		a := tn.call(t, http.MethodGet, "/users", "header", nil)
		if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") != "" {
			t.Errorf("got %d with Retry-After %q, want 429 without one", a.status, a.header.Get("Retry-After"))
		}
	})
	t.Run("a dropped response is applied but never answered", func(t *testing.T) {
		tn := newTenant(t)
		tn.em.DropResponse(upstreamtest.OpCreate)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, tn.em.BaseURL(tn.srv.URL)+"/users",
			strings.NewReader(`{"email":"a@example.com"}`))
		req.Header.Set("X-API-Key", key)
		if resp, err := tn.srv.Client().Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("got an answer (%d), want a cut connection", resp.StatusCode)
		}
		if tn.em.Users() != 1 {
			t.Errorf("%d users, want the create applied", tn.em.Users())
		}
	})
	t.Run("calls are counted per operation", func(t *testing.T) {
		tn := newTenant(t)
		id := tn.em.Seed(person(1))[0]
		tn.call(t, http.MethodGet, "/users/"+id, "header", nil)
		tn.call(t, http.MethodPut, "/users/"+id, "header", map[string]any{"firstName": "X"})
		tn.call(t, http.MethodDelete, "/users/"+id, "header", nil)
		for op, want := range map[upstreamtest.Op]int{upstreamtest.OpGet: 1, upstreamtest.OpUpdate: 1, upstreamtest.OpDelete: 1, upstreamtest.OpCreate: 0} {
			if got := tn.em.Calls(op); got != want {
				t.Errorf("Calls(%s) = %d, want %d", op, got, want)
			}
		}
	})
}

func TestSeedAndUserMapAttributesToVendorFields(t *testing.T) {
	tn := newTenant(t)
	tn.em.SetCustomFieldKeys("department", "title")
	id := tn.em.Seed(adapters.User{
		Email: "a@example.com", GivenName: "A", FamilyName: "B", Active: false,
		Attrs: map[string]string{
			adapters.AttrExternalID: "ext-1", adapters.AttrPreferredLanguage: "de", adapters.AttrRole: "admin",
			adapters.AttrDepartment: "Research", adapters.AttrCostCenter: "dropped: the tenant has no such key",
		},
	})[0]
	raw, _ := tn.em.Raw(id)
	if raw["ssoId"] != "ext-1" || raw["language"] != "de" || raw["role"] != "admin" || raw["active"] != false {
		t.Errorf("raw user %v", raw)
	}
	if got := fmt.Sprint(raw["customFields"]); got != "map[department:Research]" {
		t.Errorf("customFields = %s", got)
	}
	u, ok := tn.em.User(id)
	if !ok {
		t.Fatal("seeded user not found")
	}
	want := map[string]string{
		adapters.AttrExternalID: "ext-1", adapters.AttrPreferredLanguage: "de", adapters.AttrRole: "admin",
		adapters.AttrDepartment: "Research", adapters.AttrTitle: "",
	}
	if fmt.Sprint(u.Attrs) != fmt.Sprint(want) {
		t.Errorf("attrs %v, want %v", u.Attrs, want)
	}
}
