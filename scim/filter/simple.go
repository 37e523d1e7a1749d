package filter

import (
	"strings"

	parser "github.com/scim2/filter-parser/v2"
)

// parseSimple recognises the filters IdPs send before nearly every write, `attr eq "value"` and Entra's
// `emails[type eq "work"].value eq "value"`, and builds the expression github.com/scim2/filter-parser/v2 builds from
// Rewrite(raw), returned as text, without running its PEG parser (which took a third of a store-answered lookup's
// CPU). It accepts only text the parser reads exactly that way: an attribute name with at most one sub-attribute
// and no schema URN, single spaces around a lower-case "eq", and a value of printable ASCII without quotes or
// backslashes. Anything else is left to the parser (ok false).
func parseSimple(raw string) (expr parser.Expression, text string, ok bool) {
	const entraPrefix = `emails[type eq "work"].value eq "`
	if v, found := strings.CutPrefix(raw, entraPrefix); found {
		value, ok := quotedValue(v)
		if !ok {
			return nil, "", false
		}
		return &parser.ValuePath{
			AttributePath: parser.AttributePath{AttributeName: "emails"},
			ValueFilter: &parser.LogicalExpression{
				Left:     &parser.AttributeExpression{AttributePath: parser.AttributePath{AttributeName: "type"}, Operator: parser.EQ, CompareValue: "work"},
				Right:    &parser.AttributeExpression{AttributePath: parser.AttributePath{AttributeName: "value"}, Operator: parser.EQ, CompareValue: value},
				Operator: parser.AND,
			},
		}, `emails[type eq "work" and value eq "` + value + `"]`, true
	}
	path, rest, found := strings.Cut(raw, ` eq "`)
	if !found {
		return nil, "", false
	}
	value, ok := quotedValue(rest)
	if !ok {
		return nil, "", false
	}
	name, sub, hasSub := strings.Cut(path, ".")
	if !attrName(name) || (hasSub && !attrName(sub)) {
		return nil, "", false
	}
	p := parser.AttributePath{AttributeName: name}
	if hasSub {
		p.SubAttribute = &sub
	}
	return &parser.AttributeExpression{AttributePath: p, Operator: parser.EQ, CompareValue: value}, raw, true
}

// quotedValue reads `value"` (the rest of a string after its opening quote): printable ASCII without quotes or
// backslashes, then the closing quote, then nothing.
func quotedValue(s string) (string, bool) {
	if len(s) == 0 || s[len(s)-1] != '"' {
		return "", false
	}
	value := s[:len(s)-1]
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return "", false
		}
	}
	return value, true
}

// attrName reports whether s is an ATTRNAME of RFC 7644 (ALPHA *(ALPHA / DIGIT / "-" / "_")) that is not one of the
// grammar's words, which the parser might read otherwise.
func attrName(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlpha(c) && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	switch strings.ToLower(s) {
	case "and", "or", "not", "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "true", "false", "null":
		return false
	}
	return true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
