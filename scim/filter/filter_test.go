package filter

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	scimerrors "github.com/elimity-com/scim/errors"
)

const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// user is Entra's "Get User by query" example with more attributes, decoded as the store would hand it over.
const user = `{
	"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
	"id": "2441309d85324e7793ae",
	"externalId": "7fce0092-d52e-4f76-b727-3955bd72c939",
	"meta": {"resourceType": "User", "created": "2018-03-27T19:59:26.000Z", "lastModified": "2018-03-27T19:59:26.123456789+02:00", "version": "W/\"3\""},
	"userName": "Test_User@Example.com",
	"displayName": "BobIsAmazing",
	"name": {"familyName": "Employee", "givenName": "Bob"},
	"title": "Engineer",
	"active": true,
	"emails": [
		{"value": "bob@work.example.com", "type": "work", "primary": true},
		{"value": "bob@home.example.org", "type": "home"}
	],
	"x509Certificates": [{"value": "AAAA"}],
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales", "employeeNumber": "7", "manager": {"value": "m1"}}
}`

func decodeUser(t testing.TB, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseRejectsInvalidFilters(t *testing.T) {
	tests := []struct {
		name   string
		filter string
		detail string // a fragment of the expected detail
	}{
		{"an empty filter is rejected", "  ", "empty"},
		{"an unknown attribute is rejected", `nosuchattr eq "x"`, `unknown attribute "nosuchattr"`},
		{"an unknown attribute in a value path is rejected", `nosuch[type eq "x"]`, `unknown attribute "nosuch"`},
		{"an unknown sub-attribute is rejected", `name.nosuch eq "x"`, `unknown sub-attribute "nosuch"`},
		{"an unknown sub-attribute inside brackets is rejected", `emails[nosuch eq "x"]`, `unknown sub-attribute "nosuch"`},
		{"a missing value is a syntax error", `userName eq`, "syntax error"},
		{"an unterminated string is a syntax error", `userName eq "abc`, "syntax error"},
		{"an unknown operator is a syntax error", `userName xx "a"`, "syntax error"},
		{"gt on a boolean is rejected", `active gt true`, `"gt" is not supported on boolean attribute "active"`},
		{"co on a boolean is rejected", `emails[primary co true]`, `"co" is not supported on boolean`},
		{"a string compared with a boolean attribute is rejected", `active eq "false"`, `compare it with true or false`},
		{"a boolean compared with a string attribute is rejected", `userName eq true`, "quoted string"},
		{"an invalid dateTime is rejected", `meta.created gt "yesterday"`, "RFC 3339"},
		{"gt with null is rejected", `title gt null`, "null"},
		{"a complex attribute without value sub-attribute cannot be compared", `name eq "x"`, `"name" is complex`},
		{"a value filter on a simple attribute is rejected", `userName[value eq "x"]`, "only complex attributes"},
		{"an unknown schema URN is rejected", `urn:example:x:department eq "x"`, "unknown schema URN"},
		{"a compound value filter followed by a sub-attribute is explained", `emails[type eq "work" and primary eq true].value eq "x"`, "single comparison"},
		{"an overlong filter is rejected", "userName eq \"" + strings.Repeat("a", 5000) + "\"", "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(tt.filter)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want an error", tt.filter, f.String())
			}
			var se scimerrors.ScimError
			if !errors.As(err, &se) || se.Status != http.StatusBadRequest || se.ScimType != scimerrors.ScimTypeInvalidFilter {
				t.Fatalf("error %#v is not a 400 invalidFilter ScimError", err)
			}
			if !strings.Contains(se.Detail, tt.detail) {
				t.Errorf("detail %q does not mention %q", se.Detail, tt.detail)
			}
			if len(se.Detail) > 300 {
				t.Errorf("detail is %d bytes long", len(se.Detail))
			}
		})
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		name   string
		filter string
		want   bool
	}{
		// eq and the case rules
		{"userName eq matches regardless of case because userName is not caseExact", `userName eq "test_user@example.COM"`, true},
		{"upper-case attribute names and operators match", `USERNAME EQ "Test_User@Example.com"`, true},
		{"id eq is case-sensitive because id is caseExact", `id eq "2441309D85324E7793AE"`, false},
		{"id eq matches the exact id", `id eq "2441309d85324e7793ae"`, true},
		{"externalId eq is case-sensitive because externalId is caseExact", `externalId eq "7FCE0092-D52E-4F76-B727-3955BD72C939"`, false},
		{"externalId eq matches the exact value", `externalId eq "7fce0092-d52e-4f76-b727-3955bd72c939"`, true},
		{"an unquoted externalId from Entra matches after rewriting", `externalId eq 7fce0092-d52e-4f76-b727-3955bd72c939`, true},
		{"meta.version is caseExact", `meta.version eq "w/\"3\""`, false},
		{"meta.version with the exact value matches", `meta.version eq "W/\"3\""`, true},
		// each operator
		{"ne matches a different value", `title ne "Manager"`, true},
		{"ne does not match an equal value", `title ne "engineer"`, false},
		{"ne does not match an absent attribute", `nickName ne "x"`, false},
		{"co matches a substring", `displayName co "isama"`, true},
		{"sw matches a prefix", `userName sw "test_"`, true},
		{"sw rejects a non-prefix", `userName sw "user"`, false},
		{"ew matches a suffix", `userName ew "@EXAMPLE.com"`, true},
		{"pr matches a present attribute", `title pr`, true},
		{"pr does not match an absent attribute", `nickName pr`, false},
		{"pr matches a present multi-valued attribute", `emails pr`, true},
		{"gt compares strings lexically", `title gt "A"`, true},
		{"lt compares strings lexically", `title lt "A"`, false},
		{"ge matches an equal string", `title ge "engineer"`, true},
		{"le matches an equal string", `title le "ENGINEER"`, true},
		{"eq null matches an absent attribute", `nickName eq null`, true},
		{"ne null matches a present attribute", `title ne null`, true},
		// booleans
		{"active eq true matches", `active eq true`, true},
		{"active eq false does not match", `active eq false`, false},
		{"active ne false matches", `active ne false`, true},
		// logical operators and grouping
		{"and requires both sides", `userName sw "test" and active eq false`, false},
		{"or requires one side", `userName sw "nobody" or active eq true`, true},
		{"not negates", `not (active eq false)`, true},
		{"parentheses group", `title eq "x" or (title eq "engineer" and active eq true)`, true},
		{"not of an absent attribute's comparison matches", `not (nickName eq "x")`, true},
		// multi-valued and complex attributes
		{"a value path matches an element meeting every condition", `emails[type eq "work" and value co "work.example"]`, true},
		{"a value path does not mix conditions across elements", `emails[type eq "work" and value co "home"]`, false},
		{"a value path with or matches", `emails[type eq "x" or type eq "home"]`, true},
		{"a value path with not matches", `emails[not(type eq "work")]`, true},
		{"emails.value matches any element", `emails.value eq "BOB@home.example.org"`, true},
		{"emails.type matches any element", `emails.type eq "home"`, true},
		{"emails.value ne matches only when no element is equal", `emails.value ne "bob@home.example.org"`, false},
		{"Entra's work-email filter matches after rewriting", `emails[type eq "work"].value eq "bob@work.example.com"`, true},
		{"Entra's work-email filter does not match a home address", `emails[type eq "work"].value eq "bob@home.example.org"`, false},
		{"a value path with a trailing pr matches", `emails[type eq "home"].value pr`, true},
		{"a complex attribute compared directly uses its value sub-attribute", `emails co "example.org"`, true},
		{"a complex single-valued attribute compared directly uses its value", ent + `:manager eq "m1"`, true},
		{"a sub-attribute of a complex attribute matches", `name.familyName eq "employee"`, true},
		{"a binary attribute matches exactly", `x509Certificates.value eq "AAAA"`, true},
		// enterprise extension
		{"an enterprise attribute by full URN matches", ent + `:department eq "sales"`, true},
		{"an enterprise sub-attribute by full URN matches", ent + `:manager.value eq "m1"`, true},
		{"a bare enterprise attribute name matches", `employeeNumber eq "7"`, true},
		{"an unquoted numeric employeeNumber matches", `employeeNumber eq 7`, true},
		{"a core URN prefix is accepted", `urn:ietf:params:scim:schemas:core:2.0:User:userName eq "test_user@example.com"`, true},
		// dateTime
		{"meta.created gt compares as instants across offsets", `meta.created gt "2018-03-27T20:59:25+01:00"`, true},
		{"meta.created eq matches the same instant in another offset", `meta.created eq "2018-03-27T21:59:26+02:00"`, true},
		{"meta.lastModified with fractional seconds compares as instants", `meta.lastModified lt "2018-03-27T17:59:26.2Z"`, true},
		{"meta.lastModified le excludes a later instant", `meta.lastModified le "2018-03-27T17:59:26.1Z"`, false},
		{"Microsoft's unquoted meta.Created gt matches", `meta.Created gt 2015-10-10T14:38:21.8617979-07:00`, true},
		// Microsoft's Postman filters
		{"Microsoft's displayName eq matches", `DisplayName eq "BobIsAmazing"`, true},
		{"Microsoft's unquoted sw matches nothing here", `userName sw O`, false},
		{"Microsoft's unquoted family-name and email filter matches", `name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`, true},
	}
	res := decodeUser(t, user)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(tt.filter)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.filter, err)
			}
			if got := f.Match(res); got != tt.want {
				t.Errorf("Match(%q) [parsed as %q] = %v, want %v", tt.filter, f.String(), got, tt.want)
			}
		})
	}
}

