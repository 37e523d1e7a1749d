package scim_test

// End-to-end tests of the bridge's identity rules (issue 12): the IdP owns only what it wrote, the vendor is the
// truth about an account, a create applies the whole desired state, names never cross, and the IdP is never shown
// a value the vendor did not store. Each runs through the real server against the vendor emulators.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/targets"
	"github.com/scim-bridge/scim-bridge/adapters/thoughtindustries/titest"
	"github.com/scim-bridge/scim-bridge/adapters/trainual/trainualtest"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
	"github.com/scim-bridge/scim-bridge/scim/provision"
	"github.com/scim-bridge/scim-bridge/scim/scimtest"
)

const enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// owned describes, per target, one attribute an admin sets in the vendor's UI (the IdP never writes it) and one
// the IdP writes.
type owned struct {
	uiPath, uiValue string // vendor path set in the vendor's UI
	idpKey          string // SCIM body key the IdP writes
	idpValue        string
	idpPath         string // its vendor path
	uiExtra         map[string]string
}

func ownedFor(target string) owned {
	if target == "trainual" {
		return owned{uiPath: adapters.AttrDepartment, uiValue: "Ops", idpKey: "title", idpValue: "Manager", idpPath: adapters.AttrTitle,
			uiExtra: map[string]string{adapters.AttrRole: "admin"}}
	}
	// Thought Industries: ssoId (the externalId by default) set in the admin portal breaks SSO if cleared.
	return owned{uiPath: adapters.AttrExternalID, uiValue: "sso-from-portal", idpKey: "preferredLanguage", idpValue: "fr",
		idpPath: adapters.AttrPreferredLanguage}
}

func ui(t *testing.T, b *scimtest.Bridge) upstreamtest.UI {
	t.Helper()
	u, ok := b.Emu.(upstreamtest.UI)
	if !ok {
		t.Fatalf("%T has no UI controls", b.Emu)
	}
	return u
}

func vendorUser(t *testing.T, b *scimtest.Bridge, id string) adapters.User {
	t.Helper()
	u, ok := b.Emu.User(id)
	if !ok {
		t.Fatalf("the vendor has no account %s", id)
	}
	return u
}

// oktaUser is the body Okta's profile push sends: no department, role or language unless mapped.
func oktaUser(userName, given string, active bool, extra map[string]any) map[string]any {
	u := scimtest.User(userName, given, "Person")
	u["active"] = active
	for k, v := range extra {
		u[k] = v
	}
	return u
}

