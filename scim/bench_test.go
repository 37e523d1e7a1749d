package scim_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/scim-bridge/scim-bridge/adapters/targets"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
	"github.com/scim-bridge/scim-bridge/scim/scimtest"
)

// The benchmarks drive the real server on 127.0.0.1 against the in-process emulator, which answers at once: what
// they measure is the bridge's own cost per request (HTTP, auth, the library, the store, the adapter), the
// ceiling a deployment approaches when the vendor is fast. Production latency adds the vendor's.

// benchTargets runs bench once per target with its own bridge.
func benchTargets(b *testing.B, bench func(b *testing.B, br *scimtest.Bridge)) {
	for _, name := range targets.Names() {
		b.Run(name, func(b *testing.B) {
			bench(b, scimtest.Start(b, scimtest.Options{Target: name}))
		})
	}
}

func benchCreate(b *testing.B, br *scimtest.Bridge, userName string) string {
	b.Helper()
	r := br.Do(b, "POST", "/Users", scimtest.User(userName, "Bench", "User"))
	id, _ := r.Body["id"].(string)
	if r.Status != http.StatusCreated || id == "" {
		b.Fatalf("create %s: %d %s", userName, r.Status, r.Raw)
	}
	return id
}

func vendorCalls(e upstreamtest.Emulator) int {
	n := 0
	for _, op := range []upstreamtest.Op{upstreamtest.OpCreate, upstreamtest.OpGet, upstreamtest.OpList,
		upstreamtest.OpFind, upstreamtest.OpUpdate, upstreamtest.OpDelete} {
		n += e.Calls(op)
	}
	return n
}

func BenchmarkCreateUser(b *testing.B) {
	benchTargets(b, func(b *testing.B, br *scimtest.Bridge) {
		i := 0
		for b.Loop() {
			i++
			benchCreate(b, br, fmt.Sprintf("bench.create.%d@example.com", i))
		}
	})
}

func BenchmarkGetUser(b *testing.B) {
	benchTargets(b, func(b *testing.B, br *scimtest.Bridge) {
		id := benchCreate(b, br, "bench.get@example.com")
		for b.Loop() {
			if r := br.Do(b, "GET", "/Users/"+id, nil); r.Status != http.StatusOK {
				b.Fatalf("get: %d %s", r.Status, r.Raw)
			}
		}
	})
}

// BenchmarkFilterUserNameHit is the lookup Okta and Entra make before every write: answered from the store, with
// no vendor call.
func BenchmarkFilterUserNameHit(b *testing.B) {
	benchTargets(b, func(b *testing.B, br *scimtest.Bridge) {
		benchCreate(b, br, "bench.filter@example.com")
		path := "/Users?filter=" + url.QueryEscape(`userName eq "Bench.Filter@example.com"`)
		before := vendorCalls(br.Emu)
		finds, lists := br.Emu.Calls(upstreamtest.OpFind), br.Emu.Calls(upstreamtest.OpList)
		n := 0
		for b.Loop() {
			n++
			r := br.Do(b, "GET", path, nil)
			if r.Status != http.StatusOK || r.Body["totalResults"] != float64(1) {
				b.Fatalf("filter: %d %s", r.Status, r.Raw)
			}
		}
		if f, l := br.Emu.Calls(upstreamtest.OpFind)-finds, br.Emu.Calls(upstreamtest.OpList)-lists; f != 0 || l != 0 {
			b.Errorf("%d vendor lookups and %d listings for %d store hits, want none", f, l, n)
		}
		b.ReportMetric(float64(vendorCalls(br.Emu)-before)/float64(n), "vendor-calls/op")
	})
}

// BenchmarkPatchActive alternates Okta's deactivate and reactivate PATCH, so every iteration is a vendor write.
func BenchmarkPatchActive(b *testing.B) {
	benchTargets(b, func(b *testing.B, br *scimtest.Bridge) {
		id := benchCreate(b, br, "bench.patch@example.com")
		before := vendorCalls(br.Emu)
		n := 0
		for b.Loop() {
			n++
			body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":%t}}]}`, n%2 == 0)
			if r := br.Do(b, "PATCH", "/Users/"+id, body); r.Status != http.StatusOK {
				b.Fatalf("patch: %d %s", r.Status, r.Raw)
			}
		}
		b.ReportMetric(float64(vendorCalls(br.Emu)-before)/float64(n), "vendor-calls/op")
	})
}
