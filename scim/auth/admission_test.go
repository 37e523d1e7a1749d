package auth

import (
	"net/http"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

func TestRateLimitPerPrincipal(t *testing.T) {
	clock := newFakeClock()
	a := newTestAuth(t, Config{Tokens: []string{tokenA, tokenB}, BasicUser: "okta", BasicPassword: "pw", RateLimit: 2}, clock, nil)
	h := a.Middleware(echoPrincipal)

	for i := range 4 { // burst = 2 × rate
		if rec := serve(h, request("Bearer "+tokenA)); rec.Code != http.StatusOK {
			t.Fatalf("request %d within the burst: %d, want 200", i+1, rec.Code)
		}
	}
	rec := serve(h, request("Bearer "+tokenA))
	checkSCIMError(t, rec, http.StatusTooManyRequests)
	if got := rec.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}

	for _, other := range []string{"Bearer " + tokenB, basicHeader("okta", "pw")} {
		if rec := serve(h, request(other)); rec.Code != http.StatusOK {
			t.Errorf("%s is another principal with its own bucket: %d, want 200", other[:6], rec.Code)
		}
	}

	clock.advance(500 * time.Millisecond) // one token at 2/s
	if rec := serve(h, request("Bearer "+tokenA)); rec.Code != http.StatusOK {
		t.Errorf("after a refill: %d, want 200", rec.Code)
	}
	checkSCIMError(t, serve(h, request("Bearer "+tokenA)), http.StatusTooManyRequests)
}

func TestRateLimitRetryAfter(t *testing.T) {
	tests := []struct {
		name string
		rate float64
		want string
	}{
		{name: "a slow rate asks to wait for the next token", rate: 0.1, want: "10"},
		{name: "a fast rate still asks for at least one second", rate: 100, want: "1"},
		{name: "a fractional wait is rounded up", rate: 0.4, want: "3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestAuth(t, Config{Tokens: []string{tokenA}, RateLimit: tt.rate}, nil, nil)
			h := a.Middleware(echoPrincipal)
			var rec = serve(h, request("Bearer "+tokenA))
			for rec.Code == http.StatusOK {
				rec = serve(h, request("Bearer "+tokenA))
			}
			checkSCIMError(t, rec, http.StatusTooManyRequests)
			if got := rec.Header().Get("Retry-After"); got != tt.want {
				t.Errorf("Retry-After = %q, want %s", got, tt.want)
			}
		})
	}
}

func TestRateLimitZeroIsOff(t *testing.T) {
	a := newTestAuth(t, Config{Tokens: []string{tokenA}}, nil, nil)
	h := a.Middleware(echoPrincipal)
	for i := range 500 {
		if rec := serve(h, request("Bearer "+tokenA)); rec.Code != http.StatusOK {
			t.Fatalf("request %d: %d, want 200 with no limit", i+1, rec.Code)
		}
	}
}

func TestRefusedRequestsCreateNoBuckets(t *testing.T) {
	a := newTestAuth(t, Config{Tokens: []string{tokenA}, RateLimit: 1}, nil, nil)
	h := a.Middleware(echoPrincipal)
	for i := range 100 {
		serve(h, request("Bearer wrong-"+strconv.Itoa(i)))
	}
	if n := a.limiter.len(); n != 0 {
		t.Errorf("buckets = %d after only refused requests, want 0", n)
	}
}

func TestLimiterEvictsIdleBuckets(t *testing.T) {
	clock := newFakeClock()
	l := newLimiter(10, clock.now) // burst 20, full again after 2 s
	for _, k := range []string{"a", "b", "c"} {
		l.allow(k)
	}
	clock.advance(time.Second)
	l.allow("c")
	clock.advance(1500 * time.Millisecond)
	l.sweep()
	if n := l.len(); n != 1 {
		t.Fatalf("buckets after sweep = %d, want 1 (only the recently used one)", n)
	}
	clock.advance(time.Hour)
	l.sweep()
	if n := l.len(); n != 0 {
		t.Errorf("buckets after a long idle = %d, want 0", n)
	}
}

func TestLimiterStaysBounded(t *testing.T) {
	clock := newFakeClock()
	l := newLimiter(10, clock.now)
	for i := range limiterMaxBuckets {
		l.allow(strconv.Itoa(i))
	}
	clock.advance(time.Minute)
	l.allow("one more")
	if n := l.len(); n != 1 {
		t.Errorf("buckets = %d, want the idle ones evicted when the cap is reached", n)
	}
}

