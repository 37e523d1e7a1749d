package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters/targets"
)

// probe runs `scim-bridge healthcheck args` through run, as main does, and returns the exit status main would
// give and the output.
func probe(t *testing.T, env map[string]string, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(t.Context(), append([]string{"healthcheck"}, args...), envOf(env), &out, &errOut, nil)
	switch st, ok := errors.AsType[exitStatus](err); {
	case err == nil:
		status = 0
	case ok:
		status = int(st)
	default:
		t.Fatalf("healthcheck returned %v, not an exit status", err)
	}
	return status, out.String(), errOut.String()
}

func TestHealthcheckURLFollowsServeSettings(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plain := write("plain.yaml", "listen: \":7070\"\nconnections: []\n")
	tlsFile := write("tls.yaml", "listen: 0.0.0.0:7443\ntls_cert: /etc/tls/cert.pem\ntls_key_file: /nonexistent\nconnections: [{name: x}]\n")
	listenFile := write("listen", "127.0.0.2:6060\n")
	indirect := write("indirect.yaml", "listen_file: "+listenFile+"\ntls_cert_env: CERT_PATH\n")
	for _, tc := range []struct {
		name string
		env  map[string]string
		path string
		want string
	}{
		{"default", nil, "/healthz", "http://127.0.0.1:8080/healthz"},
		{"port only", map[string]string{"SCIM_BRIDGE_LISTEN": ":9090"}, "/healthz", "http://127.0.0.1:9090/healthz"},
		{"IPv4 wildcard", map[string]string{"SCIM_BRIDGE_LISTEN": "0.0.0.0:9090"}, "/healthz", "http://127.0.0.1:9090/healthz"},
		{"IPv6 wildcard", map[string]string{"SCIM_BRIDGE_LISTEN": "[::]:9090"}, "/healthz", "http://127.0.0.1:9090/healthz"},
		{"one address", map[string]string{"SCIM_BRIDGE_LISTEN": "10.1.2.3:80"}, "/healthz", "http://10.1.2.3:80/healthz"},
		{"IPv6 address", map[string]string{"SCIM_BRIDGE_LISTEN": "[::1]:80"}, "/healthz", "http://[::1]:80/healthz"},
		{"TLS", map[string]string{"SCIM_BRIDGE_LISTEN": ":8443", "SCIM_BRIDGE_TLS_CERT": "/c.pem"}, "/healthz", "https://127.0.0.1:8443/healthz"},
		{"readiness", nil, "/readyz", "http://127.0.0.1:8080/readyz"},
		{"config file", map[string]string{"SCIM_BRIDGE_CONFIG": plain}, "/healthz", "http://127.0.0.1:7070/healthz"},
		{"config file with TLS; the rest of the file is not read", map[string]string{"SCIM_BRIDGE_CONFIG": tlsFile}, "/healthz", "https://127.0.0.1:7443/healthz"},
		{"the environment wins over the file", map[string]string{"SCIM_BRIDGE_CONFIG": tlsFile, "SCIM_BRIDGE_LISTEN": ":5050"}, "/healthz", "https://127.0.0.1:5050/healthz"},
		{"listen_file and tls_cert_env", map[string]string{"SCIM_BRIDGE_CONFIG": indirect, "CERT_PATH": "/c.pem"}, "/healthz", "https://127.0.0.2:6060/healthz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := healthcheckURL(envOf(tc.env), tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("URL = %s, want %s", got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"not host:port", map[string]string{"SCIM_BRIDGE_LISTEN": "8080"}, "SCIM_BRIDGE_LISTEN"},
		{"unreadable config", map[string]string{"SCIM_BRIDGE_CONFIG": filepath.Join(dir, "missing.yaml")}, "SCIM_BRIDGE_CONFIG"},
		{"config not YAML", map[string]string{"SCIM_BRIDGE_CONFIG": write("bad.yaml", "listen: [\n")}, "not valid YAML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, stderr := probe(t, tc.env)
			if status != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("status %d, stderr %q; want 1 naming %s", status, stderr, tc.want)
			}
		})
	}
}

