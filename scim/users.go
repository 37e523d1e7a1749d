package scim

import (
	"net/http"
	"strings"

	elimity "github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"

	"github.com/scim-bridge/scim-bridge/scim/patch"
	"github.com/scim-bridge/scim-bridge/scim/provision"
)

// users is the library's ResourceHandler for /Users: protocol only, everything else is provision.Service's.
type users struct{ c *conn }

var _ elimity.ResourceHandler = (*users)(nil)

func toLib(r provision.Resource) elimity.Resource {
	attrs := make(elimity.ResourceAttributes, len(r.Attrs))
	var ext optional.String
	for k, v := range r.Attrs {
		if strings.EqualFold(k, "externalId") {
			if s, ok := v.(string); ok && s != "" {
				ext = optional.NewString(s)
			}
			continue
		}
		attrs[k] = v
	}
	created, modified := r.Created, r.Modified
	res := elimity.Resource{ID: r.ID, ExternalID: ext, Attributes: attrs}
	if !created.IsZero() {
		res.Meta.Created = &created
	}
	if !modified.IsZero() {
		res.Meta.LastModified = &modified
	}
	if r.Version > 0 {
		res.Meta.Version = r.ETag()
	}
	return res
}

func (u *users) Create(r *http.Request, attrs elimity.ResourceAttributes) (elimity.Resource, error) {
	res, err := u.c.Service.Create(r.Context(), attrs)
	if err != nil {
		return elimity.Resource{}, u.c.fail(r, err)
	}
	return toLib(res), nil
}

func (u *users) Get(r *http.Request, id string) (elimity.Resource, error) {
	res, err := u.c.Service.Get(r.Context(), id)
	if err != nil {
		return elimity.Resource{}, u.c.fail(r, err)
	}
	return toLib(res), nil
}

func (u *users) GetAll(r *http.Request, params elimity.ListRequestParams) (elimity.Page, error) {
	q := queryFrom(r.Context())
	found, total, err := u.c.Service.Query(r.Context(), q.filter, params.StartIndex, params.Count)
	if err != nil {
		return elimity.Page{}, u.c.fail(r, err)
	}
	page := elimity.Page{TotalResults: total, Resources: make([]elimity.Resource, 0, len(found))}
	for _, f := range found {
		page.Resources = append(page.Resources, toLib(f))
	}
	return page, nil
}

func (u *users) Replace(r *http.Request, id string, attrs elimity.ResourceAttributes) (elimity.Resource, error) {
	res, err := u.c.Service.Replace(r.Context(), id, attrs, r.Header.Get("If-Match"))
	if err != nil {
		return elimity.Resource{}, u.c.fail(r, err)
	}
	return toLib(res), nil
}

func (u *users) Delete(r *http.Request, id string) error {
	if err := u.c.Service.Delete(r.Context(), id, r.Header.Get("If-Match")); err != nil {
		return u.c.fail(r, err)
	}
	return nil
}

// Patch applies the operations our pre-processor normalised and parsed; the library's own parse of them only
// served as validation.
func (u *users) Patch(r *http.Request, id string, _ []elimity.PatchOperation) (elimity.Resource, error) {
	ops, ok := r.Context().Value(patchOpsKey{}).([]patch.Operation)
	if !ok {
		return elimity.Resource{}, u.c.fail(r, errNoPatch)
	}
	res, err := u.c.Service.Update(r.Context(), id, r.Header.Get("If-Match"), func(cur map[string]any) (map[string]any, error) {
		return patch.Apply(cur, ops)
	})
	if err != nil {
		return elimity.Resource{}, u.c.fail(r, err)
	}
	// Always the full resource with 200: Entra's validator and Okta expect it, never 204.
	return toLib(res), nil
}
