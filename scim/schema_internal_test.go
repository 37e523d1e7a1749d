package scim

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	elimity "github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scim-bridge/scim-bridge/scim/patch"
)

// libraryPatch is what judged every PATCH before patch.Decode: a library server for userResourceType whose handler
// accepts every PATCH the library lets through. The tests keep it as the oracle.
var libraryPatch = sync.OnceValue(func() http.Handler {
	rt := userResourceType()
	rt.Handler = acceptPatch{}
	srv, err := elimity.NewServer(&elimity.ServerArgs{
		ServiceProviderConfig: &elimity.ServiceProviderConfig{SupportPatch: true},
		ResourceTypes:         []elimity.ResourceType{rt},
	})
	if err != nil {
		panic(err)
	}
	return srv
})

type acceptPatch struct{ elimity.ResourceHandler }

func (acceptPatch) Patch(*http.Request, string, []elimity.PatchOperation) (elimity.Resource, error) {
	return elimity.Resource{}, nil
}

// formerPatchAnswer is the answer the request path gave before patch.Decode: patch.Normalize, then the library's
// PATCH validation of the normalised body.
func formerPatchAnswer(t *testing.T, body string) apiError {
	t.Helper()
	norm, err := patch.Normalize([]byte(body))
	if err != nil {
		return answer(err, "", "")
	}
	rec := httptest.NewRecorder()
	libraryPatch().ServeHTTP(rec, httptest.NewRequest(http.MethodPatch, "/Users/1", bytes.NewReader(norm)))
	if rec.Code < 300 {
		return apiError{}
	}
	var se scimerrors.ScimError
	if err := se.UnmarshalJSON(rec.Body.Bytes()); err != nil {
		t.Fatalf("the library answered %d %s", rec.Code, rec.Body)
	}
	return answer(se, "", "")
}

// TestPatchBodyAnswersAsTheLibraryDid: PATCH bodies scim/patch could normalise and apply but the library's PATCH
// validation refused are still refused, with the library's status and scimType, now that the library is not asked;
// what it accepted is accepted. scim/patch's TestDecodeAgreesWithTheLibrary holds the full table.
func TestPatchBodyAnswersAsTheLibraryDid(t *testing.T) {
	for _, tc := range []struct {
		name, ops string
		scimType  scimerrors.ScimType // "" when the body is accepted
	}{
		{"Okta's deactivation", `{"op":"replace","value":{"active":false}}`, ""},
		{"Entra's string boolean", `{"op":"Replace","path":"active","value":"False"}`, ""},
		{"a work e-mail by value filter", `{"op":"replace","path":"emails[type eq \"work\"].value","value":"a@example.com"}`, ""},
		{"a valid certificate", `{"op":"add","path":"x509Certificates","value":[{"value":"QUJD"}]}`, ""},
		{"a bare string for a multi-valued complex attribute", `{"op":"add","path":"emails","value":"0"}`, scimerrors.ScimTypeInvalidValue},
		{"a binary value that is not base64", `{"op":"add","path":"x509Certificates","value":[{"value":"abc"}]}`, scimerrors.ScimTypeInvalidValue},
		{"a list for a single complex attribute", `{"op":"replace","path":"name","value":[{"givenName":"g"}]}`, scimerrors.ScimTypeInvalidValue},
		{"a sub-attribute named twice", `{"op":"add","path":"emails","value":[{"value":"a@x","Value":"b@x"}]}`, scimerrors.ScimTypeInvalidSyntax},
		{"id named twice", `{"op":"replace","path":"name","value":{"id":"1","ID":"2"}}`, scimerrors.ScimTypeInvalidPath},
		{"a number beyond float64 in a filter", `{"op":"remove","path":"emails[value eq 1e999]"}`, scimerrors.ScimTypeInvalidPath},
		{"an unknown attribute", `{"op":"add","path":"nosuch","value":"x"}`, scimerrors.ScimTypeInvalidPath},
		{"a read-only attribute", `{"op":"add","path":"groups","value":[{"value":"g"}]}`, scimerrors.ScimTypeMutability},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + tc.ops + `]}`
			want := formerPatchAnswer(t, body)
			_, err := patchBody(&http.Request{Method: http.MethodPatch, Body: io.NopCloser(strings.NewReader(body))})
			var got apiError
			if err != nil {
				got = answer(err, "", "")
			}
			if got.Status != want.Status || got.ScimType != want.ScimType {
				t.Fatalf("answered %d %q (%s), the library's path answered %d %q", got.Status, got.ScimType, got.Detail,
					want.Status, want.ScimType)
			}
			if got.ScimType != tc.scimType || (tc.scimType != "" && got.Status != http.StatusBadRequest) {
				t.Fatalf("both answered %d %q, the row expects 400 %q", got.Status, got.ScimType, tc.scimType)
			}
		})
	}
}

// BenchmarkPatchBody measures reading a PATCH /Users body into operations (the request path's decode and
// validation, without the store): Okta's deactivation (the same bytes for every user), Entra's multi-attribute
// update, the same with a value that differs per request (no two bodies alike), and 2,000 e-mails.
func BenchmarkPatchBody(b *testing.B) {
	const urn = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	wrap := func(ops string) string { return `{"schemas":["` + urn + `"],"Operations":[` + ops + `]}` }
	entra := func(name string) string {
		return wrap(`{"op":"replace","path":"emails[type eq \"work\"].value","value":"TestMhvaes@test.microsoft.com"},` +
			`{"op":"replace","value":{"displayName":"` + name + `","name.givenName":"Kkom","name.familyName":"Unua",` +
			`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Aklq"}},` +
			`{"op":"Replace","path":"active","value":"False"}`)
	}
	var many strings.Builder
	for i := range 2000 {
		if i > 0 {
			many.WriteByte(',')
		}
		fmt.Fprintf(&many, `{"value":"user%d@example.com","type":"work"}`, i)
	}
	read := func(b *testing.B, body string) {
		r := &http.Request{Method: http.MethodPatch, Body: io.NopCloser(strings.NewReader(body))}
		if _, err := patchBody(r); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("okta-deactivate", func(b *testing.B) {
		body := wrap(`{"op":"replace","value":{"active":false}}`)
		for b.Loop() {
			read(b, body)
		}
	})
	b.Run("entra-same", func(b *testing.B) {
		body := entra("Bjfe")
		for b.Loop() {
			read(b, body)
		}
	})
	b.Run("entra-distinct", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			read(b, entra(fmt.Sprint("User ", i)))
		}
	})
	b.Run("add-2000-emails", func(b *testing.B) {
		body := wrap(`{"op":"add","path":"emails","value":[` + many.String() + `]}`)
		for b.Loop() {
			read(b, body)
		}
	})
}