// TestHealthcheckProbesARunningBridge runs the bridge as a real process, as the container does, and probes it.
func TestHealthcheckProbesARunningBridge(t *testing.T) {
	tg, err := targets.Lookup("trainual")
	if err != nil {
		t.Fatal(err)
	}
	const apiKey = "vendor-key-0123456789abcdef"
	emu := tg.Emulator(apiKey)
	vendor := httptest.NewServer(emu)
	t.Cleanup(vendor.Close)
	r := startReplica(t, "bridge", map[string]string{
		"SCIM_BRIDGE_TARGET":         "trainual",
		"SCIM_BRIDGE_DB":             filepath.Join(t.TempDir(), "links.db"),
		"SCIM_BRIDGE_LISTEN":         "127.0.0.1:0",
		"SCIM_BRIDGE_TOKEN":          replicaToken,
		"SCIM_BRIDGE_LOG_LEVEL":      "warn",
		"SCIM_BRIDGE_UPSTREAM_URL":   emu.BaseURL(vendor.URL),
		"SCIM_BRIDGE_UPSTREAM_TOKEN": apiKey,
	})
	addr := strings.TrimSuffix(strings.TrimPrefix(r.url, "http://"), "/scim/v2")
	env := map[string]string{"SCIM_BRIDGE_LISTEN": addr}

	status, stdout, stderr := probe(t, env)
	if status != 0 || !strings.Contains(stdout, "/healthz answered 200 OK: ok") {
		t.Errorf("healthcheck of a running bridge: status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
	status, stdout, stderr = probe(t, env, "--path", "/readyz")
	if status != 0 || !strings.Contains(stdout, "/readyz answered 200 OK: ready") {
		t.Errorf("readiness of a running bridge: status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
	status, _, _ = probe(t, nil, "--url", "http://"+addr+"/healthz")
	if status != 0 {
		t.Errorf("--url: status %d", status)
	}
	// The vendor goes away: the process is alive, and a liveness probe must not restart it for that.
	vendor.Close()
	if status, _, stderr := probe(t, env); status != 0 {
		t.Errorf("healthz without the vendor: status %d, stderr %q; want 0", status, stderr)
	}

	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-r.done
	status, _, stderr = probe(t, env)
	if status != 1 || !strings.Contains(stderr, "unhealthy") || !strings.Contains(stderr, "refused") {
		t.Errorf("healthcheck of a stopped bridge: status %d, stderr %q; want 1 and the reason", status, stderr)
	}
}

func TestHealthcheckSpeaksTLSWhenServeDoes(t *testing.T) {
	certFile, keyFile := writeCert(t, t.TempDir(), "scim.example.com")
	tg, _ := targets.Lookup("trainual")
	emu := tg.Emulator("k")
	vendor := httptest.NewServer(emu)
	t.Cleanup(vendor.Close)
	env := map[string]string{
		"SCIM_BRIDGE_TARGET":         "trainual",
		"SCIM_BRIDGE_DB":             filepath.Join(t.TempDir(), "links.db"),
		"SCIM_BRIDGE_LISTEN":         "127.0.0.1:0",
		"SCIM_BRIDGE_TOKEN":          replicaToken,
		"SCIM_BRIDGE_UPSTREAM_URL":   emu.BaseURL(vendor.URL),
		"SCIM_BRIDGE_UPSTREAM_TOKEN": "k",
		"SCIM_BRIDGE_TLS_CERT":       certFile,
		"SCIM_BRIDGE_TLS_KEY":        keyFile,
	}
	ctx, cancel := context.WithCancel(t.Context())
	addrc, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, envOf(env), io.Discard, io.Discard, func(a string) { addrc <- a })
	}()
	t.Cleanup(func() { cancel(); <-done })
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}

	// The container's environment: the certificate names scim.example.com, the probe goes to 127.0.0.1.
	probeEnv := map[string]string{"SCIM_BRIDGE_LISTEN": addr, "SCIM_BRIDGE_TLS_CERT": certFile}
	if status, stdout, stderr := probe(t, probeEnv); status != 0 || !strings.Contains(stdout, "https://") {
		t.Errorf("TLS healthcheck: status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
	// Plain HTTP to an HTTPS listener is an unhealthy answer, not a hang.
	if status, _, stderr := probe(t, map[string]string{"SCIM_BRIDGE_LISTEN": addr}); status != 1 || !strings.Contains(stderr, "400") {
		t.Errorf("HTTP against HTTPS: status %d, stderr %q; want 1 and the server's 400", status, stderr)
	}
}

func TestHealthcheckVerifiesCertificatesOfOtherHostsOnly(t *testing.T) {
	for host, loopback := range map[string]bool{
		"127.0.0.1": true, "127.1.2.3": true, "::1": true, "localhost": true, "LOCALHOST": true,
		"10.0.0.1": false, "scim.example.com": false, "::": false, "": false,
	} {
		if isLoopback(host) != loopback {
			t.Errorf("isLoopback(%q) = %v", host, !loopback)
		}
	}
}

func TestHealthcheckFailures(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
		case "/moved":
			http.Redirect(w, r, "/healthz", http.StatusFound)
		case "/hang":
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"not 200", []string{"--url", srv.URL + "/healthz"}, "503 Service Unavailable: shutting down"},
		{"a redirect is not followed", []string{"--url", srv.URL + "/moved"}, "302"},
		{"bad URL", []string{"--url", "127.0.0.1:8080/healthz"}, "--url must be an absolute"},
		{"bad path", []string{"--path", "healthz"}, "--path must start with /"},
		{"bad timeout", []string{"--timeout", "0s"}, "--timeout"},
		{"unknown flag: 1, not 2, which Docker reserves", []string{"--frobnicate"}, "frobnicate"},
		{"extra argument", []string{"now"}, "unexpected argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, stdout, stderr := probe(t, nil, tc.args...)
			if status != 1 || !strings.Contains(stderr, tc.want) || stdout != "" {
				t.Errorf("status %d, stdout %q, stderr %q; want 1 and %q", status, stdout, stderr, tc.want)
			}
		})
	}
	t.Run("a hanging server is given up after --timeout", func(t *testing.T) {
		start := time.Now()
		status, _, stderr := probe(t, nil, "--url", srv.URL+"/hang", "--timeout", "300ms")
		if took := time.Since(start); status != 1 || took > 5*time.Second {
			t.Errorf("status %d after %v, stderr %q; want 1 soon after 300ms", status, took, stderr)
		}
	})
}
