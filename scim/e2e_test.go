package scim_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/targets"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
	"github.com/scim-bridge/scim-bridge/scim/scimtest"
)

const errSchema = "urn:ietf:params:scim:api:messages:2.0:Error"

// forEachTarget runs a test against every target: every SCIM behaviour is proven for every vendor.
func forEachTarget(t *testing.T, f func(t *testing.T, target string)) {
	for _, name := range targets.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, name)
		})
	}
}

func assertStatus(t *testing.T, r scimtest.Response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d; body %s", r.Status, want, r.Raw)
	}
}

func assertSCIMError(t *testing.T, r scimtest.Response, status int, scimType string) {
	t.Helper()
	assertStatus(t, r, status)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
		t.Errorf("Content-Type %q, want application/scim+json", ct)
	}
	schemas, _ := r.Body["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != errSchema {
		t.Errorf("schemas %v, want the error schema; body %s", r.Body["schemas"], r.Raw)
	}
	if r.Body["status"] != fmt.Sprint(status) {
		t.Errorf("status field %v, want %q", r.Body["status"], fmt.Sprint(status))
	}
	if got, _ := r.Body["scimType"].(string); got != scimType {
		t.Errorf("scimType %q, want %q; body %s", got, scimType, r.Raw)
	}
	if d, _ := r.Body["detail"].(string); d == "" {
		t.Errorf("no detail in %s", r.Raw)
	}
}

func create(t *testing.T, b *scimtest.Bridge, userName string) string {
	t.Helper()
	r := b.Do(t, "POST", "/Users", scimtest.User(userName, "Given", "Family"))
	assertStatus(t, r, http.StatusCreated)
	id, _ := r.Body["id"].(string)
	if id == "" {
		t.Fatalf("no id in %s", r.Raw)
	}
	return id
}

func str(m map[string]any, path ...string) string {
	var cur any = m
	for _, p := range path {
		mm, _ := cur.(map[string]any)
		cur = mm[p]
	}
	s, _ := cur.(string)
	return s
}

func TestAuthIsRequiredOnEverySCIMEndpoint(t *testing.T) {
	b := scimtest.Start(t, scimtest.Options{})
	for _, tc := range []struct{ name, header string }{
		{"no header", ""},
		{"wrong token", "Bearer nope"},
		{"no scheme (Okta's spec test)", "non-token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/Users", "/Users/1", "/ServiceProviderConfig", "/Schemas"} {
				r := b.Do(t, "GET", path, nil, "Authorization", tc.header)
				assertSCIMError(t, r, http.StatusUnauthorized, "")
				if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s: WWW-Authenticate %q", path, r.Header.Get("WWW-Authenticate"))
				}
			}
		})
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := b.Client.Get(b.Root + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d without auth, want 200", path, resp.StatusCode)
		}
	}
}

func TestReadyzFailsWhenTheVendorIsDown(t *testing.T) {
	b := scimtest.Start(t, scimtest.Options{})
	b.Emu.Fail(upstreamtest.OpList, http.StatusServiceUnavailable, -1, 0)
	resp, err := b.Client.Get(b.Root + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz %d with the vendor down, want 503", resp.StatusCode)
	}
}

