// Package runscope runs Runscope "API test" exports (the format of Okta's SCIM spec tests) against a live server:
// variable substitution, request steps, declarative assertions, variable extraction and post-response scripts.
package runscope
