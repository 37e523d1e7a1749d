package scim

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/scim/provision"
)

// TestRenderNeverChangesProvisionsResource: render shares provision's attribute values; no projection may edit
// them.
func TestRenderNeverChangesProvisionsResource(t *testing.T) {
	attrs := map[string]any{
		"userName": "a@example.com", "password": "secret", "externalId": "e1",
		"name":           map[string]any{"givenName": "A", "familyName": "B"},
		"emails":         []any{map[string]any{"value": "a@example.com", "type": "work", "primary": true}},
		schemaEnterprise: map[string]any{"department": "D", "employeeNumber": "7"},
	}
	before, _ := json.Marshal(attrs)
	res := provision.Resource{ID: "1", Attrs: attrs, Created: time.Unix(0, 0), Modified: time.Unix(1, 0), Version: 2}
	for _, p := range []projection{
		{},
		{excluded: []string{"name.familyName", "emails.type", schemaEnterprise + ":department", "emails"}},
		{attributes: []string{"name", "name.givenName", "emails", "emails.value", schemaEnterprise, schemaEnterprise + ":department"}},
		{attributes: []string{"name.givenName", "name"}},
	} {
		out := render(res, "https://idp.example/scim/v2", p)
		if _, ok := out["password"]; ok {
			t.Errorf("%+v: password rendered", p)
		}
		if out["id"] != "1" {
			t.Errorf("%+v: id %v", p, out["id"])
		}
		if after, _ := json.Marshal(attrs); string(after) != string(before) {
			t.Fatalf("%+v changed provision's attributes:\n%s\n%s", p, before, after)
		}
	}
	full := render(res, "https://idp.example/scim/v2", projection{})
	meta, _ := full["meta"].(map[string]any)
	if meta["location"] != "https://idp.example/scim/v2/Users/1" || meta["version"] != `W/"2"` || meta["resourceType"] != "User" {
		t.Errorf("meta %v", meta)
	}
	if s, _ := full["schemas"].([]any); len(s) != 2 {
		t.Errorf("schemas %v, want core and enterprise", full["schemas"])
	}
	// A whole attribute and a narrower name for it select the whole attribute, in either order.
	for _, names := range [][]string{{"name", "name.givenName"}, {"name.givenName", "name"}} {
		out := render(res, "", projection{attributes: names})
		if n, _ := out["name"].(map[string]any); len(n) != 2 {
			t.Errorf("%v: name %v", names, out["name"])
		}
	}
}