func TestDiscoveryEndpoints(t *testing.T) {
	b := scimtest.Start(t, scimtest.Options{})
	r := b.Do(t, "GET", "/ServiceProviderConfig", nil)
	assertStatus(t, r, http.StatusOK)
	for _, f := range []struct {
		key  string
		want bool
	}{{"patch", true}, {"bulk", false}, {"filter", true}, {"etag", true}, {"sort", false}, {"changePassword", false}} {
		m, _ := r.Body[f.key].(map[string]any)
		if m["supported"] != f.want {
			t.Errorf("%s.supported = %v, want %v", f.key, m["supported"], f.want)
		}
	}
	if schemes, _ := r.Body["authenticationSchemes"].([]any); len(schemes) == 0 {
		t.Error("no authenticationSchemes")
	}
	if str(r.Body, "meta", "resourceType") != "ServiceProviderConfig" {
		t.Errorf("meta %v", r.Body["meta"])
	}
	alias := b.Do(t, "GET", "/serviceConfiguration", nil)
	assertStatus(t, alias, http.StatusOK)

	for _, path := range []string{"/Schemas", "/ResourceTypes", "/schemas", "/resourcetypes"} {
		assertStatus(t, b.Do(t, "GET", path, nil), http.StatusOK)
	}
	assertSCIMError(t, b.Do(t, "POST", "/ServiceProviderConfig", "{}"), http.StatusMethodNotAllowed, "")
	assertSCIMError(t, b.Do(t, "POST", "/Schemas", "{}"), http.StatusMethodNotAllowed, "")
	assertSCIMError(t, b.Do(t, "POST", "/Bulk", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[]}`), http.StatusNotImplemented, "")
	assertSCIMError(t, b.Do(t, "GET", "/Nope", nil), http.StatusNotFound, "")
	assertSCIMError(t, b.Do(t, "DELETE", "/Users", nil), http.StatusMethodNotAllowed, "")
}

func TestCreateGetAndMapping(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		b := scimtest.Start(t, scimtest.Options{Target: target})
		body := map[string]any{
			"schemas":      []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
			"userName":     "test.user@okta.local",
			"name":         map[string]any{"givenName": "Test", "familyName": "User"},
			"emails":       []any{map[string]any{"primary": true, "value": "test.user@okta.local", "type": "work"}},
			"displayName":  "Test User",
			"locale":       "en-US",
			"externalId":   "00ujl29u0le5T6Aj10h7",
			"groups":       []any{},
			"password":     "1mz050nq",
			"active":       true,
			"title":        "Engineer",
			"phoneNumbers": []any{map[string]any{"value": "+1 555 0100", "type": "work"}},
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"department": "Sales"},
		}
		r := b.Do(t, "POST", "/Users", body, "Content-Type", "application/json")
		assertStatus(t, r, http.StatusCreated)
		id := str(r.Body, "id")
		if loc := r.Header.Get("Location"); !strings.HasSuffix(loc, "/scim/v2/Users/"+id) || !strings.HasPrefix(loc, "http://") {
			t.Errorf("Location %q", loc)
		}
		if r.Header.Get("Etag") == "" || str(r.Body, "meta", "version") == "" {
			t.Errorf("no ETag / meta.version: %v %v", r.Header.Get("Etag"), r.Body["meta"])
		}
		if strings.Contains(string(r.Raw), "1mz050nq") || strings.Contains(strings.ToLower(string(r.Raw)), `"password"`) {
			t.Errorf("password returned: %s", r.Raw)
		}
		u, ok := b.Emu.User(id)
		if !ok {
			t.Fatalf("user %s not in the vendor", id)
		}
		if u.Email != "test.user@okta.local" || u.GivenName != "Test" || u.FamilyName != "User" || !u.Active {
			t.Errorf("vendor user %+v", u)
		}

		g := b.Do(t, "GET", "/Users/"+id, nil)
		assertStatus(t, g, http.StatusOK)
		// What the vendor cannot hold is kept by the bridge and read back as written.
		for path, want := range map[string]string{
			"userName": "test.user@okta.local", "displayName": "Test User", "externalId": "00ujl29u0le5T6Aj10h7",
			"locale": "en-US", "title": "Engineer",
		} {
			if got := str(g.Body, path); got != want {
				t.Errorf("%s = %q, want %q", path, got, want)
			}
		}
		if str(g.Body, "name", "givenName") != "Test" || g.Body["active"] != true {
			t.Errorf("name/active: %s", g.Raw)
		}
		if phones, _ := g.Body["phoneNumbers"].([]any); len(phones) != 1 {
			t.Errorf("phoneNumbers not kept: %s", g.Raw)
		}
		if str(g.Body, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "department") != "Sales" {
			t.Errorf("department not returned: %s", g.Raw)
		}
		if str(g.Body, "meta", "created") == "" || str(g.Body, "meta", "lastModified") == "" || !strings.HasSuffix(str(g.Body, "meta", "location"), "/Users/"+id) {
			t.Errorf("meta %v", g.Body["meta"])
		}

		assertSCIMError(t, b.Do(t, "GET", "/Users/999999999", nil), http.StatusNotFound, "")
	})
}

func TestCreateRejectsBadInputAndDuplicates(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		b := scimtest.Start(t, scimtest.Options{Target: target})
		create(t, b, "dup@example.com")
		for _, tc := range []struct {
			name     string
			body     any
			status   int
			scimType string
		}{
			{"same userName", scimtest.User("dup@example.com", "A", "B"), 409, "uniqueness"},
			{"same userName in another case", scimtest.User("DUP@Example.com", "A", "B"), 409, "uniqueness"},
			{"malformed JSON", `{"userName": "x@example.com",`, 400, "invalidSyntax"},
			{"a JSON array", `[]`, 400, "invalidSyntax"},
			{"missing userName", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "active": true}, 400, "invalidValue"},
			{"missing schemas", map[string]any{"userName": "s@example.com"}, 400, "invalidSyntax"},
			{"oversize body", `{"userName":"` + strings.Repeat("a", 1<<20+10) + `"}`, 413, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := b.Emu.Users()
				assertSCIMError(t, b.Do(t, "POST", "/Users", tc.body), tc.status, tc.scimType)
				if after := b.Emu.Users(); after != before {
					t.Errorf("vendor accounts %d -> %d", before, after)
				}
			})
		}
	})
}

func TestFilters(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		b := scimtest.Start(t, scimtest.Options{Target: target})
		body := scimtest.User("Alice@Example.com", "Alice", "A")
		body["externalId"] = "ext-alice"
		r := b.Do(t, "POST", "/Users", body)
		assertStatus(t, r, http.StatusCreated)
		id := str(r.Body, "id")
		create(t, b, "bob@example.com")

		for _, tc := range []struct {
			filter string
			want   int
		}{
			{`userName eq "alice@example.com"`, 1},
			{`userName eq "ALICE@EXAMPLE.COM"`, 1},
			{`userName eq "a9d3f1c2-6b1e-4c6e-9d3a-2f7e8c1b0a55"`, 0},
			{`externalId eq "ext-alice"`, 1},
			{`externalId eq "EXT-ALICE"`, 0},
			{`id eq "` + id + `"`, 1},
			{`emails[type eq "work"].value eq "alice@example.com"`, 1},
			{`userName sw "bob"`, 1},
			{`active eq true`, 2},
		} {
			t.Run(tc.filter, func(t *testing.T) {
				r := b.Do(t, "GET", "/Users?filter="+urlQuery(tc.filter), nil)
				assertStatus(t, r, http.StatusOK)
				if n := r.Body["totalResults"]; n != float64(tc.want) {
					t.Errorf("totalResults %v, want %d: %s", n, tc.want, r.Raw)
				}
				res, ok := r.Body["Resources"].([]any)
				if !ok || len(res) != tc.want {
					t.Errorf("Resources %s, want %d", r.Raw, tc.want)
				}
				if r.Body["itemsPerPage"] != float64(tc.want) {
					t.Errorf("itemsPerPage %v, want %d", r.Body["itemsPerPage"], tc.want)
				}
			})
		}
		for _, bad := range []string{`userName eq`, `nosuch eq "x"`, `userName eq "unterminated`, `active gt true`} {
			t.Run("bad "+bad, func(t *testing.T) {
				assertSCIMError(t, b.Do(t, "GET", "/Users?filter="+urlQuery(bad), nil), 400, "invalidFilter")
			})
		}
	})
}

