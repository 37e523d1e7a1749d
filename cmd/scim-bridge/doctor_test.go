package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/targets"
	"github.com/scim-bridge/scim-bridge/adapters/thoughtindustries/titest"
	"github.com/scim-bridge/scim-bridge/adapters/trainual/trainualtest"
)

const doctorKey = "vendor-key-7d2f9a61c4e8"

// doctorVendor serves a target's emulator, seeded with a few people, and returns the environment pointing at it.
func doctorVendor(t *testing.T, target string, breakIt bool) map[string]string {
	t.Helper()
	var h http.Handler
	var base func(string) string
	people := func(seed func(...adapters.User) []string) {
		for i := range 3 {
			seed(adapters.User{Email: fmt.Sprintf("p%d@example.com", i), GivenName: "P", FamilyName: fmt.Sprint(i), Active: true})
		}
	}
	switch target {
	case "trainual":
		em := trainualtest.New(doctorKey)
		people(em.Seed)
		if breakIt {
			em.SetVariant(trainualtest.Variant{HardDelete: true})
		}
		h, base = em, em.BaseURL
	case "thoughtindustries":
		em := titest.New(doctorKey)
		people(em.Seed)
		if breakIt {
			em.SetVariant(titest.Variant{DropFields: []string{"language"}})
		}
		h, base = em, em.BaseURL
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return map[string]string{
		"SCIM_BRIDGE_TARGET":         target,
		"SCIM_BRIDGE_UPSTREAM_URL":   base(srv.URL),
		"SCIM_BRIDGE_UPSTREAM_TOKEN": doctorKey,
	}
}

// runDoctorCmd runs `scim-bridge doctor args...` and returns the exit status main would end with.
func runDoctorCmd(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut strings.Builder
	err := run(t.Context(), append([]string{"doctor"}, args...), envOf(env), &out, &errOut, nil)
	switch st, ok := errors.AsType[exitStatus](err); {
	case err == nil:
		code = 0
	case ok:
		code = int(st)
	default:
		code = 2 // main's status for any other error
		errOut.WriteString(err.Error())
	}
	if strings.Contains(out.String()+errOut.String(), doctorKey) {
		t.Errorf("the doctor printed the API key:\n%s\n%s", out.String(), errOut.String())
	}
	return code, out.String(), errOut.String()
}

func TestDoctorExitStatus(t *testing.T) {
	cases := []struct {
		name   string
		target string
		broken bool
		change map[string]string
		args   []string
		want   int
		says   string // in the output, in either mode
	}{
		{name: "trainual as assumed", target: "trainual", args: []string{"--write-test-user", "doctor@example.com"}, want: 0, says: "left deactivated"},
		{name: "trainual read-only", target: "trainual", want: 0, says: "needs --write-test-user"},
		{name: "trainual hard-deleting", target: "trainual", broken: true, args: []string{"--write-test-user", "doctor@example.com"}, want: 1, says: "hard-deletes"},
		{name: "thoughtindustries as assumed", target: "thoughtindustries", args: []string{"--write-test-user", "doctor@example.com"}, want: 0, says: "Nothing is left"},
		{name: "thoughtindustries dropping the language", target: "thoughtindustries", broken: true, args: []string{"--write-test-user", "doctor@example.com"}, want: 1, says: "preferredLanguage"},
		{name: "no target", target: "trainual", change: map[string]string{"SCIM_BRIDGE_TARGET": ""}, want: 2, says: "SCIM_BRIDGE_TARGET"},
		{name: "an unknown target", target: "trainual", change: map[string]string{"SCIM_BRIDGE_TARGET": "workday"}, want: 2, says: "workday"},
		{name: "no vendor key", target: "thoughtindustries", change: map[string]string{"SCIM_BRIDGE_UPSTREAM_TOKEN": ""}, want: 2, says: "SCIM_BRIDGE_UPSTREAM_TOKEN"},
		{name: "a refused key", target: "trainual", change: map[string]string{"SCIM_BRIDGE_UPSTREAM_TOKEN": "not-" + doctorKey}, want: 2, says: "refused the API key"},
		{name: "an unreachable vendor", target: "thoughtindustries", change: map[string]string{"SCIM_BRIDGE_UPSTREAM_URL": "http://127.0.0.1:1/incoming/api/v1"}, want: 2, says: "could not be reached"},
		{name: "a test e-mail that is not one", target: "trainual", args: []string{"--write-test-user", "doctor"}, want: 2, says: "--write-test-user"},
		{name: "a test e-mail that belongs to someone", target: "trainual", args: []string{"--write-test-user", "P1@example.com"}, want: 2, says: "already exists"},
	}
	for _, tc := range cases {
		for _, asJSON := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/json=%v", tc.name, asJSON), func(t *testing.T) {
				env := doctorVendor(t, tc.target, tc.broken)
				for k, v := range tc.change {
					env[k] = v
				}
				args := tc.args
				if asJSON {
					args = append([]string{"--json"}, args...)
				}
				code, stdout, stderr := runDoctorCmd(t, env, args...)
				if code != tc.want {
					t.Fatalf("exit status %d, want %d\n%s\n%s", code, tc.want, stdout, stderr)
				}
				text := stdout + stderr
				if asJSON {
					var out doctorOutput
					if err := json.Unmarshal([]byte(stdout), &out); err != nil {
						t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
					}
					if out.ExitCode != tc.want {
						t.Errorf("exit_code %d, want %d", out.ExitCode, tc.want)
					}
					b, _ := json.Marshal(out)
					text = string(b)
				}
				if !strings.Contains(text, tc.says) {
					t.Errorf("output does not say %q:\n%s", tc.says, text)
				}
			})
		}
	}
}

