// Command scim-load measures the bridge.
//
// `scim-load bench` is the benchmark (docs/performance.md): it hosts the vendor emulator, starts the bridge as a
// separate process against it, preloads and links N users, and reports each phase (a full paged import, each
// operation alone, an Okta-like and an Entra-like mix, a vendor 429 storm, a steady-load soak) with requests/s,
// p50/p90/p99, the latency the bridge adds to the same vendor calls made directly in the same run, vendor calls per
// request, errors, the bridge's CPU per request and its memory:
//
//	go run ./cmd/scim-load bench -users 10000
//
// Without `bench` it drives a bridge that is already running (for instance `scim-bridge sandbox`) with a mix of the
// requests Okta and Entra send, for a fixed time, and prints throughput, latency percentiles and non-2xx counts per
// operation:
//
//	go run ./cmd/scim-load -url http://127.0.0.1:8080/scim/v2 -token T -duration 10s -concurrency 16 \
//	    -mix create=1,get=4,filter=4,patch=1
//
// It creates users (named scim-load-<run>-...@example.com) and toggles their active flag, so it refuses a URL that
// is not on a loopback address unless -allow-remote is given: pointed at a production bridge it would provision
// real vendor accounts. The benchmark only ever talks to the bridge it started.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	randv2 "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "scim-load:", err)
		os.Exit(1)
	}
}

// ops are the operations, in the order they are reported.
var ops = []string{"create", "get", "filter", "patch"}

type options struct {
	base        string
	token       string
	duration    time.Duration
	concurrency int
	seed        int
	timeout     time.Duration
	mix         map[string]int
	// each runs every operation of the mix alone, one after the other, for duration each, after one seeding.
	each bool
	// serverPID, when set, is the server's process: its CPU time per request is reported (Linux).
	serverPID int
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("scim-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var mix string
	var allowRemote bool
	fs.StringVar(&o.base, "url", "", "SCIM base URL of the bridge, e.g. http://127.0.0.1:8080/scim/v2")
	fs.StringVar(&o.token, "token", "", "bearer token (default: $SCIM_LOAD_TOKEN, which keeps it out of shell history)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to send requests")
	fs.IntVar(&o.concurrency, "concurrency", 16, "concurrent clients, each with its own connection")
	fs.IntVar(&o.seed, "seed-users", 64, "users created before the run for get, filter and patch to act on")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "per-request timeout")
	fs.StringVar(&mix, "mix", "create=1,get=4,filter=4,patch=1", "relative weights of "+strings.Join(ops, ", "))
	fs.BoolVar(&allowRemote, "allow-remote", false, "allow a URL that is not on a loopback address (it creates real users)")
	fs.BoolVar(&o.each, "each", false, "run each operation of -mix alone, one after the other, -duration each (one seeding for all): per-operation throughput of any SCIM server")
	fs.IntVar(&o.serverPID, "server-pid", 0, "process id of the server on this machine: report its CPU time per request")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.token == "" {
		o.token = getenv("SCIM_LOAD_TOKEN")
	}
	var errs []error
	if err := checkBase(o.base, allowRemote); err != nil {
		errs = append(errs, err)
	}
	o.base = strings.TrimRight(o.base, "/")
	if o.token == "" {
		errs = append(errs, errors.New("-token (or SCIM_LOAD_TOKEN) is required"))
	}
	if o.duration <= 0 || o.duration > time.Hour {
		errs = append(errs, errors.New("-duration must be between 0 and 1h"))
	}
	if o.concurrency < 1 || o.concurrency > 1024 {
		errs = append(errs, errors.New("-concurrency must be between 1 and 1024"))
	}
	if o.seed < 1 || o.seed > 100000 {
		errs = append(errs, errors.New("-seed-users must be between 1 and 100000"))
	}
	if o.timeout <= 0 {
		errs = append(errs, errors.New("-timeout must be positive"))
	}
	m, err := parseMix(mix)
	if err != nil {
		errs = append(errs, err)
	}
	o.mix = m
	return o, errors.Join(errs...)
}