func TestIdPNeverClearsWhatItNeverWrote(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		o := ownedFor(target)
		check := func(t *testing.T, b *scimtest.Bridge, id string) {
			t.Helper()
			v := vendorUser(t, b, id)
			if v.Attrs[o.uiPath] != o.uiValue {
				t.Errorf("%s set in the vendor's UI is now %q", o.uiPath, v.Attrs[o.uiPath])
			}
			for p, want := range o.uiExtra {
				if v.Attrs[p] != want {
					t.Errorf("%s set in the vendor's UI is now %q", p, v.Attrs[p])
				}
			}
		}
		setInUI := func(t *testing.T, b *scimtest.Bridge, id string) {
			t.Helper()
			if !ui(t, b).SetInUI(id, o.uiPath, o.uiValue) {
				t.Fatal("SetInUI failed")
			}
			for p, v := range o.uiExtra {
				ui(t, b).SetInUI(id, p, v)
			}
		}

		t.Run("an Okta PUT and a PUT deactivation after a UI edit", func(t *testing.T) {
			b := scimtest.Start(t, scimtest.Options{Target: target})
			body := oktaUser("put@example.com", "Put", true, map[string]any{o.idpKey: o.idpValue})
			r := b.Do(t, "POST", "/Users", body)
			assertStatus(t, r, http.StatusCreated)
			id := str(r.Body, "id")
			setInUI(t, b, id)

			body["name"] = map[string]any{"givenName": "Renamed", "familyName": "Person"}
			assertStatus(t, b.Do(t, "PUT", "/Users/"+id, body), http.StatusOK)
			check(t, b, id)
			if got := vendorUser(t, b, id); got.GivenName != "Renamed" || got.Attrs[o.idpPath] != o.idpValue {
				t.Errorf("the IdP's own values did not land: %+v", got)
			}
			g := b.Do(t, "GET", "/Users/"+id, nil)
			if target == "trainual" {
				if ext, _ := g.Body[enterpriseURN].(map[string]any); ext["department"] != o.uiValue {
					t.Errorf("GET does not show the vendor's department: %s", g.Raw)
				}
			} else if g.Body["externalId"] != o.uiValue {
				t.Errorf("GET does not show the vendor's ssoId as externalId: %s", g.Raw)
			}

			body["active"] = false
			assertStatus(t, b.Do(t, "PUT", "/Users/"+id, body), http.StatusOK)
			check(t, b, id)
			if vendorUser(t, b, id).Active {
				t.Error("the PUT deactivation did not deactivate")
			}
			body["active"] = true
			assertStatus(t, b.Do(t, "PUT", "/Users/"+id, body), http.StatusOK)
			check(t, b, id)
		})

		t.Run("a POST that links an account made in the vendor's UI", func(t *testing.T) {
			b := scimtest.Start(t, scimtest.Options{Target: target})
			attrs := map[string]string{o.uiPath: o.uiValue}
			for p, v := range o.uiExtra {
				attrs[p] = v
			}
			if target == "trainual" {
				attrs[adapters.AttrTitle] = "Founder"
			}
			id := b.Emu.Seed(adapters.User{Email: "made-in-ui@example.com", GivenName: "Made", FamilyName: "InUI", Active: true, Attrs: attrs})[0]
			r := b.Do(t, "POST", "/Users", oktaUser("made-in-ui@example.com", "Made", true, nil))
			assertStatus(t, r, http.StatusCreated)
			if str(r.Body, "id") != id {
				t.Fatalf("linked %q, want the existing account %s", str(r.Body, "id"), id)
			}
			check(t, b, id)
			if target == "trainual" && vendorUser(t, b, id).Attrs[adapters.AttrTitle] != "Founder" {
				t.Error("the title set in Trainual was cleared by the linking POST")
			}
			for _, c := range b.Emu.Log() {
				if c.Op == upstreamtest.OpUpdate && bytes.Contains(c.Body, []byte(`""`)) {
					t.Errorf("the linking POST cleared vendor fields: %s %s", c.Method, c.Body)
				}
			}
		})

		t.Run("a filter link followed by a PUT", func(t *testing.T) {
			b := scimtest.Start(t, scimtest.Options{Target: target})
			attrs := map[string]string{o.uiPath: o.uiValue}
			for p, v := range o.uiExtra {
				attrs[p] = v
			}
			id := b.Emu.Seed(adapters.User{Email: "filtered@example.com", GivenName: "Fil", FamilyName: "Tered", Active: true, Attrs: attrs})[0]
			l := b.Do(t, "GET", `/Users?filter=userName%20eq%20%22filtered@example.com%22`, nil)
			if l.Body["totalResults"] != float64(1) {
				t.Fatalf("lookup: %s", l.Raw)
			}
			assertStatus(t, b.Do(t, "PUT", "/Users/"+id, oktaUser("filtered@example.com", "Fil", true, nil)), http.StatusOK)
			check(t, b, id)
		})

		t.Run("an attribute the IdP wrote and leaves out of a PUT is cleared", func(t *testing.T) {
			b := scimtest.Start(t, scimtest.Options{Target: target})
			body := oktaUser("cleared@example.com", "Clea", true, map[string]any{o.idpKey: o.idpValue})
			r := b.Do(t, "POST", "/Users", body)
			assertStatus(t, r, http.StatusCreated)
			id := str(r.Body, "id")
			if vendorUser(t, b, id).Attrs[o.idpPath] != o.idpValue {
				t.Fatal("the IdP's value did not land")
			}
			delete(body, o.idpKey)
			p := b.Do(t, "PUT", "/Users/"+id, body)
			assertStatus(t, p, http.StatusOK)
			if v := vendorUser(t, b, id).Attrs[o.idpPath]; v != "" {
				t.Errorf("%s = %q after a PUT without it, want cleared", o.idpPath, v)
			}
			if _, ok := p.Body[o.idpKey]; ok {
				t.Errorf("the PUT answer still shows %s: %s", o.idpKey, p.Raw)
			}
		})

		t.Run("a PATCH that removes a value set in the UI does not clear it", func(t *testing.T) {
			b := scimtest.Start(t, scimtest.Options{Target: target})
			id := create(t, b, "patched@example.com")
			setInUI(t, b, id)
			path := "externalId"
			if target == "trainual" {
				path = enterpriseURN + ":department"
			}
			assertStatus(t, b.Do(t, "PATCH", "/Users/"+id, map[string]any{
				"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []any{map[string]any{"op": "remove", "path": path}, map[string]any{"op": "replace", "path": "title", "value": "Lead"}},
			}), http.StatusOK)
			check(t, b, id)
		})
	})
}

