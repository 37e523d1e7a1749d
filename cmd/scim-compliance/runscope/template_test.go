package runscope

import "testing"

func TestSubstitute(t *testing.T) {
	vars := map[string]string{"SCIMBaseURL": "http://127.0.0.1:1/scim/v2", "id": "42"}
	tests := []struct {
		name, in, want string
	}{
		{"known names are replaced", "{{SCIMBaseURL}}/Users/{{id}}", "http://127.0.0.1:1/scim/v2/Users/42"},
		{"blanks inside the braces are allowed", "{{ id }}", "42"},
		{"unknown names are left as written", "/Groups/{{idGroupOne}}", "/Groups/{{idGroupOne}}"},
		{"text without placeholders is unchanged", `{"a":"b"}`, `{"a":"b"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Substitute(tt.in, vars); got != tt.want {
				t.Errorf("Substitute(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestEncodeURL(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"raw spaces and quotes in the query are encoded",
			`http://127.0.0.1:8080/scim/v2/Users?filter=userName eq "a@atko.com"`,
			`http://127.0.0.1:8080/scim/v2/Users?filter=userName%20eq%20%22a@atko.com%22`},
		{"existing escapes and delimiters pass through",
			`http://h/Users/?filter=DisplayName+eq+%22Bob%22&count=2`,
			`http://h/Users/?filter=DisplayName+eq+%22Bob%22&count=2`},
		{"braces of an unresolved variable in the path are encoded",
			`http://h/Groups/{{idGroupOne}}`, `http://h/Groups/%7B%7BidGroupOne%7D%7D`},
		{"a percent sign not starting an escape is encoded", `http://h/x?q=100%`, `http://h/x?q=100%25`},
		{"brackets in the query are encoded", `http://h/Users?attributes=emails[type eq "work"]`,
			`http://h/Users?attributes=emails%5Btype%20eq%20%22work%22%5D`},
		{"the authority is left alone", `http://[::1]:8080/a b`, `http://[::1]:8080/a%20b`},
		{"a URL without a path is unchanged", `http://127.0.0.1:8080`, `http://127.0.0.1:8080`},
		{"encoding is idempotent", `http://h/x?f=a%20b%22`, `http://h/x?f=a%20b%22`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EncodeURL(tt.in); got != tt.want {
				t.Errorf("EncodeURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
