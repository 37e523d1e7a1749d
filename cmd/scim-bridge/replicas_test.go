package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters/targets"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
	"github.com/scim-bridge/scim-bridge/scim/store/pgstore/pgtest"
)

// childEnv makes the test binary act as `scim-bridge serve`: the replicas below are real processes, each with
// its own memory, connection pool and lock session, sharing only Postgres and the vendor, as in production.
const childEnv = "SCIM_BRIDGE_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "serve" {
		os.Exit(childServe())
	}
	pgtest.Main(m)
}

func childServe() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, []string{"serve"}, os.Getenv, os.Stdout, os.Stderr, func(addr string) {
		fmt.Printf("LISTENING %s\n", addr)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "scim-bridge:", err)
		return 2
	}
	return 0
}

const replicaToken = "replica-test-token-0123456789"

type replica struct {
	name string
	url  string // SCIM base URL
	cmd  *exec.Cmd
	logs *upstreamtest.LogBuffer
	done chan struct{}
}

// startReplica starts one bridge process with settings and waits until it listens.
func startReplica(t *testing.T, name string, settings map[string]string) *replica {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	for _, kv := range os.Environ() {
		// The developer's own SCIM_BRIDGE_* settings must not leak into the replica.
		if !strings.HasPrefix(kv, "SCIM_BRIDGE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, childEnv+"=serve")
	// A test binary that dies (a timeout) takes its replicas with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	for k, v := range settings {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	r := &replica{name: name, cmd: cmd, logs: &upstreamtest.LogBuffer{}, done: make(chan struct{})}
	cmd.Stderr = r.logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "LISTENING "); ok {
				addrc <- a
			}
		}
	}()
	go func() { _ = cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-r.done
		}
		if t.Failed() {
			t.Logf("%s logs:\n%s", name, r.logs.String())
		}
	})
	select {
	case a := <-addrc:
		r.url = "http://" + a + "/scim/v2"
	case <-r.done:
		t.Fatalf("%s exited at start-up:\n%s", name, r.logs.String())
	case <-time.After(90 * time.Second):
		t.Fatalf("%s did not start:\n%s", name, r.logs.String())
	}
	return r
}

// kill ends the replica the way a node failure does: no shutdown, no chance to release anything.
func (r *replica) kill(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-r.done
}

type answer struct {
	status int
	body   map[string]any
	err    error
}

var client = &http.Client{Timeout: 60 * time.Second}

func (r *replica) do(method, path string, body any) answer {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return answer{err: err}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, r.url+path, rd)
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+replicaToken)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode}
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func scimUser(userName, given, family string) map[string]any {
	return scimUserWithEmail(userName, userName, given, family)
}

func scimUserWithEmail(userName, email, given, family string) map[string]any {
	return map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName,
		"name":     map[string]any{"givenName": given, "familyName": family},
		"emails":   []any{map[string]any{"value": email, "type": "work", "primary": true}},
		"active":   true,
	}
}

func replaceOp(path string, value any) map[string]any {
	return map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "replace", "path": path, "value": value}},
	}
}

func nameOf(body map[string]any) (given, family string) {
	n, _ := body["name"].(map[string]any)
	given, _ = n["givenName"].(string)
	family, _ = n["familyName"].(string)
	return given, family
}

// gate passes requests to the vendor emulator, except that it can hold the answer to one create: the create is
// applied, then the answer withheld until the caller goes away, which is a replica dying mid-write.
type gate struct {
	next    http.Handler
	mu      sync.Mutex
	hold    string        // email whose create is held; "" when none
	applied chan struct{} // closed once the held create has been applied
}

func (g *gate) holdCreate(email string) <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hold, g.applied = email, make(chan struct{})
	return g.applied
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	hold, applied := g.hold, g.applied
	g.mu.Unlock()
	if hold != "" && r.Method == http.MethodPost {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte(hold)) {
			g.mu.Lock()
			g.hold = ""
			g.mu.Unlock()
			g.next.ServeHTTP(httptest.NewRecorder(), r)
			close(applied)
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Minute):
			}
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

// TestReplicasSharePostgres runs two bridge processes on one Postgres database and one vendor, per target, and
// sends them the same person's requests at the same time.
func TestReplicasSharePostgres(t *testing.T) {
	for _, target := range targets.Names() {
		t.Run(target, func(t *testing.T) { testReplicas(t, target) })
	}
}

