package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/scim/scimtest"
)

func TestURLsOffLoopbackAreRefusedUnlessAllowed(t *testing.T) {
	for _, tc := range []struct {
		name        string
		url         string
		allowRemote bool
		ok          bool
	}{
		{"an IPv4 loopback URL is accepted", "http://127.0.0.1:8080/scim/v2", false, true},
		{"an IPv6 loopback URL is accepted", "http://[::1]:8080/scim/v2", false, true},
		{"localhost is accepted", "https://localhost/scim/v2", false, true},
		{"a remote host is refused", "https://bridge.example.com/scim/v2", false, false},
		{"a private address is refused", "http://10.0.0.5/scim/v2", false, false},
		{"a remote host is accepted with -allow-remote", "https://bridge.example.com/scim/v2", true, true},
		{"credentials in the URL are refused even with -allow-remote", "https://u:p@bridge.example.com/scim/v2", true, false},
		{"a relative URL is refused", "/scim/v2", false, false},
		{"another scheme is refused", "ftp://127.0.0.1/scim/v2", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkBase(tc.url, tc.allowRemote); (err == nil) != tc.ok {
				t.Errorf("checkBase(%q, %v) = %v, want ok=%v", tc.url, tc.allowRemote, err, tc.ok)
			}
		})
	}
}

func TestFlagsAreValidatedTogetherAndTheTokenComesFromTheEnvironment(t *testing.T) {
	env := func(k string) string {
		if k == "SCIM_LOAD_TOKEN" {
			return "from-env-token-0123456789"
		}
		return ""
	}
	o, err := parseFlags([]string{"-url", "http://127.0.0.1:1/scim/v2/", "-mix", "get=1,filter=3"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.token != "from-env-token-0123456789" || o.base != "http://127.0.0.1:1/scim/v2" || o.mix["filter"] != 3 || o.mix["create"] != 0 {
		t.Errorf("options %+v", o)
	}
	_, err = parseFlags([]string{"-url", "http://example.com", "-mix", "get=x", "-concurrency", "0"}, func(string) string { return "" }, io.Discard)
	for _, want := range []string{"-url", "-token", "-mix", "-concurrency"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

func TestMixIsParsedStrictly(t *testing.T) {
	for _, bad := range []string{"", "create", "create=-1", "delete=1", "get=1,get=2", "get=0,patch=0"} {
		if _, err := parseMix(bad); err == nil {
			t.Errorf("parseMix(%q) accepted", bad)
		}
	}
	m, err := parseMix("create=1, get=4,filter=4,patch=1")
	if err != nil || m["create"] != 1 || m["get"] != 4 || m["filter"] != 4 || m["patch"] != 1 {
		t.Errorf("parseMix = %v, %v", m, err)
	}
	counts := map[string]int{}
	for r := range 10 {
		counts[pick(r, m, ops)]++
	}
	if counts["create"] != 1 || counts["get"] != 4 || counts["filter"] != 4 || counts["patch"] != 1 {
		t.Errorf("pick over every draw = %v, want the weights", counts)
	}
}

func TestReportShowsPercentilesAndStatuses(t *testing.T) {
	var samples []sample
	for i := 1; i <= 100; i++ {
		samples = append(samples, sample{op: "get", latency: time.Duration(i) * time.Millisecond, status: 200})
	}
	samples = append(samples, sample{op: "create", latency: time.Millisecond, status: 429}, sample{op: "create", latency: time.Millisecond})
	var out bytes.Buffer
	report(&out, samples, time.Second)
	for _, want := range []string{"50.00ms", "90.00ms", "99.00ms", "100.00ms", "non-2xx by status: transport-error=1 429=1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// TestEachRunsEveryOperationAloneAgainstAnySCIMServer: -each seeds once (with the run's clients in parallel), then
// runs each operation of the mix alone, reads first and creates last, against a real bridge, and reports the
// server's CPU per request when given its process id.
func TestEachRunsEveryOperationAloneAgainstAnySCIMServer(t *testing.T) {
	b := scimtest.Start(t, scimtest.Options{})
	var out bytes.Buffer
	env := func(k string) string {
		if k == "SCIM_LOAD_TOKEN" {
			return scimtest.Token
		}
		return ""
	}
	args := []string{"-url", b.URL, "-seed-users", "25", "-concurrency", "4", "-each", "-mix", "create=1,get=1,patch=1",
		"-duration", "300ms", "-server-pid", strconv.Itoa(os.Getpid())}
	if err := run(t.Context(), args, env, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	get, patch, create := strings.Index(text, "-- create=0,get=1"), strings.Index(text, "-- create=0,get=0,filter=0,patch=1"), strings.Index(text, "-- create=1")
	if get < 0 || patch < get || create < patch {
		t.Fatalf("want get, patch, then create, each alone:\n%s", text)
	}
	if strings.Contains(text, "filter ") || strings.Count(text, "non-2xx by status: none") != 3 {
		t.Errorf("an operation outside the mix ran, or a request failed:\n%s", text)
	}
	if strings.Count(text, "server CPU") != 3 {
		t.Errorf("no server CPU per request:\n%s", text)
	}
	if n := b.Emu.Users(); n <= 25 {
		t.Errorf("the vendor holds %d accounts: the 25 seeded and the creates expected", n)
	}
}

// TestMain lets the test binary stand in for scim-load when the bench starts a relay (os.Executable is the test
// binary under go test).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "relay" {
		if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
