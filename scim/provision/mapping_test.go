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

func TestDiffSendsOnlyWhatTheIdPChanged(t *testing.T) {
	vendor := user("a@x.com", "A", "B", true, map[string]string{adapters.AttrTitle: "T", adapters.AttrPreferredLanguage: "fr"})
	base := res("userName", "a@x.com", "name.givenName", "A", "name.familyName", "B", "active", true, "title", "T")
	for _, tc := range []struct {
		name  string
		next  map[string]any
		check func(t *testing.T, ch adapters.Change)
	}{
		{"nothing changed", copyMap(base), func(t *testing.T, ch adapters.Change) {
			if !ch.IsZero() {
				t.Errorf("change %+v", ch)
			}
		}},
		{"a vendor value the IdP never wrote is left alone", copyMap(base), func(t *testing.T, ch adapters.Change) {
			if _, ok := ch.Attrs[adapters.AttrPreferredLanguage]; ok {
				t.Error("preferredLanguage cleared")
			}
		}},
		{"title removed is cleared", res("userName", "a@x.com", "active", true), func(t *testing.T, ch adapters.Change) {
			if v, ok := ch.Attrs[adapters.AttrTitle]; !ok || v != nil {
				t.Errorf("title change %v %v", v, ok)
			}
			if ch.GivenName != nil || ch.FamilyName != nil {
				t.Error("names absent from the resource must be left alone, not cleared")
			}
		}},
		{"deactivation", res("userName", "a@x.com", "active", false, "title", "T"), func(t *testing.T, ch adapters.Change) {
			if ch.Active == nil || *ch.Active || ch.Attrs != nil {
				t.Errorf("change %+v", ch)
			}
		}},
		{"an attribute the vendor does not hold is not sent", res("userName", "a@x.com", "active", true, "title", "T", "displayName", "New"), func(t *testing.T, ch adapters.Change) {
			if !ch.IsZero() {
				t.Errorf("change %+v", ch)
			}
		}},
		{"userName change is an email change", res("userName", "b@x.com", "active", true, "title", "T"), func(t *testing.T, ch adapters.Change) {
			if ch.Email == nil || *ch.Email != "b@x.com" {
				t.Errorf("change %+v", ch)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, diff(vendor, base, tc.next))
		})
	}
}

func TestRenderShowsWhatTheIdPWroteUnlessTheVendorChangedIt(t *testing.T) {
	written := res("userName", "Jane@X.com", "name.givenName", "Jane", "name.familyName", "Doe", "active", true,
		"displayName", "Janie", "externalId", "ext-1")
	seen := seenOf(user("jane@x.com", "Jane", "Doe", true, map[string]string{adapters.AttrTitle: ""}))
	d := linkData{Resource: written, Seen: seen}

	same := render(d, seen.user("1"))
	if same["userName"] != "Jane@X.com" || same["displayName"] != "Janie" || same["externalId"] != "ext-1" {
		t.Errorf("unchanged vendor: %v", same)
	}
	if _, ok := same["title"]; ok {
		t.Errorf("an empty vendor title appeared: %v", same)
	}

	changed := seen.user("1")
	changed.FamilyName, changed.Active = "Smith", false
	changed.Attrs = map[string]string{adapters.AttrTitle: "CTO"}
	got := render(d, changed)
	if getString(got, "name.familyName") != "Smith" || got["active"] != false || got["title"] != "CTO" {
		t.Errorf("vendor edits not shown: %v", got)
	}
	if getString(written, "name.familyName") != "Doe" {
		t.Error("render modified the stored resource")
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
