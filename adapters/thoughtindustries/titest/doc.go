// Package titest is a stateful Thought Industries REST API emulator, faithful to the vendor seed including its traps
// (a PUT that replaces the whole user, custom-field keys silently dropped, no Retry-After), for tests and the sandbox.
//
// Choices the seed leaves open, made here and documented in docs/thoughtindustries.md:
//   - POST /users answers 201 with a short object (id, email, firstName, active), as the seed's own example does;
//   - PUT /users/{id} replaces: a writable field left out (or null) is cleared; email and password left out are
//     kept (email is the login and required; password is write-only); active left out becomes true, its default;
//   - a duplicate email is 422 {"error":"Email has already been taken"}; a full plan is
//     403 {"error":"User limit reached for your plan"}; a bad key is 401 {"error":"Invalid API key"};
//   - GET /users?email= matches the whole address, ignoring case.
package titest
