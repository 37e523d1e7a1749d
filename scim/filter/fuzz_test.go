package filter

import (
	"errors"
	"net/http"
	"testing"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scim-bridge/scim-bridge/scim/internal/userschema"
)

// idpFilters are the filters of idp-traffic.md (URL-decoded) and of Microsoft's Postman collection.
var idpFilters = []string{
	`userName eq "test.user@okta.local"`,
	`userName eq "a9d3f1c2-6b1e-4c6e-9d3a-2f7e8c1b0a55"`,
	`userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"`,
	`userName eq "dale.mohr@romaguera.uk"`,
	`externalId eq jyoung`,
	`emails[type eq "work"].value eq "user@contoso.com"`,
	`displayName eq "…"`,
	`DisplayName eq "BobIsAmazing"`,
	`meta.Created gt 2015-10-10T14:38:21.8617979-07:00`,
	`name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`,
	`userName sw O`,
}

// FuzzParseMatch checks that Parse fails only with 400 invalidFilter errors and that Match never panics, on the
// user fixture and on a resource of odd shapes. Match recovers internally, so the evaluator is called directly
// too, to surface panics.
func FuzzParseMatch(f *testing.F) {
	for _, s := range idpFilters {
		f.Add(s)
	}
	for _, s := range []string{
		`emails co "x"`, `not (emails[not(type eq "work")])`, `meta.lastModified ge "2018-03-27T17:59:26Z"`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager pr`, `x509Certificates[value eq "AAAA"]`,
		`emails[type eq "work"].primary eq true`, `employeeNumber gt 5`, `title eq null`,
	} {
		f.Add(s)
	}
	good := decodeUser(f, user)
	odd := map[string]any{
		"userName": 1.5, "emails": []any{"x", nil, map[string]any{"value": true, "primary": "yes"}},
		"name": "n", "active": "true", "meta": []any{}, ent: map[string]any{"manager": "m", "department": []any{1}},
		"x509Certificates": map[string]any{"value": 3},
	}
	f.Fuzz(func(t *testing.T, raw string) {
		flt, err := Parse(raw)
		if err != nil {
			var se scimerrors.ScimError
			if !errors.As(err, &se) || se.Status != http.StatusBadRequest || se.ScimType != scimerrors.ScimTypeInvalidFilter {
				t.Fatalf("Parse(%q) error %#v is not a 400 invalidFilter", raw, err)
			}
			return
		}
		for _, res := range []map[string]any{good, odd, {}} {
			_ = flt.Match(res)
			matchUnguarded(flt, res)
		}
		flt.Lookup()
	})
}

// matchUnguarded evaluates without Match's recover.
func matchUnguarded(f *Filter, res map[string]any) {
	userschema.Match(f.expr, res)
}
