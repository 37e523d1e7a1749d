// Package scimfake is a tiny in-memory SCIM 2.0 Users endpoint, enough of one for the compliance runners' tests to
// exercise them against real HTTP: bearer auth, list with a userName filter, create with conflicts, get, replace,
// pathless or pathed PATCH of active, delete. It has no /Groups, like the bridge today.
package scimfake