func TestTheVendorDecidesWhetherAnAccountExists(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		for _, tc := range []struct {
			name  string
			probe func(t *testing.T, b *scimtest.Bridge, id string)
		}{
			{"a GET finds it gone", func(t *testing.T, b *scimtest.Bridge, id string) {
				assertSCIMError(t, b.Do(t, "GET", "/Users/"+id, nil), http.StatusNotFound, "")
			}},
			{"a PATCH finds it gone", func(t *testing.T, b *scimtest.Bridge, id string) {
				assertSCIMError(t, b.Do(t, "PATCH", "/Users/"+id, map[string]any{
					"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
					"Operations": []any{map[string]any{"op": "replace", "path": "active", "value": false}},
				}), http.StatusNotFound, "")
			}},
			{"a DELETE finds it gone", func(t *testing.T, b *scimtest.Bridge, id string) {
				assertSCIMError(t, b.Do(t, "DELETE", "/Users/"+id, nil), http.StatusNotFound, "")
			}},
			{"the next POST finds it gone", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b := scimtest.Start(t, scimtest.Options{Target: target})
				id := create(t, b, "gone@example.com")
				if !ui(t, b).RemoveInUI(id) {
					t.Fatal("RemoveInUI failed")
				}
				if tc.probe != nil {
					tc.probe(t, b, id)
					if !strings.Contains(b.Logs(), `"link retired","id":"`+id+`"`) && !strings.Contains(b.Logs(), "link retired") {
						t.Errorf("no warning names the retired link: %s", b.Logs())
					}
					l := b.Do(t, "GET", `/Users?filter=userName%20eq%20%22gone@example.com%22`, nil)
					if l.Body["totalResults"] != float64(0) {
						t.Errorf("the lookup still returns the lost account: %s", l.Raw)
					}
				}
				r := b.Do(t, "POST", "/Users", scimtest.User("gone@example.com", "Back", "Again"))
				assertStatus(t, r, http.StatusCreated)
				if nid := str(r.Body, "id"); nid == id || nid == "" {
					t.Errorf("the new create answered id %q (old %s)", nid, id)
				}
				if b.Emu.Users() != 1 {
					t.Errorf("the vendor holds %d accounts, want 1", b.Emu.Users())
				}
				l := b.Do(t, "GET", `/Users?filter=userName%20eq%20%22gone@example.com%22`, nil)
				if l.Body["totalResults"] != float64(1) {
					t.Errorf("the lookup after the new create: %s", l.Raw)
				}
			})
		}
	})
}

