package patch

import (
	"os"
	"testing"

	"github.com/scim-bridge/scim-bridge/scim/internal/userschema"
)

func seedTestdata(f *testing.F) {
	for _, name := range testdataFiles(f) {
		body, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	for _, s := range []string{
		patchBody(`{"op":"remove","path":"emails[type eq \"work\"].value"}`),
		patchBody(`{"op":"add","path":"emails","value":[{"value":"A@x","type":"work","primary":true},{"value":"a@X","type":"Work","primary":true}]}`),
		patchBody(`{"op":"replace","path":"phoneNumbers","value":[{"value":"1","primary":true},{"value":"1"},{"value":"2","primary":true}]}`),
		patchBody(`{"op":"replace","path":"emails[type eq \"home\"].primary","value":true}`),
		patchBody(`{"op":"replace","path":"emails[type eq \"work\" and primary eq true]","value":{"value":"x"}}`),
		patchBody(`{"op":"add","path":"emails[not(type eq \"work\")].value","value":"x"}`),
		patchBody(`{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":null}}`),
		patchBody(`{"op":"add","path":"x509Certificates","value":[{"value":"AAAA"}]}`),
		`{"Operations":[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"manager":[]}}]}`,
		// Shapes the library's PATCH validation refuses after Normalize (TestDecodeAgreesWithTheLibrary).
		patchBody(`{"op":"add","path":"emails","value":"0"}`),
		patchBody(`{"op":"add","path":"x509Certificates","value":[{"value":"abc"}]}`),
		patchBody(`{"op":"replace","path":"name","value":[{"givenName":"g","ID":"1","id":"2"}]}`),
		patchBody(`{"op":"add","path":"manager","value":{"value":"1","displayName":"a","DisplayName":"b"}}`),
		patchBody(`{"op":"add","path":"urn:ietf:params:scim:schemas:core:2.0:User:emails[urn:ietf:params:scim:schemas:core:2.0:User:type eq \"work\"].value","value":"a@x"}`),
		patchBody(`{"op":"remove","path":"emails[emails.value eq 1e999]"}`),
		patchBody(`{"op":"replace","value":{"active":"yes","phoneNumbers":[{"value":1}]}}`),
		`{"operations":[{"op":"replace","value":{"emails":{"value":1},"name":[1]}}]}`,
	} {
		f.Add([]byte(s))
	}
}

// FuzzNormalize checks that Normalize never panics, fails only with 400 SCIM errors, and produces bodies that
// Parse reads and that normalise to themselves.
func FuzzNormalize(f *testing.F) {
	seedTestdata(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		norm, err := Normalize(body)
		if err != nil {
			scimType(t, err)
			return
		}
		if _, err := Parse(norm); err != nil {
			t.Fatalf("Parse(Normalize(%q)) = %v", body, err)
		}
		again, err := Normalize(norm)
		if err != nil {
			t.Fatalf("Normalize of normalised %s: %v", norm, err)
		}
		if string(again) != string(norm) {
			t.Fatalf("Normalize is not idempotent:\n%s\n%s", norm, again)
		}
	})
}

// FuzzApply runs Decode and apply (without Apply's recover, so that panics surface) on a fixed user.
func FuzzApply(f *testing.F) {
	seedTestdata(f)
	res := decode(f, entraUser)
	before := canonicalJSON(f, res)
	f.Fuzz(func(t *testing.T, body []byte) {
		ops, err := Decode(body)
		if err != nil {
			scimType(t, err)
			return
		}
		out, err := apply(res, ops)
		if err != nil {
			scimType(t, err)
		}
		assertRFC7643MultiValued(t, out)
		if canonicalJSON(t, res) != before {
			t.Fatalf("apply modified its input for %s", body)
		}
	})
}

// FuzzDecodeAgreesWithTheLibrary checks that Decode, which does not ask github.com/elimity-com/scim, accepts and
// refuses what the request path accepted and refused when it did (Normalize, Parse, then the library's PATCH
// validation of the normalised body: viaLibrary), with the same operations and the same status and scimType.
func FuzzDecodeAgreesWithTheLibrary(f *testing.F) {
	seedTestdata(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		agree(t, body)
	})
}

// assertRFC7643MultiValued fails when a multi-valued attribute of res holds primary true twice or repeats a value
// (RFC 7643 §2.4). Apply starts from a resource that obeys both and must keep it so.
func assertRFC7643MultiValued(t *testing.T, res map[string]any) {
	t.Helper()
	for _, a := range userschema.Core().Attrs() {
		if !a.MultiValued || !a.Complex() {
			continue
		}
		v, _, _ := userschema.Get(res, a.Name)
		list, _ := userschema.AsList(v)
		primaries, seen := 0, map[string]bool{}
		for _, e := range list {
			if isPrimary(e) {
				primaries++
			}
			k := identity(a, e)
			if seen[k] {
				t.Fatalf("%s repeats a value: %s", a.Name, canonicalJSON(t, list))
			}
			seen[k] = true
		}
		if primaries > 1 {
			t.Fatalf("%s has %d primary values: %s", a.Name, primaries, canonicalJSON(t, list))
		}
	}
}
