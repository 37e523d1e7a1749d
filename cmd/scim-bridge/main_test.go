package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestBadSettingsStopStartUpNamingTheSetting(t *testing.T) {
	base := map[string]string{
		"SCIM_BRIDGE_TARGET":         "trainual",
		"SCIM_BRIDGE_UPSTREAM_TOKEN": "k",
		"SCIM_BRIDGE_TOKEN":          "t",
		"SCIM_BRIDGE_LISTEN":         "127.0.0.1:0",
	}
	secretFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(secretFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change map[string]string
		args   []string
		want   []string
	}{
		{"no target", map[string]string{"SCIM_BRIDGE_TARGET": ""}, nil, []string{"SCIM_BRIDGE_TARGET"}},
		{"unknown target", map[string]string{"SCIM_BRIDGE_TARGET": "workday"}, nil, []string{"SCIM_BRIDGE_TARGET", "trainual", "thoughtindustries"}},
		{"no vendor key", map[string]string{"SCIM_BRIDGE_UPSTREAM_TOKEN": ""}, nil, []string{"SCIM_BRIDGE_UPSTREAM_TOKEN"}},
		{"no inbound auth", map[string]string{"SCIM_BRIDGE_TOKEN": ""}, nil, []string{"SCIM_BRIDGE_TOKEN"}},
		{"bad log level", map[string]string{"SCIM_BRIDGE_LOG_LEVEL": "loud"}, nil, []string{"SCIM_BRIDGE_LOG_LEVEL"}},
		{"bad retry budget", map[string]string{"SCIM_BRIDGE_UPSTREAM_RETRY_BUDGET": "soon"}, nil, []string{"SCIM_BRIDGE_UPSTREAM_RETRY_BUDGET"}},
		{"bad rate limit", map[string]string{"SCIM_BRIDGE_RATE_LIMIT": "-1"}, nil, []string{"SCIM_BRIDGE_RATE_LIMIT"}},
		{"negative vendor rate", map[string]string{"SCIM_BRIDGE_UPSTREAM_RATE": "-2"}, nil, []string{"SCIM_BRIDGE_UPSTREAM_RATE"}},
		{"vendor rate not a number", map[string]string{"SCIM_BRIDGE_UPSTREAM_RATE": "90/min"}, nil, []string{"SCIM_BRIDGE_UPSTREAM_RATE"}},
		{"half TLS", map[string]string{"SCIM_BRIDGE_TLS_CERT": "/x.pem"}, nil, []string{"SCIM_BRIDGE_TLS_CERT", "SCIM_BRIDGE_TLS_KEY"}},
		{"bad base path", map[string]string{"SCIM_BRIDGE_BASE_PATH": "scim"}, nil, []string{"SCIM_BRIDGE_BASE_PATH"}},
		{"secret and its file", map[string]string{"SCIM_BRIDGE_TOKEN_FILE": secretFile}, nil, []string{"SCIM_BRIDGE_TOKEN", "_FILE"}},
		{"unreadable secret file", map[string]string{"SCIM_BRIDGE_TOKEN": "", "SCIM_BRIDGE_TOKEN_FILE": "/nonexistent/x"}, nil, []string{"SCIM_BRIDGE_TOKEN_FILE"}},
		{"TI with neither URL nor subdomain", map[string]string{"SCIM_BRIDGE_TARGET": "thoughtindustries"}, nil, []string{"SCIM_BRIDGE_UPSTREAM_URL", "SCIM_BRIDGE_TI_SUBDOMAIN"}},
		{"several problems at once", map[string]string{"SCIM_BRIDGE_LOG_LEVEL": "loud", "SCIM_BRIDGE_TOKEN": ""}, nil, []string{"SCIM_BRIDGE_LOG_LEVEL", "SCIM_BRIDGE_TOKEN"}},
		{"flag overrides env", nil, []string{"--target", "nope"}, []string{"SCIM_BRIDGE_TARGET", "nope"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tc.change {
				env[k] = v
			}
			var stderr bytes.Buffer
			err := run(t.Context(), append([]string{"serve"}, tc.args...), envOf(env), io.Discard, &stderr, func(string) {
				t.Error("the server started")
			})
			if err == nil {
				t.Fatal("start-up did not fail")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			for _, secret := range []string{"from-file", "k\n"} {
				if strings.Contains(err.Error()+stderr.String(), secret) {
					t.Errorf("error output holds a secret: %q", err)
				}
			}
		})
	}
}

func TestSecretFromFileAndFlags(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "tok")
	if err := os.WriteFile(f, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := loadSettings("serve", []string{"--token-file", f, "--upstream-url", "http://x"}, envOf(map[string]string{"SCIM_BRIDGE_UPSTREAM_URL": "http://env"}), io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.get("SCIM_BRIDGE_TOKEN") != "s3cret" {
		t.Errorf("token %q from file", s.get("SCIM_BRIDGE_TOKEN"))
	}
	if s.get("SCIM_BRIDGE_UPSTREAM_URL") != "http://x" {
		t.Errorf("flag did not win over env: %q", s.get("SCIM_BRIDGE_UPSTREAM_URL"))
	}
	if strings.Contains(s.logValue().String(), "s3cret") {
		t.Error("the start-up log shows a secret")
	}
}

func TestSandboxServesAndPrintsWhatAUserNeeds(t *testing.T) {
	for _, target := range []string{"trainual", "thoughtindustries"} {
		t.Run(target, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			var stdout, stderr upstreamtest.LogBuffer
			addrc := make(chan string, 1)
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, []string{"sandbox", "--target", target, "--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "s.db")},
					envOf(map[string]string{"SCIM_BRIDGE_UPSTREAM_TOKEN": "ignored-by-sandbox"}), &stdout, &stderr, func(a string) { addrc <- a })
			}()
			var addr string
			select {
			case addr = <-addrc:
			case err := <-done:
				t.Fatalf("sandbox stopped: %v\n%s", err, stderr.String())
			case <-time.After(20 * time.Second):
				t.Fatal("sandbox did not start")
			}
			out := stdout.String()
			token := regexp.MustCompile(`Bearer token:\s+(\S+)`).FindStringSubmatch(out)
			if token == nil || !strings.Contains(out, "http://"+addr+"/scim/v2") || !strings.Contains(out, "curl") {
				t.Fatalf("sandbox output lacks URL, token or curl example:\n%s", out)
			}
			resp, err := http.Get("http://" + addr + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			req, _ := http.NewRequest("POST", "http://"+addr+"/scim/v2/Users", strings.NewReader(
				`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"jane@example.com","name":{"givenName":"Jane","familyName":"Doe"}}`))
			req.Header.Set("Authorization", "Bearer "+token[1])
			req.Header.Set("Content-Type", "application/scim+json")
			resp, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Errorf("create through the sandbox: %d", resp.StatusCode)
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("sandbox shutdown: %v", err)
			}
			if strings.Contains(stderr.String(), token[1]) {
				t.Error("the sandbox logged its token")
			}
		})
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"version"}, envOf(nil), &out, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "scim-bridge ") {
		t.Errorf("version output %q", out.String())
	}
	if err := run(t.Context(), []string{"frobnicate"}, envOf(nil), io.Discard, io.Discard, nil); err == nil {
		t.Error("unknown command accepted")
	}
}
