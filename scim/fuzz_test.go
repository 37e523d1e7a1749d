package scim_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/scim/scimtest"
)

// fuzzSeedBodies are POST and PUT bodies as Okta and Entra send them (see /work/shared/notes/idp-traffic.md).
var fuzzSeedBodies = []string{
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"test.user@okta.local","name":{"givenName":"Test","familyName":"User"},"emails":[{"primary":true,"value":"test.user@okta.local","type":"work"}],"displayName":"Test User","locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7","groups":[],"password":"1mz050nq","active":true}`,
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"externalId":"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef","userName":"Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee","active":true,"emails":[{"primary":true,"type":"work","value":"Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"}],"meta":{"resourceType":"User"},"name":{"formatted":"givenName familyName","familyName":"familyName","givenName":"givenName"},"roles":[]}`,
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"23a35c27-23d3-4c03-b4c5-6443c09e7173","userName":"test.user@okta.local","name":{"givenName":"Another","middleName":"","familyName":"User"},"active":true,"emails":[{"primary":true,"value":"test.user@okta.local","type":"work","display":"test.user@okta.local"}],"groups":[],"meta":{"resourceType":"User"}}`,
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"entra@example.com","active":"False","title":"Lead","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"701984","department":"Tour Operations","manager":{"value":"26118915-6090-4610-87e4-49d8ca9f808d"}}}`,
	`{}`,
	`[]`,
	`null`,
	`{"userName":`,
}

// fuzzSeedPatches reads the Okta and Entra PATCH bodies kept for the patch package's tests.
func fuzzSeedPatches(f *testing.F) [][]byte {
	files, err := filepath.Glob(filepath.Join("patch", "testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no PATCH seeds in patch/testdata: %v", err)
	}
	out := make([][]byte, 0, len(files))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// assertHealthyAnswer holds for any request body: the emulator is healthy, so the bridge never answers 5xx, and
// every refusal is a SCIM error the IdP can show to its admin.
func assertHealthyAnswer(t *testing.T, what string, r scimtest.Response) {
	t.Helper()
	if r.Status >= 500 {
		t.Fatalf("%s: %d with a healthy vendor: %s", what, r.Status, r.Raw)
	}
	if r.Status < 300 || r.Status == http.StatusNotModified {
		return
	}
	schemas, _ := r.Body["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != errSchema || r.Body["status"] == nil {
		t.Fatalf("%s: %d without the SCIM error schema: %s", what, r.Status, r.Raw)
	}
}

func assertStillServing(t *testing.T, b *scimtest.Bridge) {
	t.Helper()
	resp, err := b.Client.Get(b.Root + "/healthz")
	if err != nil {
		t.Fatalf("the bridge stopped answering: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz %d", resp.StatusCode)
	}
}

// boundedClient turns a hung request into a failure with a reproducer: the fuzzing engine does not detect hangs.
func boundedClient(b *scimtest.Bridge) {
	b.Client = &http.Client{Transport: b.Client.Transport, Timeout: 10 * time.Second}
}

// FuzzUsersRequestBody sends each input as the body of POST /Users, PUT and PATCH /Users/{id} of one seeded user,
// on one bridge for the whole run. Fuzz with -fuzzminimizetime=50x: every execution is several HTTP round trips,
// so the default minimisation (60 s per new input) looks like a hang.
func FuzzUsersRequestBody(f *testing.F) {
	b := scimtest.Start(f, scimtest.Options{})
	boundedClient(b)
	seeded := b.Do(f, "POST", "/Users", scimtest.User("fuzz.seed@example.com", "Fuzz", "Seed"))
	id, _ := seeded.Body["id"].(string)
	if seeded.Status != http.StatusCreated || id == "" {
		f.Fatalf("seeding the user: %d %s", seeded.Status, seeded.Raw)
	}
	for _, s := range fuzzSeedBodies {
		f.Add([]byte(s))
	}
	for _, s := range fuzzSeedPatches(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, req := range []struct{ method, path string }{
			{"POST", "/Users"},
			{"PUT", "/Users/" + id},
			{"PATCH", "/Users/" + id},
		} {
			assertHealthyAnswer(t, req.method+" "+req.path, b.Do(t, req.method, req.path, body))
		}
		assertStillServing(t, b)
	})
}

// FuzzFilterQuery sends arbitrary filters to GET /Users: each is either evaluated (200) or refused as an invalid
// filter (400), never a server error or a dropped connection.
func FuzzFilterQuery(f *testing.F) {
	b := scimtest.Start(f, scimtest.Options{})
	boundedClient(b)
	seeded := b.Do(f, "POST", "/Users", scimtest.User("filter.seed@example.com", "Filter", "Seed"))
	if seeded.Status != http.StatusCreated {
		f.Fatalf("seeding the user: %d %s", seeded.Status, seeded.Raw)
	}
	for _, s := range []string{
		`userName eq "filter.seed@example.com"`,
		`userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"`,
		`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`,
		`id eq "1"`,
		`emails[type eq "work"].value eq "filter.seed@example.com"`,
		`emails[type eq "work" and value co "@"]`,
		`userName sw "filter" and active eq true`,
		`not (active eq false) or title pr`,
		`meta.lastModified gt "2020-01-01T00:00:00Z"`,
		`name.familyName ew "Seed"`,
		`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x"`,
		`userName eq`,
		`((((`,
		`active gt true`,
		``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, filter string) {
		r := b.Do(t, "GET", "/Users?filter="+url.QueryEscape(filter), nil)
		switch {
		case r.Status == http.StatusOK:
			if _, ok := r.Body["totalResults"]; !ok {
				t.Fatalf("filter %q: 200 without a ListResponse: %s", filter, r.Raw)
			}
		case r.Status == http.StatusBadRequest && r.Body["scimType"] == "invalidFilter":
			assertHealthyAnswer(t, "filter "+filter, r)
		default:
			t.Fatalf("filter %q: %d, want 200 or 400 invalidFilter: %s", filter, r.Status, r.Raw)
		}
	})
}
