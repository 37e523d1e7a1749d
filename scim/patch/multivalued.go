package patch

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/scim-bridge/scim-bridge/scim/internal/userschema"
)

// NormalizeMultiValued makes every multi-valued attribute of a User resource (core and enterprise extension) obey
// RFC 7643 §2.4, in place: primary true appears at most once, and no (type, value) pair appears twice. It is for
// whole-resource bodies (POST, PUT), where no value is "the new one":
//
//   - the first element with primary true keeps it; every later one gets primary false;
//   - of elements with the same identity (see identity) the first is kept and the later ones are dropped; when a
//     dropped duplicate was the primary one, the element kept in its place becomes primary, so that the client's
//     choice of primary value survives;
//   - everything else, order included, is left as it was.
func NormalizeMultiValued(res map[string]any) {
	if res == nil {
		return
	}
	normalizeIn(res, userschema.Core())
	if v, _, ok := userschema.Get(res, userschema.EnterpriseURN); ok {
		if m, ok := v.(map[string]any); ok {
			normalizeIn(m, userschema.Enterprise())
		}
	}
}

func normalizeIn(c map[string]any, s *userschema.Schema) {
	for _, a := range s.Attrs() {
		if !a.MultiValued || !a.Complex() {
			continue // schemas: a list of URNs, not values with a type and a primary
		}
		v, key, ok := userschema.Get(c, a.Name)
		if !ok {
			continue
		}
		if list, ok := userschema.AsList(v); ok {
			c[key] = normalizeList(a, list)
		}
	}
}

// normalizeList applies NormalizeMultiValued's rules to the values of a. It runs in time linear in len(list):
// PATCH bodies with tens of thousands of values arrive (issue 12 §9).
func normalizeList(a *userschema.Attr, list []any) []any {
	first := -1
	for j, e := range list {
		if isPrimary(e) {
			first = j
			break
		}
	}
	seen := make(map[string]int, len(list))
	out := make([]any, 0, len(list))
	winner := -1 // index in out
	for j, e := range list {
		k := identity(a, e)
		if at, dup := seen[k]; dup {
			if j == first {
				winner = at
			}
			continue
		}
		seen[k] = len(out)
		if j == first {
			winner = len(out)
		}
		out = append(out, e)
	}
	for j, e := range out {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		switch {
		case j == winner && !isPrimary(m):
			setSub(m, "primary", true)
		case j != winner && isPrimary(m):
			setSub(m, "primary", false)
		}
	}
	return out
}

// identity is the key under which two values of the multi-valued attribute a are "the same value". RFC 7643 §2.4
// says a service provider "SHOULD NOT return the same (type, value) combination more than once per attribute", so
// for elements with a "value" sub-attribute that pair is the identity: type compared without case (RFC 7643 gives
// type caseExact false everywhere), value by its sub-attribute's caseExact (emails compare without case). Elements
// without a value (addresses) are identified by all their sub-attributes but primary, which describes the value
// rather than being part of it.
func identity(a *userschema.Attr, e any) string {
	m, ok := e.(map[string]any)
	if !ok || !a.Complex() {
		return "s\x00" + valueKey(a, e)
	}
	if va := a.Sub("value"); va != nil {
		if v, _, ok := userschema.Get(m, "value"); ok && v != nil {
			t, _, _ := userschema.Get(m, "type")
			return "tv\x00" + valueKey(a.Sub("type"), t) + "\x00" + valueKey(va, v)
		}
	}
	var b strings.Builder
	b.WriteString("e\x00")
	keys := make([]string, 0, len(m))
	for k := range m {
		if !strings.EqualFold(k, "primary") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(strconv.Quote(strings.ToLower(k)))
		b.WriteByte(':')
		b.WriteString(valueKey(a.Sub(k), m[k]))
		b.WriteByte(',')
	}
	return b.String()
}

// valueKey renders v so that two values compare equal exactly when their keys are equal: strings of an attribute
// that is not caseExact are folded, numbers compare by value whatever their decoded form. a may be nil (exact).
func valueKey(a *userschema.Attr, v any) string {
	var b strings.Builder
	writeKey(&b, a, v)
	return b.String()
}

func writeKey(b *strings.Builder, a *userschema.Attr, v any) {
	if f, ok := userschema.Number(v); ok {
		b.WriteByte('n')
		b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
		return
	}
	switch t := v.(type) {
	case nil:
		b.WriteByte('0')
	case bool:
		b.WriteString(strconv.FormatBool(t))
	case string:
		if a != nil && !a.CaseExact && !a.Complex() {
			t = fold(t)
		}
		b.WriteString(strconv.Quote(t))
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for _, k := range keys {
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			writeKey(b, a.Sub(k), t[k])
			b.WriteByte(',')
		}
		b.WriteByte('}')
	default:
		if l, ok := userschema.AsList(v); ok {
			b.WriteByte('[')
			for _, e := range l {
				writeKey(b, a, e)
				b.WriteByte(',')
			}
			b.WriteByte(']')
			return
		}
		// Not a JSON type (a hand-built resource): compared by its Go type and printed form.
		b.WriteString(strconv.Quote(fmt.Sprintf("?%T:%v", v, v)))
	}
}

// fold maps a string to a case-insensitive form: upper then lower case, so that letters whose lower cases differ
// but upper cases agree (ſ and s) fold together, as strings.EqualFold would have them.
func fold(s string) string {
	return strings.ToLower(strings.ToUpper(s))
}
