package provision

import (
	"testing"

	"github.com/scim-bridge/scim-bridge/adapters"
)

func user(email, given, family string, active bool, attrs map[string]string) adapters.User {
	return adapters.User{ID: "1", Email: email, GivenName: given, FamilyName: family, Active: active, Attrs: attrs}
}

func res(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		setAny(m, kv[i].(string), kv[i+1])
	}
	return m
}

func setAny(m map[string]any, path string, v any) {
	if s, ok := v.(string); ok {
		setString(m, path, s)
		return
	}
	m[path] = v
}

var trainualPaths = []string{adapters.AttrTitle, adapters.AttrDepartment, adapters.AttrRole}

func TestPlanClearsOnlyWhatTheIdPOwns(t *testing.T) {
	m := mapper{paths: trainualPaths, emailFrom: EmailFromUserName}
	// The vendor holds a title the IdP wrote and a department and role set in the vendor's own UI.
	vendor := user("a@x.com", "A", "B", true, map[string]string{adapters.AttrTitle: "T", adapters.AttrDepartment: "Ops", adapters.AttrRole: "admin"})
	owned := ownership{"username": true, "name.givenname": true, "name.familyname": true, "active": true, "title": true}
	for _, tc := range []struct {
		name    string
		next    map[string]any
		kind    writeKind
		touched []string
		check   func(t *testing.T, ch adapters.Change, after ownership)
	}{
		{"a PUT without the vendor-owned values clears nothing of them", res("userName", "a@x.com", "name.givenName", "A", "name.familyName", "B", "active", true, "title", "T"), writeWhole, nil,
			func(t *testing.T, ch adapters.Change, after ownership) {
				if !ch.IsZero() {
					t.Errorf("change %+v", ch)
				}
				if after.has(adapters.AttrDepartment) || after.has(adapters.AttrRole) {
					t.Errorf("vendor values became the IdP's: %v", after)
				}
			}},
		{"a PUT leaving out an owned value clears it and releases it", res("userName", "a@x.com", "active", true), writeWhole, nil,
			func(t *testing.T, ch adapters.Change, after ownership) {
				if v, ok := ch.Attrs[adapters.AttrTitle]; !ok || v != nil {
					t.Errorf("title change %v %v", v, ok)
				}
				if _, ok := ch.Attrs[adapters.AttrDepartment]; ok {
					t.Error("department cleared")
				}
				if ch.GivenName != nil || ch.FamilyName != nil {
					t.Error("names absent from the resource must be left alone, not cleared")
				}
				if after.has(adapters.AttrTitle) {
					t.Error("a cleared title is still owned")
				}
			}},
		{"a value the IdP sends wins over a UI edit and becomes the IdP's", res("userName", "a@x.com", "active", true, "title", "T", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "Sales"), writeWhole, nil,
			func(t *testing.T, ch adapters.Change, after ownership) {
				if v := ch.Attrs[adapters.AttrDepartment]; v == nil || *v != "Sales" {
					t.Errorf("department change %v", ch.Attrs)
				}
				if !after.has(adapters.AttrDepartment) {
					t.Error("department not owned after the IdP wrote it")
				}
			}},
		{"a PATCH naming only active sends only active", res("userName", "a@x.com", "active", false), writePartial, []string{"active"},
			func(t *testing.T, ch adapters.Change, after ownership) {
				if ch.Active == nil || *ch.Active || ch.Attrs != nil || ch.Email != nil {
					t.Errorf("change %+v", ch)
				}
				if !after.has(adapters.AttrTitle) {
					t.Error("a PATCH that did not name title released it")
				}
			}},
		{"a PATCH removing a vendor-owned value does not clear it", res("userName", "a@x.com", "active", true, "title", "T"), writePartial, []string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"},
			func(t *testing.T, ch adapters.Change, _ ownership) {
				if !ch.IsZero() {
					t.Errorf("change %+v", ch)
				}
			}},
		{"a PATCH removing an owned value clears it", res("userName", "a@x.com", "active", true), writePartial, []string{"title"},
			func(t *testing.T, ch adapters.Change, _ ownership) {
				if v, ok := ch.Attrs[adapters.AttrTitle]; !ok || v != nil {
					t.Errorf("change %+v", ch)
				}
			}},
		{"an attribute the vendor does not hold is not sent", res("userName", "a@x.com", "active", true, "title", "T", "displayName", "New"), writeWhole, nil,
			func(t *testing.T, ch adapters.Change, _ ownership) {
				if !ch.IsZero() {
					t.Errorf("change %+v", ch)
				}
			}},
		{"userName change is an email change", res("userName", "b@x.com", "active", true, "title", "T"), writeWhole, nil,
			func(t *testing.T, ch adapters.Change, _ ownership) {
				if ch.Email == nil || *ch.Email != "b@x.com" {
					t.Errorf("change %+v", ch)
				}
			}},
		{"a filtered PATCH path names its attribute", res("userName", "a@x.com", "active", true, "roles", []any{map[string]any{"value": "member", "primary": true}}), writePartial, []string{`roles[primary eq true].value`},
			func(t *testing.T, ch adapters.Change, _ ownership) {
				if v := ch.Attrs[adapters.AttrRole]; v == nil || *v != "member" {
					t.Errorf("change %+v", ch)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch, after := m.plan(vendor, tc.next, owned, tc.kind, tc.touched, nil)
			tc.check(t, ch, after)
		})
	}
}

func TestEmailFrom(t *testing.T) {
	r := res("userName", "jdoe@corp.onmicrosoft.com")
	r["emails"] = []any{map[string]any{"value": "home@x", "type": "home", "primary": true}, map[string]any{"value": "jane.doe@corp.com", "type": "work"}}
	for _, tc := range []struct {
		from EmailFrom
		want string
	}{{EmailFromUserName, "jdoe@corp.onmicrosoft.com"}, {EmailFromWork, "jane.doe@corp.com"}, {EmailFromPrimary, "home@x"}} {
		if got := (mapper{emailFrom: tc.from}).vendorEmail(r); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.from, got, tc.want)
		}
	}
	if got := (mapper{emailFrom: EmailFromWork}).vendorEmail(res("userName", "u@x")); got != "" {
		t.Errorf("no e-mails: %q, want none (never the userName)", got)
	}
}

