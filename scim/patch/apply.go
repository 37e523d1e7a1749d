package patch

import (
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/scim2/filter-parser/v2"

	"github.com/scim-bridge/scim-bridge/scim/internal/userschema"
)

// Apply returns a deep copy of res with ops applied in order (RFC 7644 §3.5.2); res itself is never modified.
// The rules, beyond the RFC text:
//
//   - add on a multi-valued attribute appends the elements not already present and merges the others into the
//     element they repeat (same identity: (type, value), see identity); replace replaces the list; on a complex
//     attribute both merge sub-attributes; a path-less value is applied key by key the same way;
//   - add/replace on attr[filter] or attr[filter].sub changes every matching element. When none matches, add
//     creates one from the filter's equality conditions (`type eq "work"`) plus the value, so that several
//     operations on the same filter build one element, and fails with noTarget if that element would not match
//     the filter; replace fails with noTarget (RFC 7644 §3.5.2.3) except on Entra's attr[type eq "x"].sub, which
//     is an add (see replaceCreates); replace on attr[filter] keeps the filter's conditions in the replacement;
//   - remove drops the attribute, sub-attribute or matching elements, or with a value list exactly the listed
//     elements (compared by their "value" sub-attribute); removing a "value" sub-attribute drops its element;
//     removing what is absent is a no-op; userName (required) cannot be removed;
//   - null as a value, "" as a manager, and an empty list unassign (RFC 7643 §2.5);
//   - setting primary true on one element clears it on the others (RFC 7644 §3.5.2; the first such element of
//     the operation wins); after each operation the attribute it touched holds primary true at most once and no
//     (type, value) pair twice (RFC 7643 §2.4, see NormalizeMultiValued);
//   - unknown sub-attributes and read-only sub-attributes inside values are dropped, as the library does;
//     read-only attributes in a path-less value are ignored, an explicit path to one fails with mutability;
//   - meta is not touched: lastModified and version are the caller's.
//
// Errors are errors.ScimError values with status 400 (invalidPath, mutability, invalidValue, noTarget).
func Apply(res map[string]any, ops []Operation) (out map[string]any, err error) {
	defer func() {
		// apply is fuzzed not to panic; a panic here would be a bug, reported as such rather than as a 400.
		if recover() != nil {
			out, err = nil, fail(scimerrors.ScimErrorInternal, "The PATCH request could not be applied.")
		}
	}()
	return apply(res, ops)
}

