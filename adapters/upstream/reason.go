package upstream

import (
	"encoding/json"
	"sort"
	"strings"
	"unicode"
)

// maxReason caps the vendor's words passed on to the IdP.
const maxReason = 300

// ReasonFromJSON reads a refusal's reason from the first of keys present in a JSON object body. The value may be a
// string ("Email is invalid"), a list of strings, or an object of field -> message(s) as Rails renders validation
// errors ({"email":["is invalid"]} reads "email is invalid"). Anything else gives "".
func ReasonFromJSON(body []byte, keys ...string) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return ""
	}
	for _, k := range keys {
		raw, ok := obj[k]
		if !ok {
			continue
		}
		if msgs := messages(raw); len(msgs) > 0 {
			return strings.Join(msgs, "; ")
		}
	}
	return ""
}

func messages(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s = strings.TrimSpace(s); s != "" {
			return []string{s}
		}
		return nil
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		var out []string
		for _, e := range list {
			out = append(out, messages(e)...)
		}
		return out
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) == nil {
		names := make([]string, 0, len(fields))
		for k := range fields {
			names = append(names, k)
		}
		sort.Strings(names)
		var out []string
		for _, k := range names {
			for _, m := range messages(fields[k]) {
				out = append(out, k+" "+m)
			}
		}
		return out
	}
	return nil
}

// cleanReason keeps the vendor's words printable, on one line and short: they end up in a SCIM error detail.
func cleanReason(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxReason {
		s = strings.ToValidUTF8(s[:maxReason], "") + "…"
	}
	return s
}
