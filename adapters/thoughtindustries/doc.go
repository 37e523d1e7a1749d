// Package thoughtindustries provisions users into Thought Industries through its REST API (/incoming/api/v1),
// turning every update into a serialised read-merge-write because the vendor's PUT may replace the whole user.
//
// Vendor behaviour comes from the seed document (shared/seeds/thoughtindustries-api.txt); what it leaves open is
// decided in wire.go and classify.go and listed as an assumption to verify in docs/thoughtindustries.md.
package thoughtindustries
