package scim_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/scim/scimtest"
)

// A PATCH starts from the rendered user, which shows the role a group rule set: that role must not be taken for
// the IdP's own value, or leaving the group would keep it.
func TestARuleValueIsNotKeptByAPatchAfterLeavingTheGroup(t *testing.T) {
	b := scimtest.Start(t, scimtest.Options{Target: "trainual", GroupRules: "Trainual Admins: role=admin"})
	alice := create(t, b, "alice@example.com")
	admins := createGroup(t, b, "Trainual Admins", alice)
	if got := vendorUser(t, b, alice).Attrs[adapters.AttrRole]; got != "admin" {
		t.Fatalf("in Admins: role %q, want admin", got)
	}
	assertStatus(t, b.Do(t, "PATCH", "/Users/"+alice, map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "replace", "path": "name.givenName", "value": "Alicia"}},
	}), http.StatusOK)
	assertStatus(t, b.Do(t, "PATCH", "/Groups/"+admins, groupPatch(map[string]any{"op": "remove", "path": "members"})), http.StatusOK)
	if got := vendorUser(t, b, alice).Attrs[adapters.AttrRole]; got == "admin" {
		t.Errorf("left Admins after a PATCH of her name: role still %q", got)
	}
}

// reconcile --fix applies the rules in force; what it sets must be cleared like any rule value when the rule stops
// applying.
func TestReconcileFixRecordsRuleValues(t *testing.T) {
	b := scimtest.Start(t, scimtest.Options{Target: "trainual"})
	alice := create(t, b, "alice@example.com")
	admins := createGroup(t, b, "Trainual Admins", alice)
	ui(t, b).SetInUI(alice, "name.givenName", "Changed")
	b.Close()

	b = scimtest.Start(t, scimtest.Options{Target: "trainual", DBPath: b.DBPath, Emulator: b.Emu, GroupRules: "Trainual Admins: role=admin"})
	ctx := context.Background()
	rep, err := b.Service.Reconcile(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if failed := b.Service.Fix(ctx, rep); len(failed) > 0 {
		t.Fatalf("fix: %v", failed)
	}
	if got := vendorUser(t, b, alice); got.GivenName != "Given" || got.Attrs[adapters.AttrRole] != "admin" {
		t.Fatalf("after fix: %q %q, want Given and the rule's admin", got.GivenName, got.Attrs[adapters.AttrRole])
	}
	assertStatus(t, b.Do(t, "PATCH", "/Groups/"+admins, groupPatch(map[string]any{"op": "remove", "path": "members"})), http.StatusOK)
	if got := vendorUser(t, b, alice).Attrs[adapters.AttrRole]; got == "admin" {
		t.Errorf("left Admins: role still %q, set by a rule through reconcile --fix", got)
	}
}

// Members are shown with their userName unless the IdP gave another display; the store is read for those only,
// many links at once.
func TestGroupMembersShowTheirUserName(t *testing.T) {
	b := scimtest.Start(t, scimtest.Options{Target: "trainual"})
	alice, bob, carol := create(t, b, "alice@example.com"), create(t, b, "bob@example.com"), create(t, b, "carol@example.com")
	body := groupBody("Sales", alice, bob)
	body["members"] = append(body["members"].([]any), map[string]any{"value": carol, "display": "Carol C."})
	r := b.Do(t, "POST", "/Groups", body)
	assertStatus(t, r, http.StatusCreated)
	want := map[string]string{alice: "alice@example.com", bob: "bob@example.com", carol: "Carol C."}
	g := b.Do(t, "GET", "/Groups/"+str(r.Body, "id"), nil)
	ms, _ := g.Body["members"].([]any)
	if len(ms) != len(want) {
		t.Fatalf("members: %s", g.Raw)
	}
	for _, m := range ms {
		m := m.(map[string]any)
		if got := str(m, "display"); got != want[str(m, "value")] {
			t.Errorf("member %s: display %q, want %q", str(m, "value"), got, want[str(m, "value")])
		}
	}
}
