package scim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/scim/provision"
)

// This file writes every successful answer: a user is rendered once, from provision's Resource straight to the
// JSON the IdP reads. (Failures are errors.go's.)

// render is the one renderer of a user (RFC 7643 §4.1): provision's attributes, then id, externalId only when it
// is a non-empty string, schemas naming the core schema and the enterprise extension only when its attributes are
// present, and meta with an absolute location; never an attribute returned "never" (password); then the IdP's
// projection. The attribute values are provision's, shared, never modified.
func render(res provision.Resource, base string, p projection) map[string]any {
	m := make(map[string]any, len(res.Attrs)+4)
	enterprise := false
	for k, v := range res.Attrs {
		switch {
		case strings.EqualFold(k, "password"), strings.EqualFold(k, "id"), strings.EqualFold(k, "meta"), strings.EqualFold(k, "schemas"):
			continue
		case strings.EqualFold(k, "externalId"):
			if s, ok := v.(string); ok && s != "" {
				m["externalId"] = s
			}
			continue
		case strings.EqualFold(k, schemaEnterprise):
			enterprise = true
		}
		m[k] = v
	}
	m["id"] = res.ID
	if enterprise {
		m["schemas"] = []any{schemaUser, schemaEnterprise}
	} else {
		m["schemas"] = []any{schemaUser}
	}
	meta := map[string]any{"resourceType": "User", "location": location(base, res.ID)}
	if !res.Created.IsZero() {
		meta["created"] = res.Created.UTC().Format(time.RFC3339)
	}
	if !res.Modified.IsZero() {
		meta["lastModified"] = res.Modified.UTC().Format(time.RFC3339)
	}
	if res.Version > 0 {
		meta["version"] = res.ETag()
	}
	m["meta"] = meta
	return p.apply(m)
}

// location is a user's absolute URL.
func location(base, id string) string { return base + "/Users/" + url.PathEscape(id) }

// writeUser answers one user with status (200, or 201 for a create).
func (c *conn) writeUser(w http.ResponseWriter, r *http.Request, status int, res provision.Resource, p projection) {
	etag := ""
	if res.Version > 0 {
		etag = res.ETag()
	}
	base := c.baseURL(r)
	c.writeResource(w, r, status, etag, location(base, res.ID), func() (any, error) {
		// The user's groups are not part of its version: a 304 need not look them up.
		res, err := c.withGroups(r, res)
		if err != nil {
			return nil, err
		}
		return render(res, base, p), nil
	})
}

// writeResource answers one resource (a user or a group) with status, its ETag when it has one and, for a
// create, its Location. A GET whose If-None-Match names the current version is answered 304 without a body
// (RFC 7232 §3.2), and doc is not called.
func (c *conn) writeResource(w http.ResponseWriter, r *http.Request, status int, etag, loc string, doc func() (any, error)) {
	h := w.Header()
	if etag != "" {
		h.Set("Etag", etag)
		if r.Method == http.MethodGet && etagMatches(r.Header.Get("If-None-Match"), etag) {
			h.Set("Content-Type", "application/scim+json")
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if status == http.StatusCreated {
		h.Set("Location", loc)
	}
	d, err := doc()
	if err != nil {
		// writeError drops the Etag and Location set above.
		c.fail(w, r, err)
		return
	}
	c.writeJSON(w, r, status, d)
}

// writeList answers a page of users.
func (c *conn) writeList(w http.ResponseWriter, r *http.Request, found []provision.Resource, total, start int, p projection) {
	base := c.baseURL(r)
	list := make([]any, len(found))
	for i, f := range found {
		f, err := c.withGroups(r, f)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		list[i] = render(f, base, p)
	}
	c.writeListResponse(w, r, list, total, start)
}

// writeListResponse answers a page of rendered resources (RFC 7644 §3.4.2): itemsPerPage is the number of
// resources in this page.
func (c *conn) writeListResponse(w http.ResponseWriter, r *http.Request, list []any, total, start int) {
	c.writeJSON(w, r, http.StatusOK, map[string]any{
		"schemas": []string{schemaList}, "totalResults": total, "startIndex": start,
		"itemsPerPage": len(list), "Resources": list,
	})
}

// writeJSON encodes doc once and writes it.
func (c *conn) writeJSON(w http.ResponseWriter, r *http.Request, status int, doc any) {
	out, err := json.Marshal(doc)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// writeNoContent answers a DELETE.
func writeNoContent(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(http.StatusNoContent)
}

func etagMatches(header, etag string) bool {
	header = strings.TrimSpace(header)
	if header == "" {
		return false
	}
	if header == "*" {
		return true
	}
	for t := range strings.SplitSeq(header, ",") {
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
