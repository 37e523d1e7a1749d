package titest_test

import (
	"fmt"
	"testing"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/thoughtindustries/titest"
)

// The duplicate check and the ?email= filter answer from an index: they must follow every way an address changes
// (create, Seed, PUT, the vendor's UI) and every way an account goes (DELETE, the UI).
func TestTheEmailIndexFollowsEveryChange(t *testing.T) {
	tn := newTenant(t)
	ids := tn.em.Seed(adapters.User{Email: "Seeded@Example.com", Active: true}, adapters.User{Email: "ui@example.com", Active: true})
	create := func(email string) answer {
		return tn.call(t, "POST", "/users", "header", map[string]any{"email": email, "firstName": "A"})
	}
	found := func(email string) string {
		var out string
		for _, u := range tn.call(t, "GET", "/users?email="+email, "header", nil).users(t) {
			out += fmt.Sprint(u.(map[string]any)["id"]) + " "
		}
		return out
	}
	if a := create("seeded@example.COM"); a.status != 422 {
		t.Errorf("create of a seeded address in another case = %d, want 422", a.status)
	}
	a := create("new@example.com")
	if a.status != 201 {
		t.Fatalf("create = %d", a.status)
	}
	id := fmt.Sprint(a.user(t)["id"])
	if a := tn.call(t, "PUT", "/users/"+id, "header", map[string]any{"email": "renamed@example.com"}); a.status != 200 {
		t.Fatalf("rename = %d", a.status)
	}
	if a := create("NEW@example.com"); a.status != 201 {
		t.Errorf("the old address of a renamed user is still taken (%d)", a.status)
	}
	if a := create("Renamed@example.com"); a.status != 422 {
		t.Errorf("the new address of a renamed user is free (%d)", a.status)
	}
	if got := found("RENAMED@example.com"); got != id+" " {
		t.Errorf("?email= finds %q, want the renamed user %s", got, id)
	}
	tn.em.SetInUI(ids[1], "userName", "moved@example.com")
	if a := create("moved@example.com"); a.status != 422 {
		t.Errorf("an address set in the UI is free (%d)", a.status)
	}
	if got := found("ui@example.com"); got != "" {
		t.Errorf("?email= finds %q under the address the UI replaced", got)
	}
	tn.em.RemoveInUI(ids[1])
	if a := create("moved@example.com"); a.status != 201 {
		t.Errorf("the address of a user removed in the UI is still taken (%d)", a.status)
	}
	if a := tn.call(t, "DELETE", "/users/"+ids[0], "header", nil); a.status != 200 {
		t.Fatalf("delete = %d", a.status)
	}
	if a := create("seeded@example.com"); a.status != 201 {
		t.Errorf("the address of a deleted user is still taken (%d)", a.status)
	}
	// Seeded duplicates (the API refuses them, an import may not) are all found, in the listing's order.
	dup := tn.em.Seed(adapters.User{Email: "twin@example.com"}, adapters.User{Email: "TWIN@example.com"})
	if got := found("Twin@Example.com"); got != dup[0]+" "+dup[1]+" " {
		t.Errorf("?email= finds %q, want both twins in order %v", got, dup)
	}
	tn.em.SetVariant(titest.Variant{CaseSensitiveEmailFilter: true})
	if got := found("twin@example.com"); got != dup[0]+" " {
		t.Errorf("case-sensitive ?email= finds %q, want %s", got, dup[0])
	}
}
