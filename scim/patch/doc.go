// Package patch reads SCIM PATCH bodies as Okta and Entra send them and applies the operations to a User resource.
// Decode is the request path: one decode of the body, the IdP dialects normalised (Normalize's rules), and the
// checks of github.com/elimity-com/scim's PATCH validation, which the package's tests hold it to. It also holds the
// rules every stored multi-valued attribute obeys (one primary, no repeated (type, value) pair), which POST and PUT
// bodies go through as well (NormalizeMultiValued).
package patch