// checkBase refuses anything but an absolute http(s) URL on a loopback host, unless remote targets are allowed.
func checkBase(raw string, allowRemote bool) error {
	if raw == "" {
		return errors.New("-url is required")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("-url must be an absolute http or https URL")
	}
	if u.User != nil {
		return errors.New("-url must not carry credentials; use -token")
	}
	if allowRemote {
		return nil
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("-url host %q is not a loopback address; scim-load creates and modifies users, so pass -allow-remote to aim it elsewhere", host)
}

// parseMix reads "create=1,get=4": every operation named at most once, weights >= 0, at least one positive.
func parseMix(s string) (map[string]int, error) {
	m := map[string]int{}
	total := 0
	for part := range strings.SplitSeq(s, ",") {
		name, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(w)
		switch {
		case !ok || err != nil || n < 0:
			return nil, fmt.Errorf("-mix: %q is not op=weight", part)
		case !slices.Contains(ops, name):
			return nil, fmt.Errorf("-mix: unknown operation %q (want %s)", name, strings.Join(ops, ", "))
		case m[name] != 0:
			return nil, fmt.Errorf("-mix: %s given twice", name)
		}
		m[name] = n
		total += n
	}
	if total == 0 {
		return nil, errors.New("-mix: every weight is zero")
	}
	return m, nil
}

type user struct{ id, userName string }

// loader sends the requests; its methods are safe for concurrent use.
type loader struct {
	o      options
	client *http.Client
	runID  string
	users  []user
}

type sample struct {
	op      string
	latency time.Duration
	status  int // 0 for a transport error
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "bench" {
		return runBench(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "relay" {
		ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
		defer stop()
		return runRelay(ctx, args[1:], stderr)
	}
	o, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = o.concurrency * 2
	tr.MaxIdleConnsPerHost = o.concurrency * 2
	l := &loader{o: o, client: &http.Client{Transport: tr, Timeout: o.timeout}, runID: randomID()}
	defer tr.CloseIdleConnections()

	if err := l.seedUsers(ctx); err != nil {
		return fmt.Errorf("seed users: %w", err)
	}
	fmt.Fprintf(stdout, "scim-load: %s, %d clients, mix %s, %d seeded users, against %s\n",
		o.duration, o.concurrency, mixString(o.mix), len(l.users), redact(o.base))

	mixes := []map[string]int{o.mix}
	if o.each {
		mixes = nil
		// Creates last: they add users, and the other operations are measured at the seeded population.
		for _, op := range []string{"get", "filter", "patch", "create"} {
			if o.mix[op] > 0 {
				mixes = append(mixes, map[string]int{op: 1})
			}
		}
	}
	for _, mix := range mixes {
		if err := l.phase(ctx, mix, stdout); err != nil {
			return err
		}
	}
	return nil
}

// phase runs the workers with mix for the run's duration and reports.
func (l *loader) phase(ctx context.Context, mix map[string]int, stdout io.Writer) error {
	rctx, cancel := context.WithTimeout(ctx, l.o.duration)
	defer cancel()
	results := make([][]sample, l.o.concurrency)
	var wg sync.WaitGroup
	cpu0 := serverCPU(l.o.serverPID)
	start := time.Now()
	for w := range l.o.concurrency {
		wg.Go(func() { results[w] = l.worker(rctx, w, mix) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := serverCPU(l.o.serverPID) - cpu0

	var all []sample
	for _, r := range results {
		all = append(all, r...)
	}
	if len(mix) == 1 || l.o.each {
		fmt.Fprintf(stdout, "-- %s\n", mixString(mix))
	}
	report(stdout, all, elapsed)
	if l.o.serverPID > 0 && len(all) > 0 {
		fmt.Fprintf(stdout, "server CPU %.0f µs per request (%.0f%% of a core)\n",
			float64(cpu.Microseconds())/float64(len(all)), 100*cpu.Seconds()/elapsed.Seconds())
	}
	return ctx.Err()
}

// serverCPU is the CPU time process pid has used so far (0 when pid is 0 or unreadable).
func serverCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	return parseStatCPU(b)
}

func randomID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func redact(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return "<url>"
	}
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}

func mixString(m map[string]int) string {
	var parts []string
	for _, op := range ops {
		parts = append(parts, fmt.Sprintf("%s=%d", op, m[op]))
	}
	return strings.Join(parts, ",")
}

// seedUsers creates the users the run acts on, with the run's clients in parallel.
func (l *loader) seedUsers(ctx context.Context) error {
	l.users = make([]user, l.o.seed)
	errs := make([]error, l.o.concurrency)
	var wg sync.WaitGroup
	for w := range l.o.concurrency {
		wg.Go(func() {
			for i := w; i < l.o.seed && errs[w] == nil; i += l.o.concurrency {
				name := fmt.Sprintf("scim-load-%s-seed-%d@example.com", l.runID, i)
				status, body, err := l.do(ctx, "POST", "/Users", userBody(name))
				var created struct {
					ID string `json:"id"`
				}
				switch {
				case err != nil:
					errs[w] = err
				case status != http.StatusCreated:
					errs[w] = fmt.Errorf("POST /Users answered %d: %s", status, truncate(body, 300))
				case json.Unmarshal(body, &created) != nil || created.ID == "":
					errs[w] = fmt.Errorf("POST /Users answered no id: %s", truncate(body, 300))
				default:
					l.users[i] = user{id: created.ID, userName: name}
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// worker sends requests until ctx ends; it stops by itself when the run's deadline passes.
func (l *loader) worker(ctx context.Context, w int, mix map[string]int) []sample {
	rng := randv2.New(randv2.NewPCG(uint64(w)+1, uint64(time.Now().UnixNano())))
	total := 0
	for _, op := range ops {
		total += mix[op]
	}
	var out []sample
	for n := 0; ctx.Err() == nil; n++ {
		op := pick(rng.IntN(total), mix, ops)
		u := l.users[rng.IntN(len(l.users))]
		var method, path string
		var body []byte
		switch op {
		case "create":
			method, path = "POST", "/Users"
			body = userBody(fmt.Sprintf("scim-load-%s-w%d-%d@example.com", l.runID, w, n))
		case "get":
			method, path = "GET", "/Users/"+url.PathEscape(u.id)
		case "filter":
			method, path = "GET", "/Users?filter="+url.QueryEscape(`userName eq "`+u.userName+`"`)
		case "patch":
			method, path = "PATCH", "/Users/"+url.PathEscape(u.id)
			body = fmt.Appendf(nil, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":%t}}]}`, rng.IntN(2) == 0)
		}
		t0 := time.Now()
		status, _, err := l.do(ctx, method, path, body)
		if err != nil && ctx.Err() != nil {
			break // cut off by the end of the run: not a failure of the bridge
		}
		out = append(out, sample{op: op, latency: time.Since(t0), status: status})
	}
	return out
}

// pick picks an operation by weight, walking order: r is uniform in [0, sum of weights).
func pick(r int, mix map[string]int, order []string) string {
	for _, op := range order {
		if r < mix[op] {
			return op
		}
		r -= mix[op]
	}
	return order[len(order)-1]
}

func userBody(userName string) []byte {
	b, _ := json.Marshal(map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName,
		"name":     map[string]string{"givenName": "Load", "familyName": "Test"},
		"emails":   []any{map[string]any{"value": userName, "type": "work", "primary": true}},
		"active":   true,
	})
	return b
}

// do sends one request and reads the whole answer (so that the connection is reused); a transport error has
// status 0.
func (l *loader) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, l.o.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+l.o.token)
	req.Header.Set("Accept", "application/scim+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, b, err
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

func report(w io.Writer, all []sample, elapsed time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\trequests\treq/s\tp50\tp90\tp99\tmax\tnon-2xx\t")
	byOp := map[string][]sample{}
	for _, s := range all {
		byOp[s.op] = append(byOp[s.op], s)
	}
	for _, op := range ops {
		if len(byOp[op]) > 0 {
			row(tw, op, byOp[op], elapsed)
		}
	}
	row(tw, "all", all, elapsed)
	tw.Flush()

	statuses := map[int]int{}
	for _, s := range all {
		if s.status < 200 || s.status > 299 {
			statuses[s.status]++
		}
	}
	if len(statuses) == 0 {
		fmt.Fprintln(w, "non-2xx by status: none")
		return
	}
	keys := make([]int, 0, len(statuses))
	for k := range statuses {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", statusName(k), statuses[k]))
	}
	fmt.Fprintln(w, "non-2xx by status:", strings.Join(parts, " "))
}

func row(w io.Writer, name string, s []sample, elapsed time.Duration) {
	lat := make([]time.Duration, len(s))
	bad := 0
	for i, x := range s {
		lat[i] = x.latency
		if x.status < 200 || x.status > 299 {
			bad++
		}
	}
	slices.Sort(lat)
	fmt.Fprintf(w, "%s\t%d\t%.0f\t%s\t%s\t%s\t%s\t%d\t\n", name, len(s), float64(len(s))/elapsed.Seconds(),
		ms(percentile(lat, 50)), ms(percentile(lat, 90)), ms(percentile(lat, 99)), ms(lat[len(lat)-1]), bad)
}

// percentile uses the nearest-rank method on sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
