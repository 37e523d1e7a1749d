package patch

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sync"
	"testing"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"

	"github.com/scim-bridge/scim-bridge/scim/internal/userschema"
)

// The pinned github.com/elimity-com/scim is the oracle of Decode's checks. Before Decode, each PATCH went through
// Normalize and Parse, and then the normalised body through the library's own PATCH validation, whose verdict
// answered the request. viaLibrary is that path; Decode must give the same verdict (the same operations, or an error
// with the same status and scimType) without asking the library.

// acceptAll is a /Users handler that accepts every PATCH the library lets through.
type acceptAll struct{}

func (acceptAll) Create(*http.Request, scim.ResourceAttributes) (scim.Resource, error) {
	return scim.Resource{}, scimerrors.ScimErrorInternal
}
func (acceptAll) Get(*http.Request, string) (scim.Resource, error) {
	return scim.Resource{}, scimerrors.ScimErrorInternal
}
func (acceptAll) GetAll(*http.Request, scim.ListRequestParams) (scim.Page, error) {
	return scim.Page{}, scimerrors.ScimErrorInternal
}
func (acceptAll) Replace(*http.Request, string, scim.ResourceAttributes) (scim.Resource, error) {
	return scim.Resource{}, scimerrors.ScimErrorInternal
}
func (acceptAll) Delete(*http.Request, string) error { return scimerrors.ScimErrorInternal }
func (acceptAll) Patch(*http.Request, string, []scim.PatchOperation) (scim.Resource, error) {
	return scim.Resource{}, nil
}

// library serves /Users as the bridge described it to the library (scim/schema.go: userResourceType), without the
// library's global string-value switch.
var library = sync.OnceValue(func() http.Handler {
	srv, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{SupportPatch: true},
		ResourceTypes: []scim.ResourceType{{
			Name:             "User",
			Endpoint:         "/Users",
			Schema:           schema.CoreUserSchema(),
			SchemaExtensions: []scim.SchemaExtension{{Schema: schema.ExtensionEnterpriseUser()}},
			Handler:          acceptAll{},
		}},
	})
	if err != nil {
		panic(err)
	}
	return srv
})

// askLibrary returns nil when the library's PATCH validation accepts body, or its error value.
func askLibrary(body []byte) error {
	rec := httptest.NewRecorder()
	library().ServeHTTP(rec, httptest.NewRequest(http.MethodPatch, "/Users/1", bytes.NewReader(body)))
	if rec.Code < 300 {
		return nil
	}
	var se scimerrors.ScimError
	if err := se.UnmarshalJSON(rec.Body.Bytes()); err != nil {
		return scimerrors.ScimErrorInvalidValue
	}
	return se
}

// viaLibrary is the request path before Decode: Normalize, Parse, and the library's verdict on the normalised body.
func viaLibrary(body []byte) ([]Operation, error) {
	norm, err := Normalize(body)
	if err != nil {
		return nil, err
	}
	ops, err := Parse(norm)
	if err != nil {
		return nil, err
	}
	if err := askLibrary(norm); err != nil {
		return nil, err
	}
	return ops, nil
}

// verdict renders a result as "accepted" or "<status> <scimType>".
func verdict(err error) string {
	if err == nil {
		return "accepted"
	}
	var se scimerrors.ScimError
	if !errors.As(err, &se) {
		return "not a ScimError: " + err.Error()
	}
	return http.StatusText(se.Status) + " " + string(se.ScimType)
}

// agree fails unless Decode and viaLibrary give the same verdict on body, and the same operations when they accept.
func agree(t testing.TB, body []byte) (ops []Operation, err error) {
	t.Helper()
	want, wantErr := viaLibrary(body)
	got, err := Decode(body)
	if g, w := verdict(err), verdict(wantErr); g != w {
		t.Fatalf("Decode: %s (%v); the library's path: %s (%v)\nbody: %s", g, err, w, wantErr, body)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode's operations differ from Parse(Normalize(body)):\n%#v\n%#v\nbody: %s", got, want, body)
	}
	if err != nil && err.(scimerrors.ScimError).Detail == "" {
		t.Fatalf("error without detail: %v", err)
	}
	return got, err
}

