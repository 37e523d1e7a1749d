package scim

import (
	"reflect"
	"testing"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scim-bridge/scim-bridge/scim/provision"
)

func TestParseGroupPatchReadsEveryShapeTheIdPsSend(t *testing.T) {
	add := func(ids ...string) provision.GroupOp {
		return provision.GroupOp{Kind: provision.AddMembers, Members: ids}
	}
	rm := func(ids ...string) provision.GroupOp {
		return provision.GroupOp{Kind: provision.RemoveMembers, Members: ids}
	}
	for _, tc := range []struct {
		name, body string
		want       []provision.GroupOp
	}{
		{"Okta add members", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"u1","display":"a@x"},{"value":"u2"}]}]}`,
			[]provision.GroupOp{{Kind: provision.AddMembers, Members: []string{"u1", "u2"}, Displays: map[string]string{"u1": "a@x"}}}},
		{"Microsoft's displayName on a member", `{"Operations":[{"op":"add","path":"members","value":[{"displayName":"new User","value":"u4"}]}]}`,
			[]provision.GroupOp{{Kind: provision.AddMembers, Members: []string{"u4"}, Displays: map[string]string{"u4": "new User"}}}},
		{"Okta remove by value filter", `{"Operations":[{"op":"remove","path":"members[value eq \"u1\"]"}]}`, []provision.GroupOp{rm("u1")}},
		{"Okta rename (pathless replace)", `{"Operations":[{"op":"replace","value":{"id":"g1","displayName":"New"}}]}`, []provision.GroupOp{{Kind: provision.SetDisplayName, Value: "New"}}},
		{"Okta replace members []", `{"Operations":[{"op":"replace","path":"members","value":[]}]}`, []provision.GroupOp{{Kind: provision.ClearMembers}}},
		{"replace members with a list", `{"Operations":[{"op":"replace","path":"members","value":[{"value":"u3"}]}]}`, []provision.GroupOp{{Kind: provision.ReplaceMembers, Members: []string{"u3"}}}},
		{"Entra Add, capitalised", `{"Operations":[{"op":"Add","path":"members","value":[{"value":"u1"}]}]}`, []provision.GroupOp{add("u1")}},
		{"Entra Remove with a value list", `{"Operations":[{"op":"Remove","path":"members","value":[{"value":"u1"},{"value":"u2"}]}]}`, []provision.GroupOp{rm("u1", "u2")}},
		{"Entra Replace displayName", `{"Operations":[{"op":"Replace","path":"displayName","value":"Ops"}]}`, []provision.GroupOp{{Kind: provision.SetDisplayName, Value: "Ops"}}},
		{"Entra Replace externalId", `{"Operations":[{"op":"Replace","path":"externalId","value":"e1"}]}`, []provision.GroupOp{{Kind: provision.SetExternalID, Value: "e1"}}},
		{"remove all members", `{"Operations":[{"op":"remove","path":"members"}]}`, []provision.GroupOp{{Kind: provision.ClearMembers}}},
		{"members as plain strings", `{"Operations":[{"op":"add","path":"members","value":["u1","u2"]}]}`, []provision.GroupOp{add("u1", "u2")}},
		{"one member not in a list", `{"Operations":[{"op":"add","path":"members","value":{"value":"u1","type":"User"}}]}`, []provision.GroupOp{add("u1")}},
		{"pathless add of members", `{"Operations":[{"op":"add","value":{"members":[{"value":"u1"}]}}]}`, []provision.GroupOp{add("u1")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseGroupPatch([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name, body string
		scimType   scimerrors.ScimType
	}{
		{"not JSON", `{`, scimerrors.ScimTypeInvalidSyntax},
		{"trailing data", `{"Operations":[{"op":"remove","path":"members"}]}{}`, scimerrors.ScimTypeInvalidSyntax},
		{"no operations", `{"Operations":[]}`, scimerrors.ScimTypeInvalidValue},
		{"unknown op", `{"Operations":[{"op":"move","path":"members"}]}`, scimerrors.ScimTypeInvalidSyntax},
		{"unknown path", `{"Operations":[{"op":"replace","path":"owner","value":"x"}]}`, scimerrors.ScimTypeInvalidPath},
		{"nested group", `{"Operations":[{"op":"add","path":"members","value":[{"value":"g2","type":"Group"}]}]}`, scimerrors.ScimTypeInvalidValue},
		{"complex member filter", `{"Operations":[{"op":"remove","path":"members[display eq \"x\"]"}]}`, scimerrors.ScimTypeInvalidPath},
		{"pathless remove", `{"Operations":[{"op":"remove"}]}`, scimerrors.ScimTypeNoTarget},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseGroupPatch([]byte(tc.body))
			// As the IdP sees it: through the one table (errors.go).
			if a := answer(err, "", ""); err == nil || a.ScimType != tc.scimType || a.Status != 400 {
				t.Errorf("error %#v, want 400 %s", err, tc.scimType)
			}
		})
	}
}

func TestParseGroupBody(t *testing.T) {
	in, err := parseGroupBody([]byte(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Sales","externalId":"e1","members":[{"value":"u1","display":"a"},"u2"]}`))
	if err != nil || in.DisplayName != "Sales" || in.ExternalID != "e1" || !reflect.DeepEqual(in.Members, []string{"u1", "u2"}) ||
		!reflect.DeepEqual(in.Displays, map[string]string{"u1": "a"}) {
		t.Errorf("%+v %v", in, err)
	}
	for _, bad := range []string{`{"externalId":"x"}`, `{"displayName":3}`, `{"displayName":"x","colour":"red"}`, `{"displayName":"x","members":[{"display":"no value"}]}`} {
		if _, err := parseGroupBody([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
