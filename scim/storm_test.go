package scim_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/scim/scimtest"
)

// TestA429StormWaitsInsteadOfFailing: the vendor accepts 20 calls a second and answers 429 beyond (without
// Retry-After, as neither vendor documents one) while eight IdP clients send deactivations, reactivations, reads
// and creates as fast as answers come. With the production chain (a pacer shared by every call to the vendor
// account, under Retrying with the 20 s budget), every request waits its turn and succeeds; every acknowledged
// write is what the vendor holds; every create made exactly one account.
func TestA429StormWaitsInsteadOfFailing(t *testing.T) {
	const limit, clients, runFor = 20, 8, 4 * time.Second
	forEachTarget(t, func(t *testing.T, target string) {
		b := scimtest.Start(t, scimtest.Options{Target: target, Policy: &adapters.RetryPolicy{
			BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, Budget: 20 * time.Second, Paced: true}})
		ids := make([]string, clients)
		for i := range ids {
			ids[i] = create(t, b, fmt.Sprintf("storm.%d@example.com", i))
		}
		before := b.Emu.Users()
		b.Emu.SetRateLimit(limit)

		type outcome struct {
			active  bool // the last active value acknowledged for the client's user
			created []string
			ok      int
			failed  []string
		}
		out := make([]outcome, clients)
		start := time.Now()
		var wg sync.WaitGroup
		for c := range clients {
			wg.Go(func() {
				o := &out[c]
				o.active = true
				for n := 0; time.Since(start) < runFor; n++ {
					var r scimtest.Response
					switch n % 4 {
					case 0, 2: // Okta's deactivate and reactivate
						want := n%4 == 2
						r = b.Do(t, "PATCH", "/Users/"+ids[c], edgePatch(fmt.Sprintf(`{"op":"replace","value":{"active":%v}}`, want)))
						if r.Status == http.StatusOK {
							o.active = want
						}
					case 1:
						r = b.Do(t, "GET", "/Users/"+ids[c], nil)
					case 3:
						name := fmt.Sprintf("storm.%d.%d@example.com", c, n)
						r = b.Do(t, "POST", "/Users", scimtest.User(name, "Storm", "Made"))
						if r.Status == http.StatusCreated {
							o.created = append(o.created, name)
						}
					}
					if r.Status >= 300 {
						o.failed = append(o.failed, fmt.Sprintf("%d after %v: %s", r.Status, time.Since(start).Round(time.Millisecond), r.Raw))
					} else {
						o.ok++
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.Emu.SetRateLimit(0)

		var ok, created int
		for c, o := range out {
			ok += o.ok
			created += len(o.created)
			for _, f := range o.failed {
				t.Errorf("client %d: %s", c, f)
			}
			u := b.Do(t, "GET", "/Users/"+ids[c], nil)
			if got, _ := u.Body["active"].(bool); got != o.active {
				t.Errorf("client %d: the vendor holds active=%v, the last acknowledged write was %v", c, got, o.active)
			}
			for _, name := range o.created {
				r := b.Do(t, "GET", "/Users?filter="+urlQuery(`userName eq "`+name+`"`), nil)
				if n, _ := r.Body["totalResults"].(float64); n != 1 {
					t.Errorf("created %s is found %v times", name, n)
				}
			}
		}
		if n := b.Emu.Users(); n != before+created {
			t.Errorf("the vendor holds %d accounts, want %d: %d acknowledged creates", n, before+created, created)
		}
		t.Logf("%d requests in %v (%.1f/s), %d creates; the pacer settled at %.1f vendor calls/s",
			ok, elapsed.Round(time.Millisecond), float64(ok)/elapsed.Seconds(), created, b.Pacer.Rate())
		// The pace probes upwards between 429s, so it may end a step or two above the limit, never far.
		if r := b.Pacer.Rate(); r == 0 || r > 1.5*limit {
			t.Errorf("pace %.1f calls/s, want a pace learned from the vendor's %d", r, limit)
		}
	})
}