func apply(res map[string]any, ops []Operation) (map[string]any, error) {
	out, _ := deepCopy(res).(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	for i, o := range ops {
		if err := applyOp(out, i, o); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func applyOp(res map[string]any, i int, o Operation) error {
	op := strings.ToLower(strings.TrimSpace(o.Op))
	if op != "add" && op != "replace" && op != "remove" {
		return fail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: op must be add, replace or remove.", i)
	}
	path := strings.TrimSpace(o.Path)
	if path != "" {
		p, err := resolve(i, path)
		if err != nil {
			return err
		}
		return applyPath(res, i, op, p, o.Value)
	}
	if op == "remove" {
		return fail(scimerrors.ScimErrorNoTarget, "Operations[%d]: remove needs a path.", i)
	}
	m, ok := o.Value.(map[string]any)
	if !ok {
		return fail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: a path-less %s needs an object value.", i, op)
	}
	for _, k := range sortedKeys(m) {
		if ignoredInValue(k) {
			continue
		}
		p, ok, err := resolveKey(i, k)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if err := applyPath(res, i, op, p, m[k]); err != nil {
			return err
		}
	}
	return nil
}

func applyPath(res map[string]any, i int, op string, p userschema.Path, value any) error {
	if p.Extension != nil {
		return applyExtension(res, i, op, p.Extension, value)
	}
	if op != "remove" && value == nil {
		op = "remove"
	}
	c := container(res, p.Attr, op != "remove")
	if c == nil {
		return nil
	}
	var err error
	switch {
	case p.Filter != nil:
		err = applyFiltered(c, i, op, p, value)
	case p.Sub != nil:
		err = applySub(c, i, op, p.Attr, p.Sub, value)
	default:
		err = applyAttr(c, i, op, p.Attr, value)
	}
	if err != nil {
		return err
	}
	if p.Attr.MultiValued {
		if l, ok := userschema.AsList(c[p.Attr.Name]); ok {
			setList(c, p.Attr.Name, normalizeList(p.Attr, l))
		}
	}
	if p.Attr.Schema.URN != userschema.CoreURN && len(c) == 0 {
		delete(res, p.Attr.Schema.URN)
	}
	return nil
}

func applyExtension(res map[string]any, i int, op string, s *userschema.Schema, value any) error {
	if op == "remove" || value == nil {
		if _, key, ok := userschema.Get(res, s.URN); ok {
			delete(res, key)
		}
		return nil
	}
	m, ok := value.(map[string]any)
	if !ok {
		return fail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: the value for %s must be an object.", i, s.URN)
	}
	for _, k := range sortedKeys(m) {
		a := s.Attr(k)
		if a == nil {
			return fail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: unknown attribute %s in %s.", i, userschema.Quote(k), s.URN)
		}
		if !a.Writable() {
			continue
		}
		if err := applyPath(res, i, op, userschema.Path{Attr: a}, m[k]); err != nil {
			return err
		}
	}
	return nil
}

// container returns the object that holds a: the resource, or the extension object under its canonical URN key
// (created when create is set). It returns nil when there is nothing to change.
func container(res map[string]any, a *userschema.Attr, create bool) map[string]any {
	if a.Schema.URN == userschema.CoreURN {
		return res
	}
	v, _ := canon(res, a.Schema.URN)
	m, ok := v.(map[string]any)
	if !ok {
		if !create {
			return nil
		}
		m = map[string]any{}
		res[a.Schema.URN] = m
	}
	return m
}

// canon moves a key spelled in another case to the canonical name and returns its value.
func canon(m map[string]any, name string) (any, bool) {
	v, key, ok := userschema.Get(m, name)
	if ok && key != name {
		delete(m, key)
		m[name] = v
	}
	return v, ok
}

func applyAttr(c map[string]any, i int, op string, a *userschema.Attr, value any) error {
	cur, _ := canon(c, a.Name)
	if op == "remove" {
		if value != nil && a.MultiValued {
			list, _ := userschema.AsList(cur)
			kept := removeListed(a, list, value)
			setList(c, a.Name, kept)
			return nil
		}
		if a.Required {
			return fail(scimerrors.ScimErrorMutability, "Operations[%d]: %q is required and cannot be removed.", i, a.Name)
		}
		delete(c, a.Name)
		return nil
	}
	if !a.MultiValued {
		if !a.Complex() {
			v, err := sanitizeSimple(i, a, value)
			if err != nil {
				return err
			}
			c[a.Name] = v
			return nil
		}
		nv, rm, err := sanitizeComplex(i, a, value)
		if err != nil {
			return err
		}
		if rm {
			delete(c, a.Name)
			return nil
		}
		m, _ := cur.(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		merge(m, nv)
		if len(m) == 0 {
			delete(c, a.Name)
		} else {
			c[a.Name] = m
		}
		return nil
	}
	items, err := sanitizeList(i, a, value)
	if err != nil {
		return err
	}
	if op == "replace" {
		// The whole list is the client's: like a PUT body, its first primary wins (applyPath normalises).
		setList(c, a.Name, items)
		return nil
	}
	// One index of the existing values keeps add linear: 20,000 e-mails in one request used to take a minute,
	// comparing every new value with every stored one.
	list, _ := userschema.AsList(cur)
	list = append(make([]any, 0, len(list)+len(items)), list...)
	index := make(map[string]int, len(list)+len(items))
	for j, e := range list {
		if k := identity(a, e); !hasKey(index, k) {
			index[k] = j
		}
	}
	touched := make([]int, 0, len(items))
	for _, it := range items {
		k := identity(a, it)
		at, ok := index[k]
		if !ok {
			list = append(list, it)
			at = len(list) - 1
			index[k] = at
		} else if m, ok := list[at].(map[string]any); ok {
			// The value is already there (RFC 7644 §3.5.2.1: no second copy); what the client says about it
			// (display, primary) is kept.
			if nm, ok := it.(map[string]any); ok {
				merge(m, nm)
			}
		}
		touched = append(touched, at)
	}
	enforcePrimary(list, touched)
	setList(c, a.Name, list)
	return nil
}

// applySub handles attr.sub without a filter: the sub-attribute of a complex attribute, or of every element of
// a multi-valued one (one element is created if there is none).
func applySub(c map[string]any, i int, op string, a, sub *userschema.Attr, value any) error {
	cur, _ := canon(c, a.Name)
	if !a.MultiValued {
		m, _ := cur.(map[string]any)
		if op == "remove" || (managerLike(a) && sub.Name == "value" && value == "") {
			if m == nil {
				return nil
			}
			if _, key, ok := userschema.Get(m, sub.Name); ok {
				delete(m, key)
			}
			if len(m) == 0 || (managerLike(a) && sub.Name == "value") {
				delete(c, a.Name)
			}
			return nil
		}
		v, err := sanitizeSimple(i, sub, value)
		if err != nil {
			return err
		}
		if m == nil {
			m = map[string]any{}
			c[a.Name] = m
		}
		setSub(m, sub.Name, v)
		return nil
	}
	list, _ := userschema.AsList(cur)
	list = append([]any(nil), list...)
	var idx []int
	for j, e := range list {
		if _, ok := e.(map[string]any); ok {
			idx = append(idx, j)
		}
	}
	if op == "remove" {
		setList(c, a.Name, removeSub(list, idx, sub))
		return nil
	}
	v, err := sanitizeSimple(i, sub, value)
	if err != nil {
		return err
	}
	if len(idx) == 0 {
		list = append(list, map[string]any{})
		idx = []int{len(list) - 1}
	}
	for _, j := range idx {
		setSub(list[j].(map[string]any), sub.Name, v)
	}
	if sub.Name == "primary" {
		enforcePrimary(list, idx)
	}
	setList(c, a.Name, list)
	return nil
}

func applyFiltered(c map[string]any, i int, op string, p userschema.Path, value any) error {
	a := p.Attr
	cur, _ := canon(c, a.Name)
	list, _ := userschema.AsList(cur)
	list = append([]any(nil), list...)
	var matched []int
	for j, e := range list {
		if m, ok := e.(map[string]any); ok && userschema.MatchElement(p.Filter, a, m) {
			matched = append(matched, j)
		}
	}
	if op == "remove" {
		if p.Sub != nil {
			setList(c, a.Name, removeSub(list, matched, p.Sub))
			return nil
		}
		setList(c, a.Name, drop(list, matched))
		return nil
	}

	var patch map[string]any
	if p.Sub != nil {
		v, err := sanitizeSimple(i, p.Sub, value)
		if err != nil {
			return err
		}
		patch = map[string]any{p.Sub.Name: v}
	} else {
		nv, _, err := sanitizeComplex(i, a, value)
		if err != nil {
			return err
		}
		patch = nv
	}
	eq := userschema.EqualityAttrs(p.Filter, a)
	if len(matched) == 0 {
		if op == "replace" && !replaceCreates(p) {
			return fail(scimerrors.ScimErrorNoTarget, "Operations[%d]: no element of %q matches the filter of the "+
				"path, so there is nothing to replace.", i, a.Name)
		}
		elem := map[string]any{}
		merge(elem, eq)
		merge(elem, patch)
		if !userschema.MatchElement(p.Filter, a, elem) {
			return fail(scimerrors.ScimErrorNoTarget, "Operations[%d]: no element of %q matches the filter, and the "+
				"filter does not describe one that could be created.", i, a.Name)
		}
		list = append(list, elem)
		matched = []int{len(list) - 1}
	} else {
		for _, j := range matched {
			m := list[j].(map[string]any)
			if op == "replace" && p.Sub == nil {
				// The replacement keeps the conditions that selected the element, so it stays addressable.
				m = map[string]any{}
				merge(m, eq)
				list[j] = m
			}
			merge(m, patch)
		}
	}
	enforcePrimary(list, matched)
	setList(c, a.Name, list)
	return nil
}

// replaceCreates reports whether a replace on the filtered path p that matches no element creates one, as an add
// does, instead of failing with noTarget.
//
// RFC 7644 §3.5.2.3 says a replace whose value filter matches nothing SHALL fail with noTarget, and so it does for
// every other shape (attr[filter] without a sub-attribute, value or and/or filters: `emails[value eq "x"].type`).
// The one exception is the shape Microsoft Entra ID uses to provision its mapped attributes: a replace on
// attr[type eq "x"].sub, e.g. `emails[type eq "work"].value` or `phoneNumbers[type eq "mobile"].value`,
// sent as a delta for a user who has no element of that type yet (Entra's default attribute mappings;
// idp-traffic.md §2.4; Captain-P-Goldfish/SCIM-SDK#416 and #668, better-auth/better-auth#10682,
// sourcegraph-public-snapshot#49200). Entra expects the element to be created, and refusing it fails the whole
// PATCH, taking every other change bundled with it down too. The same RFC section also says a replace whose
// target "does not exist" is treated as an add, and such a path names one sub-attribute of the element that
// has that type, which does not exist yet: that is the reading taken here. The type is not checked against a
// list: Entra admins map attributes to any type (the default mappings use work, mobile, fax and other), so
// `emails[type eq "home"].value` is created too.
func replaceCreates(p userschema.Path) bool {
	if p.Sub == nil {
		return false
	}
	e, ok := p.Filter.(*filter.AttributeExpression)
	if !ok || e == nil || e.Operator != filter.EQ {
		return false
	}
	ap := e.AttributePath
	if ap.URIPrefix != nil || ap.SubAttribute != nil || !strings.EqualFold(ap.AttributeName, "type") {
		return false
	}
	_, isString := e.CompareValue.(string)
	return isString
}

func hasKey(m map[string]int, k string) bool {
	_, ok := m[k]
	return ok
}

// merge copies the sub-attributes of patch into m; a nil value unassigns.
func merge(m, patch map[string]any) {
	for k, v := range patch {
		setSub(m, k, v)
	}
}

func setSub(m map[string]any, name string, v any) {
	if _, key, ok := userschema.Get(m, name); ok {
		delete(m, key)
	}
	if v != nil {
		m[name] = v
	}
}

func setList(c map[string]any, name string, list []any) {
	if len(list) == 0 {
		delete(c, name)
		return
	}
	c[name] = list
}

// drop returns list without the elements at the (ascending) indices idx.
func drop(list []any, idx []int) []any {
	out := make([]any, 0, len(list))
	k := 0
	for j, e := range list {
		if k < len(idx) && idx[k] == j {
			k++
			continue
		}
		out = append(out, e)
	}
	return out
}

// removeSub removes sub from the elements at idx; an element that loses its "value" is dropped, since it no
// longer says anything (an email without an address).
func removeSub(list []any, idx []int, sub *userschema.Attr) []any {
	var gone []int
	for _, j := range idx {
		m := list[j].(map[string]any)
		if _, key, ok := userschema.Get(m, sub.Name); ok {
			delete(m, key)
		}
		if sub.Name == "value" || len(m) == 0 {
			gone = append(gone, j)
		}
	}
	return drop(list, gone)
}

// removeListed removes the elements listed in value (Entra's legacy member-removal shape), matching complex
// elements by their "value" sub-attribute with the sub-attribute's case rule, and other values exactly. The
// listed values are indexed once, so that removing many values stays linear like add.
func removeListed(a *userschema.Attr, list []any, value any) []any {
	want, ok := userschema.AsList(value)
	if !ok {
		want = []any{value}
	}
	valueAttr := a.Sub("value")
	byValue := a.Complex() && valueAttr != nil
	key := func(e any, listed bool) (string, bool) {
		if !byValue {
			return valueKey(nil, e), true
		}
		if s, ok := e.(string); ok && listed {
			return valueKey(valueAttr, s), true // a bare string names the element's value (a member id)
		}
		m, ok := e.(map[string]any)
		if !ok {
			return "", false
		}
		v, _, ok := userschema.Get(m, "value")
		if !ok {
			return "", false
		}
		return valueKey(valueAttr, v), true
	}
	gone := make(map[string]bool, len(want))
	for _, w := range want {
		if k, ok := key(w, true); ok {
			gone[k] = true
		}
	}
	out := make([]any, 0, len(list))
	for _, e := range list {
		if k, ok := key(e, false); ok && gone[k] {
			continue
		}
		out = append(out, e)
	}
	return out
}

// enforcePrimary keeps primary true on at most one element when an operation set it (RFC 7644 §3.5.2): the first
// of the touched elements that has it, as a POST body's first primary wins.
func enforcePrimary(list []any, touched []int) {
	winner := -1
	for _, j := range touched {
		if j >= 0 && j < len(list) && isPrimary(list[j]) {
			winner = j
			break
		}
	}
	if winner < 0 {
		return
	}
	for j, e := range list {
		if j != winner && isPrimary(e) {
			m := e.(map[string]any)
			setSub(m, "primary", false)
		}
	}
}

func isPrimary(e any) bool {
	m, ok := e.(map[string]any)
	if !ok {
		return false
	}
	v, _, _ := userschema.Get(m, "primary")
	b, _ := v.(bool)
	return b
}

// deepCopy copies maps and slices so that the result shares nothing mutable with v.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = deepCopy(e)
		}
		return out
	case []any, []map[string]any, []string:
		l, _ := userschema.AsList(t)
		out := make([]any, len(l))
		for j, e := range l {
			out[j] = deepCopy(e)
		}
		return out
	}
	return v
}
