// Package provision is the only code that knows both the store and the adapter: it turns SCIM operations on a
// user into vendor calls and link updates, serialising work per user so that parallel IdP requests can neither
// create a second account nor lose an update.
package provision