func TestACreateAppliesTheWholeDesiredState(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		t.Run("active false", func(t *testing.T) {
			b := scimtest.Start(t, scimtest.Options{Target: target})
			u := scimtest.User("inactive@example.com", "In", "Active")
			u["active"] = false
			r := b.Do(t, "POST", "/Users", u)
			assertStatus(t, r, http.StatusCreated)
			id := str(r.Body, "id")
			if r.Body["active"] != false {
				t.Errorf("answer %s", r.Raw)
			}
			if vendorUser(t, b, id).Active {
				t.Error("the vendor holds the person active")
			}
			if g := b.Do(t, "GET", "/Users/"+id, nil); g.Body["active"] != false {
				t.Errorf("GET %s", g.Raw)
			}
			if target == "trainual" {
				if st, _ := b.Emu.(*trainualtest.Emulator).Status(id); st != "deactivated" {
					t.Errorf("Trainual status %q", st)
				}
			}
		})

		t.Run("a rehire after the vendor's create failed once with 502", func(t *testing.T) {
			b := scimtest.Start(t, scimtest.Options{Target: target})
			id := b.Emu.Seed(adapters.User{Email: "rehire@example.com", GivenName: "Old", FamilyName: "Name", Active: false})[0]
			b.Emu.Fail(upstreamtest.OpCreate, http.StatusBadGateway, 1, 0)
			r := b.Do(t, "POST", "/Users", scimtest.User("rehire@example.com", "New", "Name"))
			assertStatus(t, r, http.StatusCreated)
			if str(r.Body, "id") != id {
				t.Fatalf("id %q, want the existing %s", str(r.Body, "id"), id)
			}
			v := vendorUser(t, b, id)
			if !v.Active || v.GivenName != "New" {
				t.Errorf("the vendor holds %+v, want active and New", v)
			}
			g := b.Do(t, "GET", "/Users/"+id, nil)
			if g.Body["active"] != true || str(g.Body, "name", "givenName") != "New" {
				t.Errorf("GET %s", g.Raw)
			}
			if b.Emu.Users() != 1 {
				t.Errorf("%d accounts", b.Emu.Users())
			}
		})

		t.Run("a create that the vendor refuses as a duplicate links and converges", func(t *testing.T) {
			b := scimtest.Start(t, scimtest.Options{Target: target})
			o := ownedFor(target)
			id := b.Emu.Seed(adapters.User{Email: "dup@example.com", GivenName: "Old", FamilyName: "Name", Active: true})[0]
			u := oktaUser("dup@example.com", "New", false, map[string]any{o.idpKey: o.idpValue})
			r := b.Do(t, "POST", "/Users", u)
			assertStatus(t, r, http.StatusCreated)
			v := vendorUser(t, b, id)
			if v.Active || v.GivenName != "New" || v.Attrs[o.idpPath] != o.idpValue {
				t.Errorf("the vendor holds %+v", v)
			}
			if r.Body["active"] != false {
				t.Errorf("answer %s", r.Raw)
			}
		})
	})

	t.Run("trainual refuse mode", func(t *testing.T) {
		b := scimtest.Start(t, scimtest.Options{Target: "trainual", Settings: map[string]string{"SCIM_BRIDGE_TRAINUAL_INACTIVE_CREATE": "refuse"}})
		u := scimtest.User("no-invite@example.com", "No", "Invite")
		u["active"] = false
		r := b.Do(t, "POST", "/Users", u)
		assertSCIMError(t, r, http.StatusBadRequest, "invalidValue")
		if d := str(r.Body, "detail"); !strings.Contains(d, "SCIM_BRIDGE_TRAINUAL_INACTIVE_CREATE") || !strings.HasPrefix(d, "Trainual: ") {
			t.Errorf("detail %q", d)
		}
		if b.Emu.Users() != 0 || b.Emu.Calls(upstreamtest.OpCreate) != 0 {
			t.Error("the refused create reached Trainual")
		}
	})
}

func TestNamesNeverCross(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		b := scimtest.Start(t, scimtest.Options{Target: target})
		for i := range 15 {
			a := create(t, b, fmt.Sprintf("alice%d@example.com", i))
			x := fmt.Sprintf("x%d@example.com", i)
			var wg sync.WaitGroup
			var rename, post scimtest.Response
			wg.Add(2)
			go func() {
				defer wg.Done()
				rename = b.Do(t, "PATCH", "/Users/"+a, map[string]any{
					"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
					"Operations": []any{map[string]any{"op": "replace", "path": "userName", "value": x}},
				})
			}()
			go func() {
				defer wg.Done()
				post = b.Do(t, "POST", "/Users", scimtest.User(x, "Newbie", "Person"))
			}()
			wg.Wait()
			if post.Status == http.StatusCreated && str(post.Body, "id") == a {
				t.Fatalf("round %d: the POST of a new person answered the renamed user's id", i)
			}
			ok := 0
			for _, r := range []scimtest.Response{rename, post} {
				switch r.Status {
				case http.StatusOK, http.StatusCreated:
					ok++
				case http.StatusConflict:
					assertSCIMError(t, r, http.StatusConflict, "uniqueness")
				default:
					t.Fatalf("round %d: status %d %s", i, r.Status, r.Raw)
				}
			}
			if ok != 1 {
				t.Fatalf("round %d: rename %d, post %d: exactly one must win", i, rename.Status, post.Status)
			}
			if v := vendorUser(t, b, a); v.GivenName != "Given" {
				t.Fatalf("round %d: the renamed user's account took the new person's data: %+v", i, v)
			}
			if post.Status == http.StatusCreated {
				if v := vendorUser(t, b, str(post.Body, "id")); v.GivenName != "Newbie" || !strings.EqualFold(v.Email, x) {
					t.Fatalf("round %d: the new person's account: %+v", i, v)
				}
			}
		}
	})
}