func TestClientIP(t *testing.T) {
	trusted, _ := parsePrefixes([]string{"10.0.0.0/8", "2001:db8:ffff::/48"})
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string // "" for the zero Addr
	}{
		{name: "without a proxy the peer is the client", remote: "192.0.2.1:4000", want: "192.0.2.1"},
		{name: "X-Forwarded-For from an untrusted peer is ignored", remote: "192.0.2.1:4000", xff: []string{"198.51.100.7"}, want: "192.0.2.1"},
		{name: "a trusted proxy's X-Forwarded-For names the client", remote: "10.0.0.5:4000", xff: []string{"198.51.100.7"}, want: "198.51.100.7"},
		{name: "the right-most untrusted hop wins over spoofed entries", remote: "10.0.0.5:4000", xff: []string{"203.0.113.9, 198.51.100.7, 10.0.0.2"}, want: "198.51.100.7"},
		{name: "several X-Forwarded-For fields form one list", remote: "10.0.0.5:4000", xff: []string{"203.0.113.9", "198.51.100.7, 10.1.1.1"}, want: "198.51.100.7"},
		{name: "when every hop is trusted the left-most is used", remote: "10.0.0.5:4000", xff: []string{"10.9.9.9, 10.1.1.1"}, want: "10.9.9.9"},
		{name: "a garbled hop fails closed", remote: "10.0.0.5:4000", xff: []string{"198.51.100.7, not-an-ip"}, want: ""},
		{name: "a hop with a port is understood", remote: "10.0.0.5:4000", xff: []string{"198.51.100.7:1234"}, want: "198.51.100.7"},
		{name: "IPv6 peers are understood", remote: "[2001:db8:ffff::1]:443", xff: []string{"2001:db8:1::7"}, want: "2001:db8:1::7"},
		{name: "an IPv4-mapped peer is unmapped", remote: "[::ffff:192.0.2.1]:4000", want: "192.0.2.1"},
		{name: "a trusted proxy without X-Forwarded-For is the client", remote: "10.0.0.5:4000", want: "10.0.0.5"},
		{name: "an unparseable peer is no address", remote: "pipe", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := clientIP(tt.remote, tt.xff, trusted)
			want := netip.Addr{}
			if tt.want != "" {
				want = netip.MustParseAddr(tt.want)
			}
			if got != want {
				t.Errorf("clientIP = %v, want %v", got, want)
			}
		})
	}
}

func TestMiddlewareAllowList(t *testing.T) {
	a := newTestAuth(t, Config{Tokens: []string{tokenA}, AllowCIDRs: []string{"192.0.2.0/24"}, TrustedProxies: []string{"10.0.0.1"}}, nil, nil)
	h := a.Middleware(echoPrincipal)
	tests := []struct {
		name   string
		remote string
		xff    string
		authz  string
		status int
	}{
		{name: "an allowed peer is served", remote: "192.0.2.5:1", authz: "Bearer " + tokenA, status: 200},
		{name: "a peer outside the list is forbidden", remote: "198.51.100.1:1", authz: "Bearer " + tokenA, status: 403},
		{name: "the allow-list is checked before credentials", remote: "198.51.100.1:1", status: 403},
		{name: "an allowed peer still needs credentials", remote: "192.0.2.5:1", status: 401},
		{name: "a spoofed X-Forwarded-For from an untrusted peer does not help", remote: "198.51.100.1:1", xff: "192.0.2.5", authz: "Bearer " + tokenA, status: 403},
		{name: "an allowed client behind the trusted proxy is served", remote: "10.0.0.1:1", xff: "192.0.2.5", authz: "Bearer " + tokenA, status: 200},
		{name: "a forbidden client behind the trusted proxy is forbidden", remote: "10.0.0.1:1", xff: "192.0.2.5, 198.51.100.1", authz: "Bearer " + tokenA, status: 403},
		{name: "the trusted proxy itself is not on the list", remote: "10.0.0.1:1", authz: "Bearer " + tokenA, status: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request()
			if tt.authz != "" {
				r.Header.Set("Authorization", tt.authz)
			}
			r.RemoteAddr = tt.remote
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			rec := serve(h, r)
			if tt.status == http.StatusOK {
				if rec.Code != http.StatusOK {
					t.Fatalf("status = %d, want 200", rec.Code)
				}
				return
			}
			checkSCIMError(t, rec, tt.status)
		})
	}
}

func TestTokenEndpointHonoursAllowList(t *testing.T) {
	cfg := oauthConfig()
	cfg.AllowCIDRs = []string{"198.51.100.0/24"}
	a := newTestAuth(t, cfg, nil, nil)
	rec := serve(a.TokenHandler(), tokenRequest(nil, withBasic(clientID, clientSecret)))
	if rec.Code != http.StatusForbidden {
		t.Errorf("status = %d, want 403 for a client outside the allow-list", rec.Code)
	}
}
