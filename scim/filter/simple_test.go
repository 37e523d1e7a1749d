package filter

import (
	"reflect"
	"testing"

	parser "github.com/scim2/filter-parser/v2"
)

// slowParse is Parse without the shortcut: what every filter cost before it.
func slowParse(raw string) (parser.Expression, string, error) {
	text := Rewrite(raw)
	expr, err := parser.ParseFilterNumber([]byte(text))
	return expr, text, err
}

// sameAsParser fails unless the shortcut, when it takes raw, builds exactly what the parser builds from Rewrite(raw),
// and Parse's answer (filter or error) does not depend on the shortcut.
func sameAsParser(t *testing.T, raw string) (taken bool) {
	t.Helper()
	fast, fastText, ok := parseSimple(raw)
	if !ok {
		return false
	}
	slow, text, err := slowParse(raw)
	if err != nil {
		t.Fatalf("parseSimple(%q) took a filter the parser refuses: %v", raw, err)
	}
	if text != fastText {
		t.Fatalf("parseSimple(%q) gives the text %q, Rewrite %q", raw, fastText, text)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("parseSimple(%q) = %#v, the parser gives %#v", raw, fast, slow)
	}
	return true
}

func TestTheSimpleFilterShortcutBuildsWhatTheParserBuilds(t *testing.T) {
	taken := []string{
		`userName eq "test.user@okta.local"`, `userName eq ""`, `externalId eq "12"`, `id eq "abc123"`,
		`emails.value eq "a@b.c"`, `name.familyName eq "O'Brien"`, `userName eq "a b  c"`, `x-y_z eq "v"`,
		`userName eq " eq "`, `title eq "~!@#$%^&*()_+{}|:<>?[];',./"`,
		`active eq "true"`, `nosuch eq "x"`, `urn eq "x"`, `emails[type eq "work"].value eq "user@contoso.com"`,
		`emails[type eq "work"].value eq ""`,
	}
	for _, raw := range taken {
		if !sameAsParser(t, raw) {
			t.Errorf("parseSimple(%q) left it to the parser", raw)
		}
	}
	left := []string{
		`userName Eq "x"`, `userName  eq "x"`, `userName eq  "x"`, ` userName eq "x"`, `userName eq "x" `,
		`userName eq "x\"y"`, `userName eq "\u00e9"`, "userName eq \"\u00e9\"", "userName eq \"a\tb\"",
		`userName eq x`, `userName ne "x"`, `a.b.c eq "x"`,
		`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x"`, `not eq "x"`, `and eq "x"`, `1abc eq "x"`,
		`userName eq "x" and active eq true`, `userName eq "x"" or userName eq "y"`, `.x eq "y"`, `x. eq "y"`,
		`emails[type eq "work"].value eq "x" `, `emails[type eq "home"].value eq "x"`, `emails[type eq "work"].value eq "a"b"`,
	}
	for _, raw := range left {
		if _, _, ok := parseSimple(raw); ok {
			t.Errorf("parseSimple(%q) took a filter it must leave to the parser", raw)
		}
	}
	// Through Parse, the answers are the same with and without the shortcut, errors included.
	for _, raw := range append(taken, left...) {
		f, err := Parse(raw)
		slow, text, perr := slowParse(raw)
		if perr != nil {
			if err == nil {
				t.Errorf("Parse(%q) accepted what the parser refuses", raw)
			}
			continue
		}
		want, werr := checked(slow, text)
		if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
			t.Errorf("Parse(%q) error %v, without the shortcut %v", raw, err, werr)
		}
		if err == nil && (f.String() != want.String() || !reflect.DeepEqual(f.Expression(), want.Expression())) {
			t.Errorf("Parse(%q) = %q %#v, without the shortcut %q %#v", raw, f, f.Expression(), want, want.Expression())
		}
	}
}

func FuzzSimpleFilterShortcut(f *testing.F) {
	for _, s := range idpFilters {
		f.Add(s)
	}
	f.Add(`name.givenName eq "x y"`)
	f.Add(`not eq "x"`)
	f.Fuzz(func(t *testing.T, raw string) {
		sameAsParser(t, raw)
	})
}

func BenchmarkParseUserNameEq(b *testing.B) {
	for b.Loop() {
		if _, err := Parse(`userName eq "dale.mohr@romaguera.uk"`); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseEntraWorkEmail(b *testing.B) {
	for b.Loop() {
		if _, err := Parse(`emails[type eq "work"].value eq "user@contoso.com"`); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseUserNameEqWithoutShortcut is what BenchmarkParseUserNameEq cost before parseSimple.
func BenchmarkParseUserNameEqWithoutShortcut(b *testing.B) {
	for b.Loop() {
		expr, text, err := slowParse(`userName eq "dale.mohr@romaguera.uk"`)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := checked(expr, text); err != nil {
			b.Fatal(err)
		}
	}
}
