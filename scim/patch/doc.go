// Package patch normalises SCIM PATCH bodies as Okta and Entra send them and applies the operations to a User
// resource.
package patch