func TestDoctorJSONShape(t *testing.T) {
	for _, target := range targets.Names() {
		t.Run(target, func(t *testing.T) {
			code, stdout, _ := runDoctorCmd(t, doctorVendor(t, target, true), "--json", "--write-test-user", "doctor@example.com")
			if code != 1 {
				t.Fatalf("exit status %d, want 1", code)
			}
			var doc map[string]json.RawMessage
			if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"target", "base_url", "write_test_user", "results", "notes", "vendor_calls", "exit_code", "summary"} {
				if _, ok := doc[k]; !ok {
					t.Errorf("no %q in %s", k, stdout)
				}
			}
			if _, ok := doc["aborted"]; ok {
				t.Errorf("a finished run has \"aborted\": %s", doc["aborted"])
			}
			var summary map[string]int
			_ = json.Unmarshal(doc["summary"], &summary)
			var results []map[string]any
			if err := json.Unmarshal(doc["results"], &results); err != nil || len(results) == 0 {
				t.Fatalf("results: %v %s", err, doc["results"])
			}
			counted := map[string]int{}
			for _, r := range results {
				for _, k := range []string{"id", "title", "expected", "observed", "verdict"} {
					if s, _ := r[k].(string); s == "" {
						t.Errorf("result %v has no %q", r["id"], k)
					}
				}
				v := r["verdict"].(string)
				counted[v]++
				if _, hasAdvice := r["advice"]; hasAdvice != (v == "differs" || v == "fails") {
					t.Errorf("result %v (%s) advice present=%v", r["id"], v, hasAdvice)
				}
			}
			for _, v := range []string{"holds", "differs", "fails", "skipped"} {
				if summary[v] != counted[v] {
					t.Errorf("summary %s=%d, results say %d", v, summary[v], counted[v])
				}
			}
		})
	}
}

func TestDoctorTableShowsEveryColumnAndAssumption(t *testing.T) {
	env := doctorVendor(t, "trainual", true)
	code, stdout, _ := runDoctorCmd(t, env, "--write-test-user", "doctor@example.com")
	if code != 1 {
		t.Fatalf("exit status %d", code)
	}
	lines := strings.Split(stdout, "\n")
	head := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "ASSUMPTION") })
	if head < 0 {
		t.Fatalf("no header:\n%s", stdout)
	}
	for _, col := range []string{"EXPECTED", "OBSERVED", "VERDICT", "ADVICE"} {
		if !strings.Contains(lines[head], col) {
			t.Errorf("header %q lacks %s", lines[head], col)
		}
	}
	for _, l := range lines {
		if n := len([]rune(l)); n > 180 {
			t.Errorf("a line of %d columns: %q", n, l)
		}
	}
	for _, id := range []string{"auth.bearer", "list.page-size", "find.email-param", "delete.deactivates", "reactivate.status"} {
		if !strings.Contains(stdout, id) {
			t.Errorf("the table does not show %s", id)
		}
	}
	if !strings.Contains(stdout, "fails") || !strings.Contains(stdout, "Nothing is left") {
		t.Errorf("the table does not show the failure or what is left:\n%s", stdout)
	}
}

func TestDoctorCoversEveryTarget(t *testing.T) {
	for _, name := range targets.Names() {
		if tg, _ := targets.Lookup(name); tg.Doctor == nil {
			t.Errorf("target %s has no doctor checks", name)
		}
	}
}

func TestDoctorWrapKeepsEveryWord(t *testing.T) {
	cases := []struct {
		in    string
		width int
		want  []string
	}{
		{"", 10, []string{""}},
		{"a bb ccc", 4, []string{"a bb", "ccc"}},
		{"abcdefghij k", 4, []string{"abcd", "efgh", "ij k"}},
		{"… × …", 3, []string{"… ×", "…"}},
	}
	for _, c := range cases {
		if got := wrap(c.in, c.width); !slices.Equal(got, c.want) {
			t.Errorf("wrap(%q, %d) = %q, want %q", c.in, c.width, got, c.want)
		}
	}
}

// TestDoctorChecksOneConnectionOfAConfigFile: with SCIM_BRIDGE_CONFIG the doctor checks the connection --connection
// names, with that connection's vendor settings.
func TestDoctorChecksOneConnectionOfAConfigFile(t *testing.T) {
	good, broken := doctorVendor(t, "trainual", false), doctorVendor(t, "thoughtindustries", true)
	dir := t.TempDir()
	key := writeFile(t, dir, "key", doctorKey)
	cfg := writeFile(t, dir, "c.yaml", fmt.Sprintf(`connections:
  - name: good
    target: trainual
    base_path: /good/scim/v2
    upstream_url: %s
    upstream_token_file: %s
    token_env: TOKEN_GOOD
  - name: broken
    target: thoughtindustries
    base_path: /broken/scim/v2
    upstream_url: %s
    upstream_token_file: %s
    token_env: TOKEN_BROKEN
`, good["SCIM_BRIDGE_UPSTREAM_URL"], key, broken["SCIM_BRIDGE_UPSTREAM_URL"], key))
	env := map[string]string{"SCIM_BRIDGE_CONFIG": cfg, "TOKEN_GOOD": "t-good-0123456789", "TOKEN_BROKEN": "t-broken-0123456789"}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--connection", "good", "--json"}, 0, `"target": "trainual"`},
		{[]string{"--connection", "broken", "--write-test-user", "doctor-probe@example.com", "--json"}, 1, `"target": "thoughtindustries"`},
		{[]string{"--json"}, 2, "--connection must name one of the connections: good, broken"},
	} {
		code, out, errOut := runDoctorCmd(t, env, tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("doctor %v: exit %d, want %d with %q\n%s%s", tc.args, code, tc.code, tc.want, out, errOut)
		}
	}
}
