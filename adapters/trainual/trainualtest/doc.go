// Package trainualtest is an in-memory emulator of the Trainual REST API, faithful to the vendor seed, for tests
// and for `scim-bridge sandbox`.
package trainualtest
