package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/targets"
)

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// sandbox serves the bridge against the target's in-process emulator (the one the tests use), with a fresh
// token and a throw-away store, so that the API can be tried, or Okta and Entra pointed at it, without a vendor
// account.
func sandbox(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, ready func(string)) error {
	var target, listen, token, db string
	var seed int
	s, err := loadSettings("sandbox", args, func(k string) string {
		// The sandbox is self-contained: the vendor settings of the environment do not apply to it.
		if k == "SCIM_BRIDGE_UPSTREAM_URL" || k == "SCIM_BRIDGE_UPSTREAM_TOKEN" || k == "SCIM_BRIDGE_UPSTREAM_TOKEN_FILE" {
			return ""
		}
		return getenv(k)
	}, stderr, func(fs *flag.FlagSet) {
		fs.IntVar(&seed, "seed", 0, "vendor accounts to create in the emulator at start, as if made in the vendor's UI")
	})
	if err != nil {
		return err
	}
	target, listen, token, db = s.get("SCIM_BRIDGE_TARGET"), s.get("SCIM_BRIDGE_LISTEN"), s.get("SCIM_BRIDGE_TOKEN"), s.get("SCIM_BRIDGE_DB")
	if target == "" {
		target = "trainual"
	}
	t, err := targets.Lookup(target)
	if err != nil {
		return err
	}
	if listen == ":8080" && getenv("SCIM_BRIDGE_LISTEN") == "" {
		listen = "127.0.0.1:8080"
	}
	if token == "" {
		token = randomHex(24)
	}
	if db == "scim-bridge.db" && getenv("SCIM_BRIDGE_DB") == "" {
		dir, err := os.MkdirTemp("", "scim-bridge-sandbox-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		db = filepath.Join(dir, "sandbox.db")
	}

	apiKey := randomHex(16)
	emu := t.Emulator(apiKey)
	for i := 1; i <= seed; i++ {
		emu.Seed(adapters.User{Email: fmt.Sprintf("existing%d@example.com", i), GivenName: "Existing",
			FamilyName: fmt.Sprintf("Person%d", i), Active: true, Attrs: map[string]string{}})
	}
	eln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	esrv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = esrv.Serve(eln) }()
	defer esrv.Close()

	s.set("SCIM_BRIDGE_TARGET", t.Name)
	s.set("SCIM_BRIDGE_LISTEN", listen)
	s.set("SCIM_BRIDGE_TOKEN", token)
	s.set("SCIM_BRIDGE_DB", db)
	s.set("SCIM_BRIDGE_UPSTREAM_URL", emu.BaseURL("http://"+eln.Addr().String()))
	s.set("SCIM_BRIDGE_UPSTREAM_TOKEN", apiKey)

	return start(ctx, s, stderr, func(addr string) {
		base := "http://" + displayAddr(addr) + s.get("SCIM_BRIDGE_BASE_PATH")
		fmt.Fprintf(stdout, `scim-bridge sandbox: %s emulator in process, nothing leaves this machine.

  SCIM base URL: %s
  Bearer token:  %s

Try it:
  curl -s -H 'Authorization: Bearer %s' -H 'Content-Type: application/scim+json' \
    -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"jane@example.com","name":{"givenName":"Jane","familyName":"Doe"},"active":true}' \
    %s/Users
  curl -s -H 'Authorization: Bearer %s' '%s/Users?filter=userName%%20eq%%20%%22jane@example.com%%22'

Stop with Ctrl-C.
`, t.Name, base, token, token, base, token, base)
		if ready != nil {
			ready(addr)
		}
	})
}

// displayAddr turns a wildcard listen address into one a user can paste.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "127.0.0.1"
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + port
}
