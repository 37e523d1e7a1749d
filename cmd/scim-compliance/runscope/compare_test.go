package runscope

import (
	"encoding/json"
	"strings"
	"testing"
)

func decode(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestLookup(t *testing.T) {
	doc := decode(t, `{"Resources":[{"name":{"givenName":"Ann"},"emails":[{"value":"a@x"}],"active":false}],"n":0}`)
	tests := []struct {
		name, path string
		want       string
		present    bool
	}{
		{"nested members and indexes resolve", "Resources[0].emails[0].value", "a@x", true},
		{"a false value is present", "Resources[0].active", "false", true},
		{"a zero is present", "n", "0", true},
		{"an index past the end is absent", "Resources[1].name", "", false},
		{"a missing member is absent", "Resources[0].name.familyName", "", false},
		{"indexing an object is absent", "Resources[0].name[0]", "", false},
		{"member names are case-sensitive", "resources", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := Lookup(doc, tt.path)
			if ok != tt.present || (ok && render(v) != tt.want) {
				t.Errorf("Lookup(%q) = %v, %v; want %q, %v", tt.path, v, ok, tt.want, tt.present)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name       string
		comparison string
		actual     string // JSON; "" means absent
		expected   string
		want       bool
	}{
		{"equal matches a string", "equal", `"Ann"`, "Ann", true},
		{"equal matches a boolean by its text", "equal", `true`, "true", true},
		{"equal matches a number by its text", "equal", `0`, "0", true},
		{"equal rejects a different case", "equal", `"Ann"`, "ann", false},
		{"equal rejects an absent value", "equal", ``, "", false},
		{"equal_number compares numerically", "equal_number", `200`, "200.0", true},
		{"equal_number accepts a numeric string", "equal_number", `"401"`, "401", true},
		{"equal_number rejects a different number", "equal_number", `404`, "200", false},
		{"equal_number rejects text", "equal_number", `"abc"`, "0", false},
		{"not_empty accepts false", "not_empty", `false`, "", true},
		{"not_empty rejects an empty list", "not_empty", `[]`, "", false},
		{"not_empty rejects an empty string", "not_empty", `""`, "", false},
		{"not_empty rejects null", "not_empty", `null`, "", false},
		{"not_empty rejects an absent value", "not_empty", ``, "", false},
		{"empty accepts an empty object", "empty", `{}`, "", true},
		{"has_value finds a list member", "has_value", `["a","b"]`, "b", true},
		{"has_value rejects a missing member", "has_value", `["a"]`, "b", false},
		{"has_value finds an object member's value", "has_value", `{"k":"b"}`, "b", true},
		{"contains finds a list member", "contains", `["urn:x","urn:y"]`, "urn:y", true},
		{"contains finds a substring", "contains", `"hello world"`, "lo wo", true},
		{"contains rejects a partial list member", "contains", `["urn:xy"]`, "urn:x", false},
		{"does_not_contain accepts a missing substring", "does_not_contain", `"abc"`, "z", true},
		{"has_key finds a key", "has_key", `{"k":1}`, "k", true},
		{"is_null accepts an absent value", "is_null", ``, "", true},
		{"is_a_number accepts a number", "is_a_number", `1`, "", true},
		{"is_a_number rejects a boolean", "is_a_number", `true`, "", false},
		{"is_a_number rejects an absent value", "is_a_number", ``, "", false},
		{"is_less_than accepts a smaller number", "is_less_than", `599`, "600", true},
		{"is_less_than rejects an equal number", "is_less_than", `600`, "600", false},
		{"is_greater_than_or_equal accepts an equal number", "is_greater_than_or_equal", `5`, "5", true},
		{"not_equal accepts a different value", "not_equal", `"a"`, "b", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var actual any
			present := tt.actual != ""
			if present {
				actual = decode(t, tt.actual)
			}
			got, err := Compare(tt.comparison, actual, present, tt.expected)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Compare(%s, %s, %q) = %v, want %v", tt.comparison, tt.actual, tt.expected, got, tt.want)
			}
		})
	}
}

func TestCompareRejectsAnUnknownComparison(t *testing.T) {
	if _, err := Compare("is_roughly", "a", true, "a"); err == nil {
		t.Fatal("an unknown comparison passed without an error")
	}
}
