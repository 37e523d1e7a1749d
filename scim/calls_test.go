package scim_test

// Vendor calls per SCIM operation: the vendor's API (rate limits, 100-300 ms round trips) is what a deployment pays
// for, so each operation is held to its minimum here (docs/performance.md has the table).

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/trainual/trainualtest"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
	"github.com/scim-bridge/scim-bridge/scim/scimtest"
)

var allOps = []upstreamtest.Op{upstreamtest.OpCreate, upstreamtest.OpGet, upstreamtest.OpList, upstreamtest.OpFind,
	upstreamtest.OpUpdate, upstreamtest.OpDelete}

func vendorCallsByOp(b *scimtest.Bridge) (int, map[upstreamtest.Op]int) {
	total, by := 0, map[upstreamtest.Op]int{}
	for _, op := range allOps {
		if n := b.Emu.Calls(op); n > 0 {
			by[op] = n
			total += n
		}
	}
	return total, by
}

// trainualCompleteList makes Trainual's list items carry every field (the seed's example shows only id, e-mail and
// names), as a live account may: then a cold lookup needs no GET.
func trainualCompleteList(em *trainualtest.Emulator) func([]byte) []byte {
	return func(body []byte) []byte {
		var env map[string]any
		if json.Unmarshal(body, &env) != nil {
			return body
		}
		users, _ := env["users"].([]any)
		for _, u := range users {
			m, _ := u.(map[string]any)
			id := fmt.Sprint(m["id"])
			full, ok := em.User(id)
			st, _ := em.Status(id)
			if !ok {
				continue
			}
			m["status"], m["role"] = st, full.Attrs[adapters.AttrRole]
			m["title"], m["department"] = full.Attrs[adapters.AttrTitle], full.Attrs[adapters.AttrDepartment]
		}
		out, _ := json.Marshal(env)
		return out
	}
}

func TestVendorCallsPerOperation(t *testing.T) {
	patch := func(path string, value any) map[string]any {
		return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []any{map[string]any{"op": "replace", "path": path, "value": value}}}
	}
	type op struct {
		name string
		do   func(t *testing.T, b *scimtest.Bridge, linked, unlinked string) scimtest.Response
		// most calls allowed per target; why the number is what it is goes in docs/performance.md.
		most map[string]int
	}
	ops := []op{
		{"cold userName lookup", func(t *testing.T, b *scimtest.Bridge, _, _ string) scimtest.Response {
			return b.Do(t, "GET", `/Users?filter=userName%20eq%20%22unlinked@example.com%22`, nil)
		}, map[string]int{"trainual": 2, "trainual-complete-list": 1, "thoughtindustries": 1}},
		{"warm userName lookup", func(t *testing.T, b *scimtest.Bridge, _, _ string) scimtest.Response {
			return b.Do(t, "GET", `/Users?filter=userName%20eq%20%22linked@example.com%22`, nil)
		}, map[string]int{"trainual": 0, "trainual-complete-list": 0, "thoughtindustries": 0}},
		{"GET by id", func(t *testing.T, b *scimtest.Bridge, id, _ string) scimtest.Response {
			return b.Do(t, "GET", "/Users/"+id, nil)
		}, map[string]int{"trainual": 1, "trainual-complete-list": 1, "thoughtindustries": 1}},
		{"PATCH one name", func(t *testing.T, b *scimtest.Bridge, id, _ string) scimtest.Response {
			return b.Do(t, "PATCH", "/Users/"+id, patch("name.givenName", "Changed"))
		}, map[string]int{"trainual": 3, "trainual-complete-list": 3, "thoughtindustries": 2}},
		{"PATCH active false", func(t *testing.T, b *scimtest.Bridge, id, _ string) scimtest.Response {
			return b.Do(t, "PATCH", "/Users/"+id, patch("active", false))
		}, map[string]int{"trainual": 3, "trainual-complete-list": 3, "thoughtindustries": 2}},
		{"PUT with nothing changed", func(t *testing.T, b *scimtest.Bridge, id, _ string) scimtest.Response {
			return b.Do(t, "PUT", "/Users/"+id, scimtest.User("linked@example.com", "Given", "Family"))
		}, map[string]int{"trainual": 1, "trainual-complete-list": 1, "thoughtindustries": 1}},
		{"DELETE", func(t *testing.T, b *scimtest.Bridge, id, _ string) scimtest.Response {
			return b.Do(t, "DELETE", "/Users/"+id, nil)
		}, map[string]int{"trainual": 3, "trainual-complete-list": 3, "thoughtindustries": 2}},
		{"POST", func(t *testing.T, b *scimtest.Bridge, _, _ string) scimtest.Response {
			return b.Do(t, "POST", "/Users", scimtest.User("new@example.com", "New", "Person"))
		}, map[string]int{"trainual": 2, "trainual-complete-list": 2, "thoughtindustries": 2}},
	}
	for _, variant := range []string{"trainual", "trainual-complete-list", "thoughtindustries"} {
		t.Run(variant, func(t *testing.T) {
			t.Parallel()
			for _, o := range ops {
				t.Run(o.name, func(t *testing.T) {
					opts := scimtest.Options{Target: variant}
					if variant == "trainual-complete-list" {
						em := trainualtest.New(scimtest.APIKey)
						opts = scimtest.Options{Target: "trainual", Emulator: &rewriter{Emulator: em, list: trainualCompleteList(em)}}
					}
					b := scimtest.Start(t, opts)
					linked := create(t, b, "linked@example.com")
					unlinked := b.Emu.Seed(adapters.User{Email: "unlinked@example.com", GivenName: "Un", FamilyName: "Linked", Active: true})[0]
					b.Emu.Reset()
					r := o.do(t, b, linked, unlinked)
					if r.Status >= 300 {
						t.Fatalf("status %d %s", r.Status, r.Raw)
					}
					n, by := vendorCallsByOp(b)
					if n > o.most[variant] {
						t.Errorf("%d vendor calls %v, want at most %d", n, by, o.most[variant])
					}
				})
			}
		})
	}
}

