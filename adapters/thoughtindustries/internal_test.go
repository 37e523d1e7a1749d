package thoughtindustries

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/scim-bridge/scim-bridge/adapters"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		want   adapters.Kind
	}{
		{"a 422 saying the email is taken is a conflict", 422, `{"error":"Email has already been taken"}`, adapters.KindConflict},
		{"a 400 saying the email is a duplicate is a conflict", 400, `{"message":"duplicate email"}`, adapters.KindConflict},
		{"a 400 saying a user with that email exists is a conflict", 400, `{"errors":["User with this email already exists"]}`, adapters.KindConflict},
		{"a 409 is a conflict whatever it says", 409, ``, adapters.KindConflict},
		{"a 422 about another field is a rejection", 422, `{"error":"firstName is too long"}`, adapters.KindRejected},
		{"a 422 about an invalid email is a rejection", 422, `{"error":"Email is invalid"}`, adapters.KindRejected},
		{"a 403 about the plan's user limit is a seat limit", 403, `{"error":"User limit reached for your plan"}`, adapters.KindSeatLimit},
		{"a 402 is a seat limit", 402, ``, adapters.KindSeatLimit},
		{"a plain 403 is unauthorized", 403, `{"error":"Forbidden"}`, adapters.KindUnauthorized},
		{"a 401 is unauthorized", 401, `{"error":"Invalid API key"}`, adapters.KindUnauthorized},
		{"a 404 is not found", 404, `{"error":"User not found"}`, adapters.KindNotFound},
		{"a 429 is rate limited", 429, ``, adapters.KindRateLimited},
		{"a 502 is unavailable", 502, `<html>bad gateway</html>`, adapters.KindUnavailable},
		{"a 500 is unavailable", 500, ``, adapters.KindUnavailable},
		{"another 4xx is a rejection", 400, `{"error":"bad"}`, adapters.KindRejected},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := classify(c.status, []byte(c.body)); got != c.want {
				t.Errorf("classify(%d, %s) = %v, want %v", c.status, c.body, got, c.want)
			}
		})
	}
}

func TestCustomFieldNamesResolveToSCIMPaths(t *testing.T) {
	got, errs := parseCustomFields(
		"department=dept, employeeNumber=employee_id,manager=mgr,NickName=nick,title=job.title,"+
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:CostCenter=cc,"+
			"urn:example:params:scim:schemas:extension:acme:2.0:User:badge=badge,", ssoFromUserName)
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := []customField{
		{adapters.AttrDepartment, "dept"},
		{adapters.AttrEmployeeNumber, "employee_id"},
		{adapters.EnterpriseURN + ":manager.value", "mgr"},
		{"nickName", "nick"},
		{adapters.AttrTitle, "job.title"},
		{adapters.AttrCostCenter, "cc"},
		{"urn:example:params:scim:schemas:extension:acme:2.0:User:badge", "badge"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	if got, errs := parseCustomFields("externalId=ext", ssoFromNone); len(errs) != 0 || got[0].Attr != adapters.AttrExternalID {
		t.Errorf("externalId with ssoId from none: %v %v", got, errs)
	}
}

func TestShortAnswers(t *testing.T) {
	sent := map[string]any{"email": "a@example.com", "firstName": "A", "password": "pw", "ssoId": nil}
	cases := []struct {
		name   string
		answer string
		want   bool
	}{
		{"an answer with every field sent is complete", `{"email":"a","firstName":"A"}`, false},
		{"an answer missing a field sent is short", `{"email":"a"}`, true},
		{"the write-only password and null fields are not expected back", `{"email":"a","firstName":"A","id":"x"}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var answer map[string]json.RawMessage
			if err := json.Unmarshal([]byte(c.answer), &answer); err != nil {
				t.Fatal(err)
			}
			if got := short(sent, answer); got != c.want {
				t.Errorf("short = %v, want %v", got, c.want)
			}
		})
	}
}
