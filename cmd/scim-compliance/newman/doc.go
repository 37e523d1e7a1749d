// Package newman prepares Microsoft's Postman collection for a local run and reads the JSON report newman writes,
// turning each assertion into an outcome that a pinned list can settle.
package newman
