package upstream

import (
	"strings"
	"testing"
)

func TestReasonFromJSON(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		keys       []string
		want       string
	}{
		{"rails list", `{"errors":["Email is invalid","First name can't be blank"]}`, []string{"errors"}, "Email is invalid; First name can't be blank"},
		{"rails fields", `{"errors":{"last_name":["can't be blank"],"email":["is invalid"]}}`, []string{"errors"}, "email is invalid; last_name can't be blank"},
		{"single message", `{"error":"Email is invalid"}`, []string{"errors", "error"}, "Email is invalid"},
		{"first key that holds words wins", `{"errors":[],"message":"nope"}`, []string{"errors", "message"}, "nope"},
		{"not JSON", `<html>oops</html>`, []string{"error"}, ""},
		{"no known key", `{"detail":"x"}`, []string{"error"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReasonFromJSON([]byte(tc.body), tc.keys...); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCleanReasonIsOneShortPrintableLine(t *testing.T) {
	got := cleanReason("line one\nline\ttwo\x00" + strings.Repeat("x", 1000))
	if strings.ContainsAny(got, "\n\t\x00") || len(got) > maxReason+len("…") {
		t.Errorf("got %q", got)
	}
	if !strings.HasPrefix(got, "line one line two") {
		t.Errorf("got %q", got)
	}
}