func TestMatchToleratesUnexpectedShapes(t *testing.T) {
	tests := []struct {
		name   string
		res    map[string]any
		filter string
	}{
		{"a number where a string is expected does not match", map[string]any{"userName": 7.0}, `userName eq "7"`},
		{"a string where a list is expected does not match", map[string]any{"emails": "a@x"}, `emails[type eq "work"]`},
		{"list elements that are not objects are skipped", map[string]any{"emails": []any{"a@x", 3.0, nil}}, `emails.value eq "a@x"`},
		{"a string where a boolean is expected does not match", map[string]any{"active": "true"}, `active eq true`},
		{"an extension that is not an object does not match", map[string]any{ent: "x"}, ent + `:department eq "x"`},
		{"an unparsable stored dateTime does not match", map[string]any{"meta": map[string]any{"created": "x"}}, `meta.created gt "2018-01-01T00:00:00Z"`},
		{"a nil resource does not match", nil, `userName pr`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if f.Match(tt.res) {
				t.Errorf("Match(%q) = true", tt.filter)
			}
		})
	}
	var nilFilter *Filter
	if nilFilter.Match(map[string]any{}) {
		t.Error("a nil filter matched")
	}
}

func TestMatchAcceptsHandBuiltSlices(t *testing.T) {
	res := map[string]any{"emails": []map[string]any{{"value": "a@x", "type": "work"}}}
	f, err := Parse(`emails[type eq "work"].value eq "a@x"`)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Match(res) {
		t.Error("a []map[string]any of emails did not match")
	}
}