func urlQuery(s string) string {
	r := strings.NewReplacer(" ", "%20", `"`, "%22", "[", "%5B", "]", "%5D", "@", "%40")
	return r.Replace(s)
}

func TestListPagination(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		b := scimtest.Start(t, scimtest.Options{Target: target})
		const n = 7
		for i := range n {
			create(t, b, fmt.Sprintf("p%d@example.com", i))
		}
		seen := map[string]bool{}
		for start := 1; start <= n; start += 3 {
			r := b.Do(t, "GET", fmt.Sprintf("/Users?startIndex=%d&count=3", start), nil)
			assertStatus(t, r, http.StatusOK)
			res, _ := r.Body["Resources"].([]any)
			if r.Body["totalResults"] != float64(n) || r.Body["startIndex"] != float64(start) || r.Body["itemsPerPage"] != float64(len(res)) {
				t.Errorf("page at %d: %s", start, r.Raw)
			}
			for _, x := range res {
				id := str(x.(map[string]any), "id")
				if seen[id] {
					t.Errorf("user %s listed twice", id)
				}
				seen[id] = true
			}
		}
		if len(seen) != n {
			t.Errorf("listed %d users, want %d", len(seen), n)
		}
		assertSCIMError(t, b.Do(t, "GET", "/Users?count=abc", nil), 400, "invalidValue")
	})
}