// rewriter sits in front of an emulator: it can change request bodies (a vendor that silently drops a field) and
// list answers (a vendor whose listing carries the state).
type rewriter struct {
	targets.Emulator
	request func(r *http.Request, body []byte) []byte
	list    func(body []byte) []byte
}

func (w *rewriter) RemoveInUI(id string) bool { return w.Emulator.(upstreamtest.UI).RemoveInUI(id) }
func (w *rewriter) SetInUI(id, path, value string) bool {
	return w.Emulator.(upstreamtest.UI).SetInUI(id, path, value)
}

func (w *rewriter) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if w.request != nil && r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		b = w.request(r, b)
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
	}
	if w.list == nil || r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/users") {
		w.Emulator.ServeHTTP(rw, r)
		return
	}
	rec := httptest.NewRecorder()
	w.Emulator.ServeHTTP(rec, r)
	for k, v := range rec.Header() {
		rw.Header()[k] = v
	}
	body := rec.Body.Bytes()
	if rec.Code == http.StatusOK {
		body = w.list(body)
	}
	rw.Header().Del("Content-Length")
	rw.WriteHeader(rec.Code)
	_, _ = rw.Write(body)
}

// dropField removes a JSON field from create and update bodies, as a vendor that ignores an unpermitted parameter.
func dropField(field string) func(*http.Request, []byte) []byte {
	return func(r *http.Request, body []byte) []byte {
		if r.Method != http.MethodPost && r.Method != http.MethodPatch && r.Method != http.MethodPut {
			return body
		}
		var m map[string]any
		if json.Unmarshal(body, &m) != nil {
			return body
		}
		delete(m, field)
		out, _ := json.Marshal(m)
		return out
	}
}

// trainualListWithStatus adds each user's status to Trainual's list items (the seed's example omits it).
func trainualListWithStatus(em *trainualtest.Emulator) func([]byte) []byte {
	return func(body []byte) []byte {
		var env map[string]any
		if json.Unmarshal(body, &env) != nil {
			return body
		}
		users, _ := env["users"].([]any)
		for _, u := range users {
			m, _ := u.(map[string]any)
			if st, ok := em.Status(fmt.Sprint(m["id"])); ok {
				m["status"] = st
			}
		}
		out, _ := json.Marshal(env)
		return out
	}
}

