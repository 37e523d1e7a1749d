package thoughtindustries_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/adaptertest"
	"github.com/scim-bridge/scim-bridge/adapters/thoughtindustries"
	"github.com/scim-bridge/scim-bridge/adapters/thoughtindustries/titest"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
)

const apiKey = "ti-key-0123456789abcdef"

// suiteFields routes every attribute the conformance suite sets and the emulator's Seed stores as a custom field.
const suiteFields = "title=title,department=department,employeeNumber=employeeNumber,costCenter=costCenter," +
	"organization=organization,division=division"

var suiteKeys = []string{"title", "department", "employeeNumber", "costCenter", "organization", "division"}

// seenRequest is what reached the server, before the emulator strips anything.
type seenRequest struct {
	method, path, rawQuery, header string
	body                           []byte
}

// rig is an adapter wired to an emulator through a recording middleware.
type rig struct {
	a    adapters.Adapter
	em   *titest.Emulator
	srv  *httptest.Server
	logs *upstreamtest.LogBuffer

	mu   sync.Mutex
	seen []seenRequest
	// front, when set, may answer a request instead of the emulator (a vendor that differs from the seed).
	front func(w http.ResponseWriter, r *http.Request) bool
}

type settings map[string]string

func newRig(t testing.TB, s settings, logs *upstreamtest.LogBuffer) *rig {
	t.Helper()
	rg := &rig{em: titest.New(apiKey), logs: logs}
	if rg.logs == nil {
		rg.logs = &upstreamtest.LogBuffer{}
	}
	rg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rg.mu.Lock()
		rg.seen = append(rg.seen, seenRequest{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("X-API-Key"), body})
		front := rg.front
		rg.mu.Unlock()
		if front != nil && front(w, r) {
			return
		}
		rg.em.ServeHTTP(w, r)
	}))
	t.Cleanup(rg.srv.Close)
	env := settings{
		thoughtindustries.EnvUpstreamURL:   rg.em.BaseURL(rg.srv.URL),
		thoughtindustries.EnvUpstreamToken: apiKey,
	}
	maps.Copy(env, s)
	a, err := thoughtindustries.Open(func(k string) string { return env[k] }, adapters.Deps{
		Logger: slog.New(slog.NewJSONHandler(rg.logs, nil)),
		HTTP:   rg.srv.Client(),
	})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	rg.a = a
	return rg
}

func (rg *rig) requests() []seenRequest {
	rg.mu.Lock()
	defer rg.mu.Unlock()
	return append([]seenRequest(nil), rg.seen...)
}

// post creates a user through the vendor API itself, as an admin or another integration would, with fields
// Seed cannot set (groups, avatarUrl, password).
func (rg *rig) post(t *testing.T, body map[string]any) string {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, rg.em.BaseURL(rg.srv.URL)+"/users", bytes.NewReader(b))
	req.Header.Set("X-API-Key", apiKey)
	resp, err := rg.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("seeding through the API: status %d", resp.StatusCode)
	}
	return out.User.ID
}

// richUser creates a user with every vendor field set, including ones the adapter does not know.
func (rg *rig) richUser(t *testing.T) string {
	t.Helper()
	rg.em.AddGroup("grp001")
	rg.em.AddGroup("grp002")
	id := rg.post(t, map[string]any{
		"email": "jane@example.com", "firstName": "Jane", "lastName": "Doe", "password": "pw-Initial-1",
		"role": "learner", "groups": []string{"grp001", "grp002"}, "ssoId": "okta-00u1", "language": "en",
		"avatarUrl":    "https://cdn.example.com/jane.png",
		"customFields": map[string]any{"dept": "Research", "employee_id": "E-7", "level": 3, "badge": true},
	})
	rg.em.Enroll(id, "crs001", "completed")
	return id
}

func TestConformanceInDeleteMode(t *testing.T) {
	adaptertest.Run(t, conformance(true))
}

func TestConformanceInDeactivateMode(t *testing.T) {
	adaptertest.Run(t, conformance(false))
}