func TestPatchDialects(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		b := scimtest.Start(t, scimtest.Options{Target: target})
		id := create(t, b, "patch@example.com")
		patch := func(ops string) scimtest.Response {
			return b.Do(t, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":`+ops+`}`)
		}
		active := func() bool {
			u, _ := b.Emu.User(id)
			return u.Active
		}
		for _, tc := range []struct {
			name       string
			ops        string
			wantActive bool
		}{
			{"Okta pathless replace", `[{"op":"replace","value":{"active":false}}]`, false},
			{"Okta pathless reactivate", `[{"op":"replace","value":{"active":true}}]`, true},
			{"Entra legacy string boolean", `[{"op":"Replace","path":"active","value":"False"}]`, false},
			{"Entra legacy reactivate", `[{"op":"Replace","path":"active","value":"True"}]`, true},
			{"Entra compliant boolean", `[{"op":"replace","path":"active","value":false}]`, false},
			{"Entra Add on active", `[{"op":"Add","path":"active","value":"true"}]`, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := patch(tc.ops)
				assertStatus(t, r, http.StatusOK)
				if r.Body["active"] != tc.wantActive || active() != tc.wantActive {
					t.Errorf("active: response %v, vendor %v, want %v", r.Body["active"], active(), tc.wantActive)
				}
				if str(r.Body, "userName") != "patch@example.com" {
					t.Errorf("PATCH must answer the full resource: %s", r.Raw)
				}
			})
		}
		t.Run("Entra pathless dotted keys", func(t *testing.T) {
			r := patch(`[{"op":"replace","value":{"displayName":"Bjfe","name.givenName":"Kkom","name.familyName":"Unua","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Aklq"}}]`)
			assertStatus(t, r, http.StatusOK)
			u, _ := b.Emu.User(id)
			if u.GivenName != "Kkom" || u.FamilyName != "Unua" || str(r.Body, "displayName") != "Bjfe" ||
				str(r.Body, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "employeeNumber") != "Aklq" {
				t.Errorf("vendor %+v, response %s", u, r.Raw)
			}
		})
		t.Run("add and remove title", func(t *testing.T) {
			r := patch(`[{"op":"add","path":"title","value":"Manager"}]`)
			assertStatus(t, r, http.StatusOK)
			if str(r.Body, "title") != "Manager" {
				t.Errorf("title not added: %s", r.Raw)
			}
			r = patch(`[{"op":"Remove","path":"title"}]`)
			assertStatus(t, r, http.StatusOK)
			if _, ok := r.Body["title"]; ok {
				t.Errorf("title not removed: %s", r.Raw)
			}
		})
		t.Run("work email created when missing", func(t *testing.T) {
			r := patch(`[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"new@example.com"}]`)
			assertStatus(t, r, http.StatusOK)
			emails, _ := r.Body["emails"].([]any)
			found := false
			for _, e := range emails {
				em := e.(map[string]any)
				found = found || (em["type"] == "work" && em["value"] == "new@example.com")
			}
			if !found {
				t.Errorf("work email not set: %s", r.Raw)
			}
		})
		t.Run("read-only path", func(t *testing.T) {
			assertSCIMError(t, patch(`[{"op":"replace","path":"id","value":"x"}]`), 400, "mutability")
		})
		t.Run("unknown user", func(t *testing.T) {
			r := b.Do(t, "PATCH", "/Users/999999999", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`)
			assertSCIMError(t, r, 404, "")
		})
	})
}

func TestPutReplacesAndDrivesActive(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		b := scimtest.Start(t, scimtest.Options{Target: target})
		body := scimtest.User("put@example.com", "Put", "User")
		body["displayName"] = "Put User"
		body["title"] = "Lead"
		r := b.Do(t, "POST", "/Users", body)
		assertStatus(t, r, http.StatusCreated)
		id := str(r.Body, "id")

		// Okta's profile push: the whole user, echoing id, groups and meta, without displayName and title now.
		put := scimtest.User("put@example.com", "Another", "User")
		put["id"] = id
		put["groups"] = []any{}
		put["meta"] = map[string]any{"resourceType": "User"}
		r = b.Do(t, "PUT", "/Users/"+id, put)
		assertStatus(t, r, http.StatusOK)
		if _, ok := r.Body["displayName"]; ok {
			t.Errorf("displayName left out of the PUT but still there: %s", r.Raw)
		}
		if _, ok := r.Body["title"]; ok {
			t.Errorf("title left out of the PUT but still there: %s", r.Raw)
		}
		u, _ := b.Emu.User(id)
		if u.GivenName != "Another" {
			t.Errorf("vendor givenName %q", u.GivenName)
		}
		if v, held := u.Attrs[adapters.AttrTitle]; held && v != "" {
			t.Errorf("vendor still holds title %q", v)
		}

		// Okta AIW apps deactivate and reactivate with PUT.
		put["active"] = false
		assertStatus(t, b.Do(t, "PUT", "/Users/"+id, put), http.StatusOK)
		if u, _ := b.Emu.User(id); u.Active {
			t.Error("PUT active:false did not deactivate upstream")
		}
		put["active"] = true
		assertStatus(t, b.Do(t, "PUT", "/Users/"+id, put), http.StatusOK)
		if u, _ := b.Emu.User(id); !u.Active {
			t.Error("PUT active:true did not reactivate upstream")
		}
		assertSCIMError(t, b.Do(t, "PUT", "/Users/999999999", put), 404, "")
	})
}

func TestDeleteDeactivatesAndHidesTheUser(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		b := scimtest.Start(t, scimtest.Options{Target: target})
		id := create(t, b, "gone@example.com")
		r := b.Do(t, "DELETE", "/Users/"+id, nil)
		assertStatus(t, r, http.StatusNoContent)
		u, ok := b.Emu.User(id)
		if !ok || u.Active {
			t.Fatalf("vendor user after DELETE: %+v (exists %v), want deactivated", u, ok)
		}
		assertSCIMError(t, b.Do(t, "GET", "/Users/"+id, nil), 404, "")
		assertSCIMError(t, b.Do(t, "DELETE", "/Users/"+id, nil), 404, "")
		l := b.Do(t, "GET", "/Users?filter="+urlQuery(`userName eq "gone@example.com"`), nil)
		if l.Body["totalResults"] != float64(0) {
			t.Errorf("deleted user still found: %s", l.Raw)
		}
		if all := b.Do(t, "GET", "/Users", nil); all.Body["totalResults"] != float64(0) {
			t.Errorf("deleted user still listed: %s", all.Raw)
		}
		// Entra restores the person and creates them again: the same vendor account comes back.
		r = b.Do(t, "POST", "/Users", scimtest.User("gone@example.com", "Back", "Again"))
		assertStatus(t, r, http.StatusCreated)
		if str(r.Body, "id") != id || b.Emu.Users() != 1 {
			t.Errorf("re-create made id %s (was %s), vendor accounts %d", str(r.Body, "id"), id, b.Emu.Users())
		}
		if u, _ := b.Emu.User(id); !u.Active {
			t.Error("re-created user not reactivated")
		}
	})
}

func TestExistingVendorAccountsAreLinkedNotDuplicated(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		b := scimtest.Start(t, scimtest.Options{Target: target})
		ids := b.Emu.Seed(
			adapters.User{Email: "Made.In.UI@example.com", GivenName: "Made", FamilyName: "InUI", Active: true},
			adapters.User{Email: "posted@example.com", GivenName: "Posted", FamilyName: "Later", Active: true},
		)
		r := b.Do(t, "GET", "/Users?filter="+urlQuery(`userName eq "made.in.ui@example.com"`), nil)
		assertStatus(t, r, http.StatusOK)
		res, _ := r.Body["Resources"].([]any)
		if len(res) != 1 || str(res[0].(map[string]any), "id") != ids[0] {
			t.Fatalf("existing account not found by userName: %s", r.Raw)
		}
		// Found once, it is answered from the store from then on.
		finds := b.Emu.Calls(upstreamtest.OpFind)
		b.Do(t, "GET", "/Users?filter="+urlQuery(`userName eq "made.in.ui@example.com"`), nil)
		if b.Emu.Calls(upstreamtest.OpFind) != finds {
			t.Error("a linked userName was looked up in the vendor again")
		}

		c := b.Do(t, "POST", "/Users", scimtest.User("posted@example.com", "Posted", "Later"))
		assertStatus(t, c, http.StatusCreated)
		if str(c.Body, "id") != ids[1] || b.Emu.Users() != 2 {
			t.Errorf("POST of an existing account: id %s (want %s), vendor accounts %d", str(c.Body, "id"), ids[1], b.Emu.Users())
		}
	})
}

func TestRestartKeepsEveryLink(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		b := scimtest.Start(t, scimtest.Options{Target: target})
		body := scimtest.User("keep@example.com", "Keep", "Me")
		body["externalId"] = "ext-keep"
		body["displayName"] = "Keeper"
		r := b.Do(t, "POST", "/Users", body)
		assertStatus(t, r, http.StatusCreated)
		id := str(r.Body, "id")
		b.Close()

		b2 := scimtest.Start(t, scimtest.Options{Target: target, DBPath: b.DBPath, Emulator: b.Emu})
		l := b2.Do(t, "GET", "/Users?filter="+urlQuery(`externalId eq "ext-keep"`), nil)
		res, _ := l.Body["Resources"].([]any)
		if len(res) != 1 || str(res[0].(map[string]any), "id") != id || str(res[0].(map[string]any), "displayName") != "Keeper" {
			t.Fatalf("after restart: %s", l.Raw)
		}
		assertSCIMError(t, b2.Do(t, "POST", "/Users", scimtest.User("keep@example.com", "K", "M")), 409, "uniqueness")
	})
}

func TestParallelCreates(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		t.Run("50 distinct users all land", func(t *testing.T) {
			b := scimtest.Start(t, scimtest.Options{Target: target})
			var wg sync.WaitGroup
			statuses := make([]int, 50)
			for i := range 50 {
				wg.Go(func() {
					statuses[i] = b.Do(t, "POST", "/Users", scimtest.User(fmt.Sprintf("par%d@example.com", i), "P", fmt.Sprint(i))).Status
				})
			}
			wg.Wait()
			for i, s := range statuses {
				if s != http.StatusCreated {
					t.Errorf("create %d: %d", i, s)
				}
			}
			if n := b.Emu.Users(); n != 50 {
				t.Errorf("vendor accounts %d, want 50", n)
			}
		})
		t.Run("10 creates of one userName leave one account", func(t *testing.T) {
			b := scimtest.Start(t, scimtest.Options{Target: target})
			var wg sync.WaitGroup
			statuses := make([]int, 10)
			for i := range 10 {
				wg.Go(func() {
					statuses[i] = b.Do(t, "POST", "/Users", scimtest.User("same@example.com", "S", "U")).Status
				})
			}
			wg.Wait()
			created := 0
			for _, s := range statuses {
				switch s {
				case http.StatusCreated:
					created++
				case http.StatusConflict:
				default:
					t.Errorf("unexpected status %d", s)
				}
			}
			if created != 1 || b.Emu.Users() != 1 {
				t.Errorf("%d created, %d vendor accounts; want 1 and 1", created, b.Emu.Users())
			}
		})
	})
}

func TestUpstreamFailures(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		t.Run("throttled forever", func(t *testing.T) {
			b := scimtest.Start(t, scimtest.Options{Target: target})
			id := create(t, b, "throttle@example.com")
			b.Emu.Fail(upstreamtest.OpGet, http.StatusTooManyRequests, -1, 0)
			r := b.Do(t, "GET", "/Users/"+id, nil)
			assertSCIMError(t, r, http.StatusTooManyRequests, "")
			if r.Header.Get("Retry-After") == "" {
				t.Error("no Retry-After")
			}
		})
		t.Run("500 forever on create", func(t *testing.T) {
			b := scimtest.Start(t, scimtest.Options{Target: target})
			b.Emu.Fail(upstreamtest.OpCreate, http.StatusInternalServerError, -1, 0)
			r := b.Do(t, "POST", "/Users", scimtest.User("down@example.com", "D", "U"))
			assertSCIMError(t, r, http.StatusServiceUnavailable, "")
			if r.Header.Get("Retry-After") == "" {
				t.Error("no Retry-After")
			}
			if strings.Contains(string(r.Raw), "Internal Server Error") || strings.Contains(string(r.Raw), "/users") {
				t.Errorf("upstream text reached the client: %s", r.Raw)
			}
			if b.Emu.Users() != 0 {
				t.Error("an account was created although every create failed")
			}
		})
		t.Run("429 twice then success", func(t *testing.T) {
			b := scimtest.Start(t, scimtest.Options{Target: target})
			b.Emu.Fail(upstreamtest.OpCreate, http.StatusTooManyRequests, 2, 0)
			create(t, b, "retry@example.com")
			if b.Emu.Users() != 1 {
				t.Errorf("vendor accounts %d", b.Emu.Users())
			}
		})
		t.Run("lost create response", func(t *testing.T) {
			b := scimtest.Start(t, scimtest.Options{Target: target})
			b.Emu.DropResponse(upstreamtest.OpCreate)
			create(t, b, "lost@example.com")
			if b.Emu.Users() != 1 {
				t.Errorf("vendor accounts %d, want exactly 1", b.Emu.Users())
			}
		})
		t.Run("seat limit", func(t *testing.T) {
			b := scimtest.Start(t, scimtest.Options{Target: target})
			b.Emu.SetSeatLimit(1)
			create(t, b, "first@example.com")
			r := b.Do(t, "POST", "/Users", scimtest.User("second@example.com", "S", "U"))
			assertSCIMError(t, r, http.StatusForbidden, "")
			if d := str(r.Body, "detail"); !strings.Contains(d, "seat") {
				t.Errorf("detail %q does not say the plan has no free seat", d)
			}
		})
	})
}

func TestPreconditionsAndProjection(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		b := scimtest.Start(t, scimtest.Options{Target: target})
		id := create(t, b, "etag@example.com")
		g := b.Do(t, "GET", "/Users/"+id, nil)
		etag := g.Header.Get("Etag")
		if !strings.HasPrefix(etag, `W/"`) {
			t.Fatalf("ETag %q is not weak", etag)
		}
		if r := b.Do(t, "GET", "/Users/"+id, nil, "If-None-Match", etag); r.Status != http.StatusNotModified {
			t.Errorf("If-None-Match: %d, want 304", r.Status)
		}
		stale := `W/"999"`
		assertSCIMError(t, b.Do(t, "PATCH", "/Users/"+id,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"x"}]}`,
			"If-Match", stale), http.StatusPreconditionFailed, "")
		assertSCIMError(t, b.Do(t, "DELETE", "/Users/"+id, nil, "If-Match", stale), http.StatusPreconditionFailed, "")
		ok := b.Do(t, "PATCH", "/Users/"+id,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"x"}]}`,
			"If-Match", etag)
		assertStatus(t, ok, http.StatusOK)
		if ok.Header.Get("Etag") == etag {
			t.Error("ETag did not change after an update")
		}

		p := b.Do(t, "GET", "/Users/"+id+"?attributes=userName", nil)
		assertStatus(t, p, http.StatusOK)
		if _, has := p.Body["name"]; has || str(p.Body, "userName") == "" || str(p.Body, "id") == "" || p.Body["schemas"] == nil {
			t.Errorf("attributes=userName: %s", p.Raw)
		}
		x := b.Do(t, "GET", "/Users?excludedAttributes=emails,name", nil)
		res, _ := x.Body["Resources"].([]any)
		if len(res) != 1 {
			t.Fatalf("list: %s", x.Raw)
		}
		if _, has := res[0].(map[string]any)["emails"]; has {
			t.Errorf("excludedAttributes ignored: %s", x.Raw)
		}
	})
}

