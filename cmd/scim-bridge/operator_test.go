package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/targets"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
	"github.com/scim-bridge/scim-bridge/scim/store/pgstore/pgtest"
)

// operatorEnv serves a target's emulator and returns serve's environment for it, with a fresh SQLite store.
func operatorEnv(t *testing.T, target string, extra map[string]string) (map[string]string, targets.Emulator) {
	t.Helper()
	tg, _ := targets.Lookup(target)
	em := tg.Emulator("vendor-key-0123456789")
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	env := map[string]string{
		"SCIM_BRIDGE_TARGET":         target,
		"SCIM_BRIDGE_UPSTREAM_URL":   em.BaseURL(srv.URL),
		"SCIM_BRIDGE_UPSTREAM_TOKEN": "vendor-key-0123456789",
		"SCIM_BRIDGE_TOKEN":          "okta-token-0123456789abcdef",
		"SCIM_BRIDGE_LISTEN":         "127.0.0.1:0",
		"SCIM_BRIDGE_DB":             filepath.Join(t.TempDir(), "links.db"),
		"SCIM_BRIDGE_RATE_LIMIT":     "0",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env, em
}

const bearer = "Bearer okta-token-0123456789abcdef"

func userBody(userName string, active bool) string {
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%q,"name":{"givenName":"G","familyName":"F"},"emails":[{"value":%q,"type":"work","primary":true}],"active":%v}`,
		userName, userName, active)
}

func createUsers(t *testing.T, base string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		status, body := scimDo(t, "POST", base+"/Users", bearer, userBody(fmt.Sprintf("p%02d@example.com", i), true))
		if status != http.StatusCreated {
			t.Fatalf("create: %d %s", status, body)
		}
		var m map[string]any
		_ = json.Unmarshal([]byte(body), &m)
		ids = append(ids, m["id"].(string))
	}
	return ids
}

// runCmd runs one scim-bridge command and returns its output.
func runCmd(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errOut strings.Builder
	err := run(t.Context(), args, envOf(env), &out, &errOut, nil)
	return out.String() + errOut.String(), err
}

func TestTheGuardHoldsAMassDeprovisioningUntilReleased(t *testing.T) {
	for _, tc := range []struct {
		name, target string
		deprovision  func(t *testing.T, base, id string, i int) (int, string, http.Header)
	}{
		{"Okta PUT active false storm", "trainual", func(t *testing.T, base, id string, i int) (int, string, http.Header) {
			return do3(t, "PUT", base+"/Users/"+id, userBody(fmt.Sprintf("p%02d@example.com", i), false))
		}},
		{"Entra PATCH storm", "thoughtindustries", func(t *testing.T, base, id string, _ int) (int, string, http.Header) {
			return do3(t, "PATCH", base+"/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`)
		}},
		{"DELETE storm", "trainual", func(t *testing.T, base, id string, _ int) (int, string, http.Header) {
			return do3(t, "DELETE", base+"/Users/"+id, "")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, em := operatorEnv(t, tc.target, map[string]string{"SCIM_BRIDGE_GUARD_THRESHOLD": "3", "SCIM_BRIDGE_GUARD_WINDOW": "10m"})
			addr, logs := startServe(t, env)
			base := "http://" + addr + "/scim/v2"
			ids := createUsers(t, base, 6)
			for i, id := range ids {
				status, body, h := tc.deprovision(t, base, id, i)
				switch {
				case i < 3 && status/100 != 2:
					t.Fatalf("deprovision %d: %d %s", i, status, body)
				case i >= 3:
					if status != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(body, "guard") {
						t.Fatalf("deprovision %d past the threshold: %d Retry-After %q %s", i, status, h.Get("Retry-After"), body)
					}
				}
			}
			inactive := 0
			for _, id := range ids {
				if u, ok := em.User(id); !ok || !u.Active {
					inactive++
				}
			}
			if inactive != 3 {
				t.Errorf("%d people deactivated or deleted in the vendor, want 3", inactive)
			}
			if !strings.Contains(logs.String(), "mass-deprovisioning guard") {
				t.Error("no error log names the guard")
			}
			// Creates and updates keep flowing.
			if status, body := scimDo(t, "POST", base+"/Users", bearer, userBody("new@example.com", true)); status != http.StatusCreated {
				t.Errorf("a create while the guard holds: %d %s", status, body)
			}
			if status, body, _ := do3(t, "PATCH", base+"/Users/"+ids[5], `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"name.givenName","value":"Still"}]}`); status != http.StatusOK {
				t.Errorf("an update while the guard holds: %d %s", status, body)
			}

			out, err := runCmd(t, env, "guard", "status")
			if err != nil || !strings.Contains(out, "HOLDING") || !strings.Contains(out, ids[3]) || !strings.Contains(out, ids[4]) {
				t.Errorf("guard status: %v\n%s", err, out)
			}
			out, err = runCmd(t, env, "guard", "status", "--json")
			var st struct {
				Held     bool              `json:"held"`
				Reason   string            `json:"reason"`
				Requests []json.RawMessage `json:"requests"`
			}
			if err != nil || json.Unmarshal([]byte(out), &st) != nil || !st.Held || len(st.Requests) != 3 || st.Reason == "" {
				t.Errorf("guard status --json: %v %+v\n%s", err, st, out)
			}
			if out, err := runCmd(t, env, "guard", "release"); err != nil || !strings.Contains(out, "released") {
				t.Fatalf("guard release: %v %s", err, out)
			}
			// The IdP's retry of a held request now goes through.
			if status, body, _ := tc.deprovision(t, base, ids[3], 3); status/100 != 2 {
				t.Errorf("the retried deprovision after release: %d %s", status, body)
			}
			if out, _ := runCmd(t, env, "guard", "status"); !strings.Contains(out, "not holding") {
				t.Errorf("guard status after release:\n%s", out)
			}

			out, err = runCmd(t, env, "audit", "--json")
			var events []struct {
				Operation, UserID, Result, Credential, RequestID string
			}
			if err != nil || json.Unmarshal([]byte(out), &events) != nil {
				t.Fatalf("audit --json: %v\n%s", err, out)
			}
			count := map[string]int{}
			for _, e := range events {
				count[e.Operation+"/"+e.Result]++
				if e.Operation != "release" && (e.Credential == "" || e.RequestID == "") {
					t.Errorf("an event without its credential name or request id: %+v", e)
				}
			}
			if count["create/ok"] != 7 || count["hold/held"] != 3 || count["release/ok"] != 1 {
				t.Errorf("audit counts %v", count)
			}
			if strings.Contains(out, "okta-token-0123456789abcdef") {
				t.Error("the audit trail holds the token")
			}
			out, _ = runCmd(t, env, "audit", "--user", "p04@example.com")
			if !strings.Contains(out, ids[4]) || strings.Contains(out, ids[1]+" ") {
				t.Errorf("audit --user:\n%s", out)
			}
		})
	}
}

