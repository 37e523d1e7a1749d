package scim

import (
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/scim-bridge/scim-bridge/scim/patch"
)

// This file serves /Users/{id} and POST /Users (RFC 7644 §3.3–§3.6). Each handler reads its input once
// (body.go), makes one call to provision.Service, and answers through respond.go or, on failure, errors.go.
// Protocol only: what happens to the person is provision's.

// resourceID is the {id} of a /Users or /Groups route, path-unescaped once (an id may hold "/" as %2F).
func resourceID(r *http.Request) (string, bool) {
	id := chi.URLParam(r, "id")
	if r.URL.RawPath == "" {
		// chi matched the decoded path: the parameter is decoded already.
		return id, true
	}
	id, err := url.PathUnescape(id)
	return id, err == nil
}

// createUser serves POST /Users.
func (c *conn) createUser(w http.ResponseWriter, r *http.Request) {
	attrs, err := userBody(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	res, err := c.Service.Create(r.Context(), attrs)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.writeUser(w, r, http.StatusCreated, res, projectionOf(r.URL.Query()))
}

// getUser serves GET /Users/{id}.
func (c *conn) getUser(w http.ResponseWriter, r *http.Request) {
	id, ok := resourceID(r)
	if !ok {
		c.fail(w, r, refuse(problemNoEndpoint, ""))
		return
	}
	res, err := c.Service.Get(r.Context(), id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.writeUser(w, r, http.StatusOK, res, projectionOf(r.URL.Query()))
}

// replaceUser serves PUT /Users/{id}; Okta's custom apps send every update, deactivation included, this way.
func (c *conn) replaceUser(w http.ResponseWriter, r *http.Request) {
	id, ok := resourceID(r)
	if !ok {
		c.fail(w, r, refuse(problemNoEndpoint, ""))
		return
	}
	attrs, err := userBody(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	res, err := c.Service.Replace(r.Context(), id, attrs, r.Header.Get("If-Match"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.writeUser(w, r, http.StatusOK, res, projectionOf(r.URL.Query()))
}

// patchUser serves PATCH /Users/{id}. The answer is always the full resource with 200, never 204: Entra's
// validator and Okta expect it.
func (c *conn) patchUser(w http.ResponseWriter, r *http.Request) {
	id, ok := resourceID(r)
	if !ok {
		c.fail(w, r, refuse(problemNoEndpoint, ""))
		return
	}
	ops, err := patchBody(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	paths := make([]string, len(ops))
	for i, o := range ops {
		paths[i] = o.Path
	}
	res, err := c.Service.Update(r.Context(), id, r.Header.Get("If-Match"), paths, func(cur map[string]any) (map[string]any, error) {
		return patch.Apply(cur, ops)
	})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.writeUser(w, r, http.StatusOK, res, projectionOf(r.URL.Query()))
}

// deleteUser serves DELETE /Users/{id}.
func (c *conn) deleteUser(w http.ResponseWriter, r *http.Request) {
	id, ok := resourceID(r)
	if !ok {
		c.fail(w, r, refuse(problemNoEndpoint, ""))
		return
	}
	if err := c.Service.Delete(r.Context(), id, r.Header.Get("If-Match")); err != nil {
		c.fail(w, r, err)
		return
	}
	writeNoContent(w)
}