func conformance(deletes bool) adaptertest.Harness {
	logs := &upstreamtest.LogBuffer{}
	mode := "deactivate"
	if deletes {
		mode = "delete"
	}
	return adaptertest.Harness{
		New: func(t *testing.T) (adapters.Adapter, upstreamtest.Emulator) {
			rg := newRig(t, settings{
				thoughtindustries.EnvRole:         "roles",
				thoughtindustries.EnvCustomFields: suiteFields,
				thoughtindustries.EnvDeleteMode:   mode,
			}, logs)
			rg.em.SetCustomFieldKeys(suiteKeys...)
			return rg.a, rg.em
		},
		Secrets: []string{apiKey},
		Logs:    logs.String,
		Deletes: deletes,
	}
}

func TestOpenRefusesBadSettings(t *testing.T) {
	base := settings{thoughtindustries.EnvSubdomain: "acme", thoughtindustries.EnvUpstreamToken: apiKey}
	cases := []struct {
		name    string
		change  settings
		mention []string
	}{
		{"neither a URL nor a subdomain names both variables in one message",
			settings{thoughtindustries.EnvSubdomain: ""}, []string{"one of SCIM_BRIDGE_UPSTREAM_URL or SCIM_BRIDGE_TI_SUBDOMAIN is required"}},
		{"a missing key is named", settings{thoughtindustries.EnvUpstreamToken: ""}, []string{"SCIM_BRIDGE_UPSTREAM_TOKEN is required"}},
		{"a full hostname as subdomain is refused", settings{thoughtindustries.EnvSubdomain: "acme.thoughtindustries.com"}, []string{"SCIM_BRIDGE_TI_SUBDOMAIN"}},
		{"a subdomain starting with a hyphen is refused", settings{thoughtindustries.EnvSubdomain: "-acme"}, []string{"SCIM_BRIDGE_TI_SUBDOMAIN"}},
		{"a subdomain with a path is refused", settings{thoughtindustries.EnvSubdomain: "acme/evil"}, []string{"SCIM_BRIDGE_TI_SUBDOMAIN"}},
		{"a URL carrying the key as a query is refused", settings{thoughtindustries.EnvUpstreamURL: "https://acme.thoughtindustries.com/incoming/api/v1?apiKey=x"}, []string{"SCIM_BRIDGE_UPSTREAM_URL"}},
		{"a relative URL is refused", settings{thoughtindustries.EnvUpstreamURL: "acme.thoughtindustries.com"}, []string{"SCIM_BRIDGE_UPSTREAM_URL"}},
		{"an unknown ssoId source is refused", settings{thoughtindustries.EnvSSOIDFrom: "email"}, []string{"SCIM_BRIDGE_TI_SSOID_FROM"}},
		{"an unknown role mode is refused", settings{thoughtindustries.EnvRole: "groups"}, []string{"SCIM_BRIDGE_TI_ROLE"}},
		{"an unknown delete mode is refused", settings{thoughtindustries.EnvDeleteMode: "purge"}, []string{"SCIM_BRIDGE_DELETE_MODE"}},
		{"a timeout that is not a duration is refused", settings{thoughtindustries.EnvUpstreamTimeout: "15"}, []string{"SCIM_BRIDGE_UPSTREAM_TIMEOUT"}},
		{"a custom field without = is refused", settings{thoughtindustries.EnvCustomFields: "department"}, []string{"SCIM_BRIDGE_TI_CUSTOM_FIELDS entry 1"}},
		{"a custom field without a key is refused", settings{thoughtindustries.EnvCustomFields: "department="}, []string{"SCIM_BRIDGE_TI_CUSTOM_FIELDS entry 1"}},
		{"a custom field key with a space is refused", settings{thoughtindustries.EnvCustomFields: "department=my dept"}, []string{"SCIM_BRIDGE_TI_CUSTOM_FIELDS entry 1"}},
		{"an unknown SCIM attribute is refused", settings{thoughtindustries.EnvCustomFields: "department=dept,shoeSize=shoe"}, []string{"SCIM_BRIDGE_TI_CUSTOM_FIELDS entry 2", "shoeSize"}},
		{"an attribute the adapter already maps is refused", settings{thoughtindustries.EnvCustomFields: "preferredLanguage=lang"}, []string{"SCIM_BRIDGE_TI_CUSTOM_FIELDS"}},
		{"externalId cannot feed a custom field while it feeds ssoId", settings{thoughtindustries.EnvCustomFields: "externalId=ext"}, []string{"SCIM_BRIDGE_TI_CUSTOM_FIELDS", "SCIM_BRIDGE_TI_SSOID_FROM"}},
		{"a malformed URN path is refused", settings{thoughtindustries.EnvCustomFields: "urn:example:=x"}, []string{"SCIM_BRIDGE_TI_CUSTOM_FIELDS"}},
		{"one SCIM attribute mapped twice is refused", settings{thoughtindustries.EnvCustomFields: "department=a,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department=b"},
			[]string{"SCIM_BRIDGE_TI_CUSTOM_FIELDS maps SCIM attribute"}},
		{"one custom field key used twice is refused", settings{thoughtindustries.EnvCustomFields: "department=dept,division=dept"}, []string{"SCIM_BRIDGE_TI_CUSTOM_FIELDS uses custom field key"}},
		{"every problem is reported at once", settings{thoughtindustries.EnvSubdomain: "", thoughtindustries.EnvUpstreamToken: "", thoughtindustries.EnvRole: "x"},
			[]string{"SCIM_BRIDGE_TI_SUBDOMAIN", "SCIM_BRIDGE_UPSTREAM_TOKEN", "SCIM_BRIDGE_TI_ROLE"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := maps.Clone(base)
			maps.Copy(env, c.change)
			a, err := thoughtindustries.Open(func(k string) string { return env[k] }, adapters.Deps{})
			if err == nil {
				t.Fatalf("Open accepted the settings and returned %T", a)
			}
			for _, m := range c.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			if strings.Contains(err.Error(), apiKey) {
				t.Error("the error shows the API key")
			}
		})
	}
}

