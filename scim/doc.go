// Package scim is the SCIM 2.0 service-provider side of the bridge: the HTTP API the IdPs call.
//
// A request travels: path canonicalisation (Microsoft's lower-case paths, trailing slashes; server.go) → request
// id, access log, metrics, panic recovery (middleware.go) → auth (scim/auth) → body limit (body.go) → the /Users
// handler (users.go, search.go), which reads its input once (body.go: POST and PUT validated by
// github.com/elimity-com/scim against the User schema, PATCH normalised by scim/patch and validated by the
// library; filters parsed by scim/filter), makes one call to provision.Service, and answers: a user rendered
// once from provision's Resource (respond.go, projection in project.go), or an error through the one status
// table (errors.go). The library is the schema authority (schema.go) and serves /Schemas and /ResourceTypes
// (discovery.go); it never sees a /Users request.
package scim
