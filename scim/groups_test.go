package scim_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/thoughtindustries/titest"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
	"github.com/scim-bridge/scim-bridge/scim/scimtest"
)

const groupSchemaURN = "urn:ietf:params:scim:schemas:core:2.0:Group"

func groupBody(name string, members ...string) map[string]any {
	ms := make([]any, len(members))
	for i, m := range members {
		ms[i] = map[string]any{"value": m}
	}
	return map[string]any{"schemas": []string{groupSchemaURN}, "displayName": name, "members": ms}
}

func groupPatch(ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = o
	}
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": list}
}

func memberIDs(t *testing.T, r scimtest.Response) []string {
	t.Helper()
	ms, ok := r.Body["members"].([]any)
	if !ok {
		return nil
	}
	var out []string
	for _, m := range ms {
		out = append(out, str(m.(map[string]any), "value"))
	}
	slices.Sort(out)
	return out
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func createGroup(t *testing.T, b *scimtest.Bridge, name string, members ...string) string {
	t.Helper()
	r := b.Do(t, "POST", "/Groups", groupBody(name, members...))
	assertStatus(t, r, http.StatusCreated)
	return str(r.Body, "id")
}

func TestGroupsEveryShapeTheIdPsSend(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		b := scimtest.Start(t, scimtest.Options{Target: target})
		u1, u2, u3 := create(t, b, "g1@example.com"), create(t, b, "g2@example.com"), create(t, b, "g3@example.com")
		calls := b.Emu.Calls(upstreamtest.OpUpdate) + b.Emu.Calls(upstreamtest.OpDelete)

		r := b.Do(t, "POST", "/Groups", groupBody("Sales", u1))
		assertStatus(t, r, http.StatusCreated)
		gid := str(r.Body, "id")
		if r.Header.Get("Location") == "" || r.Header.Get("Etag") == "" || !slices.Equal(memberIDs(t, r), []string{u1}) {
			t.Fatalf("create: %s %v", r.Raw, r.Header)
		}
		// Every $ref resolves.
		ref := str(r.Body["members"].([]any)[0].(map[string]any), "$ref")
		if g := b.Do(t, "GET", ref, nil); g.Status != http.StatusOK || str(g.Body, "id") != u1 {
			t.Errorf("member $ref %s: %d", ref, g.Status)
		}
		u := b.Do(t, "GET", "/Users/"+u1, nil)
		groups, _ := u.Body["groups"].([]any)
		if len(groups) != 1 || str(groups[0].(map[string]any), "value") != gid || str(groups[0].(map[string]any), "display") != "Sales" {
			t.Fatalf("the user's groups: %s", u.Raw)
		}
		if g := b.Do(t, "GET", str(groups[0].(map[string]any), "$ref"), nil); g.Status != http.StatusOK {
			t.Errorf("group $ref: %d", g.Status)
		}

		steps := []struct {
			name string
			body map[string]any
			want []string
		}{
			{"Okta add with a list", groupPatch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": u2, "display": "g2@example.com"}, map[string]any{"value": u3}}}), sorted(u1, u2, u3)},
			{"Okta remove by value filter", groupPatch(map[string]any{"op": "remove", "path": fmt.Sprintf(`members[value eq "%s"]`, u1)}), sorted(u2, u3)},
			{"Entra Remove with a value list", groupPatch(map[string]any{"op": "Remove", "path": "members", "value": []any{map[string]any{"value": u2}}}), []string{u3}},
			{"members as plain strings", groupPatch(map[string]any{"op": "add", "path": "members", "value": []any{u1, u2}}), sorted(u1, u2, u3)},
			{"remove members with no value (all)", groupPatch(map[string]any{"op": "remove", "path": "members"}), nil},
			{"Entra Add", groupPatch(map[string]any{"op": "Add", "path": "members", "value": []any{map[string]any{"value": u3}}}), []string{u3}},
			{"Okta replace members []", groupPatch(map[string]any{"op": "replace", "path": "members", "value": []any{}}), nil},
			{"Okta rename", groupPatch(map[string]any{"op": "replace", "value": map[string]any{"id": gid, "displayName": "Sales EMEA"}}), nil},
		}
		for _, s := range steps {
			r := b.Do(t, "PATCH", "/Groups/"+gid, s.body)
			assertStatus(t, r, http.StatusOK)
			if got := memberIDs(t, r); !slices.Equal(got, s.want) {
				t.Fatalf("%s: members %v, want %v", s.name, got, s.want)
			}
		}
		if g := b.Do(t, "GET", "/Groups/"+gid, nil); g.Body["displayName"] != "Sales EMEA" {
			t.Errorf("rename: %s", g.Raw)
		}

		// PUT with members: [] keeps "members": [] in the answer.
		put := groupBody("Sales EMEA", u1, u2)
		assertStatus(t, b.Do(t, "PUT", "/Groups/"+gid, put), http.StatusOK)
		put["members"] = []any{}
		r = b.Do(t, "PUT", "/Groups/"+gid, put)
		assertStatus(t, r, http.StatusOK)
		if ms, ok := r.Body["members"].([]any); !ok || len(ms) != 0 || !strings.Contains(string(r.Raw), `"members":[]`) {
			t.Errorf("PUT members []: %s", r.Raw)
		}

		// An unknown member id changes nothing.
		assertStatus(t, b.Do(t, "PATCH", "/Groups/"+gid, groupPatch(map[string]any{"op": "add", "path": "members", "value": []any{u1}})), http.StatusOK)
		bad := b.Do(t, "PATCH", "/Groups/"+gid, groupPatch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": u2}, map[string]any{"value": "no-such-user"}}}))
		assertSCIMError(t, bad, http.StatusBadRequest, "invalidValue")
		if !strings.Contains(str(bad.Body, "detail"), "no-such-user") {
			t.Errorf("detail %q does not name the id", str(bad.Body, "detail"))
		}
		if got := memberIDs(t, b.Do(t, "GET", "/Groups/"+gid, nil)); !slices.Equal(got, []string{u1}) {
			t.Errorf("half applied: %v", got)
		}

		// Lookups the IdPs make.
		for _, tc := range []struct {
			filter string
			n      float64
		}{
			{`displayName eq "sales emea"`, 1},
			{`displayName eq "Nope"`, 0},
			{fmt.Sprintf(`id eq "%s" and members[value eq "%s"]`, gid, u1), 1},
			{fmt.Sprintf(`id eq "%s" and members[value eq "%s"]`, gid, u2), 0},
		} {
			l := b.Do(t, "GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(tc.filter), nil)
			if l.Body["totalResults"] != tc.n {
				t.Errorf("%s: %s", tc.filter, l.Raw)
			}
			if strings.Contains(string(l.Raw), `"members"`) {
				t.Errorf("excludedAttributes=members still shows members: %s", l.Raw)
			}
		}
		if g := b.Do(t, "GET", "/Groups/"+gid+"?excludedAttributes=members", nil); g.Body["members"] != nil || g.Body["displayName"] == nil {
			t.Errorf("GET with excludedAttributes=members: %s", g.Raw)
		}
		assertSCIMError(t, b.Do(t, "GET", `/Groups?filter=`+url.QueryEscape(`userName eq "x"`), nil), http.StatusBadRequest, "invalidFilter")

		// Names are unique; versions guard writes.
		createGroup(t, b, "Ops")
		assertSCIMError(t, b.Do(t, "POST", "/Groups", groupBody("OPS")), http.StatusConflict, "uniqueness")
		assertSCIMError(t, b.Do(t, "PATCH", "/Groups/"+gid, groupPatch(map[string]any{"op": "replace", "path": "displayName", "value": "ops"})), http.StatusConflict, "uniqueness")
		assertSCIMError(t, b.Do(t, "PATCH", "/Groups/"+gid, groupPatch(map[string]any{"op": "remove", "path": "members"}), "If-Match", `W/"1"`), http.StatusPreconditionFailed, "")

		// A user deleted through SCIM leaves its groups; a deleted group is 404.
		assertStatus(t, b.Do(t, "DELETE", "/Users/"+u1, nil), http.StatusNoContent)
		if got := memberIDs(t, b.Do(t, "GET", "/Groups/"+gid, nil)); len(got) != 0 {
			t.Errorf("a deleted user is still a member: %v", got)
		}
		assertStatus(t, b.Do(t, "DELETE", "/Groups/"+gid, nil), http.StatusNoContent)
		assertSCIMError(t, b.Do(t, "GET", "/Groups/"+gid, nil), http.StatusNotFound, "")

		// With no link and no rule, groups are the bridge's only: the vendor saw no write but the user DELETE.
		if n := b.Emu.Calls(upstreamtest.OpUpdate) + b.Emu.Calls(upstreamtest.OpDelete); n-calls > 1+1 {
			t.Errorf("%d vendor writes for bridge-only groups", n-calls)
		}
	})
}

func TestAGroupOfThousandsOfMembers(t *testing.T) {
	b := scimtest.Start(t, scimtest.Options{Target: "thoughtindustries"})
	const n = 1500
	users := make([]adapters.User, n)
	for i := range users {
		users[i] = adapters.User{Email: fmt.Sprintf("m%04d@example.com", i), GivenName: "M", FamilyName: "Ember", Active: true}
	}
	ids := b.Emu.Seed(users...)
	gid := createGroup(t, b, "Everyone")
	members := make([]any, n)
	for i, id := range ids {
		members[i] = map[string]any{"value": id}
	}
	r := b.Do(t, "PATCH", "/Groups/"+gid+"?excludedAttributes=members", groupPatch(map[string]any{"op": "add", "path": "members", "value": members}))
	assertStatus(t, r, http.StatusOK)
	if r.Body["members"] != nil {
		t.Error("the answer carries members although they were excluded")
	}
	one := create(t, b, "late@example.com")
	assertStatus(t, b.Do(t, "PATCH", "/Groups/"+gid+"?excludedAttributes=members", groupPatch(map[string]any{"op": "add", "path": "members", "value": []any{one}})), http.StatusOK)
	assertStatus(t, b.Do(t, "PATCH", "/Groups/"+gid+"?excludedAttributes=members", groupPatch(map[string]any{"op": "remove", "path": fmt.Sprintf(`members[value eq "%s"]`, ids[0])})), http.StatusOK)
	if got := memberIDs(t, b.Do(t, "GET", "/Groups/"+gid, nil)); len(got) != n {
		t.Errorf("%d members, want %d", len(got), n)
	}
}

// TestAFailedGroupCreateLeavesNothing: when a new group's effect in the vendor fails (here, the role its rule
// gives), the IdP gets the error and the group is not kept, so that the IdP's retry creates it instead of meeting
// a 409 for a group it never got.
func TestAFailedGroupCreateLeavesNothing(t *testing.T) {
	b := scimtest.Start(t, scimtest.Options{Target: "trainual", GroupRules: "Trainual Admins: role=admin; *: role=member"})
	alice := create(t, b, "alice@example.com")
	b.Emu.Fail(upstreamtest.OpUpdate, http.StatusServiceUnavailable, -1, 0)
	r := b.Do(t, "POST", "/Groups", map[string]any{"schemas": []string{groupSchemaURN}, "displayName": "Trainual Admins",
		"members": []any{map[string]any{"value": alice}}})
	assertSCIMError(t, r, http.StatusServiceUnavailable, "")
	b.Emu.Reset()
	if l := b.Do(t, "GET", "/Groups?filter="+urlQuery(`displayName eq "Trainual Admins"`), nil); l.Status != http.StatusOK || l.Body["totalResults"] != float64(0) {
		t.Fatalf("the group whose creation failed is still there: %s", l.Raw)
	}
	if role := vendorUser(t, b, alice).Attrs[adapters.AttrRole]; role != "member" {
		t.Errorf("role %q after the failed create, want member", role)
	}
	assertStatus(t, b.Do(t, "POST", "/Groups", map[string]any{"schemas": []string{groupSchemaURN}, "displayName": "Trainual Admins",
		"members": []any{map[string]any{"value": alice}}}), http.StatusCreated)
	if role := vendorUser(t, b, alice).Attrs[adapters.AttrRole]; role != "admin" {
		t.Errorf("role %q after the retried create, want admin", role)
	}
}

func TestGroupRulesDriveVendorAttributes(t *testing.T) {
	b := scimtest.Start(t, scimtest.Options{Target: "trainual",
		GroupRules: "Trainual Admins: role=admin; Viewers: role=viewer; Ops: department=Ops; *: role=member"})
	alice, bob := create(t, b, "alice@example.com"), create(t, b, "bob@example.com")
	vendor := func(id, path string) string { return vendorUser(t, b, id).Attrs[path] }
	if vendor(alice, adapters.AttrRole) != "member" {
		t.Fatalf("the * rule did not give the default role: %q", vendor(alice, adapters.AttrRole))
	}
	// A department set in Trainual's UI for someone no rule touches stays.
	ui(t, b).SetInUI(bob, adapters.AttrDepartment, "Finance")

	admins, viewers, ops := createGroup(t, b, "Trainual Admins", alice), createGroup(t, b, "Viewers", alice), createGroup(t, b, "Ops")
	if vendor(alice, adapters.AttrRole) != "admin" {
		t.Errorf("in Admins and Viewers: role %q, want admin (the first rule wins)", vendor(alice, adapters.AttrRole))
	}
	assertStatus(t, b.Do(t, "PATCH", "/Groups/"+ops, groupPatch(map[string]any{"op": "add", "path": "members", "value": []any{alice}})), http.StatusOK)
	if vendor(alice, adapters.AttrDepartment) != "Ops" {
		t.Errorf("department %q, want Ops", vendor(alice, adapters.AttrDepartment))
	}
	// The IdP's own PUT without a role does not undo the rule.
	assertStatus(t, b.Do(t, "PUT", "/Users/"+alice, scimtest.User("alice@example.com", "Given", "Family")), http.StatusOK)
	if vendor(alice, adapters.AttrRole) != "admin" || vendor(alice, adapters.AttrDepartment) != "Ops" {
		t.Errorf("after a PUT: %+v", vendorUser(t, b, alice).Attrs)
	}
	assertStatus(t, b.Do(t, "PATCH", "/Groups/"+admins, groupPatch(map[string]any{"op": "remove", "path": "members"})), http.StatusOK)
	if vendor(alice, adapters.AttrRole) != "viewer" {
		t.Errorf("left Admins, still in Viewers: role %q", vendor(alice, adapters.AttrRole))
	}
	assertStatus(t, b.Do(t, "DELETE", "/Groups/"+viewers, nil), http.StatusNoContent)
	if vendor(alice, adapters.AttrRole) != "member" {
		t.Errorf("in no role group: role %q, want the * default", vendor(alice, adapters.AttrRole))
	}
	assertStatus(t, b.Do(t, "PATCH", "/Groups/"+ops, groupPatch(map[string]any{"op": "replace", "path": "members", "value": []any{bob}})), http.StatusOK)
	if vendor(alice, adapters.AttrDepartment) != "" {
		t.Errorf("left Ops: department %q, want cleared (a rule set it)", vendor(alice, adapters.AttrDepartment))
	}
	if vendor(bob, adapters.AttrDepartment) != "Ops" {
		t.Errorf("bob joined Ops: %q", vendor(bob, adapters.AttrDepartment))
	}
	assertStatus(t, b.Do(t, "PATCH", "/Groups/"+ops, groupPatch(map[string]any{"op": "remove", "path": "members"})), http.StatusOK)
	if vendor(bob, adapters.AttrDepartment) != "" {
		t.Errorf("bob left Ops: department %q", vendor(bob, adapters.AttrDepartment))
	}
	g := b.Do(t, "GET", "/Users/"+alice, nil)
	if roles, _ := g.Body["roles"].([]any); len(roles) != 1 || str(roles[0].(map[string]any), "value") != "member" {
		t.Errorf("the SCIM view shows the vendor's role: %s", g.Raw)
	}
}

func TestThoughtIndustriesGroupLinks(t *testing.T) {
	em := titest.New(scimtest.APIKey)
	em.AddGroup("grp-sales")
	b := scimtest.Start(t, scimtest.Options{Target: "thoughtindustries", Emulator: em, GroupLinks: "Sales=grp-sales, externalId:00gOPS=grp-ops"})
	alice, bob := create(t, b, "alice@example.com"), create(t, b, "bob@example.com")
	inGroup := func(id, g string) bool {
		raw, _ := em.Raw(id)
		gs, _ := raw["groups"].([]any)
		return slices.Contains(gs, any(g))
	}
	gid := createGroup(t, b, "Sales", alice)
	if !inGroup(alice, "grp-sales") {
		t.Fatal("alice was not added to the linked vendor group")
	}
	assertStatus(t, b.Do(t, "PATCH", "/Groups/"+gid, groupPatch(map[string]any{"op": "add", "path": "members", "value": []any{bob}})), http.StatusOK)
	if !inGroup(bob, "grp-sales") {
		t.Error("bob was not added")
	}
	assertStatus(t, b.Do(t, "PATCH", "/Groups/"+gid, groupPatch(map[string]any{"op": "remove", "path": fmt.Sprintf(`members[value eq "%s"]`, alice)})), http.StatusOK)
	if !strings.Contains(b.Logs(), "remove this person from the vendor group by hand") || !strings.Contains(b.Logs(), alice) {
		t.Error("the removal that needs a manual step is not logged")
	}
	pending, err := b.Service.PendingGroupRemovals(t.Context())
	if err != nil || !slices.Equal(pending[gid], []string{alice}) {
		t.Errorf("pending removals %v %v", pending, err)
	}
	// A group linked to a vendor group that does not exist: the vendor's refusal reaches the IdP, nothing is lost.
	r := b.Do(t, "POST", "/Groups", map[string]any{"schemas": []string{groupSchemaURN}, "displayName": "Ops", "externalId": "00gOPS",
		"members": []any{map[string]any{"value": bob}}})
	assertSCIMError(t, r, http.StatusBadRequest, "invalidValue")
	if !strings.Contains(str(r.Body, "detail"), "grp-ops") {
		t.Errorf("the detail does not name the vendor group: %s", r.Raw)
	}
	// The failed create left nothing behind: once the vendor group exists, the IdP's retry creates the group (not
	// 409) and bob joins the vendor group.
	if l := b.Do(t, "GET", "/Groups?filter="+urlQuery(`displayName eq "Ops"`), nil); l.Status != http.StatusOK || l.Body["totalResults"] != float64(0) {
		t.Fatalf("the group whose creation failed is still there: %s", l.Raw)
	}
	em.AddGroup("grp-ops")
	r = b.Do(t, "POST", "/Groups", map[string]any{"schemas": []string{groupSchemaURN}, "displayName": "Ops", "externalId": "00gOPS",
		"members": []any{map[string]any{"value": bob}}})
	assertStatus(t, r, http.StatusCreated)
	if !inGroup(bob, "grp-ops") {
		t.Error("the retried create did not add bob to the vendor group")
	}
}

func TestGroupsCanBeTurnedOff(t *testing.T) {
	b := scimtest.Start(t, scimtest.Options{NoGroups: true})
	assertSCIMError(t, b.Do(t, "GET", "/Groups", nil), http.StatusNotFound, "")
	rt := b.Do(t, "GET", "/ResourceTypes", nil)
	if strings.Contains(string(rt.Raw), `"Group"`) {
		t.Errorf("/ResourceTypes lists Groups while they are off: %s", rt.Raw)
	}
	on := scimtest.Start(t, scimtest.Options{})
	rt = on.Do(t, "GET", "/ResourceTypes", nil)
	if !strings.Contains(string(rt.Raw), `"/Groups"`) {
		t.Errorf("/ResourceTypes does not list Groups: %s", rt.Raw)
	}
	if s := on.Do(t, "GET", "/Schemas/"+groupSchemaURN, nil); s.Status != http.StatusOK {
		t.Errorf("/Schemas/<Group>: %d", s.Status)
	}
}
