package patch

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scim-bridge/scim-bridge/scim/internal/jsonbody"
)

// entraUser is the user of Entra's "Get User by query" example with the enterprise extension added.
const entraUser = `{
	"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
	"id": "2441309d85324e7793ae",
	"externalId": "7fce0092-d52e-4f76-b727-3955bd72c939",
	"meta": {"resourceType": "User", "created": "2018-03-27T19:59:26.000Z", "lastModified": "2018-03-27T19:59:26.000Z"},
	"userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
	"name": {"familyName": "familyName", "givenName": "givenName"},
	"active": true,
	"emails": [{"value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com", "type": "work", "primary": true}],
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales", "manager": {"value": "1"}}
}`

func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	v, err := jsonbody.Decode([]byte(s))
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("not an object: %s", s)
	}
	return m
}

// canonicalJSON renders v with sorted keys so that resources compare as text.
func canonicalJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	b, _ = json.Marshal(x)
	return string(b)
}

// scimType returns the scimType of a 400 ScimError, failing the test for anything else.
func scimType(t testing.TB, err error) string {
	t.Helper()
	var se scimerrors.ScimError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a ScimError", err, err)
	}
	if se.Status != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400 (%v)", se.Status, err)
	}
	if se.Detail == "" {
		t.Fatalf("error without detail: %v", err)
	}
	return string(se.ScimType)
}

// patchBody wraps operations in a PatchOp body.
func patchBody(ops string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + ops + `]}`
}

// run normalises, parses and applies body to res.
func run(t testing.TB, res map[string]any, body string) (map[string]any, error) {
	t.Helper()
	norm, err := Normalize([]byte(body))
	if err != nil {
		return nil, err
	}
	ops, err := Parse(norm)
	if err != nil {
		t.Fatalf("Parse rejected the output of Normalize %s: %v", norm, err)
	}
	return Apply(res, ops)
}
