package patch

import (
	"encoding/json"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scim-bridge/scim-bridge/scim/internal/userschema"
)

// sanitizeSimple checks a value against a non-complex attribute's type and returns what is stored. Boolean
// strings are accepted here too, so that Apply is safe on operations that did not pass through Normalize.
func sanitizeSimple(i int, a *userschema.Attr, v any) (any, error) {
	bad := func(want string) error {
		return fail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: the value for %q must be %s.", i, a.Path(), want)
	}
	switch a.Type {
	case userschema.TypeBoolean:
		switch t := v.(type) {
		case bool:
			return t, nil
		case string:
			if b, ok := parseBool(t); ok {
				return b, nil
			}
		}
		return nil, bad("a boolean")
	case userschema.TypeDecimal, userschema.TypeInteger:
		switch t := v.(type) {
		case json.Number, float64:
			if _, ok := userschema.Number(t); ok {
				return t, nil
			}
		}
		if f, ok := userschema.Number(v); ok {
			return f, nil
		}
		return nil, bad("a number")
	case userschema.TypeDateTime:
		if s, ok := v.(string); ok {
			if _, ok := userschema.ParseTime(s); ok {
				return s, nil
			}
		}
		return nil, bad("an RFC 3339 dateTime")
	case userschema.TypeComplex:
		return nil, bad("a simple value")
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	return nil, bad("a string")
}

// sanitizeComplex turns a value for one complex value of a (the attribute itself, or one element) into a map of
// canonical sub-attribute names; nil entries mean "unassign". A bare string stands for the "value"
// sub-attribute; remove reports a manager-like attribute being unassigned ("" or {"value": ""}).
func sanitizeComplex(i int, a *userschema.Attr, v any) (m map[string]any, remove bool, err error) {
	if l, ok := v.([]any); ok && len(l) == 1 && !a.MultiValued {
		v = l[0]
	}
	if s, ok := v.(string); ok && a.Sub("value") != nil {
		if s == "" && managerLike(a) {
			return nil, true, nil
		}
		v = map[string]any{"value": s}
	}
	in, ok := v.(map[string]any)
	if !ok {
		return nil, false, fail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: the value for %q must be an object.", i, a.Path())
	}
	out := make(map[string]any, len(in))
	for k, e := range in {
		sub := a.Sub(k)
		if sub == nil || !sub.Writable() {
			continue
		}
		if e == nil {
			out[sub.Name] = nil
			continue
		}
		sv, err := sanitizeSimple(i, sub, e)
		if err != nil {
			return nil, false, err
		}
		out[sub.Name] = sv
	}
	if managerLike(a) {
		if val, ok := out["value"]; ok && (val == nil || val == "") {
			return nil, true, nil
		}
	}
	return out, false, nil
}

// sanitizeList returns the elements given for a multi-valued attribute (a list, or a single element).
func sanitizeList(i int, a *userschema.Attr, v any) ([]any, error) {
	l, ok := userschema.AsList(v)
	if !ok {
		l = []any{v}
	}
	out := make([]any, 0, len(l))
	for _, e := range l {
		if e == nil {
			continue
		}
		if !a.Complex() {
			sv, err := sanitizeSimple(i, a, e)
			if err != nil {
				return nil, err
			}
			out = append(out, sv)
			continue
		}
		m, _, err := sanitizeComplex(i, a, e)
		if err != nil {
			return nil, err
		}
		for k, sv := range m {
			if sv == nil {
				delete(m, k)
			}
		}
		if len(m) > 0 {
			out = append(out, m)
		}
	}
	return out, nil
}
