package patch

import (
	"encoding/json"
	"strconv"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/scim2/filter-parser/v2"

	"github.com/scim-bridge/scim-bridge/scim/internal/userschema"
)

// Decode reads the body of PATCH /Users/{id} into the operations to apply. The body is decoded once; the Okta and
// Entra dialects are normalised as Normalize describes; then every normalised operation is checked as
// github.com/elimity-com/scim's PATCH validation checks it (see checkOp), so that what the library refuses is
// refused with its scimType. The operations are those Parse(Normalize(body)) returns.
//
// Errors are errors.ScimError values with status 400: Normalize's errors first (whichever operation they concern),
// then the library's rules on the normalised operations in order, as when Normalize's output went to the library.
func Decode(body []byte) ([]Operation, error) {
	raw, err := decodeBody(body)
	if err != nil {
		return nil, err
	}
	norm, err := normalizeOps(raw)
	if err != nil {
		return nil, err
	}
	ops := make([]Operation, len(norm))
	for j := range norm {
		if err := checkOp(&norm[j]); err != nil {
			return nil, err
		}
		ops[j] = norm[j].Operation
	}
	return ops, nil
}

// checkOp applies the library's PATCH validation (internal/patch.NewValidator and Validate, v0.0.0-20260728105928)
// to one normalised operation. Most of it cannot fail on Normalize's output (op is add, replace or remove; paths
// are canonical names the library's schemas hold; add and replace carry a value). What can:
//
//   - a value object holding "id" twice in different cases: the library deletes Okta's replayed id and refuses
//     two of them (invalidPath);
//   - a value-filtered path, which is passed on as written: a URN prefix spelt in another case than the schema's
//     id, a dotted attribute inside the filter (`emails[emails.type eq "x"]`), or a number the library's parser
//     cannot hold in a float64 (`value eq 1e999`) are invalidPath; a URN-prefixed attribute inside the filter
//     passes the library's path check and fails its value check (invalidValue);
//   - the value's type (checkValue): invalidValue, or invalidSyntax for an object naming one sub-attribute twice.
func checkOp(o *normOp) error {
	if m, ok := o.Value.(map[string]any); ok && countFold(m, "id") > 1 {
		return fail(scimerrors.ScimErrorInvalidPath, "Operations[%d]: the value names \"id\" more than once.", o.src)
	}
	a := o.target.Target()
	if a == nil {
		// The path-less placeholder of a body whose values were all dropped: an empty object, which the library
		// accepts.
		return nil
	}
	if o.target.Filter != nil {
		uriInFilter, err := checkFilterPath(o.src, o.Path, o.target.Filter)
		if err != nil {
			return err
		}
		if uriInFilter {
			return fail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: path %s: attributes inside a value filter "+
				"cannot carry a schema URN.", o.src, userschema.Quote(o.Path))
		}
	}
	if o.Value == nil {
		if o.Op == "remove" {
			return nil
		}
		return fail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: %s needs a value.", o.src, o.Op)
	}
	if !a.MultiValued {
		return checkValue(o.src, a, o.Value)
	}
	if l, ok := o.Value.([]any); ok {
		for _, e := range l {
			if err := checkValue(o.src, a, e); err != nil {
				return err
			}
		}
		return nil
	}
	return checkValue(o.src, a, o.Value)
}

// checkFilterPath checks what the library checks, beyond userschema.ResolvePath, in a path with a value filter:
// it parses the path without json.Number and matches URN prefixes exactly. uriInFilter reports an attribute inside
// the filter that carries the schema's URN.
func checkFilterPath(i int, path string, expr filter.Expression) (uriInFilter bool, err error) {
	bad := func(why string) (bool, error) {
		return false, fail(scimerrors.ScimErrorInvalidPath, "Operations[%d]: path %s: %s.", i, userschema.Quote(path), why)
	}
	// The attribute before "[" is [URN ":"] name (filter.ParsePath's grammar): the URN runs to the last colon.
	attr, _, _ := strings.Cut(path, "[")
	attr = strings.TrimSpace(attr)
	if c := strings.LastIndexByte(attr, ':'); c >= 0 && attr[:c] != userschema.CoreURN {
		return bad("the schema URN must be written as " + userschema.CoreURN)
	}
	var walk func(e filter.Expression, depth int) (bool, error)
	walk = func(e filter.Expression, depth int) (bool, error) {
		if depth > 64 {
			return bad("the filter is nested too deeply")
		}
		switch e := e.(type) {
		case *filter.AttributeExpression:
			if e.AttributePath.SubAttribute != nil {
				return bad("an attribute inside a value filter is one of the filtered attribute's sub-attributes, " +
					"without a dot")
			}
			if n, ok := e.CompareValue.(json.Number); ok {
				if _, err := strconv.ParseFloat(string(n), 64); err != nil {
					return bad("the number " + userschema.Quote(string(n)) + " is out of range")
				}
			}
			if e.AttributePath.URIPrefix != nil {
				if e.AttributePath.URI() != userschema.CoreURN {
					return bad("the schema URN must be written as " + userschema.CoreURN)
				}
				return true, nil
			}
			return false, nil
		case *filter.LogicalExpression:
			l, err := walk(e.Left, depth+1)
			if err != nil {
				return false, err
			}
			r, err := walk(e.Right, depth+1)
			return l || r, err
		case *filter.NotExpression:
			return walk(e.Expression, depth+1)
		}
		// userschema.ResolvePath accepts nothing else inside a value filter, and the path grammar has nothing else.
		return bad("unsupported expression")
	}
	return walk(expr, 0)
}

