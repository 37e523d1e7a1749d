package scim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/scim-bridge/scim-bridge/scim/filter"
)

// This file serves the two ways to query users: GET /Users (RFC 7644 §3.4.2) and POST /Users/.search (§3.4.3).
// Filters are parsed by scim/filter (Okta's and Entra's dialects, evaluated by our code, never by the library's
// evaluator, which panics on some) and answered by provision.Service.Query.

// page is the part of the result set asked for: a 1-based startIndex and a count, clamped as RFC 7644
// §3.4.2.4 says (startIndex below 1 is 1; count below 0 is 0; count above the connection's maxResults is
// maxResults, also its default).
type page struct{ start, count int }

func (c *conn) pageOf(start, count *int) page {
	p := page{start: 1, count: c.cfg.MaxResults}
	if start != nil && *start > 1 {
		p.start = *start
	}
	if count != nil {
		p.count = min(max(*count, 0), c.cfg.MaxResults)
	}
	return p
}

// parseFilter parses a filter; a blank one is no filter.
func parseFilter(raw string) (*filter.Filter, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	return filter.Parse(raw)
}

// listUsers serves GET /Users: a plain list page, or the users a filter selects (Okta and Entra look a user up
// by userName eq before every write).
func (c *conn) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pg, err := c.pageParams(q)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	f, err := parseFilter(q.Get("filter"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.query(w, r, f, pg, projectionOf(q))
}

// pageParams reads startIndex and count from a query string (GET /Users, GET /Groups).
func (c *conn) pageParams(q url.Values) (page, error) {
	var ints [2]*int // count, startIndex
	for i, name := range []string{"count", "startIndex"} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return page{}, refuse(problemNotInteger, name)
			}
			ints[i] = &n
		}
	}
	return c.pageOf(ints[1], ints[0]), nil
}

// searchUsers serves POST /Users/.search. The parameters come from a SearchRequest body instead of the query
// string; the answer is the same ListResponse.
func (c *conn) searchUsers(w http.ResponseWriter, r *http.Request) {
	b, err := readBody(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	var req struct {
		Schemas            []string `json:"schemas"`
		Attributes         []string `json:"attributes"`
		ExcludedAttributes []string `json:"excludedAttributes"`
		Filter             string   `json:"filter"`
		StartIndex         *int     `json:"startIndex"`
		Count              *int     `json:"count"`
	}
	if err := json.Unmarshal(b, &req); err != nil {
		c.fail(w, r, refuse(problemSearchBody, ""))
		return
	}
	okSchema := false
	for _, s := range req.Schemas {
		okSchema = okSchema || s == schemaSearch
	}
	if !okSchema {
		c.fail(w, r, refuse(problemSearchSchemas, ""))
		return
	}
	f, err := parseFilter(req.Filter)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.query(w, r, f, c.pageOf(req.StartIndex, req.Count), projection{attributes: req.Attributes, excluded: req.ExcludedAttributes})
}

func (c *conn) query(w http.ResponseWriter, r *http.Request, f *filter.Filter, pg page, p projection) {
	found, total, err := c.Service.Query(r.Context(), f, pg.start, pg.count)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.writeList(w, r, found, total, pg.start, p)
}