// TestDecodeAgreesWithTheLibrary: over the IdP fixtures and a table of bodies, good and bad, Decode answers what
// the library's path answered. Each row names the verdict it expects, so that a row that stops testing what it
// says (a library upgrade, a Normalize change) is noticed.
func TestDecodeAgreesWithTheLibrary(t *testing.T) {
	const (
		ok       = "accepted"
		value    = "Bad Request invalidValue"
		path     = "Bad Request invalidPath"
		syntax   = "Bad Request invalidSyntax"
		mutable  = "Bad Request mutability"
		noTarget = "Bad Request noTarget"
		ent      = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
		core     = "urn:ietf:params:scim:schemas:core:2.0:User"
	)
	tests := []struct {
		name, body, want string
	}{
		// Dialects and shapes the library accepts once normalised.
		{"Okta's path-less deactivation", patchBody(`{"op":"replace","value":{"active":false}}`), ok},
		{"Okta's replayed id beside the change", patchBody(`{"op":"replace","value":{"id":"1","active":true}}`), ok},
		{"Okta's id alone becomes an empty replace", patchBody(`{"op":"replace","value":{"id":"1"}}`), ok},
		{"Entra's capitalised op and string boolean", patchBody(`{"op":"Replace","path":"active","value":"False"}`), ok},
		{"Entra's lower-case operations key and no schemas", `{"operations":[{"op":"add","path":"title","value":"t"}]}`, ok},
		{"Entra's dotted and URN keys", patchBody(`{"op":"replace","value":{"name.givenName":"g","` + ent + `:department":"d"}}`), ok},
		{"Entra's string manager", patchBody(`{"op":"add","path":"` + ent + `:manager","value":"42"}`), ok},
		{"the legacy bare manager in a one-element list", patchBody(`{"op":"Add","path":"manager","value":[{"value":"7"}]}`), ok},
		{"an empty manager unassigns it", patchBody(`{"op":"replace","path":"` + ent + `:manager","value":""}`), ok},
		{"manager.value set to empty", patchBody(`{"op":"replace","path":"` + ent + `:manager.value","value":""}`), ok},
		{"a nested extension object with a null manager", patchBody(`{"op":"add","value":{"` + ent + `":{"manager":null,"division":"x"}}}`), ok},
		{"a null extension object", patchBody(`{"op":"replace","value":{"` + ent + `":null}}`), ok},
		{"the extension URN as the path", patchBody(`{"op":"add","path":"` + ent + `","value":{"costCenter":"c"}}`), ok},
		{"manager.$ref", patchBody(`{"op":"replace","path":"` + ent + `:manager.$ref","value":"https://x/Users/1"}`), ok},
		{"a read-only manager displayName of any type is ignored", patchBody(`{"op":"add","path":"manager","value":{"value":"1","displayName":5}}`), ok},
		{"a work e-mail by value filter", patchBody(`{"op":"replace","path":"emails[type eq \"work\"].value","value":"a@x"}`), ok},
		{"a value filter with the core URN", patchBody(`{"op":"add","path":"` + core + `:emails[type eq \"work\"].value","value":"a@x"}`), ok},
		{"a value filter with not", patchBody(`{"op":"remove","path":"emails[not(type eq \"work\")]"}`), ok},
		{"a value filter with or and pr", patchBody(`{"op":"remove","path":"emails[type eq \"work\" or display pr]"}`), ok},
		{"a value filter with not, or and pr together", patchBody(`{"op":"remove","path":"emails[not(type eq \"work\") or display pr]"}`), path},
		{"a value filter with three terms", patchBody(`{"op":"remove","path":"emails[type eq \"a\" and value eq \"b\" and display pr]"}`), path},
		{"a value filter comparing with a number", patchBody(`{"op":"remove","path":"emails[value eq 12]"}`), ok},
		{"an element by value filter", patchBody(`{"op":"add","path":"emails[type eq \"work\"]","value":{"value":"a@x","primary":"True"}}`), ok},
		{"a list of e-mails with string primaries", patchBody(`{"op":"add","path":"emails","value":[{"value":"a@x","primary":"true"},{"value":"b@x"}]}`), ok},
		{"one e-mail object without a list", patchBody(`{"op":"add","path":"emails","value":{"value":"a@x"}}`), ok},
		{"an empty list", patchBody(`{"op":"replace","path":"phoneNumbers","value":[]}`), ok},
		{"an empty element", patchBody(`{"op":"add","path":"emails","value":[{}]}`), ok},
		{"unknown and null sub-attributes are ignored", patchBody(`{"op":"add","path":"emails","value":[{"value":"a@x","nosuch":1,"display":null}]}`), ok},
		{"a valid base64 certificate", patchBody(`{"op":"add","path":"x509Certificates","value":[{"value":"QUJD"}]}`), ok},
		{"base64 with padding", patchBody(`{"op":"add","path":"x509Certificates","value":[{"value":"QUI="},{"value":"QQ=="}]}`), ok},
		{"Entra's removal of listed values", patchBody(`{"op":"Remove","path":"emails","value":[{"value":"a@x"}]}`), ok},
		{"a null value is a remove", patchBody(`{"op":"replace","path":"title","value":null}`), ok},
		{"an empty string", patchBody(`{"op":"replace","path":"title","value":""}`), ok},
		{"a complex value with a replayed id", patchBody(`{"op":"replace","path":"name","value":{"id":"1","givenName":"g"}}`), ok},
		{"externalId", patchBody(`{"op":"replace","path":"externalId","value":"e"}`), ok},
		{"a remove with a null element value", patchBody(`{"op":"remove","path":"emails[type eq \"work\"]","value":null}`), ok},

		// What the library refuses and Normalize lets through.
		{"a bare string for a multi-valued complex attribute", patchBody(`{"op":"add","path":"emails","value":"0"}`), value},
		{"a binary value that is not base64", patchBody(`{"op":"add","path":"x509Certificates","value":[{"value":"abc"}]}`), value},
		{"base64 broken by a line", patchBody(`{"op":"add","path":"x509Certificates","value":[{"value":"QUJD\nQUJD"}]}`), value},
		{"a number for a string", patchBody(`{"op":"replace","path":"title","value":7}`), value},
		{"a list for a string", patchBody(`{"op":"replace","path":"title","value":["t"]}`), value},
		{"an object for a string", patchBody(`{"op":"replace","path":"displayName","value":{"value":"d"}}`), value},
		{"a one-element list for a single complex attribute", patchBody(`{"op":"replace","path":"name","value":[{"givenName":"g"}]}`), value},
		{"a string for a single complex attribute", patchBody(`{"op":"replace","path":"name","value":"g"}`), value},
		{"a string that is no boolean", patchBody(`{"op":"replace","path":"active","value":"yes"}`), value},
		{"a number for a boolean", patchBody(`{"op":"replace","path":"active","value":1}`), value},
		{"a number inside an element", patchBody(`{"op":"add","path":"emails","value":[{"value":1}]}`), value},
		{"a bad boolean inside an element", patchBody(`{"op":"add","path":"emails","value":[{"value":"a@x","primary":"maybe"}]}`), value},
		{"a null element", patchBody(`{"op":"add","path":"emails","value":[null]}`), value},
		{"a string element", patchBody(`{"op":"add","path":"emails","value":["a@x"]}`), value},
		{"a string for a filtered element", patchBody(`{"op":"add","path":"emails[type eq \"work\"]","value":"a@x"}`), value},
		{"a number for a filtered sub-attribute", patchBody(`{"op":"add","path":"emails[type eq \"work\"].value","value":5}`), value},
		{"a string in a path-less value for e-mails", patchBody(`{"op":"add","value":{"emails":"a@x"}}`), value},
		{"a number in a path-less dotted key", patchBody(`{"op":"replace","value":{"name.givenName":1}}`), value},
		{"a number in the extension object", patchBody(`{"op":"add","value":{"` + ent + `":{"employeeNumber":1}}}`), value},
		{"a number for the manager", patchBody(`{"op":"add","path":"manager","value":5}`), value},
		{"a number for the manager's value", patchBody(`{"op":"add","path":"manager","value":{"value":5}}`), value},
		{"a two-element list for the manager", patchBody(`{"op":"add","path":"manager","value":[{"value":"1"},{"value":"2"}]}`), value},
		{"a number for a photo reference", patchBody(`{"op":"add","path":"photos","value":[{"value":1}]}`), value},
		{"a remove value of the wrong type", patchBody(`{"op":"remove","path":"emails","value":"a@x"}`), value},
		{"a remove value listing bare strings", patchBody(`{"op":"remove","path":"emails","value":["a@x"]}`), value},
		{"a URN inside a value filter", patchBody(`{"op":"add","path":"emails[` + core + `:type eq \"work\"].value","value":"a@x"}`), value},
		{"a URN inside a removal's value filter", patchBody(`{"op":"remove","path":"emails[` + core + `:type eq \"work\"]"}`), value},
		{"a sub-attribute named twice", patchBody(`{"op":"add","path":"emails","value":[{"value":"a@x","VALUE":"b@x"}]}`), syntax},
		{"a read-only sub-attribute named twice", patchBody(`{"op":"add","path":"manager","value":{"value":"1","displayName":"a","DisplayName":"b"}}`), syntax},
		{"id named twice in a value", patchBody(`{"op":"replace","path":"name","value":{"id":"1","ID":"2"}}`), path},
		{"a URN prefix in another case on a filtered path", patchBody(`{"op":"add","path":"urn:ietf:params:scim:schemas:core:2.0:user:emails[type eq \"work\"].value","value":"a@x"}`), path},
		{"a dotted attribute inside a value filter", patchBody(`{"op":"add","path":"emails[emails.type eq \"work\"].value","value":"a@x"}`), path},
		{"a number too large for a float64 in a filter", patchBody(`{"op":"remove","path":"emails[value eq 1e999]"}`), path},
		{"a filtered path in a path-less key with a URN in the filter", patchBody(`{"op":"add","value":{"emails[` + core + `:type eq \"work\"].value":"a@x"}}`), value},

		// What Normalize refuses, before the library is asked.
		{"an unknown path", patchBody(`{"op":"add","path":"nosuch","value":"x"}`), path},
		{"an unknown sub-attribute", patchBody(`{"op":"add","path":"name.nosuch","value":"x"}`), path},
		{"an unparsable filter", patchBody(`{"op":"add","path":"emails[type eq","value":"x"}`), path},
		{"a filter comparing a boolean with a string", patchBody(`{"op":"remove","path":"emails[primary eq \"x\"]"}`), path},
		{"a filter ordering booleans", patchBody(`{"op":"remove","path":"emails[primary gt true]"}`), path},
		{"a filter on a single-valued attribute", patchBody(`{"op":"remove","path":"name[givenName eq \"x\"]"}`), path},
		{"an unknown key in a path-less value", patchBody(`{"op":"add","value":{"x509Certificates":[],"nosuch":1}}`), value},
		{"an unknown attribute in the extension object", patchBody(`{"op":"add","value":{"` + ent + `":{"nosuch":1}}}`), value},
		{"an explicit id", patchBody(`{"op":"replace","path":"id","value":"x"}`), mutable},
		{"groups", patchBody(`{"op":"add","path":"groups","value":[{"value":"g"}]}`), mutable},
		{"a read-only sub-attribute path", patchBody(`{"op":"add","path":"manager.displayName","value":"m"}`), mutable},
		{"a remove without path", patchBody(`{"op":"remove"}`), noTarget},
		{"an unknown op", patchBody(`{"op":"merge","path":"title","value":"x"}`), value},
		{"a foreign schemas URN", `{"schemas":["urn:x"],"Operations":[{"op":"remove","path":"title"}]}`, value},
		{"no operations", patchBody(``), value},
		{"malformed JSON", `{"Operations":[`, syntax},
		{"data after the body", patchBody(`{"op":"remove","path":"title"}`) + ` {}`, syntax},
		{"a Normalize error after a library error wins", patchBody(`{"op":"add","path":"emails","value":"0"},{"op":"add","path":"nosuch","value":"x"}`), path},
		{"the first library error wins", patchBody(`{"op":"replace","path":"name","value":{"id":"1","Id":"2"}},{"op":"add","path":"emails","value":"0"}`), path},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := agree(t, []byte(tt.body))
			if got := verdict(err); got != tt.want {
				t.Fatalf("both answered %s (%v), the row expects %s", got, err, tt.want)
			}
		})
	}
	refusedRaw := 0
	for _, name := range testdataFiles(t) {
		t.Run(filepath.Base(name), func(t *testing.T) {
			body, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if askLibrary(body) != nil {
				refusedRaw++
			}
			if _, err := agree(t, body); err != nil {
				t.Fatalf("an IdP fixture is refused: %v", err)
			}
		})
	}
	// The fixtures must keep covering the shapes the library refuses on its own, or they prove little.
	if refusedRaw < 3 {
		t.Errorf("only %d raw fixtures were refused by the library; the IdP quirks are not covered", refusedRaw)
	}
}