func TestSecretsNeverLeak(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		b := scimtest.Start(t, scimtest.Options{Target: target})
		var bodies []string
		record := func(r scimtest.Response) {
			bodies = append(bodies, string(r.Raw), fmt.Sprint(r.Header))
		}
		id := create(t, b, "secret@example.com")
		record(b.Do(t, "GET", "/Users/"+id, nil, "Authorization", "Bearer wrong-"+scimtest.Token))
		b.Emu.Fail(upstreamtest.OpGet, http.StatusUnauthorized, -1, 0)
		record(b.Do(t, "GET", "/Users/"+id, nil))
		b.Emu.Reset()
		b.Emu.Fail(upstreamtest.OpCreate, http.StatusInternalServerError, -1, 0)
		record(b.Do(t, "POST", "/Users", scimtest.User("s2@example.com", "S", "2")))
		b.Emu.Reset()
		record(b.Do(t, "PATCH", "/Users/"+id, `{"Operations":[`))
		record(b.Do(t, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"pw@example.com","name":{"givenName":"P","familyName":"W"},"password":"hunter2-very-secret"}`))
		all := strings.Join(bodies, "\n") + b.Logs()
		for _, secret := range []string{scimtest.Token, scimtest.APIKey, "hunter2-very-secret"} {
			if strings.Contains(all, secret) {
				t.Errorf("secret %q leaked", secret)
			}
		}
	})
}

func vendorWrites(e interface{ Log() []upstreamtest.Call }) []upstreamtest.Call {
	var out []upstreamtest.Call
	for _, c := range e.Log() {
		if c.Op == upstreamtest.OpUpdate || c.Op == upstreamtest.OpDelete || c.Op == upstreamtest.OpCreate {
			out = append(out, c)
		}
	}
	return out
}

func TestOnlyTouchedAttributesReachTheVendor(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		opts := scimtest.Options{Target: target}
		if target == "thoughtindustries" {
			// Thought Industries has no title field: route it to a custom field, as a deployment would.
			opts.Settings = map[string]string{"SCIM_BRIDGE_TI_CUSTOM_FIELDS": "title=job_title"}
		}
		b := scimtest.Start(t, opts)
		body := scimtest.User("touch@example.com", "Touch", "Me")
		body["title"] = "Before"
		r := b.Do(t, "POST", "/Users", body)
		assertStatus(t, r, http.StatusCreated)
		id := str(r.Body, "id")
		patch := func(ops string) {
			t.Helper()
			assertStatus(t, b.Do(t, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":`+ops+`}`), http.StatusOK)
		}

		before := len(vendorWrites(b.Emu))
		patch(`[{"op":"replace","path":"displayName","value":"Only Kept By The Bridge"}]`)
		patch(`[{"op":"replace","value":{"id":"` + id + `","userName":"touch@example.com","active":true}}]`)
		if n := len(vendorWrites(b.Emu)); n != before {
			t.Errorf("%d vendor writes for changes the vendor does not hold or that change nothing", n-before)
		}

		patch(`[{"op":"replace","path":"title","value":"After"}]`)
		writes := vendorWrites(b.Emu)[before:]
		if len(writes) == 0 {
			t.Fatal("title change not sent to the vendor")
		}
		if target == "trainual" {
			// Trainual takes partial updates: the PATCH carries the changed field alone.
			last := string(writes[len(writes)-1].Body)
			if !strings.Contains(last, `"title"`) || strings.Contains(last, "first_name") || strings.Contains(last, "email") {
				t.Errorf("PATCH body %s carries more than the title", last)
			}
		}
		titleKey := adapters.AttrTitle
		if target == "thoughtindustries" {
			titleKey = "job_title" // the emulator shows custom fields under their vendor key
		}
		u, _ := b.Emu.User(id)
		if u.Attrs[titleKey] != "After" || u.GivenName != "Touch" || u.FamilyName != "Me" || u.Email != "touch@example.com" || !u.Active {
			t.Errorf("vendor user after a title change: %+v", u)
		}
	})
}

