// Package store defines the bridge's persistent link between a SCIM user and its upstream (vendor) account.
package store
