package scim_test

// TestStatusTable is the one place that lists every HTTP status the bridge answers and why (issue 12, Tests).
// Each row drives the real server (scimtest) against a vendor emulator: a setup, one request, the status, the
// scimType of RFC 7644 §3.12 ("" when none) and the body the status calls for. Rows whose answer depends on the
// vendor run against every target; the others against Trainual. A row asserts the right behaviour even where the
// bridge does not (yet) give it, so that the table is the specification.

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/targets"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
	"github.com/scim-bridge/scim-bridge/scim/auth"
	"github.com/scim-bridge/scim-bridge/scim/provision"
	"github.com/scim-bridge/scim-bridge/scim/scimtest"
)

const (
	stUserSchema   = "urn:ietf:params:scim:schemas:core:2.0:User"
	stListSchema   = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	stPatchSchema  = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	stSearchSchema = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	stUserName     = "status.row@example.com"
	stOther        = "status.other@example.com"
	stClientID     = "status-table-client"
	stClientSecret = "status-table-client-secret-0123456789"
	stMaxBody      = 1 << 20 // scim.Config.MaxBodyBytes' default
)

// stBody is what a row expects in the answer's body.
type stBody int

const (
	stSCIMError  stBody = iota // RFC 7644 §3.12 error; the default for every status >= 400
	stResource                 // one User, application/scim+json, with an ETag
	stList                     // a ListResponse
	stDocument                 // another SCIM JSON document (discovery)
	stNoBody                   // 204, 304
	stOAuthError               // RFC 6749 §5.2 error from /oauth/token
	stOAuthToken               // RFC 6749 §5.1 token from /oauth/token
	stText                     // the probes' text/plain
)

// stFixture is what a row's setup leaves for its request.
type stFixture struct {
	id, etag string
	writes   int // vendor updates and deletes when the setup ended
}

// stChunked is a body sent without Content-Length (chunked), so that only reading it shows its size.
type stChunked []byte

// stRequest is one request. In path and header values, {id} and {etag} are the fixture's; a path starting with
// {root} is relative to the server root instead of the SCIM base URL.
type stRequest struct {
	method string
	path   string
	body   any // nil, string, []byte, stChunked, or a value sent as JSON
	// header holds name/value pairs set after the defaults (Bearer token, application/scim+json); an empty value
	// removes the header.
	header []string
	// raw, when set, is sent as is on a new connection instead (for what net/http's client cannot send); {host}
	// and {token} are the server's address and the test token.
	raw string
}

type statusRow struct {
	name   string
	vendor bool // the answer depends on the vendor's side: run against every target
	opts   func(o *scimtest.Options)
	setup  func(t *testing.T, b *scimtest.Bridge) stFixture
	req    stRequest
	status int
	// scimType is the RFC 7644 §3.12 keyword the error must carry, "" when the status has none.
	scimType string
	body     stBody
	// retryAfter, for a 429 or 503, is the exact Retry-After (seconds) the answer must carry; 0 asks only for a
	// positive number of seconds. Other SCIM answers must carry none.
	retryAfter int
	check      func(t *testing.T, b *scimtest.Bridge, f stFixture, r scimtest.Response)
}

func TestStatusTable(t *testing.T) {
	for _, row := range statusRows() {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			if !row.vendor {
				runStatusRow(t, row, "trainual")
				return
			}
			forEachTarget(t, func(t *testing.T, target string) { runStatusRow(t, row, target) })
		})
	}
}

