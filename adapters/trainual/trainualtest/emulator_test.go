package trainualtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
)

const key = "emu-key"

type client struct {
	t    *testing.T
	base string
	key  string
}

func start(t *testing.T) (*Emulator, *client) {
	t.Helper()
	em := New(key)
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	return em, &client{t: t, base: em.BaseURL(srv.URL), key: key}
}

// do sends a request and decodes the JSON answer into a generic value.
func (c *client) do(method, path, body string) (int, http.Header, any) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v any
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &v); err != nil {
			c.t.Fatalf("%s %s: answer is not JSON: %s", method, path, b)
		}
	}
	return resp.StatusCode, resp.Header, v
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }

func keys(v any) string {
	m, _ := v.(map[string]any)
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return strings.Join(ks, ",")
}

func TestTheSeedExamples(t *testing.T) {
	em, c := start(t)

	// POST /api/v1/users {"email":"new@example.com",...} answers the short invited user.
	st, _, v := c.do("POST", "/users", `{"email":"new@example.com","first_name":"New","last_name":"User"}`)
	if st != http.StatusCreated || js(v) != `{"user":{"email":"new@example.com","id":101,"status":"invited"}}` {
		t.Errorf("create: %d %s", st, js(v))
	}

	// GET /api/v1/users/101 answers the full user.
	st, _, v = c.do("GET", "/users/101", "")
	user := v.(map[string]any)["user"]
	if st != http.StatusOK || keys(user) != "created_at,department,email,first_name,id,last_name,role,status,title,updated_at" {
		t.Errorf("get: %d %s", st, js(v))
	}

	// GET /api/v1/users?page=1 answers users and meta.
	st, _, v = c.do("GET", "/users?page=1", "")
	if st != http.StatusOK || js(v) != `{"meta":{"page":1,"total":1},"users":[{"email":"new@example.com","first_name":"New","id":101,"last_name":"User"}]}` {
		t.Errorf("list: %d %s", st, js(v))
	}

	// PATCH /api/v1/users/101 {"title":"Manager","department":"Ops"} answers id and the changed fields.
	st, _, v = c.do("PATCH", "/users/101", `{"title":"Manager","department":"Ops"}`)
	if st != http.StatusOK || js(v) != `{"user":{"department":"Ops","id":101,"title":"Manager"}}` {
		t.Errorf("patch: %d %s", st, js(v))
	}

	// DELETE /api/v1/users/101 deactivates.
	st, _, v = c.do("DELETE", "/users/101", "")
	if st != http.StatusOK || js(v) != `{"message":"User deactivated successfully."}` {
		t.Errorf("delete: %d %s", st, js(v))
	}
	if u, ok := em.User("101"); !ok || u.Active || u.Attrs[adapters.AttrTitle] != "Manager" {
		t.Errorf("after delete the emulator holds %+v, %v", u, ok)
	}
	if em.Users() != 1 {
		t.Errorf("DELETE removed the user")
	}
}

