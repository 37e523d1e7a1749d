// Package userschema indexes the SCIM User schemas of github.com/elimity-com/scim and evaluates parsed filter
// expressions over User resources decoded from JSON, for the scim/patch and scim/filter packages.
package userschema
