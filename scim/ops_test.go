package scim_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
	"github.com/scim-bridge/scim-bridge/scim/scimtest"
)

func TestLocationsFollowThePublicURL(t *testing.T) {
	t.Run("configured", func(t *testing.T) {
		b := scimtest.Start(t, scimtest.Options{PublicURL: "https://scim.example.com/scim/v2/"})
		r := b.Do(t, "POST", "/Users", scimtest.User("loc@example.com", "L", "C"))
		assertStatus(t, r, http.StatusCreated)
		want := "https://scim.example.com/scim/v2/Users/" + str(r.Body, "id")
		if r.Header.Get("Location") != want || str(r.Body, "meta", "location") != want {
			t.Errorf("Location %q, meta.location %q, want %q", r.Header.Get("Location"), str(r.Body, "meta", "location"), want)
		}
	})
	t.Run("behind a TLS-terminating proxy", func(t *testing.T) {
		b := scimtest.Start(t, scimtest.Options{})
		r := b.Do(t, "POST", "/Users", scimtest.User("proxy@example.com", "P", "X"), "X-Forwarded-Proto", "https")
		if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, "https://") {
			t.Errorf("Location %q does not follow X-Forwarded-Proto", loc)
		}
	})
}

func TestListCacheShowsBridgeWritesAtOnceAndVendorEditsAfterItsTTL(t *testing.T) {
	for _, tc := range []struct {
		name       string
		ttl        time.Duration
		wantSeeded float64
	}{
		{"within the TTL", time.Hour, 1},
		{"after the TTL", time.Nanosecond, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := scimtest.Start(t, scimtest.Options{ListTTL: tc.ttl})
			if r := b.Do(t, "GET", "/Users", nil); r.Body["totalResults"] != float64(0) {
				t.Fatalf("empty vendor: %s", r.Raw)
			}
			create(t, b, "through.bridge@example.com")
			b.Emu.Seed(adapters.User{Email: "made.in.ui@example.com", GivenName: "U", FamilyName: "I", Active: true})
			r := b.Do(t, "GET", "/Users", nil)
			// The bridge's own create is listed at once; the account made in the vendor's UI waits for the TTL.
			if r.Body["totalResults"] != tc.wantSeeded {
				t.Errorf("totalResults %v, want %v: %s", r.Body["totalResults"], tc.wantSeeded, r.Raw)
			}
		})
	}
	t.Run("one listing serves a whole paged import", func(t *testing.T) {
		b := scimtest.Start(t, scimtest.Options{ListTTL: time.Hour})
		for i := range 5 {
			create(t, b, strings.Repeat("x", i+1)+"@example.com")
		}
		before := b.Emu.Calls(upstreamtest.OpList)
		for start := 1; start <= 5; start += 2 {
			assertStatus(t, b.Do(t, "GET", "/Users?count=2&startIndex="+strconv.Itoa(start), nil), http.StatusOK)
		}
		if n := b.Emu.Calls(upstreamtest.OpList) - before; n > 1 {
			t.Errorf("%d vendor listings for one import, want at most 1", n)
		}
	})
}

func TestMetricsAndRequestIDs(t *testing.T) {
	b := scimtest.Start(t, scimtest.Options{})
	r := b.Do(t, "GET", "/Users/no-such-user-7f3a", nil, "X-Request-Id", "idp-req-42")
	if r.Header.Get("X-Request-Id") != "idp-req-42" {
		t.Errorf("a well-formed caller request id is not echoed: %q", r.Header.Get("X-Request-Id"))
	}
	forged := b.Do(t, "GET", "/Users/no-such-user-7f3a", nil, "X-Request-Id", "bad id with spaces; and quotes\"")
	if id := forged.Header.Get("X-Request-Id"); id == "" || strings.ContainsAny(id, " ;\"") {
		t.Errorf("a malformed request id was not replaced: %q", id)
	}

	resp, err := b.Client.Get(b.Root + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	text := string(body)
	if !strings.Contains(text, `scim_bridge_http_requests_total{connection="trainual",method="GET",route="/scim/v2/Users/{id}",status="404"} 2`) {
		t.Errorf("request counter missing or wrong:\n%s", grepLines(text, "scim_bridge_http_requests_total"))
	}
	for _, leak := range []string{scimtest.Token, "no-such-user-7f3a", "idp-req-42"} {
		if strings.Contains(text, leak) {
			t.Errorf("metrics expose %q", leak)
		}
	}
}

func grepLines(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