func TestAFieldTheVendorIgnoresIsNotReportedAsStored(t *testing.T) {
	for _, tc := range []struct {
		target   string
		opts     func() scimtest.Options
		key      string
		value    any
		attrPath string
	}{
		{"trainual", func() scimtest.Options {
			return scimtest.Options{Target: "trainual", Emulator: &rewriter{Emulator: trainualtest.New(scimtest.APIKey), request: dropField("department")}}
		}, enterpriseURN, map[string]any{"department": "Ops"}, adapters.AttrDepartment},
		{"thoughtindustries", func() scimtest.Options {
			em := titest.New(scimtest.APIKey)
			em.SetCustomFieldKeys("cost_center") // job_title is not defined in the portal: silently ignored
			return scimtest.Options{Target: "thoughtindustries", Emulator: em,
				Settings: map[string]string{"SCIM_BRIDGE_TI_CUSTOM_FIELDS": "title=job_title"}}
		}, "title", "CTO", adapters.AttrTitle},
	} {
		t.Run(tc.target, func(t *testing.T) {
			t.Parallel()
			b := scimtest.Start(t, tc.opts())
			u := scimtest.User("ignored@example.com", "Ig", "Nored")
			u[tc.key] = tc.value
			r := b.Do(t, "POST", "/Users", u)
			assertStatus(t, r, http.StatusCreated)
			id := str(r.Body, "id")
			for _, body := range []scimtest.Response{r, b.Do(t, "GET", "/Users/"+id, nil)} {
				shown := body.Body[tc.key] != nil
				if ext, ok := body.Body[tc.key].(map[string]any); ok {
					shown = ext["department"] != nil
				}
				if shown {
					t.Errorf("the answer shows %s the vendor did not store: %s", tc.key, body.Raw)
				}
			}
			if !strings.Contains(b.Logs(), "did not store") || !strings.Contains(b.Logs(), `"attribute":"`+tc.attrPath+`"`) {
				t.Errorf("no warning names %s: %s", tc.attrPath, b.Logs())
			}
			if strings.Contains(b.Logs(), "CTO\"") && strings.Contains(b.Logs(), "did not store") && tc.target == "thoughtindustries" {
				for _, line := range strings.Split(b.Logs(), "\n") {
					if strings.Contains(line, "did not store") && strings.Contains(line, "CTO") {
						t.Errorf("the warning carries the value: %s", line)
					}
				}
			}
			m, err := b.Client.Get(b.Root + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(m.Body)
			m.Body.Close()
			if !strings.Contains(string(raw), `scim_bridge_vendor_ignored_attribute_total{attribute="`+tc.attrPath+`"`) {
				t.Errorf("no metric for %s in /metrics", tc.attrPath)
			}
		})
	}
}

func TestEveryMappedAttributeReachesThoughtIndustries(t *testing.T) {
	b := scimtest.Start(t, scimtest.Options{Target: "thoughtindustries", Settings: map[string]string{
		"SCIM_BRIDGE_TI_CUSTOM_FIELDS": "name.middleName=middle,name.honorificPrefix=prefix,employeeNumber=emp,nickName=nick",
	}})
	u := scimtest.User("mapped@example.com", "Map", "Ped")
	u["name"] = map[string]any{"givenName": "Map", "familyName": "Ped", "middleName": "Q", "honorificPrefix": "Dr"}
	u["nickName"] = "Mappy"
	u[enterpriseURN] = map[string]any{"employeeNumber": "E-7"}
	r := b.Do(t, "POST", "/Users", u)
	assertStatus(t, r, http.StatusCreated)
	raw, _ := b.Emu.(*titest.Emulator).Raw(str(r.Body, "id"))
	cf, _ := raw["customFields"].(map[string]any)
	for k, want := range map[string]string{"middle": "Q", "prefix": "Dr", "emp": "E-7", "nick": "Mappy"} {
		if cf[k] != want {
			t.Errorf("customFields[%s] = %v, want %q (all: %v)", k, cf[k], want, cf)
		}
	}
}

func TestListsAndLookupsAgree(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		opts := scimtest.Options{Target: target, ListTTL: 50 * time.Millisecond}
		if target == "trainual" {
			em := trainualtest.New(scimtest.APIKey)
			opts.Emulator = &rewriter{Emulator: em, list: trainualListWithStatus(em)}
		}
		b := scimtest.Start(t, opts)
		listed := func() map[string]map[string]any {
			r := b.Do(t, "GET", "/Users?count=500", nil)
			assertStatus(t, r, http.StatusOK)
			out := map[string]map[string]any{}
			res, _ := r.Body["Resources"].([]any)
			for _, x := range res {
				m, _ := x.(map[string]any)
				out[str(m, "id")] = m
			}
			return out
		}
		kept := create(t, b, "kept@example.com")
		lost := create(t, b, "lost@example.com")
		// Warm the listing with a long TTL in effect for the next steps.
		if len(listed()) != 2 {
			t.Fatal("the list does not show the two users")
		}

		id := b.Emu.Seed(adapters.User{Email: "late@example.com", GivenName: "La", FamilyName: "Te", Active: true})[0]
		if l := b.Do(t, "GET", `/Users?filter=userName%20eq%20%22late@example.com%22`, nil); l.Body["totalResults"] != float64(1) {
			t.Fatalf("lookup: %s", l.Raw)
		}
		if _, ok := listed()[id]; !ok {
			t.Error("an account just linked by a lookup is missing from the list")
		}

		ui(t, b).RemoveInUI(lost)
		assertStatus(t, b.Do(t, "GET", "/Users/"+lost, nil), http.StatusNotFound)
		if _, ok := listed()[lost]; ok {
			t.Error("an account the vendor lost is still listed")
		}

		ui(t, b).SetInUI(kept, "active", "false")
		time.Sleep(80 * time.Millisecond) // past the listing's TTL
		if m := listed()[kept]; m == nil || m["active"] != false {
			t.Errorf("the list shows %v for a person deactivated in the vendor's UI", m)
		}
		l := b.Do(t, "GET", `/Users?filter=userName%20eq%20%22kept@example.com%22`, nil)
		res, _ := l.Body["Resources"].([]any)
		if len(res) != 1 || res[0].(map[string]any)["active"] != false {
			t.Errorf("the lookup disagrees with the list: %s", l.Raw)
		}
	})
}