// roundTripFunc lets a test see the exact request Open's client sends, with no network.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestOpenBuildsTheBaseURL(t *testing.T) {
	cases := []struct {
		name string
		env  settings
		want string
	}{
		{"a subdomain builds the tenant's host", settings{thoughtindustries.EnvSubdomain: "acme"},
			"https://acme.thoughtindustries.com/incoming/api/v1/users/abc123"},
		{"a subdomain in capitals is lower-cased", settings{thoughtindustries.EnvSubdomain: " Acme-Learning "},
			"https://acme-learning.thoughtindustries.com/incoming/api/v1/users/abc123"},
		{"an explicit URL wins over a subdomain", settings{thoughtindustries.EnvSubdomain: "acme", thoughtindustries.EnvUpstreamURL: "https://learn.example.com/incoming/api/v1/"},
			"https://learn.example.com/incoming/api/v1/users/abc123"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got *http.Request
			client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				got = r
				return &http.Response{StatusCode: 200, Header: http.Header{}, Request: r,
					Body: io.NopCloser(strings.NewReader(`{"user":{"id":"abc123","email":"a@example.com"}}`))}, nil
			})}
			env := settings{thoughtindustries.EnvUpstreamToken: apiKey}
			maps.Copy(env, c.env)
			a, err := thoughtindustries.Open(func(k string) string { return env[k] }, adapters.Deps{HTTP: client})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Get(t.Context(), "abc123"); err != nil {
				t.Fatal(err)
			}
			if got.URL.String() != c.want {
				t.Errorf("request went to %s, want %s", got.URL, c.want)
			}
			if got.Header.Get("X-API-Key") != apiKey {
				t.Error("the request carries no X-API-Key header")
			}
		})
	}
}