func TestDeriveNames(t *testing.T) {
	for _, tc := range []struct {
		name          string
		res           map[string]any
		email         string
		given, family string
	}{
		{"formatted", res("name.formatted", "Mary Ann Smith"), "x@y", "Mary Ann", "Smith"},
		{"displayName", res("displayName", "Room 101"), "x@y", "Room", "101"},
		{"e-mail local part", res(), "jane.doe@x.com", "jane", "doe"},
		{"single-part local", res(), "scanner@x.com", "scanner", "scanner"},
		{"a sent name is kept", res("name.givenName", "Jo"), "jo.smith@x.com", "Jo", "smith"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, f := deriveNames(tc.res, getString(tc.res, "name.givenName"), getString(tc.res, "name.familyName"), tc.email)
			if g != tc.given || f != tc.family {
				t.Errorf("got %q %q, want %q %q", g, f, tc.given, tc.family)
			}
		})
	}
}

func TestRenderShowsTheVendorForWhatItHolds(t *testing.T) {
	m := mapper{paths: trainualPaths, emailFrom: EmailFromUserName}
	written := res("userName", "Jane@X.com", "name.givenName", "Jane", "name.familyName", "Doe", "active", true,
		"displayName", "Janie", "externalId", "ext-1", "title", "Boss")
	d := linkData{Resource: written}

	v := user("jane@x.com", "Jane", "Smith", false, map[string]string{adapters.AttrTitle: ""})
	got := m.render(d, v)
	if got["userName"] != "Jane@X.com" || got["displayName"] != "Janie" || got["externalId"] != "ext-1" {
		t.Errorf("IdP-only values lost: %v", got)
	}
	if _, ok := got["title"]; ok {
		t.Errorf("a title the vendor does not hold is shown: %v", got)
	}
	if getString(got, "name.familyName") != "Smith" || got["active"] != false {
		t.Errorf("vendor values not shown: %v", got)
	}
	if getString(written, "name.familyName") != "Doe" {
		t.Error("render modified the stored resource")
	}
}

func TestIgnoredNamesWhatTheVendorDidNotStore(t *testing.T) {
	ch := adapters.Change{GivenName: adapters.Ptr("New"), Attrs: map[string]*string{adapters.AttrDepartment: adapters.Ptr("Ops"), adapters.AttrLocale: adapters.Ptr("fr")}}
	got := ignored(ch, user("a@x", "New", "B", true, map[string]string{adapters.AttrDepartment: ""}))
	if len(got) != 1 || got[0] != adapters.AttrDepartment {
		t.Errorf("ignored = %v", got)
	}
}

func TestWorkEmailPrefersTypeWorkThenPrimary(t *testing.T) {
	for _, tc := range []struct {
		emails []any
		want   string
	}{
		{[]any{map[string]any{"value": "h@x", "type": "home", "primary": true}, map[string]any{"value": "w@x", "type": "work"}}, "w@x"},
		{[]any{map[string]any{"value": "o@x", "type": "other"}, map[string]any{"value": "p@x", "primary": true}}, "p@x"},
		{[]any{map[string]any{"value": "o@x"}}, "o@x"},
		{nil, ""},
	} {
		if got := workEmail(map[string]any{"emails": tc.emails}); got != tc.want {
			t.Errorf("workEmail(%v) = %q, want %q", tc.emails, got, tc.want)
		}
	}
}
