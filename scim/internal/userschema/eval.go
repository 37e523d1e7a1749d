package userschema

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/scim2/filter-parser/v2"
)

// maxDepth bounds recursion over expressions, which the parser builds without a depth limit.
const maxDepth = 64

// leaf returns the attribute whose values a comparison on top (and optionally sub) compares: a complex
// attribute compared directly stands for its "value" sub-attribute. It returns nil when there is none.
func leaf(top, sub *Attr) *Attr {
	switch {
	case sub != nil:
		return sub
	case top.Complex():
		return top.Sub("value")
	}
	return top
}

// ValidateFilter checks a resource-level filter expression: known attributes, and operators and values that
// suit each attribute's type.
func ValidateFilter(expr filter.Expression) error { return validate(expr, nil, 0) }

// ValidateValueFilter checks the filter inside "parent[…]", whose attribute names are parent's sub-attributes.
func ValidateValueFilter(expr filter.Expression, parent *Attr) error {
	return validate(expr, parent, 0)
}

func validate(expr filter.Expression, parent *Attr, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("filter is nested too deeply")
	}
	switch e := expr.(type) {
	case *filter.AttributeExpression:
		if e == nil {
			return fmt.Errorf("empty expression")
		}
		top, sub, err := resolveIn(e.AttributePath, parent)
		if err != nil {
			return err
		}
		return checkOperator(top, sub, e.Operator, e.CompareValue)
	case *filter.LogicalExpression:
		if e == nil || (e.Operator != filter.AND && e.Operator != filter.OR) {
			return fmt.Errorf("unsupported logical operator")
		}
		if err := validate(e.Left, parent, depth+1); err != nil {
			return err
		}
		return validate(e.Right, parent, depth+1)
	case *filter.NotExpression:
		if e == nil {
			return fmt.Errorf("empty expression")
		}
		return validate(e.Expression, parent, depth+1)
	case *filter.ValuePath:
		if e == nil {
			return fmt.Errorf("empty expression")
		}
		if parent != nil {
			return fmt.Errorf("value filters cannot be nested")
		}
		top, sub, err := ResolveAttrPath(e.AttributePath)
		if err != nil {
			return err
		}
		if sub != nil || !top.Complex() {
			return fmt.Errorf("value filter on %s: only complex attributes can be filtered", Quote(e.AttributePath.String()))
		}
		return validate(e.ValueFilter, top, depth+1)
	}
	return fmt.Errorf("unsupported expression")
}

// resolveIn resolves an attribute path at resource level (parent nil) or inside a value filter on parent, where
// "type" and "emails.type" both name emails' sub-attribute.
func resolveIn(ap filter.AttributePath, parent *Attr) (top, sub *Attr, err error) {
	if parent == nil {
		return ResolveAttrPath(ap)
	}
	if uri := ap.URI(); uri != "" && ForURN(uri) != parent.Schema {
		return nil, nil, fmt.Errorf("attribute %s is not a sub-attribute of %q", Quote(ap.String()), parent.Name)
	}
	name := ap.AttributeName
	if ap.SubAttribute != nil {
		if !strings.EqualFold(name, parent.Name) {
			return nil, nil, fmt.Errorf("attribute %s is not a sub-attribute of %q", Quote(ap.String()), parent.Name)
		}
		name = *ap.SubAttribute
	}
	s := parent.Sub(name)
	if s == nil {
		return nil, nil, fmt.Errorf("unknown sub-attribute %s of %q", Quote(name), parent.Name)
	}
	return s, nil, nil
}