func TestUserNameChangeReachesTheVendor(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		b := scimtest.Start(t, scimtest.Options{Target: target})
		id := create(t, b, "old.name@example.com")
		create(t, b, "taken@example.com")
		r := b.Do(t, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"userName","value":"new.name@example.com"}]}`)
		assertStatus(t, r, http.StatusOK)
		if u, _ := b.Emu.User(id); u.Email != "new.name@example.com" || str(r.Body, "userName") != "new.name@example.com" {
			t.Errorf("vendor email %q, response userName %q", u.Email, str(r.Body, "userName"))
		}
		f := b.Do(t, "GET", "/Users?filter="+urlQuery(`userName eq "new.name@example.com"`), nil)
		if f.Body["totalResults"] != float64(1) {
			t.Errorf("renamed user not found by its new userName: %s", f.Raw)
		}
		r = b.Do(t, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"userName","value":"TAKEN@example.com"}]}`)
		assertSCIMError(t, r, http.StatusConflict, "uniqueness")
		if u, _ := b.Emu.User(id); u.Email != "new.name@example.com" {
			t.Errorf("a refused rename reached the vendor: %q", u.Email)
		}
	})
}

func TestVendorRefusingANonEmailUserNameIsACleanError(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		b := scimtest.Start(t, scimtest.Options{Target: target})
		strict, ok := b.Emu.(interface{ SetStrictEmail(bool) })
		if !ok {
			t.Fatal("the emulator lost SetStrictEmail")
		}
		strict.SetStrictEmail(true)
		r := b.Do(t, "POST", "/Users", scimtest.User("Test_User_00aa00aa", "T", "U"))
		assertSCIMError(t, r, http.StatusBadRequest, "invalidValue")
		if b.Emu.Users() != 0 {
			t.Errorf("%d vendor accounts after a refused create", b.Emu.Users())
		}
	})
}