func TestTheKeyIsSentAsHeaderAndNeverInTheQuery(t *testing.T) {
	rg := newRig(t, settings{thoughtindustries.EnvDeleteMode: "delete"}, nil)
	ctx := t.Context()
	u, err := rg.a.Create(ctx, adapters.User{Email: "a@example.com", GivenName: "A", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rg.a.Get(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := rg.a.FindByEmail(ctx, "A@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := rg.a.List(ctx, adapters.PageRequest{Number: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := rg.a.Update(ctx, u.ID, adapters.Change{FamilyName: adapters.Ptr("B")}); err != nil {
		t.Fatal(err)
	}
	if err := rg.a.(adapters.Deleter).Delete(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	reqs := rg.requests()
	if len(reqs) < 6 {
		t.Fatalf("only %d requests recorded", len(reqs))
	}
	for _, r := range reqs {
		q, _ := url.ParseQuery(r.rawQuery)
		if q.Has("apiKey") || strings.Contains(r.rawQuery, apiKey) {
			t.Errorf("%s %s carries the key in its query %q", r.method, r.path, r.rawQuery)
		}
		if r.header != apiKey {
			t.Errorf("%s %s lacks the X-API-Key header", r.method, r.path)
		}
	}
	for _, c := range rg.em.Log() {
		if strings.Contains(c.Query, apiKey) || strings.Contains(string(c.Body), apiKey) {
			t.Errorf("the emulator log shows the key in %s %s", c.Method, c.Path)
		}
	}
}

// rawWithout returns the emulator's raw user without the fields an update is expected to change.
func rawWithout(t *testing.T, em *titest.Emulator, id string, fields ...string) map[string]any {
	t.Helper()
	raw, ok := em.Raw(id)
	if !ok {
		t.Fatalf("user %s is gone", id)
	}
	delete(raw, "updatedAt")
	for _, f := range fields {
		delete(raw, f)
	}
	return raw
}

func TestAnUpdateChangesOnlyWhatItIsAsked(t *testing.T) {
	cases := []struct {
		name    string
		ch      adapters.Change
		changed []string // raw fields allowed to differ
		check   func(t *testing.T, raw map[string]any)
	}{
		{"a given name", adapters.Change{GivenName: adapters.Ptr("Janet")}, []string{"firstName"},
			func(t *testing.T, raw map[string]any) { want(t, raw, "firstName", "Janet") }},
		{"an email", adapters.Change{Email: adapters.Ptr("janet@example.com")}, []string{"email"},
			func(t *testing.T, raw map[string]any) { want(t, raw, "email", "janet@example.com") }},
		{"a deactivation", adapters.Change{Active: adapters.Ptr(false)}, []string{"active"},
			func(t *testing.T, raw map[string]any) { want(t, raw, "active", false) }},
		{"the externalId", adapters.Change{Attrs: map[string]*string{adapters.AttrExternalID: adapters.Ptr("okta-00u2")}}, []string{"ssoId"},
			func(t *testing.T, raw map[string]any) { want(t, raw, "ssoId", "okta-00u2") }},
		{"the role", adapters.Change{Attrs: map[string]*string{adapters.AttrRole: adapters.Ptr("manager")}}, []string{"role"},
			func(t *testing.T, raw map[string]any) { want(t, raw, "role", "manager") }},
		{"the language from locale when preferredLanguage is not in the change", adapters.Change{Attrs: map[string]*string{adapters.AttrLocale: adapters.Ptr("fr-CA")}}, []string{"language"},
			func(t *testing.T, raw map[string]any) { want(t, raw, "language", "fr-CA") }},
		{"preferredLanguage over locale", adapters.Change{Attrs: map[string]*string{adapters.AttrLocale: adapters.Ptr("fr-CA"), adapters.AttrPreferredLanguage: adapters.Ptr("de")}}, []string{"language"},
			func(t *testing.T, raw map[string]any) { want(t, raw, "language", "de") }},
		{"one custom field, merged key by key", adapters.Change{Attrs: map[string]*string{adapters.AttrDepartment: adapters.Ptr("Sales")}}, []string{"customFields"},
			func(t *testing.T, raw map[string]any) {
				want(t, raw, "customFields", map[string]any{"dept": "Sales", "employee_id": "E-7", "level": float64(3), "badge": true})
			}},
		{"clearing one custom field", adapters.Change{Attrs: map[string]*string{adapters.AttrEmployeeNumber: nil}}, []string{"customFields"},
			func(t *testing.T, raw map[string]any) {
				want(t, raw, "customFields", map[string]any{"dept": "Research", "level": float64(3), "badge": true})
			}},
		{"an attribute the adapter does not map writes nothing", adapters.Change{Attrs: map[string]*string{adapters.AttrTitle: adapters.Ptr("CEO")}}, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rg := newRig(t, settings{thoughtindustries.EnvRole: "roles", thoughtindustries.EnvCustomFields: "department=dept,employeeNumber=employee_id"}, nil)
			id := rg.richUser(t)
			before := rawWithout(t, rg.em, id, c.changed...)
			if _, err := rg.a.Update(t.Context(), id, c.ch); err != nil {
				t.Fatal(err)
			}
			after := rawWithout(t, rg.em, id, c.changed...)
			if !reflect.DeepEqual(before, after) {
				t.Errorf("fields outside the change moved:\nbefore %v\nafter  %v", before, after)
			}
			if c.check != nil {
				raw, _ := rg.em.Raw(id)
				c.check(t, raw)
			}
			if len(rg.em.Enrollments(id)) != 1 {
				t.Error("the update lost the user's learning history")
			}
			if c.changed == nil && rg.em.Calls(upstreamtest.OpUpdate) != 0 {
				t.Error("an update of nothing mapped sent a PUT")
			}
		})
	}
}

func want(t *testing.T, raw map[string]any, field string, v any) {
	t.Helper()
	if !reflect.DeepEqual(raw[field], v) {
		t.Errorf("%s = %#v, want %#v", field, raw[field], v)
	}
}

func TestTheUpdateAnswerMapsTheConfiguredAttributes(t *testing.T) {
	rg := newRig(t, settings{thoughtindustries.EnvRole: "roles", thoughtindustries.EnvCustomFields: "department=dept,manager=mgr"}, nil)
	id := rg.richUser(t)
	got, err := rg.a.Update(t.Context(), id, adapters.Change{Attrs: map[string]*string{adapters.EnterpriseURN + ":manager.value": adapters.Ptr("boss-1")}})
	if err != nil {
		t.Fatal(err)
	}
	wantAttrs := map[string]string{
		adapters.AttrExternalID: "okta-00u1", adapters.AttrPreferredLanguage: "en", adapters.AttrRole: "learner",
		adapters.AttrDepartment: "Research", adapters.EnterpriseURN + ":manager.value": "boss-1",
	}
	if !maps.Equal(got.Attrs, wantAttrs) {
		t.Errorf("attrs %v, want %v", got.Attrs, wantAttrs)
	}
	if got.Email != "jane@example.com" || got.GivenName != "Jane" || got.FamilyName != "Doe" || !got.Active || got.Created.IsZero() {
		t.Errorf("user %+v", got)
	}
}

func TestTheSSOIDSource(t *testing.T) {
	cases := []struct {
		name           string
		from           string
		wantCreated    any // ssoId after create
		wantAfterEmail any // ssoId after an email change
		holdsExternal  bool
	}{
		{"externalId feeds ssoId", "externalId", "ext-1", "ext-1", true},
		{"userName feeds ssoId on create and on an email change", "userName", "a@example.com", "b@example.com", false},
		{"none leaves ssoId alone", "none", nil, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rg := newRig(t, settings{thoughtindustries.EnvSSOIDFrom: c.from}, nil)
			u, err := rg.a.Create(t.Context(), adapters.User{Email: "a@example.com", Active: true,
				Attrs: map[string]string{adapters.AttrExternalID: "ext-1"}})
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := rg.em.Raw(u.ID)
			want(t, raw, "ssoId", c.wantCreated)
			if _, held := u.Attrs[adapters.AttrExternalID]; held != c.holdsExternal {
				t.Errorf("externalId held: %v, want %v", held, c.holdsExternal)
			}
			if _, err := rg.a.Update(t.Context(), u.ID, adapters.Change{Email: adapters.Ptr("b@example.com"),
				Attrs: map[string]*string{adapters.AttrExternalID: adapters.Ptr("ext-1")}}); err != nil {
				t.Fatal(err)
			}
			raw, _ = rg.em.Raw(u.ID)
			want(t, raw, "ssoId", c.wantAfterEmail)
		})
	}
}

func TestACustomFieldTheVendorDropsIsLoggedByKeyNotValue(t *testing.T) {
	rg := newRig(t, settings{thoughtindustries.EnvCustomFields: "department=dept,costCenter=cost_center"}, nil)
	rg.em.SetCustomFieldKeys("dept") // cost_center was never set up in the admin portal
	const secretish = "CC-PRIVATE-4711"
	u, err := rg.a.Create(t.Context(), adapters.User{Email: "a@example.com", Active: true,
		Attrs: map[string]string{adapters.AttrDepartment: "Research", adapters.AttrCostCenter: secretish}})
	if err != nil {
		t.Fatal(err)
	}
	if u.Attrs[adapters.AttrCostCenter] != "" || u.Attrs[adapters.AttrDepartment] != "Research" {
		t.Errorf("attrs %v: want what the vendor kept", u.Attrs)
	}
	if _, err := rg.a.Update(t.Context(), u.ID, adapters.Change{Attrs: map[string]*string{adapters.AttrCostCenter: adapters.Ptr(secretish)}}); err != nil {
		t.Fatal(err)
	}

	var warnings []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(rg.logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["level"] == "WARN" {
			warnings = append(warnings, rec)
		}
	}
	if len(warnings) != 2 {
		t.Fatalf("%d warnings, want one for the create and one for the update: %s", len(warnings), rg.logs)
	}
	for _, w := range warnings {
		if w["custom_field_key"] != "cost_center" || w["scim_attribute"] != adapters.AttrCostCenter {
			t.Errorf("warning %v does not name the key and the SCIM attribute", w)
		}
	}
	if strings.Contains(rg.logs.String(), secretish) || strings.Contains(rg.logs.String(), "Research") {
		t.Error("the log shows a custom field value")
	}
}

func TestDeactivationPutsActiveFalseAndKeepsHistory(t *testing.T) {
	rg := newRig(t, settings{thoughtindustries.EnvCustomFields: "department=dept"}, nil)
	id := rg.richUser(t)
	before := rawWithout(t, rg.em, id, "active")

	got, err := rg.a.Update(t.Context(), id, adapters.Change{Active: adapters.Ptr(false)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Active {
		t.Error("the update answer says active")
	}
	var put *seenRequest
	for _, r := range rg.requests() {
		if r.method == http.MethodPut {
			put = &r
		}
	}
	if put == nil {
		t.Fatal("no PUT was sent")
	}
	var body map[string]any
	if err := json.Unmarshal(put.body, &body); err != nil {
		t.Fatal(err)
	}
	if body["active"] != false {
		t.Errorf("PUT body active = %v, want false", body["active"])
	}
	for _, f := range []string{"groups", "avatarUrl", "customFields", "ssoId", "role", "language", "lastName"} {
		if _, ok := body[f]; !ok {
			t.Errorf("PUT body lacks %s: the vendor would clear it", f)
		}
	}
	if _, ok := body["password"]; ok {
		t.Error("PUT body carries a password")
	}
	if after := rawWithout(t, rg.em, id, "active"); !reflect.DeepEqual(before, after) {
		t.Errorf("deactivation moved other fields:\nbefore %v\nafter  %v", before, after)
	}
	if n := len(rg.em.Enrollments(id)); n != 1 {
		t.Errorf("%d enrollments after deactivation, want the 1 kept", n)
	}
	if rg.em.Users() != 1 {
		t.Error("deactivation removed the account")
	}

	if _, err := rg.a.Update(t.Context(), id, adapters.Change{Active: adapters.Ptr(true)}); err != nil {
		t.Fatal(err)
	}
	raw, _ := rg.em.Raw(id)
	want(t, raw, "active", true)
}

func TestDeleteModeDecidesWhetherTheAdapterCanDelete(t *testing.T) {
	t.Run("delete mode deletes the account and its history for good", func(t *testing.T) {
		rg := newRig(t, settings{thoughtindustries.EnvDeleteMode: "delete"}, nil)
		id := rg.richUser(t)
		d, ok := rg.a.(adapters.Deleter)
		if !ok {
			t.Fatal("the adapter does not implement adapters.Deleter in delete mode")
		}
		if err := d.Delete(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		if rg.em.Users() != 0 || len(rg.em.Enrollments(id)) != 0 {
			t.Error("the account or its enrollments survived")
		}
		if _, err := rg.a.Get(t.Context(), id); !errors.Is(err, adapters.ErrNotFound) {
			t.Errorf("get after delete: %v, want not found", err)
		}
		if err := d.Delete(t.Context(), id); !errors.Is(err, adapters.ErrNotFound) {
			t.Errorf("second delete: %v, want not found", err)
		}
	})
	for _, mode := range []string{"", "deactivate", "DEACTIVATE"} {
		t.Run(fmt.Sprintf("deactivate mode %q offers no delete, even through Retrying", mode), func(t *testing.T) {
			rg := newRig(t, settings{thoughtindustries.EnvDeleteMode: mode}, nil)
			if _, ok := rg.a.(adapters.Deleter); ok {
				t.Error("the adapter implements adapters.Deleter")
			}
			if _, ok := adapters.Retrying(rg.a, adapters.RetryPolicy{}).(adapters.Deleter); ok {
				t.Error("the retrying adapter implements adapters.Deleter")
			}
		})
	}
}

func TestFindByEmailCopesWithAVendorThatDiffersFromTheSeed(t *testing.T) {
	t.Run("a vendor that ignores the email parameter is walked page by page", func(t *testing.T) {
		rg := newRig(t, nil, nil)
		people := make([]adapters.User, 150)
		for i := range people {
			people[i] = adapters.User{Email: fmt.Sprintf("user%03d@example.com", i), Active: true}
		}
		ids := rg.em.Seed(people...)
		rg.front = func(w http.ResponseWriter, r *http.Request) bool {
			q := r.URL.Query()
			q.Del("email")
			r.URL.RawQuery = q.Encode()
			return false
		}
		u, err := rg.a.FindByEmail(t.Context(), "USER142@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if u.ID != ids[142] {
			t.Errorf("found %s, want %s", u.ID, ids[142])
		}
		if _, err := rg.a.FindByEmail(t.Context(), "nobody@example.com"); !errors.Is(err, adapters.ErrNotFound) {
			t.Errorf("missing email: %v, want not found", err)
		}
	})
	t.Run("a vendor that matches case-sensitively is asked again in lower case", func(t *testing.T) {
		rg := newRig(t, nil, nil)
		id := rg.em.Seed(adapters.User{Email: "jane@example.com", Active: true})[0]
		rg.front = func(w http.ResponseWriter, r *http.Request) bool {
			if e := r.URL.Query().Get("email"); e != "" && e != strings.ToLower(e) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"users":[],"total":0}`))
				return true
			}
			return false
		}
		u, err := rg.a.FindByEmail(t.Context(), "Jane@Example.com")
		if err != nil {
			t.Fatal(err)
		}
		if u.ID != id {
			t.Errorf("found %s, want %s", u.ID, id)
		}
	})
}

func TestListReportsPagesAndTotal(t *testing.T) {
	rg := newRig(t, nil, nil)
	people := make([]adapters.User, 30)
	for i := range people {
		people[i] = adapters.User{Email: fmt.Sprintf("user%03d@example.com", i), Active: i%2 == 0}
	}
	rg.em.Seed(people...)
	cases := []struct {
		name     string
		req      adapters.PageRequest
		wantLen  int
		wantLast bool
	}{
		{"size zero asks for the vendor's largest page", adapters.PageRequest{Number: 1}, 30, true},
		{"a first page of 25 is not the last", adapters.PageRequest{Number: 1, Size: 25}, 25, false},
		{"a second page of 25 is the last", adapters.PageRequest{Number: 2, Size: 25}, 5, true},
		{"a page past the end is empty and last", adapters.PageRequest{Number: 9, Size: 25}, 0, true},
		{"a size beyond 100 is asked as 100", adapters.PageRequest{Number: 1, Size: 1000}, 30, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := rg.a.List(t.Context(), c.req)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Users) != c.wantLen || p.Last != c.wantLast || p.Total != 30 {
				t.Errorf("got %d users, last %v, total %d; want %d, %v, 30", len(p.Users), p.Last, p.Total, c.wantLen, c.wantLast)
			}
		})
	}
	for _, r := range rg.requests() {
		if q, _ := url.ParseQuery(r.rawQuery); q.Get("per_page") == "1000" {
			t.Error("a per_page above the documented maximum was sent")
		}
	}
}

func BenchmarkUpdate(b *testing.B) {
	rg := newRig(b, settings{thoughtindustries.EnvCustomFields: "department=dept"}, nil)
	id := rg.em.Seed(adapters.User{Email: "bench@example.com", GivenName: "B", Active: true,
		Attrs: map[string]string{adapters.AttrExternalID: "ext", adapters.AttrPreferredLanguage: "en"}})[0]
	ctx := b.Context()
	names := []string{"Alpha", "Beta"}
	i := 0
	for b.Loop() {
		i++
		if _, err := rg.a.Update(ctx, id, adapters.Change{GivenName: &names[i%2]}); err != nil {
			b.Fatal(err)
		}
	}
}
