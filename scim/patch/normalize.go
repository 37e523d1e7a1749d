package patch

import (
	"bytes"
	"encoding/json"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scim-bridge/scim-bridge/scim/internal/userschema"
)

// Normalize rewrites a PatchOp body as Okta or Entra send it into a canonical body that
// github.com/elimity-com/scim's PATCH validation can judge without its global string-value switch, and that Parse
// reads. It does not check value types: Decode, the request path, applies these rules without encoding a body and
// then the library's checks. The rules:
//
//   - the Operations key in any case, op in any case (Entra sends "Replace"); schemas is added when missing;
//   - every path-less add/replace is expanded into one operation per key, with a canonical path: plain keys
//     ("active"), dotted keys ("name.givenName"), URN-prefixed keys (core or enterprise) and the attributes of a
//     nested enterprise extension object. id, meta and schemas keys are dropped (Okta replays id), and so are
//     other read-only attributes; an empty result becomes one path-less replace with an empty value;
//   - "True"/"false" strings (any case) become booleans where the schema says the target is boolean, at any
//     depth of the value; other strings are left alone;
//   - manager given as a string becomes {"value": id}, a one-element legacy list is unwrapped, and a manager of
//     "", null or {"value": ""} becomes a remove of the manager;
//   - add or replace with a null value becomes a remove (RFC 7643 §2.5: null means unassigned);
//   - bare enterprise attribute names ("manager", "department") get the extension URN.
//
// An explicit path to id, meta, groups or schemas fails with mutability; an unknown path with invalidPath;
// malformed JSON with invalidSyntax; a missing or empty Operations list with invalidValue. All errors are
// errors.ScimError values with status 400.
func Normalize(body []byte) ([]byte, error) {
	raw, err := decodeBody(body)
	if err != nil {
		return nil, err
	}
	ops, err := normalizeOps(raw)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(ops))
	for j, o := range ops {
		m := map[string]any{"op": o.Op}
		if o.Path != "" {
			m["path"] = o.Path
		}
		if o.Value != nil {
			m["value"] = o.Value
		}
		out[j] = m
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]any{"schemas": []string{PatchOpURN}, "Operations": out}); err != nil {
		return nil, fail(scimerrors.ScimErrorInvalidValue, "The PATCH body contains a value that cannot be encoded.")
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// normOp is one operation of a normalised body: what Parse reads back from Normalize's output, with the path it
// resolved to (Attr nil for the path-less placeholder) and the index of the request's operation it comes from.
type normOp struct {
	Operation
	target userschema.Path
	src    int
}

// normalizeOps applies Normalize's rules to the operations of a body, in order.
func normalizeOps(raw []rawOp) ([]normOp, error) {
	out := make([]normOp, 0, len(raw))
	for i, r := range raw {
		var err error
		if out, err = normalizeOp(out, i, r); err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		// Everything was dropped (e.g. Okta's {"id": …} alone); the library refuses an empty list.
		out = append(out, normOp{Operation: Operation{Op: "replace", Value: map[string]any{}}})
	}
	return out, nil
}

func normalizeOp(out []normOp, i int, r rawOp) ([]normOp, error) {
	if r.path == "" {
		if r.op == "remove" {
			return nil, fail(scimerrors.ScimErrorNoTarget, "Operations[%d]: remove needs a path.", i)
		}
		m, ok := r.value.(map[string]any)
		if !ok {
			return nil, fail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: a path-less %s needs an object value.", i, r.op)
		}
		return expand(out, i, r.op, m)
	}
	p, err := resolve(i, r.path)
	if err != nil {
		return nil, err
	}
	text := p.String()
	if text == "" {
		text = r.path // a value filter is passed on as written
	}
	if p.Extension != nil {
		// The library cannot parse a bare extension URN as a path, so the object is spelled out per attribute.
		if r.op == "remove" {
			return removeAll(out, i, p.Extension), nil
		}
		m, ok := r.value.(map[string]any)
		if !ok {
			if r.value == nil {
				return removeAll(out, i, p.Extension), nil
			}
			return nil, fail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: the value for %s must be an object.", i, p.Extension.URN)
		}
		return expandExtension(out, i, r.op, p.Extension, m)
	}
	return pathOp(out, i, r.op, p, text, r.value), nil
}

// expand turns a path-less value into one operation per attribute.
func expand(out []normOp, i int, op string, m map[string]any) ([]normOp, error) {
	for _, k := range sortedKeys(m) {
		if ignoredInValue(k) {
			continue
		}
		v := m[k]
		p, ok, err := resolveKey(i, k)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if p.Extension != nil {
			switch ext := v.(type) {
			case nil:
				out = removeAll(out, i, p.Extension)
			case map[string]any:
				if out, err = expandExtension(out, i, op, p.Extension, ext); err != nil {
					return nil, err
				}
			default:
				return nil, fail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: the value for %s must be an object.", i, p.Extension.URN)
			}
			continue
		}
		text := p.String()
		if text == "" {
			text = strings.TrimSpace(k)
		}
		out = pathOp(out, i, op, p, text, v)
	}
	return out, nil
}

func expandExtension(out []normOp, i int, op string, s *userschema.Schema, m map[string]any) ([]normOp, error) {
	for _, k := range sortedKeys(m) {
		a := s.Attr(k)
		if a == nil {
			return nil, fail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: unknown attribute %s in %s.", i, userschema.Quote(k), s.URN)
		}
		if !a.Writable() {
			continue
		}
		out = pathOp(out, i, op, userschema.Path{Attr: a}, a.Path(), m[k])
	}
	return out, nil
}

// removeAll removes every writable attribute of an extension: a null extension object unassigns all of them.
func removeAll(out []normOp, i int, s *userschema.Schema) []normOp {
	for _, a := range s.Attrs() {
		if a.Writable() {
			out = append(out, normOp{Operation: Operation{Op: "remove", Path: a.Path()}, target: userschema.Path{Attr: a}, src: i})
		}
	}
	return out
}

// pathOp appends the canonical operation for one path.
func pathOp(out []normOp, i int, op string, p userschema.Path, text string, value any) []normOp {
	emit := func(op, text string, p userschema.Path, value any) []normOp {
		return append(out, normOp{Operation: Operation{Op: op, Path: text, Value: value}, target: p, src: i})
	}
	element := p.Filter != nil && p.Sub == nil
	if op == "remove" {
		if value != nil {
			value, _ = coerce(p.Target(), value, element)
		}
		return emit("remove", text, p, value)
	}
	if value == nil {
		return emit("remove", text, p, nil)
	}
	// manager.value set to "" unassigns the manager.
	if p.Sub != nil && p.Filter == nil && managerLike(p.Attr) && p.Sub.Name == "value" && value == "" {
		return emit("remove", p.Attr.Path(), userschema.Path{Attr: p.Attr}, nil)
	}
	v, rm := coerce(p.Target(), value, element)
	if rm {
		return emit("remove", text, p, nil)
	}
	return emit(op, text, p, v)
}

// managerLike reports single-valued complex attributes with a "value" sub-attribute (the enterprise manager):
// IdPs send them as a bare id.
func managerLike(a *userschema.Attr) bool {
	return a.Complex() && !a.MultiValued && a.Sub("value") != nil
}

// parseBool accepts the spellings Entra uses for booleans, in any case.
func parseBool(s string) (bool, bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// coerce rewrites the IdP shapes inside a value for attribute a: boolean strings and manager ids. element is set
// when the value is one element of a multi-valued attribute (a filtered path). remove reports a value that
// unassigns a manager-like attribute. Lists and objects are rewritten in place: every value is a part of the
// body's own decoded tree that no other operation holds.
func coerce(a *userschema.Attr, v any, element bool) (out any, remove bool) {
	switch {
	case a.Type == userschema.TypeBoolean:
		if s, ok := v.(string); ok {
			if b, ok := parseBool(s); ok {
				return b, false
			}
		}
		return v, false
	case a.Complex() && a.MultiValued && !element:
		if l, ok := v.([]any); ok {
			for j, e := range l {
				l[j], _ = coerce(a, e, true)
			}
			return l, false
		}
		return coerce(a, v, true)
	case a.Complex():
		if managerLike(a) {
			if l, ok := v.([]any); ok && len(l) == 1 {
				v = l[0]
			}
			if s, ok := v.(string); ok {
				if s == "" {
					return nil, true
				}
				return map[string]any{"value": s}, false
			}
		}
		m, ok := v.(map[string]any)
		if !ok {
			return v, false
		}
		for k, e := range m {
			if sub := a.Sub(k); sub != nil && sub.Type == userschema.TypeBoolean && e != nil {
				m[k], _ = coerce(sub, e, true)
			}
		}
		if managerLike(a) {
			if val, _, ok := userschema.Get(m, "value"); ok && (val == nil || val == "") {
				return nil, true
			}
		}
		return m, false
	}
	return v, false
}