func testReplicas(t *testing.T, target string) {
	tg, err := targets.Lookup(target)
	if err != nil {
		t.Fatal(err)
	}
	const apiKey = "vendor-key-0123456789abcdef"
	emu := tg.Emulator(apiKey)
	g := &gate{next: emu}
	vendor := httptest.NewServer(g)
	t.Cleanup(vendor.Close)
	settings := map[string]string{
		"SCIM_BRIDGE_TARGET":                target,
		"SCIM_BRIDGE_DB":                    pgtest.Schema(t),
		"SCIM_BRIDGE_LISTEN":                "127.0.0.1:0",
		"SCIM_BRIDGE_TOKEN":                 replicaToken,
		"SCIM_BRIDGE_RATE_LIMIT":            "0",
		"SCIM_BRIDGE_LOG_LEVEL":             "warn",
		"SCIM_BRIDGE_UPSTREAM_URL":          emu.BaseURL(vendor.URL),
		"SCIM_BRIDGE_UPSTREAM_TOKEN":        apiKey,
		"SCIM_BRIDGE_UPSTREAM_RETRY_BUDGET": "5s",
		// The vendor login comes from the work e-mail, so that creates of one userName with different e-mails are
		// different accounts to the vendor: its own duplicate check cannot hide a missing lock.
		"SCIM_BRIDGE_EMAIL_FROM": "work",
	}
	// Both start at once on an empty database: their migrations meet under the advisory lock.
	var a, b *replica
	var wg sync.WaitGroup
	wg.Go(func() { a = startReplica(t, "replica A", settings) })
	wg.Go(func() { b = startReplica(t, "replica B", settings) })
	wg.Wait()
	if t.Failed() {
		return
	}
	replicas := []*replica{a, b}

	t.Run("10 concurrent creates of one userName make one vendor account", func(t *testing.T) {
		const n = 10
		// Vendor latency widens the window in which a replica without the lock would create a second account.
		emu.SetLatency(20 * time.Millisecond)
		defer emu.SetLatency(0)
		before := emu.Users()
		answers := make([]answer, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				// Half the requests in another case: the lock key and the store fold userName alike.
				name := "same.person@example.com"
				if i%4 == 1 {
					name = "Same.Person@Example.com"
				}
				answers[i] = replicas[i%2].do("POST", "/Users",
					scimUserWithEmail(name, fmt.Sprintf("same.person+%d@example.com", i), "Same", fmt.Sprint("Person", i)))
			})
		}
		close(start)
		wg.Wait()
		created, conflicts, winner := 0, 0, -1
		for i, a := range answers {
			switch {
			case a.err != nil:
				t.Errorf("request %d: %v", i, a.err)
			case a.status == http.StatusCreated:
				created++
				winner = i
			case a.status == http.StatusConflict:
				conflicts++
			default:
				t.Errorf("request %d through %s: status %d %v", i, replicas[i%2].name, a.status, a.body)
			}
		}
		// A second 201 would mean a replica linked the account another replica was creating instead of seeing the
		// person as taken: the locks did not hold across the processes.
		if created != 1 || conflicts != n-1 {
			t.Errorf("answers: %d created, %d conflicts; want 1 and %d", created, conflicts, n-1)
		}
		if got := emu.Users() - before; got != 1 {
			t.Errorf("vendor accounts made = %d, want 1", got)
		}
		if winner >= 0 {
			id, _ := answers[winner].body["id"].(string)
			want := fmt.Sprintf("same.person+%d@example.com", winner)
			if u, ok := emu.User(id); !ok || !strings.EqualFold(u.Email, want) {
				t.Errorf("the vendor account's e-mail is %q, want the winner's %q (each request must reach the vendor "+
					"as a different account for this test to prove anything)", u.Email, want)
			}
		}
		for _, r := range replicas {
			list := r.do("GET", `/Users?filter=userName%20eq%20%22SAME.PERSON@example.com%22`, nil)
			if list.status != http.StatusOK || list.body["totalResults"] != float64(1) {
				t.Errorf("%s lists the person as %d %v, want exactly one", r.name, list.status, list.body["totalResults"])
			}
		}
	})

	t.Run("concurrent updates of one person through both replicas lose neither change", func(t *testing.T) {
		created := a.do("POST", "/Users", scimUser("pat@example.com", "Pat", "Original"))
		if created.status != http.StatusCreated {
			t.Fatalf("create: %d %v", created.status, created.body)
		}
		id, _ := created.body["id"].(string)
		// Vendor latency makes every update's read and write overlap the other replica's; without a lock shared by
		// the processes, Thought Industries' read-merge-write (GET, merge, full PUT) would keep only one change.
		emu.SetLatency(20 * time.Millisecond)
		defer emu.SetLatency(0)
		for round := range 4 {
			given, family := fmt.Sprint("Given", round), fmt.Sprint("Family", round)
			var ga, gb answer
			start := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() { <-start; ga = a.do("PATCH", "/Users/"+id, replaceOp("name.givenName", given)) })
			wg.Go(func() { <-start; gb = b.do("PATCH", "/Users/"+id, replaceOp("name.familyName", family)) })
			close(start)
			wg.Wait()
			for _, x := range []answer{ga, gb} {
				if x.err != nil || x.status != http.StatusOK {
					t.Fatalf("round %d: PATCH answered %d %v %v", round, x.status, x.err, x.body)
				}
			}
			for _, r := range replicas {
				got := r.do("GET", "/Users/"+id, nil)
				if g, f := nameOf(got.body); g != given || f != family {
					t.Errorf("round %d: %s shows %q %q, want %q %q", round, r.name, g, f, given, family)
				}
			}
			if u, ok := emu.User(id); !ok || u.GivenName != given || u.FamilyName != family {
				t.Errorf("round %d: the vendor holds %q %q, want %q %q", round, u.GivenName, u.FamilyName, given, family)
			}
		}
	})

	t.Run("a replica killed mid-write loses nothing and the other carries on", func(t *testing.T) {
		// What is already written through A must outlive A.
		var written []string
		for i := range 3 {
			c := a.do("POST", "/Users", scimUser(fmt.Sprintf("kept%d@example.com", i), "Kept", fmt.Sprint(i)))
			if c.status != http.StatusCreated {
				t.Fatalf("create through A: %d %v", c.status, c.body)
			}
			id, _ := c.body["id"].(string)
			written = append(written, id)
		}
		const victim = "interrupted@example.com"
		applied := g.holdCreate(victim)
		before := emu.Users()
		aDone := make(chan answer, 1)
		go func() { aDone <- a.do("POST", "/Users", scimUser(victim, "Inter", "Rupted")) }()
		select {
		case <-applied:
		case <-time.After(30 * time.Second):
			t.Fatal("A never reached the vendor")
		}
		// The vendor has made the account; A holds the person's lock and has not stored the link. The IdP, tired of
		// waiting, retries through B, which must wait for A's lock rather than go ahead beside it.
		bDone := make(chan answer, 1)
		go func() { bDone <- b.do("POST", "/Users", scimUser(victim, "Inter", "Rupted")) }()
		select {
		case x := <-bDone:
			t.Fatalf("B answered %d %v while A held the person's lock", x.status, x.body)
		case <-time.After(500 * time.Millisecond): // only bounds the check
		}
		a.kill(t)
		if x := <-aDone; x.err == nil {
			t.Errorf("A answered %d after it was killed", x.status)
		}

		// A's lock went with its session, and B links the account the vendor already made instead of duplicating it.
		var retry answer
		select {
		case retry = <-bDone:
		case <-time.After(60 * time.Second):
			t.Fatal("B still waits after A died: the dead replica's lock was not released")
		}
		if retry.status != http.StatusCreated {
			t.Fatalf("retry through B: %d %v", retry.status, retry.body)
		}
		if got := emu.Users() - before; got != 1 {
			t.Errorf("vendor accounts for the interrupted create = %d, want 1", got)
		}
		for i, id := range written {
			got := b.do("GET", "/Users/"+id, nil)
			if got.status != http.StatusOK || got.body["userName"] != fmt.Sprintf("kept%d@example.com", i) {
				t.Errorf("B reads %s written through A as %d %v", id, got.status, got.body["userName"])
			}
		}
		upd := b.do("PATCH", "/Users/"+written[0], replaceOp("name.familyName", "AfterTheCrash"))
		if upd.status != http.StatusOK {
			t.Errorf("B updating a user A wrote: %d %v", upd.status, upd.body)
		}
		// A replacement replica joins and sees everything.
		c := startReplica(t, "replica C", settings)
		victimID, _ := retry.body["id"].(string)
		for _, id := range append(written, victimID) {
			if got := c.do("GET", "/Users/"+id, nil); got.status != http.StatusOK {
				t.Errorf("C reads %s: %d %v", id, got.status, got.body)
			}
		}
		if _, f := nameOf(c.do("GET", "/Users/"+written[0], nil).body); f != "AfterTheCrash" {
			t.Errorf("C shows familyName %q, want the update B made", f)
		}
	})
}