// TestAPagedImportReadsTheListingOnce: an Okta import pages through GET /Users; however long it takes (here the
// listing's TTL is shorter than one page), it costs one pass over the vendor's listing.
func TestAPagedImportReadsTheListingOnce(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		b := scimtest.Start(t, scimtest.Options{Target: target, ListTTL: time.Millisecond})
		const n = 1200
		users := make([]adapters.User, n)
		for i := range users {
			users[i] = adapters.User{Email: fmt.Sprintf("import%04d@example.com", i), GivenName: "Im", FamilyName: "Port", Active: true}
		}
		b.Emu.Seed(users...)
		b.Emu.Reset()
		seen := map[string]bool{}
		for start := 1; ; start += 200 {
			r := b.Do(t, "GET", fmt.Sprintf("/Users?startIndex=%d&count=200", start), nil)
			assertStatus(t, r, http.StatusOK)
			res, _ := r.Body["Resources"].([]any)
			for _, x := range res {
				seen[str(x.(map[string]any), "id")] = true
			}
			time.Sleep(2 * time.Millisecond) // past the TTL between pages
			if start+200 > int(r.Body["totalResults"].(float64)) {
				break
			}
		}
		if len(seen) != n {
			t.Errorf("the import saw %d users, want %d", len(seen), n)
		}
		pageSize := b.Emu.MaxPageSize()
		want := (n + pageSize - 1) / pageSize
		if got := b.Emu.Calls(upstreamtest.OpList); float64(got) > 1.05*float64(want) {
			t.Errorf("%d listing calls for %d users at %d per page, want at most %.0f", got, n, pageSize, 1.05*float64(want))
		}
	})
}

// TestConcurrentUpdatesOfOnePersonBothSurvive: the IdPs send parallel PATCHes; Thought Industries' read-merge-write
// must lose neither (the bridge serialises writes per person; the adapter keeps no lock of its own).
func TestConcurrentUpdatesOfOnePersonBothSurvive(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		b := scimtest.Start(t, scimtest.Options{Target: target})
		for i := range 10 {
			id := create(t, b, fmt.Sprintf("pair%02d@example.com", i))
			given, family := fmt.Sprintf("Given%02d", i), fmt.Sprintf("Family%02d", i)
			var wg sync.WaitGroup
			for path, v := range map[string]string{"name.givenName": given, "name.familyName": family} {
				wg.Go(func() {
					r := b.Do(t, "PATCH", "/Users/"+id, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
						"Operations": []any{map[string]any{"op": "replace", "path": path, "value": v}}})
					if r.Status != http.StatusOK {
						t.Errorf("PATCH %s: %d %s", path, r.Status, r.Raw)
					}
				})
			}
			wg.Wait()
			if v := vendorUser(t, b, id); v.GivenName != given || v.FamilyName != family {
				t.Errorf("pair %d: the vendor holds %q %q, want %q %q", i, v.GivenName, v.FamilyName, given, family)
			}
		}
	})
}
