// Command scim-compliance runs the public SCIM compliance suites (Okta's Runscope spec tests, Microsoft's Postman
// collection through newman) against a server and settles their failures against pinned expected-failure lists.
//
// Usage:
//
//	scim-compliance okta -suite FILE -base URL -auth "Bearer TOKEN" [-var k=v]... [-expect-fail FILE|ENTRY]...
//	scim-compliance postman-prepare -in FILE -out FILE
//	scim-compliance newman-check -report FILE [-expect-fail FILE|ENTRY]...
//
// Exit status: 0 when every failure is pinned, 1 when a check failed unpinned, 2 on a usage or setup error.
package main
