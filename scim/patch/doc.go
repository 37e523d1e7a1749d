// Package patch normalises SCIM PATCH bodies as Okta and Entra send them and applies the operations to a User
// resource. It also holds the rules every stored multi-valued attribute obeys (one primary, no repeated
// (type, value) pair), which POST and PUT bodies go through as well (NormalizeMultiValued).
package patch
