// Package auth authenticates and admits inbound SCIM requests (static bearer tokens, OAuth 2.0 client
// credentials, external JWTs, HTTP Basic), rate-limits them per principal, and reloads the TLS certificate.
package auth