// checkValue is the library's CoreAttribute.ValidateSingular: whether v is one value of a's type. Unknown
// sub-attributes are ignored, read-only ones are not looked at, and boolean strings are refused (Normalize has
// already turned Entra's into booleans where the schema says boolean).
func checkValue(i int, a *userschema.Attr, v any) error {
	bad := func(want string) error {
		return fail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: the value for %q must be %s.", i, a.Path(), want)
	}
	switch a.Type {
	case userschema.TypeBinary:
		if s, ok := v.(string); !ok || !isBase64(s) {
			return bad("a base64 string")
		}
	case userschema.TypeBoolean:
		if _, ok := v.(bool); !ok {
			return bad("true or false")
		}
	case userschema.TypeComplex:
		m, ok := v.(map[string]any)
		if !ok {
			return bad("an object")
		}
		for _, sub := range a.Subs() {
			var hit any
			switch n := countFold(m, sub.Name); {
			case n > 1:
				return fail(scimerrors.ScimErrorInvalidSyntax, "Operations[%d]: the value for %q names %q more than once.",
					i, a.Path(), sub.Name)
			case n == 1:
				hit, _, _ = userschema.Get(m, sub.Name)
			}
			if err := checkSub(i, sub, hit); err != nil {
				return err
			}
		}
	case userschema.TypeDateTime:
		// The library parses xsd:dateTime, which RFC 3339 narrows; no attribute a client may write is a dateTime
		// (TestEveryWritableTypeIsCheckedAsTheLibraryDoes).
		s, ok := v.(string)
		if _, valid := userschema.ParseTime(s); !ok || !valid {
			return bad("a dateTime")
		}
	case userschema.TypeDecimal:
		switch n := v.(type) {
		case json.Number:
			if _, err := n.Float64(); err != nil {
				return bad("a number")
			}
		case float64:
		default:
			return bad("a number")
		}
	case userschema.TypeInteger:
		switch n := v.(type) {
		case json.Number:
			if _, err := n.Int64(); err != nil {
				return bad("an integer")
			}
		case int, int8, int16, int32, int64:
		default:
			return bad("an integer")
		}
	case userschema.TypeString, userschema.TypeReference:
		if _, ok := v.(string); !ok {
			return bad("a string")
		}
	default:
		return fail(scimerrors.ScimErrorInvalidSyntax, "Operations[%d]: %q has an unknown type.", i, a.Path())
	}
	return nil
}

// checkSub is the library's CoreAttribute.validate for a sub-attribute found in a complex value (v nil when
// absent or null).
func checkSub(i int, a *userschema.Attr, v any) error {
	switch {
	case v == nil:
		if a.Required && a.Mutability != "readOnly" {
			return fail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: %q is required.", i, a.Path())
		}
		return nil
	case a.Mutability == "readOnly":
		return nil
	case !a.MultiValued:
		return checkValue(i, a, v)
	}
	switch t := v.(type) {
	case []any:
		if a.Required && len(t) == 0 {
			return fail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: %q is required.", i, a.Path())
		}
		for _, e := range t {
			if err := checkValue(i, a, e); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		if a.Required && len(t) == 0 {
			return fail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: %q is required.", i, a.Path())
		}
		for k, e := range t {
			if sub := a.Sub(k); sub != nil {
				if err := checkSub(i, sub, e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return fail(scimerrors.ScimErrorInvalidSyntax, "Operations[%d]: the value for %q must be a list.", i, a.Path())
}

// countFold counts the keys of m equal to name without case.
func countFold(m map[string]any, name string) int {
	n := 0
	for k := range m {
		if strings.EqualFold(k, name) {
			n++
		}
	}
	return n
}

// isBase64 is the library's test of a binary value, `^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)?$`:
// padded standard base64, nothing else (no line breaks).
func isBase64(s string) bool {
	if len(s)%4 != 0 {
		return false
	}
	alpha := func(c byte) bool {
		return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/'
	}
	pad := 0
	if n := len(s); n > 0 && s[n-1] == '=' {
		pad = 1
		if s[n-2] == '=' {
			pad = 2
		}
	}
	for j := 0; j < len(s)-pad; j++ {
		if !alpha(s[j]) {
			return false
		}
	}
	return true
}
