package scim

import (
	"fmt"
	"log/slog"
	"net/http"

	elimity "github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
)

// This file serves discovery (RFC 7644 §4): /ServiceProviderConfig is ours; /Schemas and /ResourceTypes are the
// library's, from the schemas of schema.go. POST /Bulk and /Me are refused from the routes (server.go).

// libraryServer builds the library server that answers GET /Schemas[/{id}] and GET /ResourceTypes[/{id}] for this
// connection, answers included.
func (c *conn) libraryServer() (http.Handler, error) {
	srv, err := elimity.NewServer(&elimity.ServerArgs{
		ServiceProviderConfig: &elimity.ServiceProviderConfig{
			MaxResults:       c.cfg.MaxResults,
			SupportFiltering: true,
			SupportPatch:     true,
		},
		ResourceTypes: c.resourceTypes(),
	}, elimity.WithLogger(libLogger{c.log}))
	if err != nil {
		return nil, fmt.Errorf("scim: %w", err)
	}
	return http.StripPrefix(c.cfg.BasePath, srv), nil
}

// libLogger adapts slog to the library's one-method logger.
type libLogger struct{ l *slog.Logger }

func (l libLogger) Error(args ...any) {
	l.l.Error("scim library", slog.String("detail", fmt.Sprint(args...)))
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
			"location":     c.baseURL(r) + "/ServiceProviderConfig",
		},
	}
	c.writeJSON(w, r, http.StatusOK, doc)
}

// resourceTypes are the resource types this connection serves: Users, and Groups unless they are turned off (a
// Users-only deployment then says so in /ResourceTypes and /Schemas).
func (c *conn) resourceTypes() []elimity.ResourceType {
	types := []elimity.ResourceType{userResourceType()}
	if c.Service.GroupsEnabled() {
		types = append(types, elimity.ResourceType{
			ID:          optional.NewString("Group"),
			Name:        "Group",
			Description: optional.NewString("Group"),
			Endpoint:    "/Groups",
			Schema:      schema.CoreGroupSchema(),
		})
	}
	return types
}
