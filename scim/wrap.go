package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/scim/filter"
	"github.com/scim-bridge/scim-bridge/scim/patch"
	"github.com/scim-bridge/scim-bridge/scim/provision"
)

const (
	schemaUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	schemaEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	schemaList       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	schemaSearch     = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
)

// errNoPatch would mean a PATCH reached the handler without passing our pre-processing: a wiring bug.
var errNoPatch = errors.New("scim: PATCH operations missing from the request context")

type patchOpsKey struct{}
type queryKey struct{}

// query is what we parse from a list or get request instead of the library.
type query struct {
	filter     *filter.Filter
	attributes []string
	excluded   []string
}

func queryFrom(ctx context.Context) query {
	q, _ := ctx.Value(queryKey{}).(query)
	return q
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// wrap runs our pre-processing before the library and our post-processing after it.
func (c *conn) wrap(lib http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, slot := withSlot(r.Context())
		r = r.WithContext(ctx)
		isUsers := r.URL.Path == "/Users"
		isUser := strings.HasPrefix(r.URL.Path, "/Users/")

		q := query{attributes: splitList(r.URL.Query().Get("attributes")), excluded: splitList(r.URL.Query().Get("excludedAttributes"))}
		switch {
		case isUsers && r.Method == http.MethodGet:
			vals := r.URL.Query()
			for _, p := range []string{"count", "startIndex"} {
				if v := vals.Get(p); v != "" {
					if _, err := strconv.Atoi(strings.TrimSpace(v)); err != nil {
						writeError(w, apiError{Status: http.StatusBadRequest, ScimType: "invalidValue", Detail: "The " + p + " parameter must be an integer."})
						return
					}
				}
			}
			if raw := vals.Get("filter"); strings.TrimSpace(raw) != "" {
				f, err := filter.Parse(raw)
				if err != nil {
					writeError(w, mapError(err, c.target, requestIDFrom(ctx)))
					return
				}
				q.filter = f
			}
			// The library would validate the filter again with a narrower grammar, and can panic evaluating some.
			vals.Del("filter")
			r.URL.RawQuery = vals.Encode()
		case (isUsers && r.Method == http.MethodPost) || (isUser && r.Method == http.MethodPut):
			if b, err := readBody(r); err == nil {
				setBody(r, coerceBooleans(b))
			}
		case isUser && r.Method == http.MethodPatch:
			b, _ := readBody(r)
			norm, err := patch.Normalize(b)
			if err != nil {
				writeError(w, mapError(err, c.target, requestIDFrom(ctx)))
				return
			}
			ops, err := patch.Parse(norm)
			if err != nil {
				writeError(w, mapError(err, c.target, requestIDFrom(ctx)))
				return
			}
			setBody(r, norm)
			r = r.WithContext(context.WithValue(r.Context(), patchOpsKey{}, ops))
		}
		r = r.WithContext(context.WithValue(r.Context(), queryKey{}, q))

		rec := &recorder{header: http.Header{}}
		lib.ServeHTTP(rec, r)

		if slot.err != nil {
			writeError(w, *slot.err)
			return
		}
		c.finish(w, r, rec, q)
	})
}