func checkOperator(top, sub *Attr, op filter.CompareOperator, value any) error {
	target := leaf(top, sub)
	name := top.Path()
	if sub != nil {
		name = sub.Path()
	}
	switch op {
	case filter.PR:
		return nil
	case filter.EQ, filter.NE, filter.CO, filter.SW, filter.EW, filter.GT, filter.GE, filter.LT, filter.LE:
	default:
		return fmt.Errorf("unknown operator %s", Quote(string(op)))
	}
	if target == nil {
		return fmt.Errorf("attribute %q is complex: compare one of its sub-attributes", name)
	}
	if value == nil {
		if op != filter.EQ && op != filter.NE {
			return fmt.Errorf("operator %q cannot compare with null", op)
		}
		return nil
	}
	ordering := op == filter.GT || op == filter.GE || op == filter.LT || op == filter.LE
	substring := op == filter.CO || op == filter.SW || op == filter.EW
	switch target.Type {
	case TypeBoolean:
		if ordering || substring {
			return fmt.Errorf("operator %q is not supported on boolean attribute %q", op, name)
		}
		if _, ok := value.(bool); !ok {
			return fmt.Errorf("attribute %q is boolean: compare it with true or false", name)
		}
	case TypeDecimal, TypeInteger:
		if substring {
			return fmt.Errorf("operator %q is not supported on numeric attribute %q", op, name)
		}
		if _, ok := Number(value); !ok {
			return fmt.Errorf("attribute %q is numeric: compare it with a number", name)
		}
	case TypeDateTime:
		s, ok := value.(string)
		if !ok {
			return fmt.Errorf("attribute %q is a dateTime: compare it with a quoted RFC 3339 string", name)
		}
		if !substring {
			if _, ok := ParseTime(s); !ok {
				return fmt.Errorf("value for %q is not an RFC 3339 dateTime", name)
			}
		}
	case TypeBinary:
		if ordering {
			return fmt.Errorf("operator %q is not supported on binary attribute %q", op, name)
		}
		fallthrough
	default:
		if _, ok := text(value); !ok {
			return fmt.Errorf("attribute %q is a string: compare it with a quoted string", name)
		}
	}
	return nil
}

// text returns a compare value usable against a string attribute; a number keeps the digits it was written
// with, because an unquoted numeric externalId is still an identifier.
func text(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		return string(t), true
	}
	return "", false
}

// Match reports whether the resource-level expression matches res. It never panics on a well-typed expression
// and treats values of unexpected Go types as non-matching.
func Match(expr filter.Expression, res map[string]any) bool { return match(expr, res, nil, 0) }

// MatchElement reports whether the value filter expr on parent matches one element of it.
func MatchElement(expr filter.Expression, parent *Attr, elem map[string]any) bool {
	return match(expr, elem, parent, 0)
}

func match(expr filter.Expression, m map[string]any, parent *Attr, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch e := expr.(type) {
	case *filter.AttributeExpression:
		if e == nil {
			return false
		}
		top, sub, err := resolveIn(e.AttributePath, parent)
		if err != nil {
			return false
		}
		if parent != nil {
			v, _, _ := Get(m, top.Name)
			return compareAll(top, e.Operator, []any{v}, Present(v), e.CompareValue)
		}
		raw, vals := collect(m, top, sub)
		present := Present(raw)
		if sub != nil {
			present = false
			for _, v := range vals {
				present = present || Present(v)
			}
		}
		return compareAll(leaf(top, sub), e.Operator, vals, present, e.CompareValue)
	case *filter.LogicalExpression:
		if e == nil {
			return false
		}
		l := match(e.Left, m, parent, depth+1)
		if e.Operator == filter.AND {
			return l && match(e.Right, m, parent, depth+1)
		}
		return l || match(e.Right, m, parent, depth+1)
	case *filter.NotExpression:
		return e != nil && !match(e.Expression, m, parent, depth+1)
	case *filter.ValuePath:
		if e == nil || parent != nil {
			return false
		}
		top, sub, err := ResolveAttrPath(e.AttributePath)
		if err != nil || sub != nil || !top.Complex() {
			return false
		}
		for _, el := range Elements(container(m, top), top) {
			if match(e.ValueFilter, el, top, depth+1) {
				return true
			}
		}
	}
	return false
}

// container returns the object holding top in res: res itself, or the extension object.
func container(res map[string]any, top *Attr) map[string]any {
	if top.Schema == nil || top.Schema.URN == CoreURN {
		return res
	}
	v, _, _ := Get(res, top.Schema.URN)
	m, _ := v.(map[string]any)
	return m
}