func do3(t *testing.T, method, url, body string) (int, string, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", bearer)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestTheGuardHoldsAcrossReplicas runs two real bridge processes on one Postgres: a guard tripped through one
// holds the other, and `guard release` frees both.
func TestTheGuardHoldsAcrossReplicas(t *testing.T) {
	env, _ := operatorEnv(t, "trainual", map[string]string{"SCIM_BRIDGE_GUARD_THRESHOLD": "2", "SCIM_BRIDGE_DB": pgtest.Schema(t),
		"SCIM_BRIDGE_TOKEN": replicaToken})
	a, b := startReplica(t, "replica A", env), startReplica(t, "replica B", env)
	var ids []string
	for i := range 4 {
		r := a.do("POST", "/Users", scimUser(fmt.Sprintf("r%d@example.com", i), "R", "Eplica"))
		if r.status != http.StatusCreated {
			t.Fatalf("create: %d %v %v", r.status, r.body, r.err)
		}
		ids = append(ids, r.body["id"].(string))
	}
	for i, id := range ids[:3] {
		if r, want := a.do("DELETE", "/Users/"+id, nil), []int{204, 204, 503}[i]; r.status != want {
			t.Fatalf("DELETE %d through replica A: %d, want %d", i, r.status, want)
		}
	}
	if r := b.do("DELETE", "/Users/"+ids[3], nil); r.status != http.StatusServiceUnavailable {
		t.Fatalf("replica B does not hold: %d %v", r.status, r.body)
	}
	if out, err := runCmd(t, env, "guard", "release"); err != nil || !strings.Contains(out, "released") {
		t.Fatalf("guard release: %v %s", err, out)
	}
	if r := b.do("DELETE", "/Users/"+ids[3], nil); r.status != http.StatusNoContent {
		t.Errorf("replica B after the release: %d %v", r.status, r.body)
	}
}

func TestLinksAndReconcile(t *testing.T) {
	env, em := operatorEnv(t, "trainual", nil)
	addr, _ := startServe(t, env)
	base := "http://" + addr + "/scim/v2"
	ids := createUsers(t, base, 4)
	ui := em.(upstreamtest.UI)
	vendorOnly := em.Seed(adapters.User{Email: "vendor-only@example.com", GivenName: "V", FamilyName: "O", Active: true})[0]
	ui.SetInUI(ids[0], "name.givenName", "ChangedInUI") // drift
	ui.SetInUI(ids[1], "active", "false")               // deactivated in the vendor
	ui.RemoveInUI(ids[2])                               // gone
	if status, _, _ := do3(t, "DELETE", base+"/Users/"+ids[3], ""); status != http.StatusNoContent {
		t.Fatal("delete")
	}

	out, err := runCmd(t, env, "links", "--json")
	var links []struct{ ID, State string }
	if err != nil || json.Unmarshal([]byte(out), &links) != nil || len(links) != 4 {
		t.Fatalf("links --json: %v\n%s", err, out)
	}
	states := map[string]string{}
	for _, l := range links {
		states[l.ID] = l.State
	}
	if states[ids[0]] != "live" || states[ids[3]] != "tombstoned" {
		t.Errorf("link states %v", states)
	}
	if out, _ := runCmd(t, env, "links", "--user", "p00@example.com"); !strings.Contains(out, ids[0]) || strings.Contains(out, ids[1]) {
		t.Errorf("links --user:\n%s", out)
	}

	out, err = runCmd(t, env, "reconcile", "--json")
	var rep struct {
		Findings []struct{ Kind, ID string } `json:"findings"`
	}
	if err != nil || json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &rep) != nil {
		t.Fatalf("reconcile --json: %v\n%s", err, out)
	}
	found := map[string]string{}
	for _, f := range rep.Findings {
		found[f.ID] = f.Kind
	}
	want := map[string]string{ids[0]: "drift", ids[1]: "inactive", ids[2]: "gone", vendorOnly: "unmanaged"}
	for id, kind := range want {
		if found[id] != kind {
			t.Errorf("finding for %s: %q, want %q (all %v)", id, found[id], kind, found)
		}
	}
	if u, _ := em.User(ids[0]); u.GivenName != "ChangedInUI" {
		t.Error("reconcile without --fix changed the vendor")
	}

	out, err = runCmd(t, env, "reconcile", "--fix")
	if err != nil || !strings.Contains(out, "will ") {
		t.Fatalf("reconcile --fix: %v\n%s", err, out)
	}
	if u, _ := em.User(ids[0]); u.GivenName != "G" {
		t.Errorf("drift not fixed: %+v", u)
	}
	if u, _ := em.User(ids[1]); !u.Active {
		t.Error("the deactivated person was not reactivated")
	}
	out, _ = runCmd(t, env, "reconcile", "--json")
	if strings.Contains(out, `"drift"`) || strings.Contains(out, `"inactive"`) || strings.Contains(out, `"gone"`) || !strings.Contains(out, `"unmanaged"`) {
		t.Errorf("after --fix:\n%s", out)
	}
}