func TestRequests(t *testing.T) {
	cases := []struct {
		name       string
		seed       int // users seeded first (ids 101...)
		seatLimit  int
		noKey      bool
		method     string
		path, body string
		wantStatus int
		wantBody   string // exact JSON, "" to skip
	}{
		{"a missing key is refused", 0, 0, true, "GET", "/users?page=1", "", 401, `{"error":"Unauthorized"}`},
		{"an unknown id is not found", 0, 0, false, "GET", "/users/999", "", 404, `{"error":"Not found"}`},
		{"a non-numeric id is not found", 0, 0, false, "PATCH", "/users/abc", `{}`, 404, `{"error":"Not found"}`},
		{"deleting an unknown id is not found", 0, 0, false, "DELETE", "/users/999", "", 404, `{"error":"Not found"}`},
		{"a path outside the API is not found", 0, 0, false, "GET", "/groups", "", 404, `{"error":"Not found"}`},
		{"a create without names is refused", 0, 0, false, "POST", "/users", `{"email":"x@example.com"}`, 422,
			`{"errors":["First name can't be blank","Last name can't be blank"]}`},
		{"a create of a taken email in another case is refused", 1, 0, false, "POST", "/users",
			`{"email":"USER0@example.com","first_name":"A","last_name":"B"}`, 422, `{"errors":["Email has already been taken"]}`},
		{"a create beyond the seat limit is refused", 2, 2, false, "POST", "/users",
			`{"email":"z@example.com","first_name":"A","last_name":"B"}`, 422, `{"errors":["You have reached the seat limit for your plan"]}`},
		{"a create that is not JSON is a bad request", 0, 0, false, "POST", "/users", `nope`, 400, ""},
		{"a patch to a taken email is refused", 2, 0, false, "PATCH", "/users/102", `{"email":"user0@EXAMPLE.com"}`, 422,
			`{"errors":["Email has already been taken"]}`},
		{"a patch to an unknown status is refused", 1, 0, false, "PATCH", "/users/101", `{"status":"invited2"}`, 422,
			`{"errors":["Status is invalid"]}`},
		{"a patch clearing a name is refused", 1, 0, false, "PATCH", "/users/101", `{"first_name":""}`, 422,
			`{"errors":["First name can't be blank"]}`},
		{"a patch clearing the title with null answers it empty", 1, 0, false, "PATCH", "/users/101", `{"title":null}`, 200,
			`{"user":{"id":101,"title":""}}`},
		{"a patch setting status deactivated answers it", 1, 0, false, "PATCH", "/users/101", `{"status":"deactivated"}`, 200,
			`{"user":{"id":101,"status":"deactivated"}}`},
		{"the email filter ignores case", 3, 0, false, "GET", "/users?email=USER1@Example.com", "", 200,
			`{"meta":{"page":1,"total":1},"users":[{"email":"user1@example.com","first_name":"G1","id":102,"last_name":"F1"}]}`},
		{"a page past the end is empty", 3, 0, false, "GET", "/users?page=2", "", 200, `{"meta":{"page":2,"total":3},"users":[]}`},
		{"a missing page is the first", 1, 0, false, "GET", "/users", "", 200,
			`{"meta":{"page":1,"total":1},"users":[{"email":"user0@example.com","first_name":"G0","id":101,"last_name":"F0"}]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			em, cl := start(t)
			for i := range c.seed {
				em.Seed(adapters.User{Email: fmt.Sprintf("user%d@example.com", i), GivenName: fmt.Sprintf("G%d", i), FamilyName: fmt.Sprintf("F%d", i), Active: true})
			}
			em.SetSeatLimit(c.seatLimit)
			if c.noKey {
				cl.key = ""
			}
			st, _, v := cl.do(c.method, c.path, c.body)
			if st != c.wantStatus {
				t.Errorf("status %d, want %d (%s)", st, c.wantStatus, js(v))
			}
			if c.wantBody != "" && js(v) != c.wantBody {
				t.Errorf("body %s, want %s", js(v), c.wantBody)
			}
		})
	}
}

func TestAWrongKeyIsRefused(t *testing.T) {
	_, c := start(t)
	c.key = "other"
	if st, _, _ := c.do("GET", "/users/101", ""); st != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", st)
	}
}

func TestPagesHold25UsersAndTheTotalCountsDeactivatedOnes(t *testing.T) {
	em, c := start(t)
	for i := range 2*PageSize + 3 {
		em.Seed(adapters.User{Email: fmt.Sprintf("u%d@example.com", i), GivenName: "G", FamilyName: "F", Active: i%2 == 0})
	}
	seen := map[float64]bool{}
	for page, want := range map[int]int{1: PageSize, 2: PageSize, 3: 3, 4: 0} {
		_, _, v := c.do("GET", fmt.Sprintf("/users?page=%d", page), "")
		m := v.(map[string]any)
		users := m["users"].([]any)
		if len(users) != want || m["meta"].(map[string]any)["total"] != float64(2*PageSize+3) {
			t.Errorf("page %d: %d users, meta %v", page, len(users), m["meta"])
		}
		for _, u := range users {
			id := u.(map[string]any)["id"].(float64)
			if seen[id] {
				t.Errorf("id %v on two pages", id)
			}
			seen[id] = true
		}
	}
	if em.MaxPageSize() != PageSize {
		t.Errorf("MaxPageSize = %d", em.MaxPageSize())
	}
}

func TestReactivationTakesASeat(t *testing.T) {
	em, c := start(t)
	ids := em.Seed(adapters.User{Email: "a@example.com", GivenName: "A", FamilyName: "A", Active: false},
		adapters.User{Email: "b@example.com", GivenName: "B", FamilyName: "B", Active: true})
	em.SetSeatLimit(1)
	if st, _, v := c.do("PATCH", "/users/"+ids[0], `{"status":"active"}`); st != 422 || !strings.Contains(js(v), "seat limit") {
		t.Errorf("reactivation beyond the plan: %d %s", st, js(v))
	}
	em.SetSeatLimit(2)
	if st, _, _ := c.do("PATCH", "/users/"+ids[0], `{"status":"active"}`); st != 200 {
		t.Errorf("reactivation within the plan: %d", st)
	}
	if s, _ := em.Status(ids[0]); s != "active" {
		t.Errorf("status %q", s)
	}
}

func TestFaults(t *testing.T) {
	em, c := start(t)
	em.Seed(adapters.User{Email: "a@example.com", GivenName: "A", FamilyName: "A", Active: true})

	em.Fail(upstreamtest.OpGet, 503, 1, 2*time.Second)
	if st, h, _ := c.do("GET", "/users/101", ""); st != 503 || h.Get("Retry-After") != "2" {
		t.Errorf("injected failure: %d, Retry-After %q", st, h.Get("Retry-After"))
	}
	if st, _, _ := c.do("GET", "/users/101", ""); st != 200 {
		t.Errorf("after the injected failure: %d", st)
	}

	em.SetRateLimit(1)
	c.do("GET", "/users/101", "")
	st, h, _ := c.do("GET", "/users/101", "")
	if st != http.StatusTooManyRequests || h.Get("Retry-After") != "" {
		t.Errorf("rate limit: %d, Retry-After %q: want 429 without Retry-After", st, h.Get("Retry-After"))
	}
	em.SetRateLimit(0)

	if got := em.Calls(upstreamtest.OpGet); got != 4 {
		t.Errorf("Calls(get) = %d, want 4", got)
	}
	em.Reset()
	c.do("GET", "/users?email=a@example.com", "")
	c.do("GET", "/users?page=1", "")
	log := em.Log()
	if len(log) != 2 || log[0].Op != upstreamtest.OpFind || log[1].Op != upstreamtest.OpList || log[0].Path != BasePath+"/users" {
		t.Errorf("log %+v", log)
	}
	if em.Users() != 1 {
		t.Errorf("Reset dropped users")
	}
}

func TestALostCreateResponseIsAppliedAndCut(t *testing.T) {
	em, c := start(t)
	em.DropResponse(upstreamtest.OpCreate)
	req, _ := http.NewRequestWithContext(t.Context(), "POST", c.base+"/users",
		strings.NewReader(`{"email":"a@example.com","first_name":"A","last_name":"B"}`))
	req.Header.Set("Authorization", "Bearer "+key)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("got an answer %d, want a cut connection", resp.StatusCode)
	}
	if em.Users() != 1 {
		t.Errorf("the dropped create was not applied")
	}
}

func TestStrictEmailIsOffByDefaultAndRefusesWhenOn(t *testing.T) {
	e := New("k")
	srv := httptest.NewServer(e)
	defer srv.Close()
	post := func(email string) int {
		req, _ := http.NewRequest("POST", e.BaseURL(srv.URL)+"/users",
			strings.NewReader(`{"email":"`+email+`","first_name":"A","last_name":"B"}`))
		req.Header.Set("Authorization", "Bearer k")
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := post("OMalley"); s != http.StatusCreated {
		t.Errorf("non-email accepted by default: %d, want 201 (the seed documents no format check)", s)
	}
	e.SetStrictEmail(true)
	if s := post("NoAtSign"); s != http.StatusUnprocessableEntity {
		t.Errorf("strict: %d, want 422", s)
	}
	// A PATCH that changes the email goes through the same check under the emulator's lock.
	req, _ := http.NewRequest("PATCH", e.BaseURL(srv.URL)+"/users/101", strings.NewReader(`{"email":"still-no-at"}`))
	req.Header.Set("Authorization", "Bearer k")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("strict PATCH: %d, want 422", resp.StatusCode)
	}
}
