package patch

import (
	"bytes"
	"encoding/json"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scim-bridge/scim-bridge/scim/internal/userschema"
)

// Normalize rewrites a PatchOp body as Okta or Entra send it into a canonical body that
// github.com/elimity-com/scim validates without its global string-value switch, and that Parse reads:
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
	var out []map[string]any
	for i, r := range raw {
		ops, err := normalizeOp(i, r)
		if err != nil {
			return nil, err
		}
		out = append(out, ops...)
	}
	if len(out) == 0 {
		// Everything was dropped (e.g. Okta's {"id": …} alone); the library refuses an empty list.
		out = append(out, map[string]any{"op": "replace", "value": map[string]any{}})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]any{"schemas": []string{PatchOpURN}, "Operations": out}); err != nil {
		return nil, fail(scimerrors.ScimErrorInvalidValue, "The PATCH body contains a value that cannot be encoded.")
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func normalizeOp(i int, r rawOp) ([]map[string]any, error) {
	if r.path == "" {
		if r.op == "remove" {
			return nil, fail(scimerrors.ScimErrorNoTarget, "Operations[%d]: remove needs a path.", i)
		}
		m, ok := r.value.(map[string]any)
		if !ok {
			return nil, fail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: a path-less %s needs an object value.", i, r.op)
		}
		return expand(i, r.op, m)
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
			return removeAll(p.Extension), nil
		}
		m, ok := r.value.(map[string]any)
		if !ok {
			if r.value == nil {
				return removeAll(p.Extension), nil
			}
			return nil, fail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: the value for %s must be an object.", i, p.Extension.URN)
		}
		return expandExtension(i, r.op, p.Extension, m)
	}
	return pathOp(r.op, p, text, r.value), nil
}

// expand turns a path-less value into one operation per attribute.
func expand(i int, op string, m map[string]any) ([]map[string]any, error) {
	var out []map[string]any
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
				out = append(out, removeAll(p.Extension)...)
			case map[string]any:
				ops, err := expandExtension(i, op, p.Extension, ext)
				if err != nil {
					return nil, err
				}
				out = append(out, ops...)
			default:
				return nil, fail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: the value for %s must be an object.", i, p.Extension.URN)
			}
			continue
		}
		text := p.String()
		if text == "" {
			text = strings.TrimSpace(k)
		}
		out = append(out, pathOp(op, p, text, v)...)
	}
	return out, nil
}

func expandExtension(i int, op string, s *userschema.Schema, m map[string]any) ([]map[string]any, error) {
	var out []map[string]any
	for _, k := range sortedKeys(m) {
		a := s.Attr(k)
		if a == nil {
			return nil, fail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: unknown attribute %s in %s.", i, userschema.Quote(k), s.URN)
		}
		if !a.Writable() {
			continue
		}
		out = append(out, pathOp(op, userschema.Path{Attr: a}, a.Path(), m[k])...)
	}
	return out, nil
}

// removeAll removes every writable attribute of an extension: a null extension object unassigns all of them.
func removeAll(s *userschema.Schema) []map[string]any {
	var out []map[string]any
	for _, a := range s.Attrs() {
		if a.Writable() {
			out = append(out, map[string]any{"op": "remove", "path": a.Path()})
		}
	}
	return out
}

// pathOp builds the canonical operation(s) for one path.
func pathOp(op string, p userschema.Path, text string, value any) []map[string]any {
	remove := func(path string) []map[string]any {
		return []map[string]any{{"op": "remove", "path": path}}
	}
	if op == "remove" {
		o := map[string]any{"op": "remove", "path": text}
		if value != nil {
			o["value"], _ = coerce(p.Target(), value, p.Filter != nil && p.Sub == nil)
		}
		return []map[string]any{o}
	}
	if value == nil {
		return remove(text)
	}
	// manager.value set to "" unassigns the manager.
	if p.Sub != nil && p.Filter == nil && managerLike(p.Attr) && p.Sub.Name == "value" && value == "" {
		return remove(p.Attr.Path())
	}
	v, rm := coerce(p.Target(), value, p.Filter != nil && p.Sub == nil)
	if rm {
		return remove(text)
	}
	return []map[string]any{{"op": op, "path": text, "value": v}}
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
// unassigns a manager-like attribute.
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
			out := make([]any, len(l))
			for j, e := range l {
				out[j], _ = coerce(a, e, true)
			}
			return out, false
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
		out := make(map[string]any, len(m))
		for k, e := range m {
			if sub := a.Sub(k); sub != nil && e != nil {
				e, _ = coerce(sub, e, true)
			}
			out[k] = e
		}
		if managerLike(a) {
			if val, _, ok := userschema.Get(out, "value"); ok && (val == nil || val == "") {
				return nil, true
			}
		}
		return out, false
	}
	return v, false
}
