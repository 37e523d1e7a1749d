package scim

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/scim/filter"
	"github.com/scim-bridge/scim-bridge/scim/provision"
)

// This file serves /Groups (RFC 7644 §3, RFC 7643 §4.2) for Okta's Group Push and Entra's group provisioning.
// The bridge owns groups (provision/groups.go); bodies are read by groupbody.go. A group's members are rendered
// only when asked for: Okta and Entra read groups with excludedAttributes=members.

// groupLocation is a group's absolute URL.
func groupLocation(base, id string) string { return base + "/Groups/" + url.PathEscape(id) }

// wantsMembers reports whether the projection shows members.
func wantsMembers(p projection) bool {
	for _, e := range p.excluded {
		if strings.EqualFold(strings.SplitN(e, ".", 2)[0], "members") {
			return false
		}
	}
	if len(p.attributes) == 0 {
		return true
	}
	for _, a := range p.attributes {
		if strings.EqualFold(strings.SplitN(a, ".", 2)[0], "members") {
			return true
		}
	}
	return false
}

// renderGroup renders a group; every $ref is an absolute URL a GET resolves (RFC 7643 §2.3.7).
func renderGroup(g provision.GroupResource, base string, p projection) map[string]any {
	m := map[string]any{
		"schemas":     []any{groupSchema},
		"id":          g.ID,
		"displayName": g.DisplayName,
	}
	if g.ExternalID != "" {
		m["externalId"] = g.ExternalID
	}
	if g.Members != nil {
		members := make([]any, len(g.Members))
		for i, mb := range g.Members {
			e := map[string]any{"value": mb.Value, "$ref": location(base, mb.Value), "type": "User"}
			if mb.Display != "" {
				e["display"] = mb.Display
			}
			members[i] = e
		}
		m["members"] = members
	}
	meta := map[string]any{"resourceType": "Group", "location": groupLocation(base, g.ID), "version": g.ETag()}
	if !g.Created.IsZero() {
		meta["created"] = g.Created.UTC().Format(time.RFC3339)
	}
	if !g.Modified.IsZero() {
		meta["lastModified"] = g.Modified.UTC().Format(time.RFC3339)
	}
	m["meta"] = meta
	return p.apply(m)
}

func (c *conn) writeGroup(w http.ResponseWriter, r *http.Request, status int, g provision.GroupResource, p projection) {
	base := c.baseURL(r)
	c.writeResource(w, r, status, g.ETag(), groupLocation(base, g.ID), func() (any, error) {
		return renderGroup(g, base, p), nil
	})
}

// listGroups serves GET /Groups: a page of groups, or those a filter selects (Okta and Entra look groups up by
// displayName eq before a push; Entra checks a membership with id eq … and members[value eq …]).
func (c *conn) listGroups(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pg, err := c.pageParams(q)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	var f *filter.GroupFilter
	if raw := q.Get("filter"); strings.TrimSpace(raw) != "" {
		var err error
		if f, err = filter.ParseGroup(raw); err != nil {
			c.fail(w, r, err)
			return
		}
	}
	p := projectionOf(q)
	found, total, err := c.Service.QueryGroups(r.Context(), f, pg.start, pg.count, wantsMembers(p))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	base := c.baseURL(r)
	list := make([]any, len(found))
	for i, g := range found {
		list[i] = renderGroup(g, base, p)
	}
	c.writeListResponse(w, r, list, total, pg.start)
}

// createGroup serves POST /Groups.
func (c *conn) createGroup(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	in, err := parseGroupBody(body)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	g, err := c.Service.CreateGroup(r.Context(), in)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.writeGroup(w, r, http.StatusCreated, g, projectionOf(r.URL.Query()))
}

// getGroup serves GET /Groups/{id}.
func (c *conn) getGroup(w http.ResponseWriter, r *http.Request) {
	id, ok := resourceID(r)
	if !ok {
		c.fail(w, r, refuse(problemNoEndpoint, ""))
		return
	}
	p := projectionOf(r.URL.Query())
	g, err := c.Service.GetGroup(r.Context(), id, wantsMembers(p))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.writeGroup(w, r, http.StatusOK, g, p)
}

// replaceGroup serves PUT /Groups/{id}; Okta's PUT with "members": [] empties the group and the answer keeps
// "members": [].
func (c *conn) replaceGroup(w http.ResponseWriter, r *http.Request) {
	id, ok := resourceID(r)
	if !ok {
		c.fail(w, r, refuse(problemNoEndpoint, ""))
		return
	}
	body, err := readBody(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	in, err := parseGroupBody(body)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	g, err := c.Service.ReplaceGroup(r.Context(), id, r.Header.Get("If-Match"), in)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.writeGroup(w, r, http.StatusOK, g, projectionOf(r.URL.Query()))
}

// patchGroup serves PATCH /Groups/{id}, answering 200 with the group as Okta and Entra expect.
func (c *conn) patchGroup(w http.ResponseWriter, r *http.Request) {
	id, ok := resourceID(r)
	if !ok {
		c.fail(w, r, refuse(problemNoEndpoint, ""))
		return
	}
	body, err := readBody(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	ops, err := parseGroupPatch(body)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	g, err := c.Service.PatchGroup(r.Context(), id, r.Header.Get("If-Match"), ops)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := projectionOf(r.URL.Query())
	if !wantsMembers(p) {
		g.Members = nil
	}
	c.writeGroup(w, r, http.StatusOK, g, p)
}

// deleteGroup serves DELETE /Groups/{id}.
func (c *conn) deleteGroup(w http.ResponseWriter, r *http.Request) {
	id, ok := resourceID(r)
	if !ok {
		c.fail(w, r, refuse(problemNoEndpoint, ""))
		return
	}
	if err := c.Service.DeleteGroup(r.Context(), id, r.Header.Get("If-Match")); err != nil {
		c.fail(w, r, err)
		return
	}
	writeNoContent(w)
}

// withGroups adds the user's read-only "groups" attribute (RFC 7643 §4.1.2): the groups the bridge holds the user
// in, each with an absolute $ref. Provision's attributes are shared, so the map is copied first.
func (c *conn) withGroups(r *http.Request, res provision.Resource) (provision.Resource, error) {
	if !c.Service.GroupsEnabled() {
		return res, nil
	}
	refs, err := c.Service.UserGroups(r.Context(), res.ID)
	if err != nil || len(refs) == 0 {
		return res, err
	}
	base := c.baseURL(r)
	groups := make([]any, len(refs))
	for i, g := range refs {
		groups[i] = map[string]any{"value": g.ID, "display": g.DisplayName, "$ref": groupLocation(base, g.ID), "type": "direct"}
	}
	attrs := make(map[string]any, len(res.Attrs)+1)
	for k, v := range res.Attrs {
		attrs[k] = v
	}
	attrs["groups"] = groups
	res.Attrs = attrs
	return res, nil
}