// TestEveryWritableTypeIsCheckedAsTheLibraryDoes: checkValue copies the library's type checks exactly except for
// dateTime (xsd:dateTime there, RFC 3339 here), which no attribute a client may write has. A library upgrade that
// adds one fails here.
func TestEveryWritableTypeIsCheckedAsTheLibraryDoes(t *testing.T) {
	for _, s := range []*userschema.Schema{userschema.Core(), userschema.Enterprise()} {
		for _, a := range s.Attrs() {
			if !a.Writable() {
				continue
			}
			for _, x := range append([]*userschema.Attr{a}, a.Subs()...) {
				if x.Writable() && x.Type == userschema.TypeDateTime {
					t.Errorf("%s is a writable dateTime: checkValue must parse it as the library does (xsd:dateTime)", x.Path())
				}
			}
		}
	}
}

func TestIsBase64IsTheLibrarysExpression(t *testing.T) {
	// The expression of the library's CoreAttribute.ValidateSingular for binary attributes.
	re := regexp.MustCompile(`^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)?$`)
	for _, s := range []string{"", "QUJD", "QUI=", "QQ==", "Q===", "====", "QUJ", "QU=D", "QUJD\n", "QUJDQUJD", "QUJD QUJD",
		"a+/b", "ab-_", "AB==CD==", "QUJDQQ==", "QUJDQ=", "é123"} {
		if got, want := isBase64(s), re.MatchString(s); got != want {
			t.Errorf("isBase64(%q) = %v, the library's expression says %v", s, got, want)
		}
	}
}