func TestAuditRetentionIsEnforced(t *testing.T) {
	env, _ := operatorEnv(t, "trainual", nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	addrc := make(chan string, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, envOf(env), io.Discard, io.Discard, func(a string) { addrc <- a })
	}()
	createUsers(t, "http://"+<-addrc+"/scim/v2", 2)
	cancel()
	<-done
	if out, _ := runCmd(t, env, "audit", "--json"); strings.Count(out, `"operation": "create"`) != 2 {
		t.Fatalf("audit before pruning:\n%s", out)
	}
	env["SCIM_BRIDGE_AUDIT_RETENTION"] = "1ms"
	startServe(t, env) // prunes at start-up, then every hour
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := runCmd(t, env, "audit", "--json")
		if strings.TrimSpace(out) == "[]" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("events older than the retention are still there:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestOperatorCommandsWorkOnTheConnectionNamed: with SCIM_BRIDGE_CONFIG, links (like audit, guard and reconcile)
// reads the slice of the store of the connection --connection names, and refuses to guess among several.
func TestOperatorCommandsWorkOnTheConnectionNamed(t *testing.T) {
	a, _ := operatorEnv(t, "trainual", nil)
	b, _ := operatorEnv(t, "trainual", nil)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", fmt.Sprintf(`listen: "127.0.0.1:0"
db: %s
defaults:
  rate_limit: 0
  upstream_token_env: VENDOR_KEY
connections:
  - name: okta
    target: trainual
    base_path: /okta/scim/v2
    upstream_url: %s
    token_env: TOKEN_OKTA
  - name: entra
    target: trainual
    base_path: /entra/scim/v2
    upstream_url: %s
    token_env: TOKEN_ENTRA
`, filepath.Join(dir, "links.db"), a["SCIM_BRIDGE_UPSTREAM_URL"], b["SCIM_BRIDGE_UPSTREAM_URL"]))
	env := map[string]string{"SCIM_BRIDGE_CONFIG": cfg, "VENDOR_KEY": a["SCIM_BRIDGE_UPSTREAM_TOKEN"],
		"TOKEN_OKTA": strings.TrimPrefix(bearer, "Bearer "), "TOKEN_ENTRA": "entra-token-0123456789abcdef"}
	addr, _ := startServe(t, env)
	ids := createUsers(t, "http://"+addr+"/okta/scim/v2", 1)

	for conn, want := range map[string]int{"okta": 1, "entra": 0} {
		out, err := runCmd(t, env, "links", "--connection", conn, "--json")
		var links []struct{ ID string }
		if err != nil || json.Unmarshal([]byte(out), &links) != nil || len(links) != want {
			t.Errorf("links --connection %s: %v, want %d links\n%s", conn, err, want, out)
		} else if want == 1 && links[0].ID != ids[0] {
			t.Errorf("links --connection %s: %s, want %s", conn, links[0].ID, ids[0])
		}
	}
	if _, err := runCmd(t, env, "links"); err == nil || !strings.Contains(err.Error(), "--connection must name one of the connections: okta, entra") {
		t.Errorf("links without --connection among two: %v", err)
	}
}