func statusRows() []statusRow {
	oversize := stPadded(stMaxBody + 1)
	return []statusRow{
		// 2xx and 3xx: the answers an IdP acts on.
		{
			name: "200 GET: reads one user with the vendor's current values", vendor: true,
			setup: stCreated, req: stRequest{method: "GET", path: "/Users/{id}"}, status: 200, body: stResource,
			check: stSameID,
		},
		{
			name: "200 GET list: a userName eq filter finds the user", vendor: true,
			setup: stCreated, req: stRequest{method: "GET", path: "/Users?filter=" + url.QueryEscape(`userName eq "`+stUserName+`"`)},
			status: 200, body: stList,
			check: func(t *testing.T, _ *scimtest.Bridge, f stFixture, r scimtest.Response) {
				res, _ := r.Body["Resources"].([]any)
				if r.Body["totalResults"] != float64(1) || len(res) != 1 || str(res[0].(map[string]any), "id") != f.id {
					t.Errorf("list %s, want the one user %s", r.Raw, f.id)
				}
			},
		},
		{
			name:  "200 POST /Users/.search: a SearchRequest (Microsoft's collection) is a read",
			setup: stCreated,
			req: stRequest{method: "POST", path: "/Users/.search", body: map[string]any{
				"schemas": []string{stSearchSchema}, "filter": `userName eq "` + stUserName + `"`}},
			status: 200, body: stList,
		},
		{
			name: "200 PUT: replaces the user and returns it", vendor: true,
			setup: stCreated, req: stRequest{method: "PUT", path: "/Users/{id}", body: scimtest.User(stUserName, "Replaced", "Family")},
			status: 200, body: stResource,
			check: func(t *testing.T, b *scimtest.Bridge, f stFixture, r scimtest.Response) {
				stSameID(t, b, f, r)
				if g := str(r.Body, "name", "givenName"); g != "Replaced" {
					t.Errorf("givenName %q after the PUT", g)
				}
			},
		},
		{
			name: "200 PATCH: returns the whole resource, never 204 (Okta and Entra read it)", vendor: true,
			setup: stCreated, req: stRequest{method: "PATCH", path: "/Users/{id}",
				body: stPatch(`{"op":"replace","path":"name.givenName","value":"Patched"}`)},
			status: 200, body: stResource,
			check: func(t *testing.T, b *scimtest.Bridge, f stFixture, r scimtest.Response) {
				stSameID(t, b, f, r)
				if g := str(r.Body, "name", "givenName"); g != "Patched" || str(r.Body, "userName") != stUserName {
					t.Errorf("PATCH answer %s, want the whole user with the change", r.Raw)
				}
				if f.etag != "" && r.Header.Get("Etag") == f.etag {
					t.Error("the ETag did not change with the resource")
				}
			},
		},
		{
			name: "200 discovery: /ServiceProviderConfig needs no vendor",
			req:  stRequest{method: "GET", path: "/ServiceProviderConfig"}, status: 200, body: stDocument,
		},
		{
			name: "201 POST: creates a new vendor account", vendor: true,
			req:    stRequest{method: "POST", path: "/Users", body: scimtest.User(stUserName, "Given", "Family")},
			status: 201, body: stResource,
			check: func(t *testing.T, b *scimtest.Bridge, _ stFixture, r scimtest.Response) {
				if u, ok := b.Emu.User(str(r.Body, "id")); !ok || !strings.EqualFold(u.Email, stUserName) || !u.Active {
					t.Errorf("vendor account %+v (found %v) for the 201", u, ok)
				}
			},
		},
		{
			name: "201 POST: links the account an admin made in the vendor's UI instead of duplicating it", vendor: true,
			setup:  stSeeded,
			req:    stRequest{method: "POST", path: "/Users", body: scimtest.User(stUserName, "Given", "Family")},
			status: 201, body: stResource,
			check: func(t *testing.T, b *scimtest.Bridge, f stFixture, r scimtest.Response) {
				if str(r.Body, "id") != f.id || b.Emu.Users() != 1 {
					t.Errorf("id %s (want the vendor's %s), %d vendor accounts (want 1)", str(r.Body, "id"), f.id, b.Emu.Users())
				}
			},
		},
		{
			name: "201 POST: a user deleted through SCIM comes back on the same vendor account", vendor: true,
			setup: func(t *testing.T, b *scimtest.Bridge) stFixture {
				f := stCreated(t, b)
				stMust(t, b.Do(t, "DELETE", "/Users/"+f.id, nil), http.StatusNoContent)
				return f
			},
			req:    stRequest{method: "POST", path: "/Users", body: scimtest.User(stUserName, "Given", "Family")},
			status: 201, body: stResource,
			check: func(t *testing.T, b *scimtest.Bridge, f stFixture, r scimtest.Response) {
				stSameID(t, b, f, r)
				if u, _ := b.Emu.User(f.id); !u.Active || b.Emu.Users() != 1 {
					t.Errorf("vendor account %+v, %d accounts: want the one account, active again", u, b.Emu.Users())
				}
			},
		},
		{
			name: "204 DELETE: deactivates the vendor account", vendor: true,
			setup: stCreated, req: stRequest{method: "DELETE", path: "/Users/{id}"}, status: 204, body: stNoBody,
			check: func(t *testing.T, b *scimtest.Bridge, f stFixture, _ scimtest.Response) {
				if u, ok := b.Emu.User(f.id); ok && u.Active {
					t.Error("the vendor account is still active after the 204")
				}
			},
		},
		{
			name:  "304 GET: If-None-Match names the current ETag",
			setup: stCreated, req: stRequest{method: "GET", path: "/Users/{id}", header: []string{"If-None-Match", "{etag}"}},
			status: 304, body: stNoBody,
			check: func(t *testing.T, _ *scimtest.Bridge, f stFixture, r scimtest.Response) {
				// RFC 9110 §15.4.5: a 304 carries the ETag a 200 would have.
				if r.Header.Get("Etag") != f.etag {
					t.Errorf("ETag %q on the 304, want %q", r.Header.Get("Etag"), f.etag)
				}
			},
		},

		// 400 invalidSyntax: the body is not one JSON document of the right structure.
		{
			name:   "400 invalidSyntax: a POST body that is not JSON",
			req:    stRequest{method: "POST", path: "/Users", body: `{"userName":`},
			status: 400, scimType: "invalidSyntax",
		},
		{
			name: "400 invalidSyntax: a POST body with a second JSON document after the first",
			req: stRequest{method: "POST", path: "/Users",
				body: stJSON(scimtest.User(stUserName, "A", "B")) + stJSON(scimtest.User(stOther, "C", "D"))},
			status: 400, scimType: "invalidSyntax",
			check: stNoVendorAccount,
		},
		{
			name:   "400 invalidSyntax: a PUT body with trailing data",
			setup:  stCreated,
			req:    stRequest{method: "PUT", path: "/Users/{id}", body: stJSON(scimtest.User(stUserName, "A", "B")) + " x"},
			status: 400, scimType: "invalidSyntax",
		},
		{
			name:   "400 invalidSyntax: a PATCH body that is not JSON",
			setup:  stCreated,
			req:    stRequest{method: "PATCH", path: "/Users/{id}", body: `{"Operations":[`},
			status: 400, scimType: "invalidSyntax",
		},
		{
			name:  "400 invalidSyntax: a PATCH body with trailing data",
			setup: stCreated,
			req: stRequest{method: "PATCH", path: "/Users/{id}",
				body: stPatch(`{"op":"replace","path":"title","value":"x"}`) + `{}`},
			status: 400, scimType: "invalidSyntax",
		},
		{
			name: "400 invalidSyntax: a body that cannot be read (a broken chunked encoding)",
			req: stRequest{method: "POST", raw: "POST /scim/v2/Users HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n" +
				"Content-Type: application/scim+json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"},
			status: 400, scimType: "invalidSyntax",
			check: stNoVendorAccount,
		},
		{
			// A closing bracket or brace after the object is what json.Decoder.More reports as "no more".
			name:   "400 invalidSyntax: a POST /Groups body with a stray bracket after it",
			req:    stRequest{method: "POST", path: "/Groups", body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Stray"}]`},
			status: 400, scimType: "invalidSyntax",
		},
		{
			name:   "400 invalidSyntax: a PATCH /Groups body with a stray brace after it",
			req:    stRequest{method: "PATCH", path: "/Groups/0b1c2d3e-0000-4000-8000-000000000000", body: stPatch(`{"op":"replace","path":"displayName","value":"x"}`) + `}`},
			status: 400, scimType: "invalidSyntax",
		},
		{
			name:   "400 invalidSyntax: a .search body without the SearchRequest schema",
			req:    stRequest{method: "POST", path: "/Users/.search", body: `{"filter":"userName eq \"x\""}`},
			status: 400, scimType: "invalidSyntax",
		},

		// 400 invalidValue: the values cannot be provisioned.
		{
			name: "400 invalidValue: a POST without the required userName",
			req: stRequest{method: "POST", path: "/Users", body: map[string]any{
				"schemas": []string{stUserSchema}, "name": map[string]any{"givenName": "No", "familyName": "Name"}}},
			status: 400, scimType: "invalidValue",
			check: stNoVendorAccount,
		},
		{
			name:  "400 invalidValue: a PUT without the required userName",
			setup: stCreated,
			req: stRequest{method: "PUT", path: "/Users/{id}", body: map[string]any{
				"schemas": []string{stUserSchema}, "name": map[string]any{"givenName": "No", "familyName": "Name"}}},
			status: 400, scimType: "invalidValue",
		},
		{
			name: "400 invalidValue: a value of the wrong type (active is not a boolean)",
			req: stRequest{method: "POST", path: "/Users", body: func() map[string]any {
				u := scimtest.User(stUserName, "A", "B")
				u["active"] = "maybe"
				return u
			}()},
			status: 400, scimType: "invalidValue",
			check: stNoVendorAccount,
		},
		{
			name: "400 invalidValue: the vendor refuses a value, and the detail gives its reason", vendor: true,
			setup: func(t *testing.T, b *scimtest.Bridge) stFixture {
				strict, ok := b.Emu.(interface{ SetStrictEmail(bool) })
				if !ok {
					t.Fatalf("%T cannot check e-mail formats", b.Emu)
				}
				strict.SetStrictEmail(true)
				return stFixture{}
			},
			req:    stRequest{method: "POST", path: "/Users", body: scimtest.User("not-an-email", "No", "Mail")},
			status: 400, scimType: "invalidValue",
			check: func(t *testing.T, b *scimtest.Bridge, f stFixture, r scimtest.Response) {
				stNoVendorAccount(t, b, f, r)
				prefix := map[string]string{"trainual": "Trainual: ", "thoughtindustries": "Thought Industries: "}[b.Target]
				if d := str(r.Body, "detail"); !strings.HasPrefix(d, prefix) || !strings.Contains(strings.ToLower(d), "email") {
					t.Errorf("detail %q, want %q and the vendor's reason about the e-mail", d, prefix)
				}
			},
		},
		{
			name: "400 invalidValue: no work e-mail to make the vendor login (SCIM_BRIDGE_EMAIL_FROM=work)",
			opts: func(o *scimtest.Options) { o.EmailFrom = provision.EmailFromWork },
			req: stRequest{method: "POST", path: "/Users", body: map[string]any{
				"schemas": []string{stUserSchema}, "userName": "upn-only@tenant.example",
				"name": map[string]any{"givenName": "No", "familyName": "Mail"}}},
			status: 400, scimType: "invalidValue",
			check: stNoVendorAccount,
		},
		{
			name: "400 invalidValue: Trainual would invite an inactive user (SCIM_BRIDGE_TRAINUAL_INACTIVE_CREATE=refuse)",
			opts: func(o *scimtest.Options) {
				o.Settings = map[string]string{"SCIM_BRIDGE_TRAINUAL_INACTIVE_CREATE": "refuse"}
			},
			req: stRequest{method: "POST", path: "/Users", body: func() map[string]any {
				u := scimtest.User(stUserName, "Not", "Yet")
				u["active"] = false
				return u
			}()},
			status: 400, scimType: "invalidValue",
			check: stNoVendorAccount,
		},
		{
			name:   "400 invalidValue: a count that is not an integer",
			req:    stRequest{method: "GET", path: "/Users?count=ten"},
			status: 400, scimType: "invalidValue",
		},
		{
			name:   "400 invalidValue: a PATCH without Operations",
			setup:  stCreated,
			req:    stRequest{method: "PATCH", path: "/Users/{id}", body: `{"schemas":["` + stPatchSchema + `"]}`},
			status: 400, scimType: "invalidValue",
		},
		{
			name:   "400 invalidValue: a PATCH op that is not add, replace or remove",
			setup:  stCreated,
			req:    stRequest{method: "PATCH", path: "/Users/{id}", body: stPatch(`{"op":"move","path":"title","value":"x"}`)},
			status: 400, scimType: "invalidValue",
		},

		// 400 with the other RFC 7644 §3.12 keywords.
		{
			name:   "400 invalidFilter: a filter that does not parse",
			req:    stRequest{method: "GET", path: "/Users?filter=" + url.QueryEscape(`userName eq`)},
			status: 400, scimType: "invalidFilter",
		},
		{
			name: "400 invalidFilter: a .search whose filter does not parse",
			req: stRequest{method: "POST", path: "/Users/.search", body: map[string]any{
				"schemas": []string{stSearchSchema}, "filter": "bogus eq"}},
			status: 400, scimType: "invalidFilter",
		},
		{
			name:  "400 noTarget: PATCH replace with a value filter that matches nothing",
			setup: stCreated,
			req: stRequest{method: "PATCH", path: "/Users/{id}",
				body: stPatch(`{"op":"replace","path":"emails[value eq \"nobody@example.com\"].type","value":"home"}`)},
			status: 400, scimType: "noTarget",
			check: stUnchanged,
		},
		{
			name:   "400 noTarget: PATCH remove without a path",
			setup:  stCreated,
			req:    stRequest{method: "PATCH", path: "/Users/{id}", body: stPatch(`{"op":"remove"}`)},
			status: 400, scimType: "noTarget",
		},
		{
			name:  "400 invalidPath: a PATCH path that is malformed",
			setup: stCreated,
			req: stRequest{method: "PATCH", path: "/Users/{id}",
				body: stPatch(`{"op":"replace","path":"emails[type eq \"work\"","value":"x@example.com"}`)},
			status: 400, scimType: "invalidPath",
			check: stUnchanged,
		},
		{
			name:   "400 invalidPath: a PATCH path naming an attribute the User schema does not have",
			setup:  stCreated,
			req:    stRequest{method: "PATCH", path: "/Users/{id}", body: stPatch(`{"op":"replace","path":"shoeSize","value":"44"}`)},
			status: 400, scimType: "invalidPath",
			check: stUnchanged,
		},
		{
			name:   "400 invalidPath: a PATCH path that is not a string",
			setup:  stCreated,
			req:    stRequest{method: "PATCH", path: "/Users/{id}", body: stPatch(`{"op":"replace","path":42,"value":"x"}`)},
			status: 400, scimType: "invalidPath",
		},
		{
			name:   "400 mutability: a PATCH of the read-only id",
			setup:  stCreated,
			req:    stRequest{method: "PATCH", path: "/Users/{id}", body: stPatch(`{"op":"replace","path":"id","value":"other"}`)},
			status: 400, scimType: "mutability",
			check: stUnchanged,
		},
		{
			name:   "400 mutability: a PATCH that removes the required userName",
			setup:  stCreated,
			req:    stRequest{method: "PATCH", path: "/Users/{id}", body: stPatch(`{"op":"remove","path":"userName"}`)},
			status: 400, scimType: "mutability",
			check: stUnchanged,
		},

		// 401: who is calling is unknown.
		{
			name:   "401: no Authorization header",
			req:    stRequest{method: "GET", path: "/Users", header: []string{"Authorization", ""}},
			status: 401,
			check:  stChallenge(`Bearer realm="scim-bridge"`),
		},
		{
			name:   "401: a bearer token the bridge does not know",
			req:    stRequest{method: "GET", path: "/Users", header: []string{"Authorization", "Bearer not-the-token-0000000000"}},
			status: 401,
			check:  stChallenge(`Bearer realm="scim-bridge", error="invalid_token"`),
		},
		{
			name:   "401: a credential without a scheme (Okta's spec test)",
			req:    stRequest{method: "GET", path: "/Users", header: []string{"Authorization", "non-token"}},
			status: 401,
			check:  stChallenge(`Bearer realm="scim-bridge"`),
		},

		// 403: the caller is known but may not have this.
		{
			name: "403: the vendor plan has no free seat", vendor: true,
			setup: func(t *testing.T, b *scimtest.Bridge) stFixture {
				b.Emu.SetSeatLimit(1)
				return stCreated(t, b)
			},
			req:    stRequest{method: "POST", path: "/Users", body: scimtest.User(stOther, "No", "Seat")},
			status: 403,
			check: func(t *testing.T, b *scimtest.Bridge, _ stFixture, r scimtest.Response) {
				if d := str(r.Body, "detail"); !strings.Contains(d, "seat") {
					t.Errorf("detail %q does not say the plan has no free seat", d)
				}
				if b.Emu.Users() != 1 {
					t.Errorf("%d vendor accounts, want 1", b.Emu.Users())
				}
			},
		},
		{
			name: "403: the client's address is outside SCIM_BRIDGE_ALLOW_CIDRS",
			opts: func(o *scimtest.Options) {
				o.Auth = &auth.Config{Tokens: []string{scimtest.Token}, AllowCIDRs: []string{"192.0.2.0/24"}}
			},
			req:    stRequest{method: "GET", path: "/Users"},
			status: 403,
		},

		// 404: nothing there.
		{
			name: "404: an id no user has", vendor: true,
			req: stRequest{method: "GET", path: "/Users/999999999"}, status: 404,
		},
		{
			name: "404: PATCH of an id no user has", vendor: true,
			req:    stRequest{method: "PATCH", path: "/Users/999999999", body: stPatch(`{"op":"replace","path":"title","value":"x"}`)},
			status: 404,
		},
		{
			name: "404: the vendor lost the user (deleted in its UI)", vendor: true,
			setup: func(t *testing.T, b *scimtest.Bridge) stFixture {
				f := stCreated(t, b)
				u, ok := b.Emu.(upstreamtest.UI)
				if !ok || !u.RemoveInUI(f.id) {
					t.Fatalf("%T: could not delete the account in the vendor's UI", b.Emu)
				}
				return f
			},
			req: stRequest{method: "GET", path: "/Users/{id}"}, status: 404,
		},
		{
			name: "404: the user was deleted through SCIM", vendor: true,
			setup: func(t *testing.T, b *scimtest.Bridge) stFixture {
				f := stCreated(t, b)
				stMust(t, b.Do(t, "DELETE", "/Users/"+f.id, nil), http.StatusNoContent)
				return f
			},
			req: stRequest{method: "GET", path: "/Users/{id}"}, status: 404,
		},
		{
			name: "404: an endpoint the bridge does not have",
			req:  stRequest{method: "GET", path: "/Nope"}, status: 404,
		},
		{
			name: "404: /Groups in a Users-only deployment (SCIM_BRIDGE_GROUPS=off)",
			opts: func(o *scimtest.Options) { o.NoGroups = true },
			req:  stRequest{method: "GET", path: "/Groups"}, status: 404,
		},
		{
			name: "404: a group id the bridge does not hold",
			req:  stRequest{method: "GET", path: "/Groups/0b1c2d3e-0000-4000-8000-000000000000"}, status: 404,
		},
		{
			name: "409 uniqueness: POST of a group whose displayName another group holds",
			setup: func(t *testing.T, b *scimtest.Bridge) stFixture {
				r := b.Do(t, "POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Sales"})
				if r.Status != 201 {
					t.Fatalf("group: %d %s", r.Status, r.Raw)
				}
				return stFixture{}
			},
			req:    stRequest{method: "POST", path: "/Groups", body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"sales"}`},
			status: 409, scimType: "uniqueness",
		},
		{
			name:   "400 invalidValue: a group member id no user has (nothing applied)",
			req:    stRequest{method: "POST", path: "/Groups", body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Ghosts","members":[{"value":"no-such-user"}]}`},
			status: 400, scimType: "invalidValue",
		},
		{
			name: "404: a schema id the bridge does not serve",
			req:  stRequest{method: "GET", path: "/Schemas/urn:example:nope"}, status: 404,
		},
		{
			name: "404: a path outside the SCIM base path",
			req:  stRequest{method: "GET", path: "{root}/nope"}, status: 404,
		},

		// 405: the endpoint exists, the method does not.
		{
			name: "405: DELETE on the /Users collection",
			req:  stRequest{method: "DELETE", path: "/Users"}, status: 405,
			check: stAllow("GET", "POST"),
		},
		{
			name: "405: POST to /ServiceProviderConfig",
			req:  stRequest{method: "POST", path: "/ServiceProviderConfig", body: "{}"}, status: 405,
			check: stAllow("GET"),
		},
		{
			name: "405: GET /Users/.search, since a search is a POST (RFC 7644 §3.4.3)",
			req:  stRequest{method: "GET", path: "/Users/.search"}, status: 405,
			check: stAllow("POST"),
		},

		// 409: someone else has it.
		{
			name: "409 uniqueness: POST of a userName another live user holds", vendor: true,
			setup:  stCreated,
			req:    stRequest{method: "POST", path: "/Users", body: scimtest.User(strings.ToUpper(stUserName), "Second", "Person")},
			status: 409, scimType: "uniqueness",
			check: func(t *testing.T, b *scimtest.Bridge, _ stFixture, _ scimtest.Response) {
				if b.Emu.Users() != 1 {
					t.Errorf("%d vendor accounts, want 1", b.Emu.Users())
				}
			},
		},
		{
			name: "409 uniqueness: PATCH renaming to a userName another live user holds", vendor: true,
			setup: func(t *testing.T, b *scimtest.Bridge) stFixture {
				create(t, b, stOther)
				return stCreated(t, b)
			},
			req: stRequest{method: "PATCH", path: "/Users/{id}",
				body: stPatch(`{"op":"replace","path":"userName","value":"` + stOther + `"}`)},
			status: 409, scimType: "uniqueness",
			check: stUnchanged,
		},
		{
			name: "409 uniqueness: the vendor account of the POST's e-mail belongs to another user", vendor: true,
			opts: func(o *scimtest.Options) { o.EmailFrom = provision.EmailFromWork },
			setup: func(t *testing.T, b *scimtest.Bridge) stFixture {
				return stFixture{id: create(t, b, stUserName)}
			},
			req: stRequest{method: "POST", path: "/Users", body: func() map[string]any {
				u := scimtest.User("someone.else@tenant.example", "Some", "One")
				u["emails"] = []any{map[string]any{"value": stUserName, "type": "work", "primary": true}}
				return u
			}()},
			status: 409, scimType: "uniqueness",
			check: func(t *testing.T, b *scimtest.Bridge, f stFixture, _ scimtest.Response) {
				if u, _ := b.Emu.User(f.id); u.GivenName != "Given" || b.Emu.Users() != 1 {
					t.Errorf("the first user's account %+v, %d accounts: the refused POST changed the vendor", u, b.Emu.Users())
				}
			},
		},

		{
			name: "409 uniqueness: the vendor says the e-mail is taken but its lookup finds no such account", vendor: true,
			setup: func(t *testing.T, b *scimtest.Bridge) stFixture {
				b.Emu.Fail(upstreamtest.OpCreate, http.StatusConflict, -1, 0)
				return stFixture{}
			},
			req:    stRequest{method: "POST", path: "/Users", body: scimtest.User(stUserName, "Hidden", "Elsewhere")},
			status: 409, scimType: "uniqueness",
			check: stNoVendorAccount,
		},

		// 412: the IdP's copy is stale.
		{
			name:   "412: PATCH with If-Match naming an older version",
			setup:  stCreated,
			req:    stRequest{method: "PATCH", path: "/Users/{id}", body: stPatch(`{"op":"replace","path":"title","value":"x"}`), header: []string{"If-Match", `W/"999"`}},
			status: 412,
			check:  stUnchanged,
		},
		{
			name:   "412: PUT with If-Match naming an older version",
			setup:  stCreated,
			req:    stRequest{method: "PUT", path: "/Users/{id}", body: scimtest.User(stUserName, "Stale", "Copy"), header: []string{"If-Match", `W/"999"`}},
			status: 412,
			check:  stUnchanged,
		},
		{
			name:   "412: DELETE with If-Match naming an older version",
			setup:  stCreated,
			req:    stRequest{method: "DELETE", path: "/Users/{id}", header: []string{"If-Match", `W/"999"`}},
			status: 412,
			check:  stUnchanged,
		},

		// 413: the body is over the 1 MiB limit.
		{
			name:   "413: a POST body over 1 MiB (Content-Length)",
			req:    stRequest{method: "POST", path: "/Users", body: oversize},
			status: 413,
			check:  stNoVendorAccount,
		},
		{
			name:   "413: a chunked PATCH body over 1 MiB",
			setup:  stCreated,
			req:    stRequest{method: "PATCH", path: "/Users/{id}", body: stChunked(oversize)},
			status: 413,
			check:  stUnchanged,
		},

		// 429: too many requests, ours or the vendor's.
		{
			name: "429: the vendor throttles every attempt, and its Retry-After is passed on", vendor: true,
			setup: func(t *testing.T, b *scimtest.Bridge) stFixture {
				f := stCreated(t, b)
				b.Emu.Fail(upstreamtest.OpGet, http.StatusTooManyRequests, -1, 7*time.Second)
				return f
			},
			req: stRequest{method: "GET", path: "/Users/{id}"}, status: 429, retryAfter: 7,
		},
		{
			name: "429: the vendor throttles every attempt without a hint, so the bridge estimates one", vendor: true,
			setup: func(t *testing.T, b *scimtest.Bridge) stFixture {
				f := stCreated(t, b)
				b.Emu.Fail(upstreamtest.OpUpdate, http.StatusTooManyRequests, -1, 0)
				return f
			},
			req:    stRequest{method: "PATCH", path: "/Users/{id}", body: stPatch(`{"op":"replace","path":"name.givenName","value":"Throttled"}`)},
			status: 429,
		},
		{
			name: "429: the credential is past SCIM_BRIDGE_RATE_LIMIT",
			// 0.1 request/s is a burst of one: the setup's request takes it, however slow the machine.
			opts: func(o *scimtest.Options) { o.Auth = &auth.Config{Tokens: []string{scimtest.Token}, RateLimit: 0.1} },
			setup: func(t *testing.T, b *scimtest.Bridge) stFixture {
				stMust(t, b.Do(t, "GET", "/Users", nil), http.StatusOK)
				return stFixture{}
			},
			req: stRequest{method: "GET", path: "/Users"}, status: 429,
			check: func(t *testing.T, _ *scimtest.Bridge, _ stFixture, r scimtest.Response) {
				if s, _ := strconv.Atoi(r.Header.Get("Retry-After")); s > 10 {
					t.Errorf("Retry-After %d s, more than one token takes at 0.1/s", s)
				}
			},
		},

		// 500: the bridge itself failed.
		{
			name: "500: the bridge's own store fails",
			setup: func(t *testing.T, b *scimtest.Bridge) stFixture {
				f := stCreated(t, b)
				db, err := sql.Open("sqlite", b.DBPath)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				if _, err := db.Exec(`ALTER TABLE links RENAME TO links_gone`); err != nil {
					t.Fatal(err)
				}
				return f
			},
			req: stRequest{method: "GET", path: "/Users/{id}"}, status: 500,
			check: func(t *testing.T, _ *scimtest.Bridge, _ stFixture, r scimtest.Response) {
				if d := str(r.Body, "detail"); strings.Contains(d, "links") || strings.Contains(d, "sql") {
					t.Errorf("detail %q shows the store's error", d)
				}
			},
		},

		// 501: SCIM features the bridge does not offer.
		{
			name: "501: POST /Bulk (bulk.supported is false)",
			req: stRequest{method: "POST", path: "/Bulk",
				body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[]}`},
			status: 501,
		},
		{
			name: "501: /Me",
			req:  stRequest{method: "GET", path: "/Me"}, status: 501,
		},

		// 502: the vendor answered, but not usably.
		{
			name: "502: the vendor refuses the bridge's API key", vendor: true,
			setup: func(t *testing.T, b *scimtest.Bridge) stFixture {
				f := stCreated(t, b)
				b.Emu.Fail(upstreamtest.OpGet, http.StatusUnauthorized, -1, 0)
				return f
			},
			req: stRequest{method: "GET", path: "/Users/{id}"}, status: 502,
			check: func(t *testing.T, _ *scimtest.Bridge, _ stFixture, r scimtest.Response) {
				if d := str(r.Body, "detail"); !strings.Contains(d, "SCIM_BRIDGE_UPSTREAM_TOKEN") {
					t.Errorf("detail %q does not point at the vendor key setting", d)
				}
			},
		},
		{
			name: "502: the vendor answers a body that is not JSON", vendor: true,
			opts: func(o *scimtest.Options) {
				tg, err := targets.Lookup(o.Target)
				if err != nil {
					panic(err)
				}
				o.Emulator = &stGarbler{Emulator: tg.Emulator(scimtest.APIKey)}
			},
			setup: func(t *testing.T, b *scimtest.Bridge) stFixture {
				f := stCreated(t, b)
				b.Emu.(*stGarbler).on.Store(true)
				return f
			},
			req: stRequest{method: "GET", path: "/Users/{id}"}, status: 502,
			check: func(t *testing.T, _ *scimtest.Bridge, _ stFixture, r scimtest.Response) {
				if strings.Contains(string(r.Raw), "<html>") {
					t.Errorf("the vendor's answer reached the IdP: %s", r.Raw)
				}
			},
		},

		// 503: the vendor is unavailable.
		{
			name: "503: the vendor answers 5xx on every attempt of a create", vendor: true,
			setup: func(t *testing.T, b *scimtest.Bridge) stFixture {
				b.Emu.Fail(upstreamtest.OpCreate, http.StatusInternalServerError, -1, 0)
				return stFixture{}
			},
			req:    stRequest{method: "POST", path: "/Users", body: scimtest.User(stUserName, "Down", "Stream")},
			status: 503,
			check:  stNoVendorAccount,
		},
		{
			name: "503: the vendor is down for maintenance, and its Retry-After is passed on", vendor: true,
			setup: func(t *testing.T, b *scimtest.Bridge) stFixture {
				f := stCreated(t, b)
				b.Emu.Fail(upstreamtest.OpGet, http.StatusServiceUnavailable, -1, 3*time.Second)
				return f
			},
			req: stRequest{method: "GET", path: "/Users/{id}"}, status: 503, retryAfter: 3,
		},
		{
			name: "503: every attempt outlasts SCIM_BRIDGE_UPSTREAM_TIMEOUT", vendor: true,
			opts: func(o *scimtest.Options) {
				o.Settings = map[string]string{"SCIM_BRIDGE_UPSTREAM_TIMEOUT": "50ms"}
				o.Policy = &adapters.RetryPolicy{Attempts: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, Budget: 2 * time.Second}
			},
			setup: func(t *testing.T, b *scimtest.Bridge) stFixture {
				f := stSeeded(t, b) // not created through the bridge: the short timeout would race the setup
				b.Emu.SetLatency(200 * time.Millisecond)
				return f
			},
			req: stRequest{method: "GET", path: "/Users/{id}"}, status: 503,
		},
		{
			name: "503: the retry budget ends while the vendor hangs", vendor: true,
			opts: func(o *scimtest.Options) {
				o.Policy = &adapters.RetryPolicy{Attempts: 4, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, Budget: 80 * time.Millisecond}
			},
			setup: func(t *testing.T, b *scimtest.Bridge) stFixture {
				f := stSeeded(t, b) // not created through the bridge: the short budget would race the setup
				b.Emu.SetLatency(250 * time.Millisecond)
				return f
			},
			req: stRequest{method: "GET", path: "/Users/{id}"}, status: 503,
		},

		// Outside SCIM: the probes and the OAuth token endpoint (RFC 6749 bodies, not SCIM ones).
		{
			name: "200 /healthz: the process serves",
			req:  stRequest{method: "GET", path: "{root}/healthz", header: []string{"Authorization", ""}}, status: 200, body: stText,
		},
		{
			name: "200 /readyz: the store and the vendor answer", vendor: true,
			req: stRequest{method: "GET", path: "{root}/readyz", header: []string{"Authorization", ""}}, status: 200, body: stText,
		},
		{
			name: "503 /readyz: the vendor is down", vendor: true,
			setup: func(t *testing.T, b *scimtest.Bridge) stFixture {
				b.Emu.Fail(upstreamtest.OpList, http.StatusServiceUnavailable, -1, 0)
				return stFixture{}
			},
			req: stRequest{method: "GET", path: "{root}/readyz", header: []string{"Authorization", ""}}, status: 503, body: stText,
		},
		{
			name:   "200 /oauth/token: the client credentials grant issues a token",
			opts:   stOAuth,
			req:    stTokenRequest(url.Values{"grant_type": {"client_credentials"}, "client_id": {stClientID}, "client_secret": {stClientSecret}}),
			status: 200, body: stOAuthToken,
		},
		{
			name:   "400 /oauth/token: a grant other than client_credentials",
			opts:   stOAuth,
			req:    stTokenRequest(url.Values{"grant_type": {"password"}, "client_id": {stClientID}, "client_secret": {stClientSecret}}),
			status: 400, body: stOAuthError,
			check: stOAuthCode("unsupported_grant_type"),
		},
		{
			name:   "401 /oauth/token: a wrong client secret",
			opts:   stOAuth,
			req:    stTokenRequest(url.Values{"grant_type": {"client_credentials"}, "client_id": {stClientID}, "client_secret": {"wrong-secret-0000000000000000"}}),
			status: 401, body: stOAuthError,
			check: func(t *testing.T, b *scimtest.Bridge, f stFixture, r scimtest.Response) {
				stOAuthCode("invalid_client")(t, b, f, r)
				if r.Header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			},
		},
		{
			name: "403 /oauth/token: the client's address is outside SCIM_BRIDGE_ALLOW_CIDRS",
			opts: func(o *scimtest.Options) {
				stOAuth(o)
				o.Auth.AllowCIDRs = []string{"192.0.2.0/24"}
			},
			req:    stTokenRequest(url.Values{"grant_type": {"client_credentials"}, "client_id": {stClientID}, "client_secret": {stClientSecret}}),
			status: 403, body: stOAuthError,
			check: stOAuthCode("access_denied"),
		},
		{
			name: "413 /oauth/token: a form over 16 KiB",
			opts: stOAuth,
			req: stTokenRequest(url.Values{"grant_type": {"client_credentials"}, "client_id": {stClientID},
				"client_secret": {stClientSecret}, "padding": {strings.Repeat("x", 16<<10)}}),
			status: 413, body: stOAuthError,
			check: stOAuthCode("invalid_request"),
		},
		{
			name: "405 /oauth/token: GET",
			opts: stOAuth,
			req:  stRequest{method: "GET", path: "{root}/oauth/token", header: []string{"Authorization", ""}}, status: 405, body: stOAuthError,
			check: func(t *testing.T, b *scimtest.Bridge, f stFixture, r scimtest.Response) {
				stOAuthCode("invalid_request")(t, b, f, r)
				stAllow("POST")(t, b, f, r)
			},
		},
	}
}

func runStatusRow(t *testing.T, row statusRow, target string) {
	o := scimtest.Options{Target: target}
	if row.opts != nil {
		row.opts(&o)
	}
	b := scimtest.Start(t, o)
	var f stFixture
	if row.setup != nil {
		f = row.setup(t, b)
	}
	f.writes = stVendorWrites(b)
	r := stDo(t, b, f, row.req)
	if r.Status != row.status {
		t.Fatalf("%s %s: status %d, want %d; body %s", row.req.method, row.req.path, r.Status, row.status, r.Raw)
	}
	switch kind := row.body; {
	case row.status >= 400 && kind == stSCIMError:
		assertSCIMError(t, r, row.status, row.scimType)
		stCheckRetryAfter(t, r, row)
	case kind == stResource:
		stCheckSCIMJSON(t, r)
		if schemas, _ := r.Body["schemas"].([]any); str(r.Body, "id") == "" || len(schemas) == 0 || schemas[0] != stUserSchema {
			t.Errorf("not a User resource: %s", r.Raw)
		}
		if r.Header.Get("Etag") == "" {
			t.Error("no ETag on a resource")
		}
		if row.status == http.StatusCreated {
			if loc := r.Header.Get("Location"); loc == "" || loc != str(r.Body, "meta", "location") {
				t.Errorf("Location %q, want meta.location %q", loc, str(r.Body, "meta", "location"))
			}
		}
	case kind == stList:
		stCheckSCIMJSON(t, r)
		if schemas, _ := r.Body["schemas"].([]any); len(schemas) != 1 || schemas[0] != stListSchema {
			t.Errorf("not a ListResponse: %s", r.Raw)
		}
	case kind == stDocument:
		stCheckSCIMJSON(t, r)
	case kind == stNoBody:
		if len(r.Raw) != 0 {
			t.Errorf("a %d with a body: %q", r.Status, r.Raw)
		}
	case kind == stOAuthError, kind == stOAuthToken:
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store (RFC 6749 §5.1)", cc)
		}
		if kind == stOAuthToken && (str(r.Body, "access_token") == "" || !strings.EqualFold(str(r.Body, "token_type"), "Bearer")) {
			t.Errorf("token answer %s", r.Raw)
		}
	case kind == stText:
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || len(r.Raw) == 0 {
			t.Errorf("Content-Type %q, body %q: want a line of text/plain", ct, r.Raw)
		}
	default:
		t.Fatalf("row %q: no body check for status %d", row.name, row.status)
	}
	if row.check != nil {
		row.check(t, b, f, r)
	}
}

// stDo sends one request as the IdP would: the test token, application/scim+json for a body.
func stDo(t *testing.T, b *scimtest.Bridge, f stFixture, q stRequest) scimtest.Response {
	t.Helper()
	expand := func(s string) string {
		return strings.NewReplacer("{id}", f.id, "{etag}", f.etag, "{root}", b.Root).Replace(s)
	}
	if q.raw != "" {
		return stDoRaw(t, b, q)
	}
	target := expand(q.path)
	if !strings.HasPrefix(q.path, "{root}") {
		target = b.URL + target
	}
	var body io.Reader
	switch v := q.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(v)
	case []byte:
		body = bytes.NewReader(v)
	case stChunked:
		body = struct{ io.Reader }{bytes.NewReader(v)} // hides the length: sent chunked
	default:
		body = strings.NewReader(stJSON(v))
	}
	req, err := http.NewRequest(q.method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+scimtest.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(q.header); i += 2 {
		if q.header[i+1] == "" {
			req.Header.Del(q.header[i])
		} else {
			req.Header.Set(q.header[i], expand(q.header[i+1]))
		}
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", q.method, q.path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", q.method, q.path, err)
	}
	r := scimtest.Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(bytes.TrimSpace(raw)) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &r.Body); err != nil {
			t.Errorf("the answer is not one JSON object: %v: %q", err, raw)
		}
	}
	return r
}

// stDoRaw writes q.raw on a fresh connection and reads one answer.
func stDoRaw(t *testing.T, b *scimtest.Bridge, q stRequest) scimtest.Response {
	t.Helper()
	host := strings.TrimPrefix(b.Root, "http://")
	conn, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, strings.NewReplacer("{host}", host, "{token}", scimtest.Token).Replace(q.raw)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("raw %s: %v", q.method, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := scimtest.Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(bytes.TrimSpace(raw)) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &r.Body); err != nil {
			t.Errorf("the answer is not one JSON object: %v: %q", err, raw)
		}
	}
	return r
}

// stCheckRetryAfter: a 429 or 503 tells the IdP when to come back (RFC 9110 §10.2.3, in seconds); nothing else
// does.
func stCheckRetryAfter(t *testing.T, r scimtest.Response, row statusRow) {
	t.Helper()
	h := r.Header.Get("Retry-After")
	if r.Status != http.StatusTooManyRequests && r.Status != http.StatusServiceUnavailable {
		if h != "" {
			t.Errorf("Retry-After %q on a %d", h, r.Status)
		}
		return
	}
	s, err := strconv.Atoi(h)
	switch {
	case err != nil || s < 1:
		t.Errorf("Retry-After %q, want a positive number of seconds", h)
	case row.retryAfter > 0 && s != row.retryAfter:
		t.Errorf("Retry-After %d, want the vendor's %d", s, row.retryAfter)
	}
}

func stCheckSCIMJSON(t *testing.T, r scimtest.Response) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
		t.Errorf("Content-Type %q, want application/scim+json", ct)
	}
	if r.Body == nil {
		t.Errorf("not a JSON object: %q", r.Raw)
	}
}

// stCreated provisions stUserName and returns its id and ETag.
func stCreated(t *testing.T, b *scimtest.Bridge) stFixture {
	t.Helper()
	r := b.Do(t, "POST", "/Users", scimtest.User(stUserName, "Given", "Family"))
	stMust(t, r, http.StatusCreated)
	f := stFixture{id: str(r.Body, "id"), etag: r.Header.Get("Etag")}
	if f.id == "" || f.etag == "" {
		t.Fatalf("setup: no id or ETag in %s", r.Raw)
	}
	return f
}

// stSeeded makes the account in the vendor only, as an admin would in its UI; the bridge reads it by id.
func stSeeded(t *testing.T, b *scimtest.Bridge) stFixture {
	t.Helper()
	ids := b.Emu.Seed(adapters.User{Email: stUserName, GivenName: "Made", FamilyName: "InUI", Active: true})
	return stFixture{id: ids[0]}
}

func stMust(t *testing.T, r scimtest.Response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("setup: status %d, want %d; body %s", r.Status, want, r.Raw)
	}
}

func stSameID(t *testing.T, _ *scimtest.Bridge, f stFixture, r scimtest.Response) {
	t.Helper()
	if g := str(r.Body, "id"); g != f.id {
		t.Errorf("id %q, want %q", g, f.id)
	}
}

// stNoVendorAccount: a refused create reached no vendor account.
func stNoVendorAccount(t *testing.T, b *scimtest.Bridge, _ stFixture, _ scimtest.Response) {
	t.Helper()
	if n := b.Emu.Users(); n != 0 {
		t.Errorf("%d vendor accounts after a refused create", n)
	}
}

// stUnchanged: a refused write changed nothing the IdP can read, nor anything at the vendor.
func stUnchanged(t *testing.T, b *scimtest.Bridge, f stFixture, _ scimtest.Response) {
	t.Helper()
	g := b.Do(t, "GET", "/Users/"+f.id, nil)
	if g.Status != http.StatusOK || g.Header.Get("Etag") != f.etag {
		t.Errorf("after the refused request: GET %d, ETag %q (was %q)", g.Status, g.Header.Get("Etag"), f.etag)
	}
	if n := stVendorWrites(b) - f.writes; n != 0 {
		t.Errorf("%d vendor writes after the refused request", n)
	}
}

func stVendorWrites(b *scimtest.Bridge) int {
	return b.Emu.Calls(upstreamtest.OpUpdate) + b.Emu.Calls(upstreamtest.OpDelete)
}

// stChallenge: RFC 9110 §11.6.1, a 401 names how to authenticate.
func stChallenge(want string) func(*testing.T, *scimtest.Bridge, stFixture, scimtest.Response) {
	return func(t *testing.T, _ *scimtest.Bridge, _ stFixture, r scimtest.Response) {
		t.Helper()
		if g := r.Header.Values("WWW-Authenticate"); len(g) == 0 || g[0] != want {
			t.Errorf("WWW-Authenticate %q, want %q", g, want)
		}
	}
}

// stAllow: RFC 9110 §15.5.6, a 405 MUST list the methods the endpoint does allow.
func stAllow(methods ...string) func(*testing.T, *scimtest.Bridge, stFixture, scimtest.Response) {
	return func(t *testing.T, _ *scimtest.Bridge, _ stFixture, r scimtest.Response) {
		t.Helper()
		var got []string
		for _, v := range r.Header.Values("Allow") {
			for _, m := range strings.Split(v, ",") {
				if m = strings.TrimSpace(m); m != "" {
					got = append(got, m)
				}
			}
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(methods))
		if !slices.Equal(got, want) {
			t.Errorf("Allow %q, want %q (RFC 9110 §15.5.6)", got, want)
		}
	}
}

func stOAuthCode(code string) func(*testing.T, *scimtest.Bridge, stFixture, scimtest.Response) {
	return func(t *testing.T, _ *scimtest.Bridge, _ stFixture, r scimtest.Response) {
		t.Helper()
		if g := str(r.Body, "error"); g != code {
			t.Errorf("OAuth error %q, want %q: %s", g, code, r.Raw)
		}
	}
}

func stOAuth(o *scimtest.Options) {
	o.Auth = &auth.Config{Tokens: []string{scimtest.Token}, OAuthClientID: stClientID, OAuthClientSecret: stClientSecret,
		JWTSigningKey: []byte("status-table-signing-key-0123456789abcdef")}
}

func stTokenRequest(form url.Values) stRequest {
	return stRequest{method: "POST", path: "{root}/oauth/token", body: form.Encode(),
		header: []string{"Authorization", "", "Content-Type", "application/x-www-form-urlencoded"}}
}

func stPatch(ops ...string) string {
	return `{"schemas":["` + stPatchSchema + `"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

func stJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// stPadded is a valid User body of exactly n bytes.
func stPadded(n int) []byte {
	b := []byte(stJSON(scimtest.User("big@example.com", "Big", "Body")))
	return append(b, bytes.Repeat([]byte(" "), n-len(b))...)
}

// stGarbler is an emulator that, once on, answers every read with a page of HTML: a vendor behind a captive
// portal or a misrouted proxy.
type stGarbler struct {
	targets.Emulator
	on atomic.Bool
}

func (g *stGarbler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.on.Load() && r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body>Service moved</body></html>"))
		return
	}
	g.Emulator.ServeHTTP(w, r)
}
