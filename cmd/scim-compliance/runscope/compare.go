package runscope

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Lookup follows a dotted property path with [n] indexes ("Resources[0].emails[0].value") through a decoded JSON
// document. It reports false when any segment is missing.
func Lookup(doc any, path string) (any, bool) {
	cur := doc
	i := 0
	for i < len(path) {
		switch path[i] {
		case '.':
			i++
		case '[':
			end := strings.IndexByte(path[i:], ']')
			if end < 0 {
				return nil, false
			}
			n, err := strconv.Atoi(strings.TrimSpace(path[i+1 : i+end]))
			arr, ok := cur.([]any)
			if err != nil || !ok || n < 0 || n >= len(arr) {
				return nil, false
			}
			cur = arr[n]
			i += end + 1
		default:
			end := strings.IndexAny(path[i:], ".[")
			if end < 0 {
				end = len(path) - i
			}
			obj, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = obj[path[i:i+end]]; !ok {
				return nil, false
			}
			i += end
		}
	}
	return cur, true
}

// render is the text form comparisons use: strings as they are, numbers as written, everything else as JSON.
func render(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case nil:
		return "null"
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	}
}

func number(v any) (float64, bool) {
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case float64:
		return v, true
	case int:
		return float64(v), true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return f, err == nil
	}
	return 0, false
}

func isEmpty(v any, present bool) bool {
	if !present || v == nil {
		return true
	}
	switch v := v.(type) {
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

// Compare applies a Runscope comparison to the actual value (present false when the property is absent) and the
// expected text. Unknown comparisons are an error, so a suite using one fails loudly instead of passing silently.
func Compare(comparison string, actual any, present bool, expected string) (bool, error) {
	switch comparison {
	case "empty":
		return isEmpty(actual, present), nil
	case "not_empty":
		return !isEmpty(actual, present), nil
	case "is_null":
		return !present || actual == nil, nil
	case "equal":
		return present && render(actual) == expected, nil
	case "not_equal":
		return !present || render(actual) != expected, nil
	case "contains":
		return present && contains(actual, expected), nil
	case "does_not_contain":
		return !present || !contains(actual, expected), nil
	case "has_key":
		obj, ok := actual.(map[string]any)
		if !ok {
			return false, nil
		}
		_, has := obj[expected]
		return has, nil
	case "has_value":
		return present && hasValue(actual, expected), nil
	case "is_a_number":
		_, ok := number(actual)
		return present && ok, nil
	case "equal_number", "is_less_than", "is_less_than_or_equal", "is_greater_than", "is_greater_than_or_equal":
		a, okA := number(actual)
		e, okE := number(expected)
		if !present || !okA || !okE {
			return false, nil
		}
		switch comparison {
		case "equal_number":
			return a == e, nil
		case "is_less_than":
			return a < e, nil
		case "is_less_than_or_equal":
			return a <= e, nil
		case "is_greater_than":
			return a > e, nil
		default:
			return a >= e, nil
		}
	}
	return false, fmt.Errorf("unsupported comparison %q", comparison)
}

// contains is substring for text, membership for arrays, key presence for objects.
func contains(v any, want string) bool {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if render(e) == want {
				return true
			}
		}
		return false
	case map[string]any:
		_, ok := v[want]
		return ok
	default:
		return strings.Contains(render(v), want)
	}
}

// hasValue is membership for arrays, any member's value for objects, equality otherwise.
func hasValue(v any, want string) bool {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if render(e) == want {
				return true
			}
		}
		return false
	case map[string]any:
		for _, e := range v {
			if render(e) == want {
				return true
			}
		}
		return false
	default:
		return render(v) == want
	}
}
