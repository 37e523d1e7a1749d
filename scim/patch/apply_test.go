package patch

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestApply(t *testing.T) {
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	tests := []struct {
		name string
		res  string // resource; entraUser when empty
		body string
		want string // expected resource, "" when an error is expected
		err  string // scimType
	}{
		{
			name: "Entra's multi-valued update replaces the work email and the family name",
			res:  `{"userName":"u","name":{"givenName":"g","familyName":"f"},"emails":[{"value":"old@x","type":"work","primary":true},{"value":"h@x","type":"home"}]}`,
			body: patchBody(`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"updatedEmail@microsoft.com"},` +
				`{"op":"Replace","path":"name.familyName","value":"updatedFamilyName"}`),
			want: `{"userName":"u","name":{"givenName":"g","familyName":"updatedFamilyName"},` +
				`"emails":[{"value":"updatedEmail@microsoft.com","type":"work","primary":true},{"value":"h@x","type":"home"}]}`,
		},
		{
			name: "add on a work email that does not exist creates the element",
			res:  `{"userName":"u","emails":[{"value":"h@x","type":"home"}]}`,
			body: patchBody(`{"op":"Add","path":"emails[type eq \"work\"].value","value":"w@x"}`),
			want: `{"userName":"u","emails":[{"value":"h@x","type":"home"},{"type":"work","value":"w@x"}]}`,
		},
		{
			name: "replace on a work email when the user has no emails creates the element",
			res:  `{"userName":"u"}`,
			body: patchBody(`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"w@x"}`),
			want: `{"userName":"u","emails":[{"type":"work","value":"w@x"}]}`,
		},
		{
			name: "several operations on the same filter build one element",
			res:  `{"userName":"u"}`,
			body: patchBody(`{"op":"Add","path":"addresses[type eq \"work\"].streetAddress","value":"1 Main St"},` +
				`{"op":"Add","path":"addresses[type eq \"work\"].locality","value":"Redmond"},` +
				`{"op":"Add","path":"addresses[type eq \"work\"].primary","value":"True"},` +
				`{"op":"Add","path":"phoneNumbers[type eq \"mobile\"].value","value":"+1 555 0100"}`),
			want: `{"userName":"u","addresses":[{"type":"work","streetAddress":"1 Main St","locality":"Redmond","primary":true}],` +
				`"phoneNumbers":[{"type":"mobile","value":"+1 555 0100"}]}`,
		},
		{
			name: "a created element carries every equality of a conjunctive filter",
			res:  `{"userName":"u"}`,
			body: patchBody(`{"op":"add","path":"emails[type eq \"work\" and primary eq true].value","value":"w@x"}`),
			want: `{"userName":"u","emails":[{"type":"work","primary":true,"value":"w@x"}]}`,
		},
		{
			name: "a filter that cannot describe a new element is noTarget",
			res:  `{"userName":"u"}`,
			body: patchBody(`{"op":"add","path":"emails[value co \"x\"].type","value":"work"}`),
			err:  "noTarget",
		},
		{
			name: "replace on a filtered element without sub-attribute replaces it and keeps the filter's type",
			res:  `{"userName":"u","emails":[{"value":"old@x","type":"work","display":"Old"},{"value":"h@x","type":"home"}]}`,
			body: patchBody(`{"op":"replace","path":"emails[type eq \"work\"]","value":{"value":"new@x"}}`),
			want: `{"userName":"u","emails":[{"value":"new@x","type":"work"},{"value":"h@x","type":"home"}]}`,
		},
		{
			name: "add on a filtered element without sub-attribute merges into it",
			res:  `{"userName":"u","emails":[{"value":"old@x","type":"work"}]}`,
			body: patchBody(`{"op":"add","path":"emails[type eq \"work\"]","value":{"display":"Work"}}`),
			want: `{"userName":"u","emails":[{"value":"old@x","type":"work","display":"Work"}]}`,
		},
		{
			name: "add on a single-valued attribute sets it",
			res:  `{"userName":"u"}`,
			body: patchBody(`{"op":"Add","path":"nickName","value":"Babs"}`),
			want: `{"userName":"u","nickName":"Babs"}`,
		},
		{
			name: "add on a multi-valued attribute appends and skips exact duplicates",
			res:  `{"userName":"u","emails":[{"value":"a@x","type":"work"}]}`,
			body: patchBody(`{"op":"add","path":"emails","value":[{"value":"a@x","type":"work"},{"value":"b@x","type":"home"}]}`),
			want: `{"userName":"u","emails":[{"value":"a@x","type":"work"},{"value":"b@x","type":"home"}]}`,
		},
		{
			name: "add on a complex attribute merges sub-attributes",
			res:  `{"userName":"u","name":{"givenName":"g","familyName":"f"}}`,
			body: patchBody(`{"op":"add","path":"name","value":{"middleName":"m","givenName":"G"}}`),
			want: `{"userName":"u","name":{"givenName":"G","familyName":"f","middleName":"m"}}`,
		},
		{
			name: "path-less add merges complex attributes and appends to multi-valued ones",
			res:  `{"userName":"u","name":{"givenName":"g"},"emails":[{"value":"a@x"}]}`,
			body: patchBody(`{"op":"add","value":{"name":{"familyName":"f"},"emails":[{"value":"b@x"}]}}`),
			want: `{"userName":"u","name":{"givenName":"g","familyName":"f"},"emails":[{"value":"a@x"},{"value":"b@x"}]}`,
		},
		{
			name: "path-less replace merges complex attributes and replaces multi-valued ones",
			res:  `{"userName":"u","name":{"givenName":"g"},"emails":[{"value":"a@x"}]}`,
			body: patchBody(`{"op":"replace","value":{"name":{"familyName":"f"},"emails":[{"value":"b@x"}]}}`),
			want: `{"userName":"u","name":{"givenName":"g","familyName":"f"},"emails":[{"value":"b@x"}]}`,
		},
		{
			name: "Okta's path-less deactivation sets active false",
			body: patchBody(`{"op":"replace","value":{"active":false}}`),
			want: setIn(t, entraUser, "active", false),
		},
		{
			name: "Entra's legacy string False disables the user",
			body: patchBody(`{"op":"Replace","path":"active","value":"False"}`),
			want: setIn(t, entraUser, "active", false),
		},
		{
			name: "Entra's Add on active disables the user",
			body: patchBody(`{"op":"Add","path":"active","value":"false"}`),
			want: setIn(t, entraUser, "active", false),
		},
		{
			name: "Okta's replace of id and unchanged attributes changes nothing",
			body: patchBody(`{"op":"replace","value":{"id":"2441309d85324e7793ae","userName":"Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",` +
				`"active":true,"name":{"familyName":"familyName","givenName":"givenName"}}}`),
			want: entraUser,
		},
		{
			name: "Entra's path-less replace with dotted and URN keys sets each attribute",
			res:  `{"userName":"u","name":{"givenName":"g","familyName":"f"}}`,
			body: patchBody(`{"op":"replace","path":"emails[type eq \"work\"].value","value":"TestMhvaes@test.microsoft.com"},` +
				`{"op":"replace","value":{"displayName":"Bjfe","name.givenName":"Kkom","name.familyName":"Unua",` +
				`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Aklq"}}`),
			want: `{"userName":"u","displayName":"Bjfe","name":{"givenName":"Kkom","familyName":"Unua"},` +
				`"emails":[{"type":"work","value":"TestMhvaes@test.microsoft.com"}],"` + ent + `":{"employeeNumber":"Aklq"}}`,
		},
		{
			name: "Entra's plain-string manager is stored as an object",
			res:  `{"userName":"u"}`,
			body: patchBody(`{"op":"Add","path":"` + ent + `:manager","value":"2441309d85324e7793ae"}`),
			want: `{"userName":"u","` + ent + `":{"manager":{"value":"2441309d85324e7793ae"}}}`,
		},
		{
			name: "an empty manager removes the manager and the emptied extension object",
			res:  `{"userName":"u","` + ent + `":{"manager":{"value":"9"}}}`,
			body: patchBody(`{"op":"Replace","path":"` + ent + `:manager","value":""}`),
			want: `{"userName":"u"}`,
		},
		{
			name: "an enterprise attribute by full URN is set inside the extension object",
			body: patchBody(`{"op":"Replace","path":"` + ent + `:department","value":"Finance"}`),
			want: setIn(t, entraUser, ent, map[string]any{"department": "Finance", "manager": map[string]any{"value": "1"}}),
		},
		{
			name: "a path-less extension object merges into the extension",
			body: patchBody(`{"op":"add","value":{"` + ent + `":{"manager":{"value":"9","displayName":"ignored"},"costCenter":"C1"}}}`),
			want: setIn(t, entraUser, ent, map[string]any{"department": "Sales", "costCenter": "C1", "manager": map[string]any{"value": "9"}}),
		},
		{
			name: "remove of an attribute deletes it",
			res:  `{"userName":"u","title":"t"}`,
			body: patchBody(`{"op":"Remove","path":"title"}`),
			want: `{"userName":"u"}`,
		},
		{
			name: "remove of a sub-attribute deletes it",
			res:  `{"userName":"u","name":{"givenName":"g","familyName":"f"}}`,
			body: patchBody(`{"op":"remove","path":"name.givenName"}`),
			want: `{"userName":"u","name":{"familyName":"f"}}`,
		},
		{
			name: "remove of matching elements keeps the others",
			res:  `{"userName":"u","emails":[{"value":"w@x","type":"work"},{"value":"h@x","type":"home"}]}`,
			body: patchBody(`{"op":"remove","path":"emails[type eq \"work\"]"}`),
			want: `{"userName":"u","emails":[{"value":"h@x","type":"home"}]}`,
		},
		{
			name: "remove of a filtered value drops the element it leaves empty of meaning",
			res:  `{"userName":"u","emails":[{"value":"w@x","type":"work"},{"value":"h@x","type":"home"}]}`,
			body: patchBody(`{"op":"remove","path":"emails[type eq \"work\"].value"}`),
			want: `{"userName":"u","emails":[{"value":"h@x","type":"home"}]}`,
		},
		{
			name: "remove with a value list removes exactly the listed elements case-insensitively",
			res:  `{"userName":"u","emails":[{"value":"A@x","type":"work"},{"value":"b@x"},{"value":"c@x"}]}`,
			body: patchBody(`{"op":"Remove","path":"emails","value":[{"value":"a@X"},{"value":"c@x"}]}`),
			want: `{"userName":"u","emails":[{"value":"b@x"}]}`,
		},
		{
			name: "remove of something absent is a no-op",
			res:  `{"userName":"u"}`,
			body: patchBody(`{"op":"remove","path":"title"},{"op":"remove","path":"emails[type eq \"work\"]"},` +
				`{"op":"remove","path":"` + ent + `:manager"},{"op":"remove","path":"name.givenName"}`),
			want: `{"userName":"u"}`,
		},
		{
			name: "removing the last element removes the attribute",
			res:  `{"userName":"u","emails":[{"value":"w@x","type":"work"}]}`,
			body: patchBody(`{"op":"remove","path":"emails[type eq \"work\"]"}`),
			want: `{"userName":"u"}`,
		},
		{
			name: "setting primary on one element clears it on the others",
			res:  `{"userName":"u","emails":[{"value":"w@x","type":"work","primary":true},{"value":"h@x","type":"home"}]}`,
			body: patchBody(`{"op":"replace","path":"emails[type eq \"home\"].primary","value":true}`),
			want: `{"userName":"u","emails":[{"value":"w@x","type":"work","primary":false},{"value":"h@x","type":"home","primary":true}]}`,
		},
		{
			name: "adding a primary element clears primary on the existing ones",
			res:  `{"userName":"u","emails":[{"value":"w@x","type":"work","primary":true}]}`,
			body: patchBody(`{"op":"add","path":"emails","value":[{"value":"n@x","primary":true}]}`),
			want: `{"userName":"u","emails":[{"value":"w@x","type":"work","primary":false},{"value":"n@x","primary":true}]}`,
		},
		{
			name: "replace with the current value changes nothing",
			body: patchBody(`{"op":"replace","path":"userName","value":"Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"},` +
				`{"op":"replace","path":"emails","value":[{"value":"Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com","type":"work","primary":true}]}`),
			want: entraUser,
		},
		{
			name: "attribute keys stored in another case are rewritten canonically",
			res:  `{"USERNAME":"u","Title":"t"}`,
			body: patchBody(`{"op":"replace","path":"title","value":"T"}`),
			want: `{"USERNAME":"u","title":"T"}`,
		},
		{
			name: "unknown and read-only sub-attributes in values are dropped",
			res:  `{"userName":"u"}`,
			body: patchBody(`{"op":"add","path":"emails","value":[{"value":"a@x","nosuch":1}]}`),
			want: `{"userName":"u","emails":[{"value":"a@x"}]}`,
		},
		// RFC 7644 §3.5.2.3: a replace whose value filter selects nothing has no target, except Entra's
		// attr[type eq "x"].sub, which provisions an element that does not exist yet (see replaceCreates).
		{
			name: "replace on a value filter that matches no element is noTarget",
			res:  `{"userName":"u","emails":[{"value":"w@x","type":"work"}]}`,
			body: patchBody(`{"op":"replace","path":"emails[value eq \"nobody@x\"].type","value":"home"}`),
			err:  "noTarget",
		},
		{
			name: "replace of whole elements selected by a type that matches nothing is noTarget",
			res:  `{"userName":"u","emails":[{"value":"w@x","type":"work"}]}`,
			body: patchBody(`{"op":"replace","path":"emails[type eq \"home\"]","value":{"value":"h@x"}}`),
			err:  "noTarget",
		},
		{
			name: "replace through a conjunctive filter that matches nothing is noTarget",
			res:  `{"userName":"u","emails":[{"value":"w@x","type":"work"}]}`,
			body: patchBody(`{"op":"replace","path":"emails[type eq \"work\" and primary eq true].value","value":"n@x"}`),
			err:  "noTarget",
		},
		{
			name: "a noTarget replace fails the whole PATCH, operations before it included",
			res:  `{"userName":"u","emails":[{"value":"w@x","type":"work"}]}`,
			body: patchBody(`{"op":"replace","path":"title","value":"t"},` +
				`{"op":"replace","path":"phoneNumbers[value eq \"+1\"].type","value":"work"}`),
			err: "noTarget",
		},
		{
			name: "Entra's replace on a type's sub-attribute creates the element next to other types",
			res:  `{"userName":"u","emails":[{"value":"w@x","type":"work","primary":true}]}`,
			body: patchBody(`{"op":"Replace","path":"emails[type eq \"home\"].value","value":"h@x"},` +
				`{"op":"Replace","path":"phoneNumbers[type eq \"mobile\"].value","value":"+1 555 0100"}`),
			want: `{"userName":"u","emails":[{"value":"w@x","type":"work","primary":true},{"type":"home","value":"h@x"}],` +
				`"phoneNumbers":[{"type":"mobile","value":"+1 555 0100"}]}`,
		},
		{
			name: "replace on a filter that matches still replaces what it matches",
			res:  `{"userName":"u","emails":[{"value":"w@x","type":"work"},{"value":"h@x","type":"home"}]}`,
			body: patchBody(`{"op":"replace","path":"emails[value eq \"h@x\"].type","value":"other"}`),
			want: `{"userName":"u","emails":[{"value":"w@x","type":"work"},{"value":"h@x","type":"other"}]}`,
		},
		// RFC 7643 §2.4: one primary per attribute and no repeated (type, value) pair, after every operation.
		{
			name: "add of a (type, value) pair already present merges into that element instead of repeating it",
			res:  `{"userName":"u","emails":[{"value":"A@x","type":"work"},{"value":"h@x","type":"home","primary":true}]}`,
			body: patchBody(`{"op":"add","path":"emails","value":[{"value":"a@X","type":"Work","display":"A","primary":true}]}`),
			want: `{"userName":"u","emails":[{"value":"a@X","type":"Work","display":"A","primary":true},` +
				`{"value":"h@x","type":"home","primary":false}]}`,
		},
		{
			name: "the same value under another type is another value",
			res:  `{"userName":"u","emails":[{"value":"a@x","type":"work"}]}`,
			body: patchBody(`{"op":"add","path":"emails","value":[{"value":"a@x","type":"home"}]}`),
			want: `{"userName":"u","emails":[{"value":"a@x","type":"work"},{"value":"a@x","type":"home"}]}`,
		},
		{
			name: "an add carrying two primaries keeps the first and clears the stored one",
			res:  `{"userName":"u","phoneNumbers":[{"value":"1","type":"work","primary":true}]}`,
			body: patchBody(`{"op":"add","path":"phoneNumbers","value":[{"value":"2","type":"mobile","primary":true},` +
				`{"value":"3","type":"home","primary":true}]}`),
			want: `{"userName":"u","phoneNumbers":[{"value":"1","type":"work","primary":false},` +
				`{"value":"2","type":"mobile","primary":true},{"value":"3","type":"home","primary":false}]}`,
		},
		{
			name: "a replaced list keeps its first primary and its first copy of each pair",
			res:  `{"userName":"u"}`,
			body: patchBody(`{"op":"replace","path":"roles","value":[{"value":"admin","type":"app"},{"value":"dev","primary":true},` +
				`{"value":"ADMIN","type":"APP","primary":true},{"value":"ops","primary":true}]}`),
			want: `{"userName":"u","roles":[{"value":"admin","type":"app"},{"value":"dev","primary":true},{"value":"ops","primary":false}]}`,
		},
		{
			name: "a dropped duplicate that was the primary passes primary to the copy that is kept",
			res:  `{"userName":"u"}`,
			body: patchBody(`{"op":"replace","path":"emails","value":[{"value":"w@x","type":"work"},{"value":"W@X","type":"work","primary":true}]}`),
			want: `{"userName":"u","emails":[{"value":"w@x","type":"work","primary":true}]}`,
		},
		{
			name: "a filtered replace that makes two elements the same pair leaves one",
			res:  `{"userName":"u","emails":[{"value":"a@x","type":"work","primary":true},{"value":"b@x","type":"work"}]}`,
			body: patchBody(`{"op":"replace","path":"emails[type eq \"work\"].value","value":"c@x"}`),
			want: `{"userName":"u","emails":[{"value":"c@x","type":"work","primary":true}]}`,
		},
		{
			name: "an operation on an attribute repairs duplicates and primaries stored before",
			res: `{"userName":"u","emails":[{"value":"a@x","type":"work","primary":true},{"value":"a@x","type":"work"},` +
				`{"value":"b@x","type":"home","primary":true}],"phoneNumbers":[{"value":"1","primary":true},{"value":"1","primary":true}]}`,
			body: patchBody(`{"op":"add","path":"emails","value":[{"value":"c@x","type":"other"}]}`),
			want: `{"userName":"u","emails":[{"value":"a@x","type":"work","primary":true},{"value":"b@x","type":"home","primary":false},` +
				`{"value":"c@x","type":"other"}],"phoneNumbers":[{"value":"1","primary":true},{"value":"1","primary":true}]}`,
		},
		{
			name: "x509 certificate values are caseExact, so values differing in case are kept",
			res:  `{"userName":"u","x509Certificates":[{"value":"TUlJQg=="}]}`,
			body: patchBody(`{"op":"add","path":"x509Certificates","value":[{"value":"tuljqg=="},{"value":"TUlJQg=="}]}`),
			want: `{"userName":"u","x509Certificates":[{"value":"TUlJQg=="},{"value":"tuljqg=="}]}`,
		},
		{
			name: "addresses, which have no value, repeat only when every sub-attribute but primary repeats",
			res:  `{"userName":"u","addresses":[{"type":"work","locality":"Oslo"}]}`,
			body: patchBody(`{"op":"add","path":"addresses","value":[{"type":"work","locality":"Oslo","primary":true},` +
				`{"type":"work","locality":"Bergen"}]}`),
			want: `{"userName":"u","addresses":[{"type":"work","locality":"Oslo","primary":true},{"type":"work","locality":"Bergen"}]}`,
		},
		{name: "removing the required userName is mutability", body: patchBody(`{"op":"remove","path":"userName"}`), err: "mutability"},
		{name: "a filter on a single-valued attribute is invalidPath", body: patchBody(`{"op":"add","path":"name[givenName eq \"x\"].familyName","value":"y"}`), err: "invalidPath"},
		{name: "a filter on an unknown sub-attribute is invalidPath", body: patchBody(`{"op":"add","path":"emails[nosuch eq \"x\"].value","value":"y"}`), err: "invalidPath"},
		{name: "a filter on an unknown attribute is invalidPath", body: patchBody(`{"op":"add","path":"nosuch[type eq \"x\"].value","value":"y"}`), err: "invalidPath"},
		{name: "an unknown sub-attribute is invalidPath", body: patchBody(`{"op":"add","path":"name.nosuch","value":"y"}`), err: "invalidPath"},
		{name: "a sub-attribute of a simple attribute is invalidPath", body: patchBody(`{"op":"add","path":"title.x","value":"y"}`), err: "invalidPath"},
		{name: "a read-only sub-attribute path is mutability", body: patchBody(`{"op":"add","path":"` + ent + `:manager.displayName","value":"y"}`), err: "mutability"},
		{name: "a number for a string attribute is invalidValue", body: patchBody(`{"op":"replace","path":"title","value":7}`), err: "invalidValue"},
		{name: "an unparsable boolean is invalidValue", body: patchBody(`{"op":"replace","path":"active","value":"yes"}`), err: "invalidValue"},
		{name: "a string for a complex attribute without value is invalidValue", body: patchBody(`{"op":"replace","path":"name","value":"x"}`), err: "invalidValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.res
			if src == "" {
				src = entraUser
			}
			res := decode(t, src)
			before := canonicalJSON(t, res)
			got, err := run(t, res, tt.body)
			if after := canonicalJSON(t, res); after != before {
				t.Fatalf("Apply modified its input:\n%s\n%s", before, after)
			}
			if tt.err != "" {
				if err == nil {
					t.Fatalf("Apply succeeded with %s, want %s", canonicalJSON(t, got), tt.err)
				}
				if st := scimType(t, err); st != tt.err {
					t.Fatalf("scimType = %s, want %s (%v)", st, tt.err, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if g, w := canonicalJSON(t, got), canonicalJSON(t, decode(t, tt.want)); g != w {
				t.Errorf("resource =\n%s\nwant\n%s", g, w)
			}
		})
	}
}

// setIn returns the JSON of resource src with key set to v.
func setIn(t *testing.T, src, key string, v any) string {
	m := decode(t, src)
	m[key] = v
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestApplyDirectOperations(t *testing.T) {
	tests := []struct {
		name string
		ops  []Operation
		want string
		err  string
	}{
		{
			name: "an explicit id path is mutability even without Normalize",
			ops:  []Operation{{Op: "replace", Path: "id", Value: "x"}},
			err:  "mutability",
		},
		{
			name: "an explicit groups path is mutability even without Normalize",
			ops:  []Operation{{Op: "add", Path: "groups", Value: []any{map[string]any{"value": "g"}}}},
			err:  "mutability",
		},
		{
			name: "a path-less value with id and a dotted key applies the key",
			ops:  []Operation{{Op: "Replace", Value: map[string]any{"id": "other", "name.givenName": "N"}}},
			want: `{"userName":"u","name":{"givenName":"N"},"emails":[{"value":"a@x"}]}`,
		},
		{
			name: "a path-less remove is noTarget",
			ops:  []Operation{{Op: "remove"}},
			err:  "noTarget",
		},
		{
			name: "an unknown op is invalidValue",
			ops:  []Operation{{Op: "copy", Path: "title", Value: "x"}},
			err:  "invalidValue",
		},
		{
			name: "a hand-built []map[string]any list is handled like a decoded one",
			ops:  []Operation{{Op: "remove", Path: "emails", Value: []any{map[string]any{"value": "A@X"}}}},
			want: `{"userName":"u"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := map[string]any{"userName": "u", "emails": []map[string]any{{"value": "a@x"}}}
			got, err := Apply(res, tt.ops)
			if tt.err != "" {
				if err == nil || scimType(t, err) != tt.err {
					t.Fatalf("err = %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g, w := canonicalJSON(t, got), canonicalJSON(t, decode(t, tt.want)); g != w {
				t.Errorf("resource =\n%s\nwant\n%s", g, w)
			}
		})
	}
}

func TestApplyReturnsAnIndependentCopy(t *testing.T) {
	res := decode(t, entraUser)
	got, err := run(t, res, patchBody(`{"op":"replace","path":"title","value":"t"}`))
	if err != nil {
		t.Fatal(err)
	}
	got["name"].(map[string]any)["givenName"] = "changed"
	got["emails"].([]any)[0].(map[string]any)["value"] = "changed"
	if res["name"].(map[string]any)["givenName"] != "givenName" || res["emails"].([]any)[0].(map[string]any)["value"] == "changed" {
		t.Fatal("the result shares maps with the input")
	}
}

func TestEveryTestdataBodyApplies(t *testing.T) {
	for _, name := range testdataFiles(t) {
		t.Run(filepath.Base(name), func(t *testing.T) {
			body, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := run(t, decode(t, entraUser), string(body)); err != nil {
				t.Fatalf("Apply: %v", err)
			}
		})
	}
}
