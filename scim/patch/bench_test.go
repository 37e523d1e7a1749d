package patch

import "testing"

func BenchmarkApplyEntraPatch(b *testing.B) {
	res := decode(b, entraUser)
	norm, err := Normalize([]byte(patchBody(
		`{"op":"replace","path":"emails[type eq \"work\"].value","value":"TestMhvaes@test.microsoft.com"},` +
			`{"op":"replace","value":{"displayName":"Bjfe","name.givenName":"Kkom","name.familyName":"Unua",` +
			`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Aklq"}},` +
			`{"op":"Replace","path":"active","value":"False"}`)))
	if err != nil {
		b.Fatal(err)
	}
	ops, err := Parse(norm)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Apply(res, ops); err != nil {
			b.Fatal(err)
		}
	}
}
