package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
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
	var target string
	var seed int
	var listTargets bool
	var flags *flag.FlagSet
	s, err := loadSettings("sandbox", args, func(k string) string {
		// The sandbox is self-contained: the vendor settings of the environment do not apply to it.
		if k == "SCIM_BRIDGE_UPSTREAM_URL" || k == "SCIM_BRIDGE_UPSTREAM_TOKEN" || k == "SCIM_BRIDGE_UPSTREAM_TOKEN_FILE" {
			return ""
		}
		return getenv(k)
	}, stderr, func(fs *flag.FlagSet) {
		flags = fs
		fs.IntVar(&seed, "seed", 0, "vendor accounts to create in the emulator at start, as if made in the vendor's UI")
		fs.BoolVar(&listTargets, "list-targets", false, "print the targets a sandbox can serve, one a line, and exit")
	})
	if err != nil {
		return err
	}
	if listTargets {
		// For scripts (.ci/compliance): the registry in adapters/targets is the only list of vendors.
		_, err := fmt.Fprintln(stdout, strings.Join(targets.Names(), "\n"))
		return err
	}
	target, listen, db := s.get("SCIM_BRIDGE_TARGET"), s.get("SCIM_BRIDGE_LISTEN"), s.get("SCIM_BRIDGE_DB")
	var names []string
	switch target = strings.ToLower(strings.TrimSpace(target)); target {
	case "":
		names = []string{"trainual"}
	case "all":
		names = targets.Names()
	default:
		names = splitComma(target)
	}
	if listen == ":8080" && getenv("SCIM_BRIDGE_LISTEN") == "" {
		listen = "127.0.0.1:8080"
	}
	if db == "scim-bridge.db" && getenv("SCIM_BRIDGE_DB") == "" {
		dir, err := os.MkdirTemp("", "scim-bridge-sandbox-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		db = filepath.Join(dir, "sandbox.db")
	}
	// set reports whether the user set a setting, by environment or flag, even to its production default
	// (--rate-limit 50).
	set := func(env string) bool {
		given := getenv(env) != "" || s.get(env) != defaultOf(s.defs, env)
		flags.Visit(func(f *flag.Flag) { given = given || f.Name == flagName(env) })
		return given
	}
	// A generic compliance suite sends over 100 requests in a tenth of a second: a trial has no rate limit
	// unless one is set.
	rateLimitSet := set("SCIM_BRIDGE_RATE_LIMIT")
	// Likewise the mass-deprovisioning guard: a load test or a compliance suite deactivates more than ten people
	// in minutes by design.
	guardSet := set("SCIM_BRIDGE_GUARD_THRESHOLD")

	var conns []connection
	var banner strings.Builder
	for _, name := range names {
		t, err := targets.Lookup(name)
		if err != nil {
			return err
		}
		cs := &settings{defs: s.defs, values: maps.Clone(s.values)}
		token := s.get("SCIM_BRIDGE_TOKEN")
		if token == "" || len(names) > 1 {
			// Each connection has its own credential: one can never reach the other's users.
			token = randomHex(24)
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

		cs.set("SCIM_BRIDGE_TARGET", t.Name)
		cs.set("SCIM_BRIDGE_LISTEN", listen)
		cs.set("SCIM_BRIDGE_TOKEN", token)
		cs.set("SCIM_BRIDGE_DB", db)
		cs.set("SCIM_BRIDGE_UPSTREAM_URL", emu.BaseURL("http://"+eln.Addr().String()))
		cs.set("SCIM_BRIDGE_UPSTREAM_TOKEN", apiKey)
		if len(names) > 1 {
			cs.set("SCIM_BRIDGE_BASE_PATH", "/"+t.Name+"/scim/v2")
		}
		if !guardSet {
			cs.set("SCIM_BRIDGE_GUARD_THRESHOLD", "0")
		}
		if !rateLimitSet {
			cs.set("SCIM_BRIDGE_RATE_LIMIT", "0")
		}
		conns = append(conns, connection{name: t.Name, s: cs})
		fmt.Fprintf(&banner, "  %s (%s emulator in process)\n    SCIM base URL: {{base:%s}}\n    Bearer token:  %s\n", t.Name, t.Name, cs.get("SCIM_BRIDGE_BASE_PATH"), token)
	}
	limit := "off (--rate-limit N or SCIM_BRIDGE_RATE_LIMIT sets one)"
	if rateLimitSet {
		limit = s.get("SCIM_BRIDGE_RATE_LIMIT") + " requests/s per credential"
	}
	guard := "off (set SCIM_BRIDGE_GUARD_THRESHOLD to try it)"
	if guardSet {
		guard = s.get("SCIM_BRIDGE_GUARD_THRESHOLD") + " in " + s.get("SCIM_BRIDGE_GUARD_WINDOW")
	}

	return start(ctx, conns, stderr, func(addr string) {
		root := "http://" + displayAddr(addr)
		text := regexp.MustCompile(`\{\{base:([^}]*)\}\}`).ReplaceAllString(banner.String(), root+"$1")
		first := conns[0].s
		base, token := root+first.get("SCIM_BRIDGE_BASE_PATH"), first.get("SCIM_BRIDGE_TOKEN")
		fmt.Fprintf(stdout, `scim-bridge sandbox: nothing leaves this machine. Rate limit: %s. Mass-deprovisioning guard: %s.

%s
Try it:
  curl -s -H 'Authorization: Bearer %s' -H 'Content-Type: application/scim+json' \
    -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"jane@example.com","name":{"givenName":"Jane","familyName":"Doe"},"active":true}' \
    %s/Users
  curl -s -H 'Authorization: Bearer %s' '%s/Users?filter=userName%%20eq%%20%%22jane@example.com%%22'

Stop with Ctrl-C.
`, limit, guard, text, token, base, token, base)
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