func TestRewrite(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"a valid filter is unchanged", `userName eq "bjensen"`, `userName eq "bjensen"`},
		{"a valid compound filter is unchanged", `title pr and (emails[type eq "work" and value co "@x"] or not (active eq false))`, `title pr and (emails[type eq "work" and value co "@x"] or not (active eq false))`},
		{"literals and numbers stay bare", `active eq true and x eq null and n gt -1.5e3 and m eq 0`, `active eq true and x eq null and n gt -1.5e3 and m eq 0`},
		{"Entra's work-email filter is folded into the brackets", `emails[type eq "work"].value eq "user@contoso.com"`, `emails[type eq "work" and value eq "user@contoso.com"]`},
		{"a trailing pr is folded into the brackets", `emails[type eq "work"].value pr`, `emails[type eq "work" and value pr]`},
		{"any value path with a trailing comparison is folded", `addresses[type eq "work"].locality sw "Red"`, `addresses[type eq "work" and locality sw "Red"]`},
		{"a folded comparison inside a larger filter keeps the rest", `active eq true and emails[type eq "work"].value eq "a"`, `active eq true and emails[type eq "work" and value eq "a"]`},
		{"a compound value filter with a trailing comparison is left alone", `emails[type eq "work" and primary eq true].value eq "a"`, `emails[type eq "work" and primary eq true].value eq "a"`},
		{"an unquoted externalId is quoted", `externalId eq jyoung`, `externalId eq "jyoung"`},
		{"an unquoted single letter is quoted", `userName sw O`, `userName sw "O"`},
		{"an unquoted dateTime is quoted", `meta.Created gt 2015-10-10T14:38:21.8617979-07:00`, `meta.Created gt "2015-10-10T14:38:21.8617979-07:00"`},
		{"unquoted values in a group are quoted", `name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`, `name.FamilyName eq "Employee" and (emails.Value co "example.com" or emails.Value co "example.org")`},
		{"an unquoted value inside brackets is quoted", `emails[type eq work]`, `emails[type eq "work"]`},
		{"an unquoted value with a trailing comparison is quoted and folded", `emails[type eq work].value eq a@b.c`, `emails[type eq "work" and value eq "a@b.c"]`},
		{"a number with leading zeros is quoted", `externalId eq 007`, `externalId eq "007"`},
		{"a backslash in an unquoted value is escaped", `externalId eq a\b`, `externalId eq "a\\b"`},
		{"lower-case unicode escapes are upper-cased", `userName eq "\u00e9\\u00e9"`, `userName eq "\u00E9\\u00e9"`},
		{"an unterminated string is returned unchanged", `userName eq "abc`, `userName eq "abc`},
		{"an unbalanced bracket is returned unchanged", `emails[type eq work`, `emails[type eq work`},
		{"a stray closing parenthesis is returned unchanged", `userName eq x)`, `userName eq x)`},
		{"garbage is returned unchanged", `]]]["`, `]]]["`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Rewrite(tt.in); got != tt.want {
				t.Errorf("Rewrite(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name, filter, attr, value string
		ok                        bool
	}{
		{"Okta's userName lookup is recognised", `userName eq "test.user@okta.local"`, "userName", "test.user@okta.local", true},
		{"an upper-case attribute name gives the canonical name", `USERNAME eq "x"`, "userName", "x", true},
		{"an externalId lookup is recognised", `externalId eq "7fce"`, "externalId", "7fce", true},
		{"an unquoted externalId lookup is recognised", `externalId eq jyoung`, "externalId", "jyoung", true},
		{"a numeric externalId lookup keeps its digits", `externalId eq 12345`, "externalId", "12345", true},
		{"an id lookup is recognised", `id eq "2441309d85324e7793ae"`, "id", "2441309d85324e7793ae", true},
		{"a core URN prefix is accepted", `urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x"`, "userName", "x", true},
		{"Entra's work-email path is recognised", `emails[type eq "work"].value eq "u@contoso.com"`, "emails", "u@contoso.com", true},
		{"the rewritten work-email path is recognised", `emails[type eq "work" and value eq "u@contoso.com"]`, "emails", "u@contoso.com", true},
		{"the work-email conditions in reverse order are recognised", `emails[value eq "u@contoso.com" and type eq "Work"]`, "emails", "u@contoso.com", true},
		{"emails.value eq is recognised", `emails.value eq "u@contoso.com"`, "emails", "u@contoso.com", true},
		{"a bare value path on emails is recognised", `emails[value eq "u@contoso.com"]`, "emails", "u@contoso.com", true},
		{"a home-email path is not an indexed lookup", `emails[type eq "home"].value eq "u@x"`, "", "", false},
		{"a userName prefix search is not a lookup", `userName sw "x"`, "", "", false},
		{"ne is not a lookup", `userName ne "x"`, "", "", false},
		{"displayName eq is not a lookup", `displayName eq "x"`, "", "", false},
		{"an enterprise attribute is not a lookup", ent + `:employeeNumber eq "7"`, "", "", false},
		{"a conjunction is not a lookup", `userName eq "x" and active eq true`, "", "", false},
		{"a work-email path with or is not a lookup", `emails[type eq "work" or value eq "x"]`, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			attr, value, ok := f.Lookup()
			if attr != tt.attr || value != tt.value || ok != tt.ok {
				t.Errorf("Lookup(%q) = (%q, %q, %v), want (%q, %q, %v)", tt.filter, attr, value, ok, tt.attr, tt.value, tt.ok)
			}
		})
	}
}

func BenchmarkMatchUserNameEq(b *testing.B) {
	res := decodeUser(b, user)
	f, err := Parse(`userName eq "test_user@example.com"`)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if !f.Match(res) {
			b.Fatal("no match")
		}
	}
}
