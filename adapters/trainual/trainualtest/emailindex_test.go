package trainualtest

import (
	"fmt"
	"testing"

	"github.com/scim-bridge/scim-bridge/adapters"
)

// The duplicate check and the ?email= filter answer from an index: they must follow every way an address changes
// (create, Seed, PATCH, the vendor's UI) and every way an account goes (the UI, a hard-deleting variant).
func TestTheEmailIndexFollowsEveryChange(t *testing.T) {
	em, c := start(t)
	ids := em.Seed(adapters.User{Email: "Seeded@Example.com", GivenName: "A", FamilyName: "B", Active: true},
		adapters.User{Email: "ui@example.com", GivenName: "A", FamilyName: "B", Active: true})
	create := func(email string) int {
		st, _, _ := c.do("POST", "/users", fmt.Sprintf(`{"email":%q,"first_name":"A","last_name":"B"}`, email))
		return st
	}
	found := func(email string) string {
		_, _, v := c.do("GET", "/users?email="+email, "")
		var out string
		for _, u := range v.(map[string]any)["users"].([]any) {
			out += fmt.Sprint(u.(map[string]any)["id"]) + " "
		}
		return out
	}
	if st := create("seeded@example.COM"); st != 422 {
		t.Errorf("create of a seeded address in another case = %d, want 422", st)
	}
	if st := create("new@example.com"); st != 201 {
		t.Fatalf("create = %d", st)
	}
	newID := fmt.Sprint(firstID + 2)
	if st, _, _ := c.do("PATCH", "/users/"+newID, `{"email":"renamed@example.com"}`); st != 200 {
		t.Fatalf("rename = %d", st)
	}
	if st := create("NEW@example.com"); st != 201 {
		t.Errorf("the old address of a renamed user is still taken (%d)", st)
	}
	if st := create("Renamed@example.com"); st != 422 {
		t.Errorf("the new address of a renamed user is free (%d)", st)
	}
	if got := found("RENAMED@example.com"); got != newID+" " {
		t.Errorf("?email= finds %q, want the renamed user %s", got, newID)
	}
	em.SetInUI(ids[1], "userName", "moved@example.com")
	if st := create("moved@example.com"); st != 422 {
		t.Errorf("an address set in the UI is free (%d)", st)
	}
	if got := found("ui@example.com"); got != "" {
		t.Errorf("?email= finds %q under the address the UI replaced", got)
	}
	em.RemoveInUI(ids[1])
	if st := create("moved@example.com"); st != 201 {
		t.Errorf("the address of a user removed in the UI is still taken (%d)", st)
	}
	em.SetVariant(Variant{HardDelete: true})
	if st, _, _ := c.do("DELETE", "/users/"+ids[0], ""); st != 200 {
		t.Fatalf("delete = %d", st)
	}
	if st := create("seeded@example.com"); st != 201 {
		t.Errorf("the address of a hard-deleted user is still taken (%d)", st)
	}
}

// A listing page is served from the ids in order, rebuilt whenever accounts come or go.
func TestTheListingFollowsCreatesAndRemovals(t *testing.T) {
	em, c := start(t)
	var ids []string
	for i := range 30 {
		ids = append(ids, em.Seed(adapters.User{Email: fmt.Sprintf("u%02d@example.com", i), Active: true})...)
	}
	page := func(n int) (string, any) {
		_, _, v := c.do("GET", fmt.Sprintf("/users?page=%d", n), "")
		m := v.(map[string]any)
		var out string
		for _, u := range m["users"].([]any) {
			out += fmt.Sprint(u.(map[string]any)["id"]) + " "
		}
		return out, m["meta"].(map[string]any)["total"]
	}
	if got, total := page(2); got != fmt.Sprintf("%d %d %d %d %d ", firstID+25, firstID+26, firstID+27, firstID+28, firstID+29) || total != 30.0 {
		t.Errorf("page 2 = %q, total %v", got, total)
	}
	em.RemoveInUI(ids[0])
	em.Seed(adapters.User{Email: "late@example.com", Active: true})
	if got, total := page(2); got != fmt.Sprintf("%d %d %d %d %d ", firstID+26, firstID+27, firstID+28, firstID+29, firstID+30) || total != 30.0 {
		t.Errorf("after a removal and a seed, page 2 = %q, total %v", got, total)
	}
	em.RemoveInUI(ids[29])
	if got, total := page(2); got != fmt.Sprintf("%d %d %d %d ", firstID+26, firstID+27, firstID+28, firstID+30) || total != 29.0 {
		t.Errorf("after a removal, page 2 = %q, total %v", got, total)
	}
}
