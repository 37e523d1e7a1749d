package runscope

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scim-bridge/scim-bridge/cmd/scim-compliance/pins"
	"github.com/scim-bridge/scim-bridge/cmd/scim-compliance/scimfake"
)

const token = "s3cret-token"

func newRunner(t *testing.T, srv *httptest.Server) *Runner {
	t.Helper()
	vars := SetupVariables(rand.New(rand.NewPCG(1, 2)))
	vars["SCIMBaseURL"] = srv.URL + scimfake.Prefix
	vars["auth"] = "Bearer " + token
	return &Runner{Client: srv.Client(), Vars: vars}
}

func loadTiny(t *testing.T) *Suite {
	t.Helper()
	s, label, err := Load("testdata/suite.json")
	if err != nil {
		t.Fatal(err)
	}
	if label != "suite" {
		t.Fatalf("label = %q, want the file's base name", label)
	}
	return s
}

func TestRunReportsEachAssertionAndScriptOfEachRequestStep(t *testing.T) {
	fake := scimfake.New(token)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	r := newRunner(t, srv)

	got, err := r.Run(context.Background(), loadTiny(t))
	if err != nil {
		t.Fatal(err)
	}

	type want struct {
		item, check string
		passed      bool
		detail      string // substring of the failure detail
	}
	wants := []want{
		{"Create a user", "response_status equal_number 201", true, ""},
		{"Create a user", "response_json userName equal {{randomUsername}}", true, ""},
		{"Create a user", "response_json active equal true", true, ""},
		{"Create a user", "response_json schemas contains urn:ietf:params:scim:schemas:core:2.0:User", true, ""},
		{"Create a user", "response_time is_less_than 60000", true, ""},
		{"Create a user", "script 1", true, ""},
		{"Filter with raw spaces and quotes", "response_status equal_number 200", true, ""},
		{"Filter with raw spaces and quotes", "response_json totalResults equal 1", true, ""},
		{"Filter with raw spaces and quotes", "response_json schemas has_value urn:ietf:params:scim:api:messages:2.0:ListResponse", true, ""},
		{"Filter with raw spaces and quotes", "response_json itemsPerPage is_a_number", true, ""},
		{"Filter with raw spaces and quotes", "response_json Resources[0].emails[0].value not_empty", true, ""},
		{"Filter with raw spaces and quotes", "response_json Resources[0].id equal {{fromScript}}", true, ""},
		{"Get the user by a captured id", "response_status equal_number 200", true, ""},
		{"Get the user by a captured id", "response_json id equal {{idUserOne}}", true, ""},
		{"Get the user by a captured id", "response_json name.givenName equal {{randomGivenName}}", true, ""},
		{"Groups are missing", "response_status equal_number 200", false, `expected equal_number "200", got 404`},
		{"Groups are missing", "response_json Resources not_empty", false, "expected not_empty, got absent"},
		{"Groups are missing", "script 1", false, ".empty was passed non-string primitive undefined"},
		{"Uncaptured variable stays literal", "response_status equal_number 404", true, ""},
		{"Uncaptured variable stays literal", "response_json status equal 404", true, ""},
		{"Uncaptured variable stays literal", "response_json Resources is_null", true, ""},
		{"Bad token", "response_status equal_number 401", true, ""},
		{"Bad token", "response_status frobnicate 401", false, `unsupported comparison "frobnicate"`},
	}
	if len(got) != len(wants) {
		for _, o := range got {
			t.Logf("%s :: %s passed=%v %s", o.Item, o.Check, o.Passed, o.Detail)
		}
		t.Fatalf("got %d outcomes, want %d", len(got), len(wants))
	}
	for i, w := range wants {
		o := got[i]
		if o.Item != w.item || o.Check != w.check || o.Passed != w.passed || !strings.Contains(o.Detail, w.detail) {
			t.Errorf("outcome %d = {%q %q %v %q}, want {%q %q %v ...%q...}", i,
				o.Item, o.Check, o.Passed, o.Detail, w.item, w.check, w.passed, w.detail)
		}
		if !o.Passed && !strings.Contains(o.Context, "GET "+r.Vars["SCIMBaseURL"]) {
			t.Errorf("outcome %d context %q does not show the request", i, o.Context)
		}
		if strings.Contains(o.Detail+o.Context, token) {
			t.Errorf("outcome %d leaks the token: %q %q", i, o.Detail, o.Context)
		}
	}
	if fake.Users() != 1 {
		t.Errorf("users = %d: the skipped DELETE step must not run", fake.Users())
	}
	if _, ok := r.Vars["neverSet"]; ok {
		t.Error("a variable whose property is absent was set")
	}
}

func TestRunPercentEncodesRawSpacesAndQuotesInTheQuery(t *testing.T) {
	fake := scimfake.New(token)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	r := newRunner(t, srv)
	if _, err := r.Run(context.Background(), loadTiny(t)); err != nil {
		t.Fatal(err)
	}
	want := "filter=userName%20eq%20%22" + r.Vars["randomUsernameCaps"] + "%22&count=5"
	for _, q := range fake.RawQueries() {
		if q == want {
			return
		}
	}
	t.Errorf("no request had the raw query %q; got %q", want, fake.RawQueries())
}

func TestRunFailsEveryCheckOfAStepWhoseRequestFails(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	r := newRunner(t, srv)
	srv.Close() // nothing listens any more: every request fails before a response

	got, err := r.Run(context.Background(), loadTiny(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 23 {
		t.Fatalf("got %d outcomes, want 23 (every assertion and script still reported)", len(got))
	}
	for _, o := range got {
		if o.Passed || !strings.HasPrefix(o.Detail, "request failed: ") {
			t.Errorf("%s :: %s = passed %v, detail %q; want a request failure", o.Item, o.Check, o.Passed, o.Detail)
		}
	}
}

func TestRunStopsOnACancelledContext(t *testing.T) {
	srv := httptest.NewServer(scimfake.New(token))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got, err := newRunner(t, srv).Run(ctx, loadTiny(t))
	if err == nil || len(got) != 0 {
		t.Fatalf("Run on a cancelled context = %d outcomes, %v; want none and an error", len(got), err)
	}
}

func TestOutcomesSettleAgainstAPinnedList(t *testing.T) {
	srv := httptest.NewServer(scimfake.New(token))
	defer srv.Close()
	got, err := newRunner(t, srv).Run(context.Background(), loadTiny(t))
	if err != nil {
		t.Fatal(err)
	}
	list, err := pins.Parse(strings.NewReader(`
# Groups are not served.
Groups are missing
Bad token :: response_status frobnicate 401
Create a user :: script 1
`), "test")
	if err != nil {
		t.Fatal(err)
	}
	rep := list.Settle(got)
	if !rep.OK() || rep.Passed != 19 || len(rep.Pinned) != 4 {
		t.Fatalf("report = %d passed, %d failed, %d pinned; want 19, 0, 4", rep.Passed, len(rep.Failed), len(rep.Pinned))
	}
	if len(rep.Stale) != 1 || rep.Stale[0].String() != "Create a user :: script 1" {
		t.Errorf("stale = %v, want the passing pinned script", rep.Stale)
	}
}
