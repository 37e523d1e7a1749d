// Package scim is the SCIM 2.0 service-provider side of the bridge. A request travels: chi router → path
// canonicalisation (Microsoft's lower-case paths, trailing slashes) → request ID, access log, recovery → auth →
// body limit → pre-processing of what the IdPs send that github.com/elimity-com/scim rejects or ignores (PATCH
// dialects, string booleans, extended filters, projection) → the library, which validates and calls the /Users
// handler → provision.Service → store and adapter. On the way back, post-processing fixes what the library gets
// wrong (itemsPerPage, returned:never attributes, schemas, absolute meta.location, ETag preconditions) and writes
// the errors it cannot (429, 503 with Retry-After, 412) from one table in errors.go.
package scim
