package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters/targets"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
	"github.com/scim-bridge/scim-bridge/scim/scimtest"
)

const (
	metricsToken  = "idp-token-0123456789abcdef"
	metricsAPIKey = "vendor-key-0123456789abcdef"
	metricsEmail  = "jane.metrics@example.com"
)

// TestVendorCallsOnTheMetricsEndpoint provisions one user while the vendor throttles its first POST, through the
// bridge as serve builds it and as scimtest does, and reads /metrics: the throttled attempt, the retry and the
// successful attempt are all there, by connection, target, operation and outcome, and no series names the user,
// its vendor id or a credential.
func TestVendorCallsOnTheMetricsEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(t *testing.T) (root string, emu upstreamtest.Emulator, do func(req *http.Request) *http.Response)
	}{
		{"serve", serveTrainualForMetrics},
		{"scimtest", func(t *testing.T) (string, upstreamtest.Emulator, func(*http.Request) *http.Response) {
			b := scimtest.Start(t, scimtest.Options{Target: "trainual"})
			return b.Root, b.Emu, func(req *http.Request) *http.Response {
				req.Header.Set("Authorization", "Bearer "+scimtest.Token)
				resp, err := b.Client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				return resp
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, emu, do := tc.start(t)
			emu.Fail(upstreamtest.OpCreate, http.StatusTooManyRequests, 1, 0)
			req, _ := http.NewRequest("POST", root+"/scim/v2/Users", strings.NewReader(
				`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+metricsEmail+`","name":{"givenName":"Jane","familyName":"Metrics"}}`))
			req.Header.Set("Content-Type", "application/scim+json")
			resp := do(req)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("POST /Users: %d %s", resp.StatusCode, body)
			}
			if n := emu.Calls(upstreamtest.OpCreate); n != 2 {
				t.Fatalf("the emulator saw %d creates, want the throttled one and its retry", n)
			}
			vendorID := regexp.MustCompile(`"id":"([^"]+)"`).FindSubmatch(body)

			resp, err := http.Get(root + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			text, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var vendorLines []string
			for _, l := range strings.Split(string(text), "\n") {
				if strings.HasPrefix(l, "scim_bridge_vendor_") {
					vendorLines = append(vendorLines, l)
				}
			}
			got := strings.Join(vendorLines, "\n")
			for _, want := range []string{
				`scim_bridge_vendor_calls_total{connection="trainual",operation="create",status="rate_limited",target="trainual"} 1`,
				`scim_bridge_vendor_calls_total{connection="trainual",operation="create",status="ok",target="trainual"} 1`,
				`scim_bridge_vendor_call_duration_seconds_count{connection="trainual",operation="create",status="ok",target="trainual"} 1`,
				`scim_bridge_vendor_call_duration_seconds_count{connection="trainual",operation="create",status="rate_limited",target="trainual"} 1`,
				`scim_bridge_vendor_throttled_total{connection="trainual",operation="create",target="trainual"} 1`,
				`scim_bridge_vendor_retries_total{connection="trainual",operation="create",status="rate_limited",target="trainual"} 1`,
				`scim_bridge_vendor_retry_wait_seconds_total{connection="trainual",operation="create",status="rate_limited",target="trainual"} `,
			} {
				if !strings.Contains(got, want) {
					t.Errorf("/metrics lacks %s\nvendor series:\n%s", want, got)
				}
			}
			leaks := []string{metricsEmail, metricsToken, metricsAPIKey, scimtest.Token, scimtest.APIKey}
			if vendorID != nil {
				leaks = append(leaks, `"`+string(vendorID[1])+`"`)
			}
			for _, leak := range leaks {
				if strings.Contains(got, leak) {
					t.Errorf("a vendor series holds %q", leak)
				}
			}
		})
	}
}

// serveTrainualForMetrics runs `scim-bridge serve` against a Trainual emulator and returns its root URL.
func serveTrainualForMetrics(t *testing.T) (string, upstreamtest.Emulator, func(*http.Request) *http.Response) {
	tg, err := targets.Lookup("trainual")
	if err != nil {
		t.Fatal(err)
	}
	emu := tg.Emulator(metricsAPIKey)
	emuSrv := httptest.NewServer(emu)
	t.Cleanup(emuSrv.Close)
	env := map[string]string{
		"SCIM_BRIDGE_TARGET":         "trainual",
		"SCIM_BRIDGE_UPSTREAM_URL":   emu.BaseURL(emuSrv.URL),
		"SCIM_BRIDGE_UPSTREAM_TOKEN": metricsAPIKey,
		"SCIM_BRIDGE_TOKEN":          metricsToken,
		"SCIM_BRIDGE_LISTEN":         "127.0.0.1:0",
		"SCIM_BRIDGE_DB":             filepath.Join(t.TempDir(), "bridge.db"),
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	var logs upstreamtest.LogBuffer
	go func() {
		done <- run(ctx, []string{"serve"}, envOf(env), io.Discard, &logs, func(a string) { addrc <- a })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if strings.Contains(logs.String(), metricsAPIKey) || strings.Contains(logs.String(), metricsToken) {
			t.Error("serve logged a credential")
		}
	})
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		done <- nil // for the clean-up
		t.Fatalf("serve stopped: %v\n%s", err, logs.String())
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not start")
	}
	return "http://" + addr, emu, func(req *http.Request) *http.Response {
		req.Header.Set("Authorization", "Bearer "+metricsToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
}