func TestVendorEmailFromAWorkAddress(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		b := scimtest.Start(t, scimtest.Options{Target: target, EmailFrom: provision.EmailFromWork})
		u := scimtest.User("jdoe@corp.onmicrosoft.com", "Jane", "Doe")
		u["emails"] = []any{map[string]any{"value": "jane.doe@corp.example", "type": "work", "primary": true}}
		r := b.Do(t, "POST", "/Users", u)
		assertStatus(t, r, http.StatusCreated)
		id := str(r.Body, "id")
		if v := vendorUser(t, b, id); v.Email != "jane.doe@corp.example" {
			t.Errorf("the vendor e-mail is %q", v.Email)
		}
		if r.Body["userName"] != "jdoe@corp.onmicrosoft.com" {
			t.Errorf("userName %v", r.Body["userName"])
		}
		l := b.Do(t, "GET", `/Users?filter=userName%20eq%20%22jdoe@corp.onmicrosoft.com%22`, nil)
		res, _ := l.Body["Resources"].([]any)
		if len(res) != 1 || str(res[0].(map[string]any), "id") != id {
			t.Errorf("the userName lookup: %s", l.Raw)
		}
		if g := b.Do(t, "GET", "/Users/"+id, nil); g.Body["userName"] != "jdoe@corp.onmicrosoft.com" {
			t.Errorf("GET userName %v", g.Body["userName"])
		}
		// Entra may match on the mail first: the lookup links the vendor account, and the create takes it over.
		pre := b.Emu.Seed(adapters.User{Email: "sam.roe@corp.example", GivenName: "Sam", FamilyName: "Roe", Active: true})[0]
		if l := b.Do(t, "GET", `/Users?filter=emails%20eq%20%22sam.roe@corp.example%22`, nil); l.Body["totalResults"] != float64(1) {
			t.Fatalf("e-mail lookup: %s", l.Raw)
		}
		sam := scimtest.User("sroe@corp.onmicrosoft.com", "Sam", "Roe")
		sam["emails"] = []any{map[string]any{"value": "sam.roe@corp.example", "type": "work"}}
		if r := b.Do(t, "POST", "/Users", sam); r.Status != http.StatusCreated || str(r.Body, "id") != pre || r.Body["userName"] != "sroe@corp.onmicrosoft.com" {
			t.Errorf("the create after an e-mail lookup: %d %s", r.Status, r.Raw)
		}
		// Without a work e-mail there is no vendor login: refused, never invited under the userName.
		noMail := scimtest.User("nomail@corp.onmicrosoft.com", "No", "Mail")
		delete(noMail, "emails")
		if r := b.Do(t, "POST", "/Users", noMail); r.Status != http.StatusBadRequest || !strings.Contains(str(r.Body, "detail"), "work e-mail") {
			t.Errorf("a create without a work e-mail: %d %s", r.Status, r.Raw)
		}
		// A new work address moves the vendor login; the userName stays.
		p := b.Do(t, "PATCH", "/Users/"+id, map[string]any{
			"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []any{map[string]any{"op": "replace", "path": `emails[type eq "work"].value`, "value": "jane.smith@corp.example"}},
		})
		assertStatus(t, p, http.StatusOK)
		if v := vendorUser(t, b, id); v.Email != "jane.smith@corp.example" {
			t.Errorf("after the PATCH the vendor e-mail is %q", v.Email)
		}
	})
}

