package scim

import (
	"net/url"
	"reflect"
	"strings"
)

// projection is what the IdP asked to see of each resource: the attributes and excludedAttributes parameters
// (RFC 7644 §3.4.2.5, §3.9), from the query string or a SearchRequest body.
type projection struct {
	attributes []string
	excluded   []string
}

// projectionOf reads attributes and excludedAttributes from a query string.
func projectionOf(q url.Values) projection {
	return projection{attributes: splitList(q.Get("attributes")), excluded: splitList(q.Get("excludedAttributes"))}
}

func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// apply applies the projection to a rendered resource. id and schemas are always returned. Attribute names are
// matched ignoring case; a URN prefix and a sub-attribute ("name.givenName") narrow the selection; a value filter
// in brackets (Microsoft's "emails[type eq \"work\"]") selects the whole attribute. res is never modified: nested
// values it shares with the resource provision returned are copied before anything is taken out of them.
func (p projection) apply(res map[string]any) map[string]any {
	if len(p.attributes) > 0 {
		out := map[string]any{"id": res["id"], "schemas": res["schemas"]}
		for _, a := range p.attributes {
			copyAttr(res, out, a)
		}
		return out
	}
	if len(p.excluded) == 0 {
		return res
	}
	out := shallow(res)
	for _, a := range p.excluded {
		removeAttr(out, a)
	}
	return out
}

// attrRef splits a projection name into its container (a schema URN, or "" for core), attribute and sub-attribute.
func attrRef(name string) (container, attr, sub string) {
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i]
	}
	if strings.HasPrefix(strings.ToLower(name), "urn:") {
		lower := strings.ToLower(name)
		for _, s := range []string{schemaEnterprise, schemaUser} {
			ls := strings.ToLower(s)
			if lower == ls {
				return s, "", ""
			}
			if strings.HasPrefix(lower, ls+":") {
				name = name[len(s)+1:]
				if s == schemaUser {
					s = ""
				}
				container = s
				break
			}
		}
	}
	attr, sub, _ = strings.Cut(name, ".")
	return container, attr, sub
}

func findKey(m map[string]any, key string) (string, bool) {
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

// whole reports whether dst already holds src's whole value for key (an earlier name selected all of it): a
// narrower name then adds nothing, and dst's value must not be written to, as src owns it.
func whole(dst, src map[string]any, key string) bool {
	d, ok := dst[key]
	if !ok {
		return false
	}
	dv, sv := reflect.ValueOf(d), reflect.ValueOf(src[key])
	if dv.Kind() != sv.Kind() || (dv.Kind() != reflect.Map && dv.Kind() != reflect.Slice) {
		return false
	}
	return dv.UnsafePointer() == sv.UnsafePointer() && dv.Len() == sv.Len()
}

func attrJoin(attr, sub string) string {
	if sub == "" {
		return attr
	}
	return attr + "." + sub
}

// copyAttr copies what name selects from src into dst. Only maps dst owns are written to.
func copyAttr(src, dst map[string]any, name string) {
	container, attr, sub := attrRef(name)
	if container != "" {
		ck, ok := findKey(src, container)
		if !ok {
			return
		}
		if attr == "" {
			dst[ck] = src[ck]
			return
		}
		inner, _ := src[ck].(map[string]any)
		if inner == nil || whole(dst, src, ck) {
			return
		}
		d, _ := dst[ck].(map[string]any)
		if d == nil {
			d = map[string]any{}
			dst[ck] = d
		}
		copyAttr(inner, d, attrJoin(attr, sub))
		return
	}
	k, ok := findKey(src, attr)
	if !ok {
		return
	}
	if sub == "" {
		dst[k] = src[k]
		return
	}
	if whole(dst, src, k) {
		return
	}
	switch v := src[k].(type) {
	case map[string]any:
		d, _ := dst[k].(map[string]any)
		if d == nil {
			d = map[string]any{}
			dst[k] = d
		}
		if sk, ok := findKey(v, sub); ok {
			d[sk] = v[sk]
		}
	case []any:
		out := make([]any, 0, len(v))
		for _, e := range v {
			if em, ok := e.(map[string]any); ok {
				if sk, ok := findKey(em, sub); ok {
					out = append(out, map[string]any{sk: em[sk]})
				}
			}
		}
		dst[k] = out
	}
}

// removeAttr takes what name selects out of res, which the caller owns at the top level; nested maps and lists
// are replaced by trimmed copies, never edited.
func removeAttr(res map[string]any, name string) {
	container, attr, sub := attrRef(name)
	if container != "" {
		ck, ok := findKey(res, container)
		if !ok {
			return
		}
		if attr == "" {
			delete(res, ck)
			return
		}
		if inner, ok := res[ck].(map[string]any); ok {
			inner = shallow(inner)
			removeAttr(inner, attrJoin(attr, sub))
			res[ck] = inner
		}
		return
	}
	if strings.EqualFold(attr, "id") || strings.EqualFold(attr, "schemas") {
		return
	}
	k, ok := findKey(res, attr)
	if !ok {
		return
	}
	if sub == "" {
		delete(res, k)
		return
	}
	switch v := res[k].(type) {
	case map[string]any:
		if sk, ok := findKey(v, sub); ok {
			c := shallow(v)
			delete(c, sk)
			res[k] = c
		}
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = e
			if em, ok := e.(map[string]any); ok {
				if sk, ok := findKey(em, sub); ok {
					c := shallow(em)
					delete(c, sk)
					out[i] = c
				}
			}
		}
		res[k] = out
	}
}

func shallow(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