func TestMicrosoftCollectionQuirks(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		b := scimtest.Start(t, scimtest.Options{Target: target})
		for _, u := range []string{"OMalley", "emp1", "emp2"} {
			body := scimtest.User(u, "Darl", "Employee")
			body["externalId"] = "same-external-id" // the collection reuses it: externalId is not unique
			assertStatus(t, b.Do(t, "POST", "/users", body), http.StatusCreated)
		}
		for _, tc := range []struct {
			name, path string
			want       int
		}{
			{"lower-case path and trailing slash", "/users/?filter=" + urlQuery(`userName eq "OMalley"`), 1},
			{"unquoted value", "/Users?filter=" + urlQuery(`userName sw O`), 1},
			{"unquoted date", "/Users?filter=" + urlQuery(`meta.Created gt 2015-10-10T14:38:21.8617979-07:00`), 3},
			{"shared externalId", "/Users?filter=" + urlQuery(`externalId eq "same-external-id"`), 3},
			{"emails.Value co", "/Users?filter=" + urlQuery(`name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co emp)`), 2},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := b.Do(t, "GET", tc.path, nil)
				assertStatus(t, r, http.StatusOK)
				if r.Body["totalResults"] != float64(tc.want) {
					t.Errorf("totalResults %v, want %d: %s", r.Body["totalResults"], tc.want, r.Raw)
				}
			})
		}
		t.Run("POST /Users/.search", func(t *testing.T) {
			r := b.Do(t, "POST", "/Users/.search", map[string]any{
				"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
				"filter":     `externalId eq "same-external-id"`,
				"attributes": []string{"userName"},
				"startIndex": 2,
				"count":      1,
			})
			assertStatus(t, r, http.StatusOK)
			res, _ := r.Body["Resources"].([]any)
			if r.Body["totalResults"] != float64(3) || len(res) != 1 || r.Body["itemsPerPage"] != float64(1) || r.Body["startIndex"] != float64(2) {
				t.Fatalf(".search: %s", r.Raw)
			}
			if _, has := res[0].(map[string]any)["name"]; has {
				t.Errorf("attributes not applied: %s", r.Raw)
			}
			assertSCIMError(t, b.Do(t, "POST", "/Users/.search", `{"filter":"userName eq \"x\""}`), 400, "invalidSyntax")
			assertSCIMError(t, b.Do(t, "POST", "/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"bogus eq"}`), 400, "invalidFilter")
		})
	})
}
