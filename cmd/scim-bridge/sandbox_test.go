package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
)

// A sandbox is a trial: no rate limit unless one is set, by flag (even to the production default) or environment,
// and what it prints says which.
func TestTheSandboxRateLimitIsOffUnlessSet(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		env   map[string]string
		want  string
		limit int // requests of a burst of 120 that must be refused (0: none)
	}{
		{"off by default", nil, nil, "Rate limit: off (--rate-limit N or SCIM_BRIDGE_RATE_LIMIT sets one)", 0},
		{"the production default by flag", []string{"--rate-limit", "50"}, nil, "Rate limit: 50 requests/s per credential", 1},
		{"by the environment", nil, map[string]string{"SCIM_BRIDGE_RATE_LIMIT": "7"}, "Rate limit: 7 requests/s per credential", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var stdout, stderr upstreamtest.LogBuffer
			addrc := make(chan string, 1)
			done := make(chan error, 1)
			args := append([]string{"sandbox", "--listen", "127.0.0.1:0", "--token", "sandbox-test-token-0123456789",
				"--db", filepath.Join(t.TempDir(), "s.db")}, tc.args...)
			go func() { done <- run(ctx, args, envOf(tc.env), &stdout, &stderr, func(a string) { addrc <- a }) }()
			var addr string
			select {
			case addr = <-addrc:
			case err := <-done:
				t.Fatalf("sandbox stopped: %v\n%s", err, stderr.String())
			case <-time.After(20 * time.Second):
				t.Fatal("sandbox did not start")
			}
			if !strings.Contains(stdout.String(), tc.want) {
				t.Errorf("the sandbox printed:\n%s\nwant %q", stdout.String(), tc.want)
			}
			refused := 0
			for range 120 { // a compliance suite's burst
				req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://%s/scim/v2/Users?count=1", addr), nil)
				req.Header.Set("Authorization", "Bearer sandbox-test-token-0123456789")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusTooManyRequests {
					refused++
				}
			}
			if (refused > 0) != (tc.limit > 0) {
				t.Errorf("%d of a burst of 120 refused with 429", refused)
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("sandbox shutdown: %v", err)
			}
		})
	}
}

// The mass-deprovisioning guard is off in a sandbox unless set, like the rate limit: by flag (even to the
// production default) or environment.
func TestTheSandboxGuardIsOffUnlessSet(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"off by default", nil, nil, "Mass-deprovisioning guard: off (set SCIM_BRIDGE_GUARD_THRESHOLD to try it)"},
		{"the production default by flag", []string{"--guard-threshold", "10"}, nil, "Mass-deprovisioning guard: 10 in 10m"},
		{"by the environment", nil, map[string]string{"SCIM_BRIDGE_GUARD_THRESHOLD": "3"}, "Mass-deprovisioning guard: 3 in 10m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var stdout, stderr upstreamtest.LogBuffer
			started := make(chan struct{})
			done := make(chan error, 1)
			args := append([]string{"sandbox", "--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "s.db")}, tc.args...)
			go func() { done <- run(ctx, args, envOf(tc.env), &stdout, &stderr, func(string) { close(started) }) }()
			select {
			case <-started:
			case err := <-done:
				t.Fatalf("sandbox stopped: %v\n%s", err, stderr.String())
			case <-time.After(20 * time.Second):
				t.Fatal("sandbox did not start")
			}
			if !strings.Contains(stdout.String(), tc.want) {
				t.Errorf("the sandbox printed:\n%s\nwant %q", stdout.String(), tc.want)
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("sandbox shutdown: %v", err)
			}
		})
	}
}
