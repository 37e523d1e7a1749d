// Package filter parses SCIM filters as Okta and Entra send them and evaluates them over User resources.
package filter