// Elements returns the complex values of top in c as a list: the elements of a multi-valued attribute, or the
// single object. Non-object elements are skipped.
func Elements(c map[string]any, top *Attr) []map[string]any {
	v, _, _ := Get(c, top.Name)
	if m, ok := v.(map[string]any); ok {
		return []map[string]any{m}
	}
	l, _ := AsList(v)
	out := make([]map[string]any, 0, len(l))
	for _, e := range l {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// collect returns top's raw value in res and the leaf values a comparison looks at.
func collect(res map[string]any, top, sub *Attr) (raw any, vals []any) {
	c := container(res, top)
	raw, _, _ = Get(c, top.Name)
	if !top.Complex() {
		if l, ok := AsList(raw); ok && top.MultiValued {
			return raw, l
		}
		return raw, []any{raw}
	}
	name := "value"
	if sub != nil {
		name = sub.Name
	}
	for _, el := range Elements(c, top) {
		v, _, _ := Get(el, name)
		vals = append(vals, v)
	}
	return raw, vals
}

// compareAll applies op to the values: "ne" matches when the attribute is present and no value equals the
// compare value, every other operator when any value satisfies it.
func compareAll(a *Attr, op filter.CompareOperator, vals []any, present bool, want any) bool {
	switch {
	case op == filter.PR:
		return present
	case want == nil && op == filter.EQ:
		return !present
	case want == nil && op == filter.NE:
		return present
	case a == nil:
		return false
	case op == filter.NE:
		if !present {
			return false
		}
		for _, v := range vals {
			if compare(a, filter.EQ, v, want) {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if compare(a, op, v, want) {
			return true
		}
	}
	return false
}

func compare(a *Attr, op filter.CompareOperator, have, want any) bool {
	switch a.Type {
	case TypeBoolean:
		h, ok1 := have.(bool)
		w, ok2 := want.(bool)
		return ok1 && ok2 && op == filter.EQ && h == w
	case TypeDecimal, TypeInteger:
		h, ok1 := Number(have)
		w, ok2 := Number(want)
		return ok1 && ok2 && order(op, cmp3(h < w, h > w))
	case TypeDateTime:
		h, ok1 := have.(string)
		w, ok2 := want.(string)
		if !ok1 || !ok2 {
			return false
		}
		if op == filter.CO || op == filter.SW || op == filter.EW {
			return substr(op, strings.ToLower(h), strings.ToLower(w))
		}
		ht, ok1 := ParseTime(h)
		wt, ok2 := ParseTime(w)
		return ok1 && ok2 && order(op, ht.Compare(wt))
	}
	h, ok1 := have.(string)
	w, ok2 := text(want)
	if !ok1 || !ok2 {
		return false
	}
	if !a.CaseExact {
		h, w = strings.ToLower(h), strings.ToLower(w)
	}
	if op == filter.CO || op == filter.SW || op == filter.EW {
		return substr(op, h, w)
	}
	return order(op, strings.Compare(h, w))
}

func cmp3(less, greater bool) int {
	switch {
	case less:
		return -1
	case greater:
		return 1
	}
	return 0
}

func order(op filter.CompareOperator, c int) bool {
	switch op {
	case filter.EQ:
		return c == 0
	case filter.GT:
		return c > 0
	case filter.GE:
		return c >= 0
	case filter.LT:
		return c < 0
	case filter.LE:
		return c <= 0
	}
	return false
}

func substr(op filter.CompareOperator, h, w string) bool {
	switch op {
	case filter.CO:
		return strings.Contains(h, w)
	case filter.SW:
		return strings.HasPrefix(h, w)
	case filter.EW:
		return strings.HasSuffix(h, w)
	}
	return false
}

// EqualityAttrs returns the sub-attribute values that a value filter on parent pins with "eq" in a conjunction
// (`type eq "work" and primary eq true`), typed for the sub-attribute, so that an element matching the filter can
// be created.
func EqualityAttrs(expr filter.Expression, parent *Attr) map[string]any {
	out := map[string]any{}
	equalities(expr, parent, out, 0)
	return out
}

func equalities(expr filter.Expression, parent *Attr, out map[string]any, depth int) {
	if depth > maxDepth {
		return
	}
	switch e := expr.(type) {
	case *filter.AttributeExpression:
		if e == nil || e.Operator != filter.EQ || e.CompareValue == nil {
			return
		}
		s, _, err := resolveIn(e.AttributePath, parent)
		if err != nil {
			return
		}
		switch s.Type {
		case TypeBoolean:
			if b, ok := e.CompareValue.(bool); ok {
				out[s.Name] = b
			}
		case TypeDecimal, TypeInteger:
			if _, ok := Number(e.CompareValue); ok {
				out[s.Name] = e.CompareValue
			}
		default:
			if t, ok := text(e.CompareValue); ok {
				out[s.Name] = t
			}
		}
	case *filter.LogicalExpression:
		if e != nil && e.Operator == filter.AND {
			equalities(e.Left, parent, out, depth+1)
			equalities(e.Right, parent, out, depth+1)
		}
	}
}
