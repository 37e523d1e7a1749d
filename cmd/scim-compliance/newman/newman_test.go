package newman

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/scim-bridge/scim-bridge/cmd/scim-compliance/pins"
)

func TestPrepareDropsOnlyTheTopLevelItem(t *testing.T) {
	in := `{"info":{"name":"SCIM Tests"},"item":[
		{"name":"Get Token","item":[{"name":"Get Token"}]},
		{"name":"User tests","item":[{"name":"Get Token"},{"name":"Post User"}]}
	],"event":[]}`
	out, removed, err := Prepare([]byte(in), "Get Token")
	if err != nil {
		t.Fatal(err)
	}
	if removed != 1 {
		t.Errorf("removed = %d, want 1", removed)
	}
	var got struct {
		Item []struct {
			Name string `json:"name"`
			Item []struct {
				Name string `json:"name"`
			} `json:"item"`
		} `json:"item"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Item) != 1 || got.Item[0].Name != "User tests" || len(got.Item[0].Item) != 2 {
		t.Errorf("items after prepare = %+v, want only User tests with its two items", got.Item)
	}
	keys := []string{`"info"`, `"item"`, `"event"`}
	last := -1
	for _, k := range keys {
		i := strings.Index(string(out), k)
		if i < last {
			t.Errorf("member %s moved: top-level order must be kept", k)
		}
		last = i
	}

	again, removed, err := Prepare(out, "Get Token")
	if err != nil || removed != 0 || string(again) != string(out) {
		t.Errorf("preparing a prepared copy = removed %d, err %v, changed %v; want a no-op", removed, err, string(again) != string(out))
	}
}

func TestPrepareRejectsANonObject(t *testing.T) {
	if _, _, err := Prepare([]byte(`[1]`), "Get Token"); err == nil {
		t.Fatal("a JSON list was accepted as a collection")
	}
}

func TestParseReport(t *testing.T) {
	b, err := os.ReadFile("testdata/report.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseReport(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []pins.Outcome{
		{Item: "Get empty Users", Check: "Status code is 200", Passed: true},
		{Item: "Patch user omalley new username", Check: "Status code is 204",
			Detail:  "AssertionError: expected response to have status code 204 but got 200",
			Context: `PATCH http://127.0.0.1:8080/scim/v2/Users/u1 -> 200 {"id":"u1"}`},
		{Item: "Get User Filters", Check: CheckTestScript, Detail: "JSONError: Unexpected token 'b' at 1:1",
			Context: "GET http://127.0.0.1:8080/scim/v2/Users/?filter=DisplayName+eq+%22BobIsAmazing%22 -> 400 bad"},
		{Item: "Get User Filters", Check: "Body contians id1", Detail: "AssertionError: expected 'bad' to include 'u1'",
			Context: "GET http://127.0.0.1:8080/scim/v2/Users/?filter=DisplayName+eq+%22BobIsAmazing%22 -> 400 bad"},
		{Item: "Get Schemas", Check: CheckRequest, Detail: "Error: connect ECONNREFUSED 127.0.0.1:8080",
			Context: "GET http://127.0.0.1:8080/scim/v2/Schemas"},
		{Item: "patch user1", Check: CheckRequest, Detail: "ESOCKETTIMEDOUT",
			Context: "PATCH http://127.0.0.1:8080/scim/v2/Users/101"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d outcomes %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("outcome %d =\n %+v\nwant\n %+v", i, got[i], want[i])
		}
		if strings.Contains(got[i].Detail+got[i].Context, "fixture-token") {
			t.Errorf("outcome %d leaks the token", i)
		}
	}
}

func TestParseReportRejectsOtherJSON(t *testing.T) {
	if _, err := ParseReport([]byte(`{"info":{}}`)); err == nil {
		t.Fatal("a collection was accepted as a report")
	}
}
