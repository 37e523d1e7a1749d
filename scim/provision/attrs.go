package provision

import (
	"encoding/json"
	"strings"

	"github.com/scim-bridge/scim-bridge/adapters"
)

// A SCIM resource is handled as the JSON-decoded map the library hands us. These helpers read and write the
// attribute paths the mapping uses: "attr", "attr.sub", "<urn>:attr" and "<urn>:attr.sub".

func splitPath(path string) (container, attr, sub string) {
	if strings.HasPrefix(strings.ToLower(path), "urn:") {
		i := strings.LastIndex(path, ":")
		container, path = path[:i], path[i+1:]
	}
	attr, sub, _ = strings.Cut(path, ".")
	return container, attr, sub
}

// lookupKey finds key in m ignoring case, returning the key as stored.
func lookupKey(m map[string]any, key string) (string, bool) {
	if _, ok := m[key]; ok {
		return key, true
	}
	for k := range m {
		if strings.EqualFold(k, key) {
			return k, true
		}
	}
	return "", false
}

func child(m map[string]any, key string) (map[string]any, bool) {
	k, ok := lookupKey(m, key)
	if !ok {
		return nil, false
	}
	c, ok := m[k].(map[string]any)
	return c, ok
}

// getString returns the string at path, "" when absent or not a string.
func getString(res map[string]any, path string) string {
	v, _ := getValue(res, path)
	switch s := v.(type) {
	case string:
		return s
	case json.Number:
		return s.String()
	}
	return ""
}

func getValue(res map[string]any, path string) (any, bool) {
	container, attr, sub := splitPath(path)
	m := res
	if container != "" {
		var ok bool
		if m, ok = child(res, container); !ok {
			return nil, false
		}
	}
	if path == adapters.AttrRole {
		return primaryValue(m, "roles")
	}
	k, ok := lookupKey(m, attr)
	if !ok {
		return nil, false
	}
	v := m[k]
	if sub == "" {
		// manager is complex; its id is what vendors hold.
		if c, ok := v.(map[string]any); ok && strings.EqualFold(attr, "manager") {
			return getValue(c, "value")
		}
		return v, true
	}
	c, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	return getValue(c, sub)
}

// primaryValue returns the value of the primary element of a multi-valued attribute, or of its first element.
func primaryValue(m map[string]any, attr string) (any, bool) {
	k, ok := lookupKey(m, attr)
	if !ok {
		return nil, false
	}
	list, _ := m[k].([]any)
	var first any
	for _, e := range list {
		em, ok := e.(map[string]any)
		if !ok {
			continue
		}
		v, ok := getValue(em, "value")
		if !ok {
			continue
		}
		if first == nil {
			first = v
		}
		if p, _ := getValue(em, "primary"); p == true {
			return v, true
		}
	}
	return first, first != nil
}

// setString writes value at path, creating containers; "" removes the attribute.
func setString(res map[string]any, path, value string) {
	container, attr, sub := splitPath(path)
	m := res
	if container != "" {
		c, ok := child(res, container)
		if !ok {
			if value == "" {
				return
			}
			c = map[string]any{}
			res[container] = c
		}
		m = c
	}
	if path == adapters.AttrRole {
		setPrimaryValue(m, "roles", value)
		return
	}
	if strings.EqualFold(attr, "manager") && sub == "" {
		sub = "value"
	}
	k, ok := lookupKey(m, attr)
	if !ok {
		k = attr
	}
	if sub == "" {
		if value == "" {
			delete(m, k)
			if container != "" && len(m) == 0 {
				// An extension left empty is not shown as {}.
				if ck, ok := lookupKey(res, container); ok {
					delete(res, ck)
				}
			}
		} else {
			m[k] = value
		}
		return
	}
	c, _ := m[k].(map[string]any)
	if c == nil {
		if value == "" {
			return
		}
		c = map[string]any{}
		m[k] = c
	}
	sk, ok := lookupKey(c, sub)
	if !ok {
		sk = sub
	}
	if value == "" {
		delete(c, sk)
		if len(c) == 0 {
			delete(m, k)
		}
	} else {
		c[sk] = value
	}
}

func setPrimaryValue(m map[string]any, attr, value string) {
	k, ok := lookupKey(m, attr)
	if !ok {
		k = attr
	}
	list, _ := m[k].([]any)
	for i, e := range list {
		em, ok := e.(map[string]any)
		if !ok {
			continue
		}
		if p, _ := getValue(em, "primary"); p == true || len(list) == 1 {
			if value == "" {
				list = append(list[:i:i], list[i+1:]...)
			} else {
				em["value"] = value
			}
			if len(list) == 0 {
				delete(m, k)
			} else {
				m[k] = list
			}
			return
		}
	}
	if value != "" {
		m[k] = append(list, map[string]any{"value": value, "primary": true})
	}
}

// deepCopy copies a JSON-shaped value.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(t))
		for k, x := range t {
			c[k] = deepCopy(x)
		}
		return c
	case []any:
		c := make([]any, len(t))
		for i, x := range t {
			c[i] = deepCopy(x)
		}
		return c
	}
	return v
}

func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return deepCopy(m).(map[string]any)
}