// TestDecodeAgreesWithTheLibraryOnEveryAttribute crosses every attribute and sub-attribute of the User schemas,
// written plainly and behind value filters, with values of every JSON type and the awkward objects (repeated
// keys, replayed ids, read-only sub-attributes), under each op. Decode must answer as the library's path does.
func TestDecodeAgreesWithTheLibraryOnEveryAttribute(t *testing.T) {
	if testing.Short() {
		t.Skip("thousands of library round trips")
	}
	paths := []string{"", userschema.EnterpriseURN, userschema.CoreURN + ":userName", "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:manager"}
	for _, s := range []*userschema.Schema{userschema.Core(), userschema.Enterprise()} {
		for _, a := range s.Attrs() {
			paths = append(paths, a.Path())
			for _, x := range a.Subs() {
				paths = append(paths, x.Path())
				if a.MultiValued {
					paths = append(paths, a.Name+`[`+x.Name+` pr].value`, a.Name+`[type eq "w"].`+x.Name, a.Name+`[`+x.Name+` eq true]`)
				}
			}
		}
	}
	values := []string{`"s"`, `""`, `"True"`, `"QUJD"`, `1`, `true`, `null`, `[]`, `{}`, `["s"]`, `[null]`, `[{}]`,
		`{"value":"v"}`, `{"value":1}`, `{"value":"v","Value":"w"}`, `{"id":"1","Id":"2"}`, `[{"value":"v","primary":"true"}]`,
		`[{"value":"v","primary":"x"}]`, `[{"value":"QUJD"},{"value":"abc"}]`, `{"givenName":1}`, `{"displayName":1,"value":"x"}`,
		`{"$ref":1}`, `{"` + userschema.EnterpriseURN + `":{"manager":"x"}}`, `{"userName":"u","active":"False","emails":"x"}`}
	seen := map[string]int{}
	for _, op := range []string{"add", "replace", "remove"} {
		for _, p := range paths {
			for _, v := range values {
				path := ""
				if p != "" {
					q, _ := json.Marshal(p)
					path = `"path":` + string(q) + `,`
				}
				_, err := agree(t, []byte(patchBody(`{"op":"`+op+`",`+path+`"value":`+v+`}`)))
				seen[verdict(err)]++
			}
		}
	}
	t.Logf("verdicts: %v", seen)
	for _, v := range []string{"accepted", "Bad Request invalidValue", "Bad Request invalidPath", "Bad Request invalidSyntax", "Bad Request mutability"} {
		if seen[v] == 0 {
			t.Errorf("no body was answered %s: the cross no longer covers it", v)
		}
	}
}
