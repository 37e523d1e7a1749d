package filter

import (
	"encoding/json"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"
	parser "github.com/scim2/filter-parser/v2"

	"github.com/scim-bridge/scim-bridge/scim/internal/userschema"
)

// maxLen bounds the filters Parse accepts; IdPs send a few dozen bytes, and the parser backtracks.
const maxLen = 4096

// Filter is a parsed, schema-checked filter over User resources.
type Filter struct {
	expr parser.Expression
	text string
}

func invalid(detail string) error {
	e := scimerrors.ScimErrorInvalidFilter
	e.Detail = detail
	return e
}

// Parse rewrites raw with Rewrite, parses it with github.com/scim2/filter-parser/v2 and checks every attribute
// against the core User schema, the enterprise extension and the common attributes, and every comparison
// against the attribute's type. Any failure is an errors.ScimError with scimType invalidFilter.
func Parse(raw string) (*Filter, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, invalid("filter: the filter is empty")
	}
	if len(raw) > maxLen {
		return nil, invalid("filter: the filter is longer than 4096 bytes")
	}
	if expr, text, ok := parseSimple(raw); ok {
		return checked(expr, text)
	}
	text := Rewrite(raw)
	expr, err := parser.ParseFilterNumber([]byte(text))
	if err != nil {
		if strings.Contains(text, "].") {
			return nil, invalid("filter: syntax error; a value filter followed by a sub-attribute comparison " +
				"is only supported with a single comparison inside the brackets")
		}
		return nil, invalid("filter: syntax error; expected attribute, operator and value, " +
			"e.g. userName eq \"bjensen\"")
	}
	return checked(expr, text)
}

// checked decodes the string values of a parsed expression and checks it against the schema.
func checked(expr parser.Expression, text string) (*Filter, error) {
	if err := userschema.DecodeStrings(expr); err != nil {
		return nil, invalid("filter: " + err.Error())
	}
	if err := userschema.ValidateFilter(expr); err != nil {
		return nil, invalid("filter: " + err.Error())
	}
	return &Filter{expr: expr, text: text}, nil
}

// String returns the filter as parsed, after Rewrite.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	return f.text
}

// Expression returns the parsed expression; callers must not modify it.
func (f *Filter) Expression() parser.Expression {
	if f == nil {
		return nil
	}
	return f.expr
}

// Match reports whether res, a User decoded from JSON, matches the filter. Strings compare case-insensitively
// unless the attribute is caseExact (id, externalId, meta.version, meta.resourceType); dateTimes compare as
// instants; a complex attribute compared directly stands for its "value" sub-attribute; a multi-valued attribute
// matches when any element does, except "ne", which matches when the attribute is present and no element is
// equal. An absent attribute matches only "eq null" and "not (…)". Values of unexpected types never match.
func (f *Filter) Match(res map[string]any) (ok bool) {
	if f == nil || res == nil {
		return false
	}
	defer func() {
		// The evaluator is written not to panic; this guards the request path against a resource shape
		// nobody anticipated.
		if recover() != nil {
			ok = false
		}
	}()
	return userschema.Match(f.expr, res)
}

// Lookup recognises the equality lookups Okta and Entra send before every create, so that the caller can answer
// from its index: userName, externalId or id eq "v" give that attribute; emails.value eq "v",
// emails[type eq "work"].value eq "v" and emails[type eq "work" and value eq "v"] (or emails[value eq "v"]) give
// "emails". Candidates found through the index should still be checked with Match, which applies the type
// condition and case rules.
func (f *Filter) Lookup() (attr, value string, ok bool) {
	if f == nil {
		return "", "", false
	}
	switch e := f.expr.(type) {
	case *parser.AttributeExpression:
		v, isString := text(e.CompareValue)
		if e.Operator != parser.EQ || !isString {
			return "", "", false
		}
		top, sub, err := userschema.ResolveAttrPath(e.AttributePath)
		if err != nil || top.Schema != userschema.Core() {
			return "", "", false
		}
		switch {
		case sub == nil && (top.Name == "userName" || top.Name == "externalId" || top.Name == "id"):
			return top.Name, v, true
		case top.Name == "emails" && sub != nil && sub.Name == "value":
			return "emails", v, true
		}
	case *parser.ValuePath:
		top, sub, err := userschema.ResolveAttrPath(e.AttributePath)
		if err != nil || sub != nil || top.Name != "emails" || top.Schema != userschema.Core() {
			return "", "", false
		}
		if v, ok := workEmailValue(e.ValueFilter, top); ok {
			return "emails", v, true
		}
	}
	return "", "", false
}

// workEmailValue recognises `value eq "v"` and `type eq "work" and value eq "v"` (either order) inside emails[…].
func workEmailValue(expr parser.Expression, emails *userschema.Attr) (string, bool) {
	eq := func(x parser.Expression, name string) (string, bool) {
		a, ok := x.(*parser.AttributeExpression)
		if !ok || a.Operator != parser.EQ || a.AttributePath.URIPrefix != nil {
			return "", false
		}
		n := a.AttributePath.AttributeName
		if a.AttributePath.SubAttribute != nil {
			if !strings.EqualFold(n, emails.Name) {
				return "", false
			}
			n = *a.AttributePath.SubAttribute
		}
		s, isString := text(a.CompareValue)
		return s, isString && strings.EqualFold(n, name)
	}
	if v, ok := eq(expr, "value"); ok {
		return v, true
	}
	l, ok := expr.(*parser.LogicalExpression)
	if !ok || l.Operator != parser.AND {
		return "", false
	}
	for _, pair := range [][2]parser.Expression{{l.Left, l.Right}, {l.Right, l.Left}} {
		t, ok1 := eq(pair[0], "type")
		v, ok2 := eq(pair[1], "value")
		if ok1 && ok2 && strings.EqualFold(t, "work") {
			return v, true
		}
	}
	return "", false
}

// text returns a compare value as an identifier: an unquoted numeric externalId keeps the digits it was sent with.
func text(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		return string(t), true
	}
	return "", false
}
