package patch

import (
	"fmt"
	"testing"
)

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

// BenchmarkAddManyValues is the whole PATCH pipeline adding n e-mails to a user who already has n (issue 12 §9:
// 20,000 took a minute). ns/op divided by n should not grow with n.
func BenchmarkAddManyValues(b *testing.B) {
	for _, n := range []int{2000, 20000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			run := addMany(b, n)
			for b.Loop() {
				if err := run(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/value")
		})
	}
}
