package userschema

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/scim2/filter-parser/v2"
)

// Get returns m's value for the attribute name, preferring the canonical spelling and falling back to a
// case-insensitive match, with the key actually used.
func Get(m map[string]any, name string) (v any, key string, ok bool) {
	if v, ok := m[name]; ok {
		return v, name, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, k, true
		}
	}
	return nil, "", false
}

// AsList returns v as a list if it is one of the slice types a decoded or hand-built resource may hold.
func AsList(v any) ([]any, bool) {
	switch l := v.(type) {
	case []any:
		return l, true
	case []map[string]any:
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = e
		}
		return out, true
	case []string:
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = e
		}
		return out, true
	}
	return nil, false
}

// Number returns v as a float64 if it is a JSON number in any of its decoded forms.
func Number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case json.Number:
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.IsInf(f, 0) {
			return 0, false
		}
		return f, true
	}
	return 0, false
}

// Present reports whether v counts as assigned (RFC 7643 §2.5: null, "" and empty collections do not).
func Present(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case string:
		return t != ""
	case map[string]any:
		for _, e := range t {
			if Present(e) {
				return true
			}
		}
		return false
	}
	if l, ok := AsList(v); ok {
		for _, e := range l {
			if Present(e) {
				return true
			}
		}
		return false
	}
	return true
}

// Equal compares two JSON values, treating the number representations alike.
func Equal(a, b any) bool {
	if fa, ok := Number(a); ok {
		fb, ok := Number(b)
		return ok && fa == fb
	}
	switch ta := a.(type) {
	case nil:
		return b == nil
	case string:
		tb, ok := b.(string)
		return ok && ta == tb
	case bool:
		tb, ok := b.(bool)
		return ok && ta == tb
	case map[string]any:
		tb, ok := b.(map[string]any)
		if !ok || len(ta) != len(tb) {
			return false
		}
		for k, va := range ta {
			vb, ok := tb[k]
			if !ok || !Equal(va, vb) {
				return false
			}
		}
		return true
	}
	la, ok := AsList(a)
	if !ok {
		return false
	}
	lb, ok := AsList(b)
	if !ok || len(la) != len(lb) {
		return false
	}
	for i := range la {
		if !Equal(la[i], lb[i]) {
			return false
		}
	}
	return true
}

// ParseTime parses an RFC 3339 dateTime with optional fractional seconds and any offset.
func ParseTime(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// DecodeStrings replaces the compare values of expr, which the filter parser leaves JSON-escaped, with the
// strings they denote.
func DecodeStrings(expr filter.Expression) error {
	switch e := expr.(type) {
	case *filter.AttributeExpression:
		s, ok := e.CompareValue.(string)
		if !ok || !strings.Contains(s, `\`) {
			return nil
		}
		var out string
		if err := json.Unmarshal([]byte(`"`+s+`"`), &out); err != nil {
			return fmt.Errorf("invalid escape in string value")
		}
		e.CompareValue = out
	case *filter.LogicalExpression:
		if err := DecodeStrings(e.Left); err != nil {
			return err
		}
		return DecodeStrings(e.Right)
	case *filter.NotExpression:
		return DecodeStrings(e.Expression)
	case *filter.ValuePath:
		return DecodeStrings(e.ValueFilter)
	}
	return nil
}