func TestMissingNamesAreDerivedForTheVendorOnly(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		b := scimtest.Start(t, scimtest.Options{Target: target})
		for _, tc := range []struct {
			name          string
			body          map[string]any
			given, family string
		}{
			{"displayName", map[string]any{"userName": "room@example.com", "displayName": "Conference Room"}, "Conference", "Room"},
			{"formatted", map[string]any{"userName": "fmt@example.com", "name": map[string]any{"formatted": "Ada King Lovelace"}}, "Ada King", "Lovelace"},
			{"e-mail", map[string]any{"userName": "scanner@example.com"}, "scanner", "scanner"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.body["schemas"] = []string{"urn:ietf:params:scim:schemas:core:2.0:User"}
				r := b.Do(t, "POST", "/Users", tc.body)
				assertStatus(t, r, http.StatusCreated)
				v := vendorUser(t, b, str(r.Body, "id"))
				if v.GivenName != tc.given || v.FamilyName != tc.family {
					t.Errorf("the vendor holds %q %q, want %q %q", v.GivenName, v.FamilyName, tc.given, tc.family)
				}
				if str(r.Body, "name", "givenName") != "" || str(r.Body, "name", "familyName") != "" {
					t.Errorf("the SCIM resource shows derived names: %s", r.Raw)
				}
			})
		}
	})

	t.Run("turned off, Trainual's refusal names the fields", func(t *testing.T) {
		b := scimtest.Start(t, scimtest.Options{Target: "trainual", KeepNames: true})
		r := b.Do(t, "POST", "/Users", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "nameless@example.com"})
		assertSCIMError(t, r, http.StatusBadRequest, "invalidValue")
		if d := str(r.Body, "detail"); !strings.HasPrefix(d, "Trainual: ") || !strings.Contains(d, "First name can't be blank") {
			t.Errorf("detail %q", d)
		}
	})
}

func TestAVendorRefusalNamesTheFieldAndTheReason(t *testing.T) {
	for _, tc := range []struct{ target, prefix string }{{"trainual", "Trainual: "}, {"thoughtindustries", "Thought Industries: "}} {
		t.Run(tc.target, func(t *testing.T) {
			t.Parallel()
			tg, _ := targets.Lookup(tc.target)
			em := tg.Emulator(scimtest.APIKey)
			em.(interface{ SetStrictEmail(bool) }).SetStrictEmail(true)
			b := scimtest.Start(t, scimtest.Options{Target: tc.target, Emulator: em})
			r := b.Do(t, "POST", "/Users", scimtest.User("not-an-email", "No", "Mail"))
			assertSCIMError(t, r, http.StatusBadRequest, "invalidValue")
			if d := str(r.Body, "detail"); d != tc.prefix+"Email is invalid" {
				t.Errorf("detail %q", d)
			}
		})
	}
}

// TestATrainualDeleteThatHardDeletes: docs/trainual.md says it is unconfirmed whether Trainual's DELETE
// deactivates or deletes. If it deletes, the SCIM DELETE has done what the IdP asked, the link is retired, and the
// person can be provisioned again.
func TestATrainualDeleteThatHardDeletes(t *testing.T) {
	em := trainualtest.New(scimtest.APIKey)
	em.SetVariant(trainualtest.Variant{HardDelete: true})
	b := scimtest.Start(t, scimtest.Options{Target: "trainual", Emulator: em})
	id := create(t, b, "hard@example.com")
	assertStatus(t, b.Do(t, "DELETE", "/Users/"+id, nil), http.StatusNoContent)
	if em.Users() != 0 {
		t.Fatalf("the emulator still holds %d accounts", em.Users())
	}
	if !strings.Contains(b.Logs(), "link retired") {
		t.Error("no warning names the retired link")
	}
	assertSCIMError(t, b.Do(t, "GET", "/Users/"+id, nil), http.StatusNotFound, "")
	r := b.Do(t, "POST", "/Users", scimtest.User("hard@example.com", "Back", "Again"))
	assertStatus(t, r, http.StatusCreated)
	if str(r.Body, "id") == id {
		t.Error("the new account has the deleted one's id")
	}
	// A PATCH deactivation that hard-deletes answers 404: the vendor has no account to show as inactive.
	id2 := str(r.Body, "id")
	p := b.Do(t, "PATCH", "/Users/"+id2, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "replace", "path": "active", "value": false}}})
	assertSCIMError(t, p, http.StatusNotFound, "")
	if l := b.Do(t, "GET", `/Users?filter=userName%20eq%20%22hard@example.com%22`, nil); l.Body["totalResults"] != float64(0) {
		t.Errorf("the lookup still shows the deleted person: %s", l.Raw)
	}
}