// recorder buffers the library's answer so we can correct it.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// finish post-processes a library answer and writes it.
func (c *conn) finish(w http.ResponseWriter, r *http.Request, rec *recorder, q query) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/scim+json")
	body := rec.body.Bytes()
	if status < 200 || status > 299 || len(body) == 0 || !strings.HasPrefix(r.URL.Path, "/Users") {
		w.Header().Del("Content-Length")
		w.WriteHeader(status)
		_, _ = w.Write(body)
		return
	}
	doc, err := decodeObject(body)
	if err != nil {
		w.WriteHeader(status)
		_, _ = w.Write(body)
		return
	}
	base := c.baseURL(r)
	if list, ok := doc["Resources"].([]any); ok {
		for i, res := range list {
			if m, ok := res.(map[string]any); ok {
				list[i] = c.present(m, base, q)
			}
		}
		doc["Resources"] = list
		// RFC 7644 §3.4.2: the number of resources returned in this page (the library reports count).
		doc["itemsPerPage"] = len(list)
	} else {
		doc = c.present(doc, base, q)
		if loc, ok := lookupMeta(doc, "location"); ok && status == http.StatusCreated {
			w.Header().Set("Location", loc)
		}
		if etag := w.Header().Get("Etag"); etag != "" && r.Method == http.MethodGet && etagMatches(r.Header.Get("If-None-Match"), etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		writeError(w, apiError{Status: http.StatusInternalServerError, Detail: "Internal error."})
		return
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

func lookupMeta(doc map[string]any, key string) (string, bool) {
	m, _ := doc["meta"].(map[string]any)
	s, ok := m[key].(string)
	return s, ok && s != ""
}

func etagMatches(header, etag string) bool {
	header = strings.TrimSpace(header)
	if header == "" {
		return false
	}
	if header == "*" {
		return true
	}
	for _, t := range strings.Split(header, ",") {
		// If-None-Match uses the weak comparison (RFC 7232 §3.2).
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == strings.TrimPrefix(etag, "W/") {
			return true
		}
	}
	return false
}

// baseURL is the absolute URL of the connection's base path as the client reached it.
func (c *conn) baseURL(r *http.Request) string {
	if c.cfg.PublicURL != "" {
		return c.cfg.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + r.Host + c.cfg.BasePath
}

// present fixes one user resource for the IdP: no returned:never attribute, schemas that name only the schemas
// present, an absolute meta.location, and the attributes / excludedAttributes projection.
func (c *conn) present(res map[string]any, base string, q query) map[string]any {
	for k := range res {
		if strings.EqualFold(k, "password") {
			delete(res, k)
		}
	}
	schemas := []any{schemaUser}
	for k := range res {
		if strings.EqualFold(k, schemaEnterprise) {
			schemas = append(schemas, schemaEnterprise)
		}
	}
	res["schemas"] = schemas
	if id, ok := res["id"].(string); ok {
		meta, _ := res["meta"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
		}
		meta["resourceType"] = "User"
		meta["location"] = base + "/Users/" + url.PathEscape(id)
		res["meta"] = meta
	}
	return project(res, q.attributes, q.excluded)
}

// project applies RFC 7644 §3.9. id and schemas are always returned. Attribute names are matched ignoring case;
// a URN prefix and a sub-attribute ("name.givenName") narrow the selection; a value filter in brackets
// (Microsoft's "emails[type eq \"work\"]") selects the whole attribute.
func project(res map[string]any, attributes, excluded []string) map[string]any {
	if len(attributes) == 0 && len(excluded) == 0 {
		return res
	}
	if len(attributes) > 0 {
		out := map[string]any{"id": res["id"], "schemas": res["schemas"]}
		for _, a := range attributes {
			copyAttr(res, out, a)
		}
		return out
	}
	for _, a := range excluded {
		removeAttr(res, a)
	}
	return res
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
	for k := range m {
		if strings.EqualFold(k, key) {
			return k, true
		}
	}
	return "", false
}

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
		if inner == nil {
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

func attrJoin(attr, sub string) string {
	if sub == "" {
		return attr
	}
	return attr + "." + sub
}

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
			removeAttr(inner, attrJoin(attr, sub))
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
			delete(v, sk)
		}
	case []any:
		for _, e := range v {
			if em, ok := e.(map[string]any); ok {
				if sk, ok := findKey(em, sub); ok {
					delete(em, sk)
				}
			}
		}
	}
}

// coerceBooleans turns Entra's string booleans ("True", "false") into JSON booleans on the User schema's boolean
// attributes (active, and primary inside multi-valued attributes) before the library validates the body. Other
// strings are left alone, and a body that is not a JSON object is passed on for the library to reject.
func coerceBooleans(b []byte) []byte {
	doc, err := decodeObject(b)
	if err != nil {
		return b
	}
	changed := false
	for k, v := range doc {
		if strings.EqualFold(k, "active") {
			if bv, ok := parseBool(v); ok {
				doc[k], changed = bv, true
			}
			continue
		}
		list, ok := v.([]any)
		if !ok {
			continue
		}
		for _, e := range list {
			em, ok := e.(map[string]any)
			if !ok {
				continue
			}
			for ek, ev := range em {
				if strings.EqualFold(ek, "primary") {
					if bv, ok := parseBool(ev); ok {
						em[ek], changed = bv, true
					}
				}
			}
		}
	}
	if !changed {
		return b
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return b
	}
	return out
}

func parseBool(v any) (bool, bool) {
	s, ok := v.(string)
	if !ok {
		return false, false
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// search serves POST /Users/.search (RFC 7644 §3.4.3) ourselves: the library validates its filter without the
// common attributes, so externalId and id lookups would fail there.
func (c *conn) search(w http.ResponseWriter, r *http.Request) {
	ctx, slot := withSlot(r.Context())
	r = r.WithContext(ctx)
	b, _ := readBody(r)
	var req struct {
		Schemas            []string `json:"schemas"`
		Attributes         []string `json:"attributes"`
		ExcludedAttributes []string `json:"excludedAttributes"`
		Filter             string   `json:"filter"`
		StartIndex         *int     `json:"startIndex"`
		Count              *int     `json:"count"`
	}
	if err := json.Unmarshal(b, &req); err != nil {
		writeError(w, apiError{Status: http.StatusBadRequest, ScimType: "invalidSyntax", Detail: "The request body is not a valid SearchRequest."})
		return
	}
	okSchema := false
	for _, s := range req.Schemas {
		okSchema = okSchema || s == schemaSearch
	}
	if !okSchema {
		writeError(w, apiError{Status: http.StatusBadRequest, ScimType: "invalidSyntax", Detail: "schemas must contain " + schemaSearch + "."})
		return
	}
	q := query{attributes: req.Attributes, excluded: req.ExcludedAttributes}
	if strings.TrimSpace(req.Filter) != "" {
		f, err := filter.Parse(req.Filter)
		if err != nil {
			writeError(w, mapError(err, c.target, requestIDFrom(ctx)))
			return
		}
		q.filter = f
	}
	start, count := 1, c.cfg.MaxResults
	if req.StartIndex != nil && *req.StartIndex > 1 {
		start = *req.StartIndex
	}
	if req.Count != nil {
		count = min(max(*req.Count, 0), c.cfg.MaxResults)
	}
	found, total, err := c.Service.Query(ctx, q.filter, start, count)
	if err != nil {
		_ = c.fail(r, err)
		writeError(w, *slot.err)
		return
	}
	base := c.baseURL(r)
	list := make([]any, 0, len(found))
	for _, f := range found {
		list = append(list, c.present(resourceMap(f), base, q))
	}
	out, _ := json.Marshal(map[string]any{
		"schemas": []string{schemaList}, "totalResults": total, "startIndex": start,
		"itemsPerPage": len(list), "Resources": list,
	})
	w.Header().Set("Content-Type", "application/scim+json")
	_, _ = w.Write(out)
}

// resourceMap renders a resource the way the library does, for the responses we write ourselves.
func resourceMap(r provision.Resource) map[string]any {
	m := make(map[string]any, len(r.Attrs)+3)
	for k, v := range r.Attrs {
		m[k] = v
	}
	m["id"] = r.ID
	meta := map[string]any{"resourceType": "User"}
	if !r.Created.IsZero() {
		meta["created"] = r.Created.UTC().Format(time.RFC3339)
	}
	if !r.Modified.IsZero() {
		meta["lastModified"] = r.Modified.UTC().Format(time.RFC3339)
	}
	if r.Version > 0 {
		meta["version"] = r.ETag()
	}
	m["meta"] = meta
	return m
}

// serviceProviderConfig is ours because the library's hard-codes etag and sort as unsupported, reports no auth
// scheme and no meta (RFC 7643 §5).
func (c *conn) serviceProviderConfig(w http.ResponseWriter, r *http.Request) {
	schemes := []map[string]any{}
	for _, s := range c.Auth.Schemes() {
		m := map[string]any{"type": s.Type, "name": s.Name, "description": s.Description, "primary": s.Primary}
		if s.SpecURI != "" {
			m["specUri"] = s.SpecURI
		}
		schemes = append(schemes, m)
	}
	base := c.baseURL(r)
	doc := map[string]any{
		"schemas":               []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"documentationUri":      "https://github.com/scim-bridge/scim-bridge/tree/main/docs",
		"patch":                 map[string]any{"supported": true},
		"bulk":                  map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":                map[string]any{"supported": true, "maxResults": c.cfg.MaxResults},
		"changePassword":        map[string]any{"supported": false},
		"sort":                  map[string]any{"supported": false},
		"etag":                  map[string]any{"supported": true},
		"authenticationSchemes": schemes,
		"meta": map[string]any{
			"resourceType": "ServiceProviderConfig",
			"location":     base + "/ServiceProviderConfig",
		},
	}
	out, _ := json.Marshal(doc)
	w.Header().Set("Content-Type", "application/scim+json")
	_, _ = w.Write(out)
}
