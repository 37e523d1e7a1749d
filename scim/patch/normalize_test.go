package patch

import (
	"os"
	"path/filepath"
	"testing"
)

func TestNormalize(t *testing.T) {
	const mgr = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
	tests := []struct {
		name string
		body string
		want string // canonical JSON of the normalised body's Operations, or "" when an error is expected
		err  string // scimType
	}{
		{
			name: "capitalised ops are lower-cased",
			body: patchBody(`{"op":"Add","path":"nickName","value":"Babs"},{"op":"REPLACE","path":"title","value":"x"},{"op":"Remove","path":"title"}`),
			want: `[{"op":"add","path":"nickName","value":"Babs"},{"op":"replace","path":"title","value":"x"},{"op":"remove","path":"title"}]`,
		},
		{
			name: "a lower-case operations key is accepted",
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"operations":[{"op":"replace","path":"title","value":"x"}]}`,
			want: `[{"op":"replace","path":"title","value":"x"}]`,
		},
		{
			name: "a missing schemas member is supplied",
			body: `{"Operations":[{"op":"replace","path":"title","value":"x"}]}`,
			want: `[{"op":"replace","path":"title","value":"x"}]`,
		},
		{
			name: "Entra's string False on active becomes a boolean",
			body: patchBody(`{"op":"Replace","path":"active","value":"False"}`),
			want: `[{"op":"replace","path":"active","value":false}]`,
		},
		{
			name: "string booleans in any case become booleans",
			body: patchBody(`{"op":"replace","path":"active","value":"TRUE"},{"op":"add","path":"ACTIVE","value":"false"}`),
			want: `[{"op":"replace","path":"active","value":true},{"op":"add","path":"active","value":false}]`,
		},
		{
			name: "a string that is not a boolean spelling is left for the library to reject",
			body: patchBody(`{"op":"replace","path":"active","value":"yes"}`),
			want: `[{"op":"replace","path":"active","value":"yes"}]`,
		},
		{
			name: "the string False on a string attribute stays a string",
			body: patchBody(`{"op":"replace","path":"title","value":"False"},{"op":"replace","value":{"nickName":"True"}}`),
			want: `[{"op":"replace","path":"title","value":"False"},{"op":"replace","path":"nickName","value":"True"}]`,
		},
		{
			name: "string booleans inside path-less values and object values are coerced",
			body: patchBody(`{"op":"replace","value":{"active":"False","emails":[{"value":"a@x","primary":"True"}]}},` +
				`{"op":"add","path":"emails[type eq \"work\"]","value":{"value":"b@x","primary":"true"}},` +
				`{"op":"add","path":"emails[type eq \"work\"].primary","value":"FALSE"}`),
			want: `[{"op":"replace","path":"active","value":false},{"op":"replace","path":"emails","value":[{"primary":true,"value":"a@x"}]},` +
				`{"op":"add","path":"emails[type eq \"work\"]","value":{"primary":true,"value":"b@x"}},` +
				`{"op":"add","path":"emails[type eq \"work\"].primary","value":false}]`,
		},
		{
			name: "Okta's path-less deactivation becomes a path operation",
			body: patchBody(`{"op":"replace","value":{"active":false}}`),
			want: `[{"op":"replace","path":"active","value":false}]`,
		},
		{
			name: "id meta and schemas in a path-less value are dropped",
			body: patchBody(`{"op":"replace","value":{"id":"23a35c27","meta":{"version":"x"},"schemas":["u"],"active":false}}`),
			want: `[{"op":"replace","path":"active","value":false}]`,
		},
		{
			name: "a path-less value holding only id becomes an empty path-less replace",
			body: patchBody(`{"op":"replace","value":{"id":"23a35c27"}}`),
			want: `[{"op":"replace","value":{}}]`,
		},
		{
			name: "read-only groups in a path-less value are dropped",
			body: patchBody(`{"op":"replace","value":{"groups":[{"value":"g"}],"title":"t"}}`),
			want: `[{"op":"replace","path":"title","value":"t"}]`,
		},
		{
			name: "Entra's path-less dotted and URN keys are expanded into path operations",
			body: patchBody(`{"op":"replace","value":{"displayName":"Bjfe","name.givenName":"Kkom","name.familyName":"Unua",` +
				`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Aklq"}}`),
			want: `[{"op":"replace","path":"displayName","value":"Bjfe"},{"op":"replace","path":"name.familyName","value":"Unua"},` +
				`{"op":"replace","path":"name.givenName","value":"Kkom"},` +
				`{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"Aklq"}]`,
		},
		{
			name: "a core URN prefix on a path-less key is dropped from the path",
			body: patchBody(`{"op":"replace","value":{"urn:ietf:params:scim:schemas:core:2.0:User:userName":"u@x"}}`),
			want: `[{"op":"replace","path":"userName","value":"u@x"}]`,
		},
		{
			name: "attribute names in any case are written canonically",
			body: patchBody(`{"op":"replace","path":"NAME.GIVENNAME","value":"a"},{"op":"replace","value":{"DisplayName":"d"}}`),
			want: `[{"op":"replace","path":"name.givenName","value":"a"},{"op":"replace","path":"displayName","value":"d"}]`,
		},
		{
			name: "an enterprise extension object in a path-less value is expanded with manager wrapped",
			body: patchBody(`{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"9","department":"X"}}}`),
			want: `[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"X"},` +
				`{"op":"add","path":"` + mgr + `","value":{"value":"9"}}]`,
		},
		{
			name: "Entra's plain-string manager becomes an object",
			body: patchBody(`{"op":"Add","path":"` + mgr + `","value":"2441309d85324e7793ae"}`),
			want: `[{"op":"add","path":"` + mgr + `","value":{"value":"2441309d85324e7793ae"}}]`,
		},
		{
			name: "an empty manager string becomes a remove",
			body: patchBody(`{"op":"Replace","path":"` + mgr + `","value":""}`),
			want: `[{"op":"remove","path":"` + mgr + `"}]`,
		},
		{
			name: "a null manager becomes a remove",
			body: patchBody(`{"op":"add","path":"` + mgr + `","value":null}`),
			want: `[{"op":"remove","path":"` + mgr + `"}]`,
		},
		{
			name: "a manager with an empty value becomes a remove",
			body: patchBody(`{"op":"replace","path":"` + mgr + `","value":{"value":""}}`),
			want: `[{"op":"remove","path":"` + mgr + `"}]`,
		},
		{
			name: "an empty manager inside the extension object becomes a remove",
			body: patchBody(`{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":""}}}`),
			want: `[{"op":"remove","path":"` + mgr + `"}]`,
		},
		{
			name: "manager.value set to empty removes the manager",
			body: patchBody(`{"op":"replace","path":"` + mgr + `.value","value":""}`),
			want: `[{"op":"remove","path":"` + mgr + `"}]`,
		},
		{
			name: "the legacy bare manager path with a one-element list gets the URN and is unwrapped",
			body: patchBody(`{"op":"Add","path":"manager","value":[{"$ref":"http://x/Users/7","value":"7"}]}`),
			want: `[{"op":"add","path":"` + mgr + `","value":{"$ref":"http://x/Users/7","value":"7"}}]`,
		},
		{
			name: "replace with a null value becomes a remove",
			body: patchBody(`{"op":"replace","path":"title","value":null}`),
			want: `[{"op":"remove","path":"title"}]`,
		},
		{
			name: "a filtered path is passed on as written",
			body: patchBody(`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"u@x"}`),
			want: `[{"op":"replace","path":"emails[type eq \"work\"].value","value":"u@x"}]`,
		},
		{
			name: "remove with a value list keeps the list",
			body: patchBody(`{"op":"Remove","path":"emails","value":[{"value":"a@x"}]}`),
			want: `[{"op":"remove","path":"emails","value":[{"value":"a@x"}]}]`,
		},
		{name: "malformed JSON is invalidSyntax", body: `{"Operations":[`, err: "invalidSyntax"},
		{name: "a JSON array body is invalidSyntax", body: `[]`, err: "invalidSyntax"},
		{name: "trailing data after the body is invalidSyntax", body: patchBody(`{"op":"remove","path":"title"}`) + `{}`, err: "invalidSyntax"},
		{name: "missing Operations is invalidValue", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`, err: "invalidValue"},
		{name: "empty Operations is invalidValue", body: patchBody(``), err: "invalidValue"},
		{name: "a foreign schemas URN is invalidValue", body: `{"schemas":["urn:x"],"Operations":[{"op":"remove","path":"title"}]}`, err: "invalidValue"},
		{name: "an unknown op is invalidValue", body: patchBody(`{"op":"merge","path":"title","value":"x"}`), err: "invalidValue"},
		{name: "remove without a path is noTarget", body: patchBody(`{"op":"remove"}`), err: "noTarget"},
		{name: "a path-less add with a string value is invalidValue", body: patchBody(`{"op":"add","value":"x"}`), err: "invalidValue"},
		{name: "an unknown key in a path-less value is invalidValue", body: patchBody(`{"op":"add","value":{"nosuch":"x"}}`), err: "invalidValue"},
		{name: "an unknown path is invalidPath", body: patchBody(`{"op":"add","path":"nosuch","value":"x"}`), err: "invalidPath"},
		{name: "an unparsable path is invalidPath", body: patchBody(`{"op":"add","path":"emails[type eq","value":"x"}`), err: "invalidPath"},
		{name: "a path of the wrong type is invalidPath", body: patchBody(`{"op":"add","path":7,"value":"x"}`), err: "invalidPath"},
		{name: "an explicit id path is mutability", body: patchBody(`{"op":"replace","path":"id","value":"x"}`), err: "mutability"},
		{name: "an explicit meta sub-attribute path is mutability", body: patchBody(`{"op":"replace","path":"meta.lastModified","value":"2020-01-01T00:00:00Z"}`), err: "mutability"},
		{name: "an explicit groups path is mutability", body: patchBody(`{"op":"add","path":"groups","value":[{"value":"g"}]}`), err: "mutability"},
		{name: "removing groups is mutability", body: patchBody(`{"op":"remove","path":"groups"}`), err: "mutability"},
		{name: "an explicit schemas path is mutability", body: patchBody(`{"op":"replace","path":"schemas","value":["x"]}`), err: "mutability"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			norm, err := Normalize([]byte(tt.body))
			if tt.err != "" {
				if err == nil {
					t.Fatalf("Normalize succeeded with %s, want %s", norm, tt.err)
				}
				if got := scimType(t, err); got != tt.err {
					t.Fatalf("scimType = %s, want %s (%v)", got, tt.err, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			doc := decode(t, string(norm))
			if got := canonicalJSON(t, doc["schemas"]); got != `["urn:ietf:params:scim:api:messages:2.0:PatchOp"]` {
				t.Errorf("schemas = %s", got)
			}
			if got, want := canonicalJSON(t, doc["Operations"]), canonicalJSON(t, decode(t, `{"x":`+tt.want+`}`)["x"]); got != want {
				t.Errorf("Operations =\n%s\nwant\n%s", got, want)
			}
			if _, err := Parse(norm); err != nil {
				t.Errorf("Parse(Normalize(body)): %v", err)
			}
		})
	}
}

func TestNormalizeIsIdempotent(t *testing.T) {
	for _, name := range testdataFiles(t) {
		t.Run(filepath.Base(name), func(t *testing.T) {
			body, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			once, err := Normalize(body)
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			twice, err := Normalize(once)
			if err != nil {
				t.Fatalf("Normalize of a normalised body: %v", err)
			}
			if string(once) != string(twice) {
				t.Errorf("normalising twice changed the body:\n%s\n%s", once, twice)
			}
		})
	}
}

func testdataFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	return files
}

func TestParse(t *testing.T) {
	ops, err := Parse([]byte(patchBody(`{"op":"Replace","path":" title ","value":"x"},{"op":"add","value":{"active":false}}`)))
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 2 || ops[0].Op != "replace" || ops[0].Path != "title" || ops[0].Value != "x" ||
		ops[1].Op != "add" || ops[1].Path != "" {
		t.Fatalf("ops = %#v", ops)
	}
	if _, err := Parse([]byte(patchBody(`{"op":"remove"}`))); err == nil || scimType(t, err) != "noTarget" {
		t.Fatalf("remove without path: %v", err)
	}
	if _, err := Parse([]byte(`nope`)); err == nil || scimType(t, err) != "invalidSyntax" {
		t.Fatalf("bad JSON: %v", err)
	}
}
