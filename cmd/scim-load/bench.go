package main

// `scim-load bench`: the benchmark of issue 13. It hosts the vendor emulator itself, starts the bridge
// (`scim-bridge serve`, built from this repository) as a separate process pointed at it, preloads and links N
// users, and measures phase by phase: a full paged import, each operation alone, an Okta-like and an Entra-like
// mix, optionally a vendor 429 storm and a steady-load soak. Calls made straight to the emulator are interleaved
// with the bridge's in the same run, so "bridge-added" is bridge minus direct under the same load.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters/targets"
)

// benchPhases are the phases -phases may name, in the order they run; link always runs first.
var benchPhases = []string{"import", "get", "floor", "lookup", "patch", "put", "post", "list", "okta", "entra", "storm", "soak"}

// benchOps are the operations the bench phases mix, in report order (get-relay: the floor phase's GET).
var benchOps = []string{"lookup-cold", "lookup", "get", "get-relay", "put", "patch", "entra-patch", "post", "list", "import"}

// phaseMixes are the operation weights of each load phase. The Okta mix follows what Okta sends: a lookup and a
// POST per create, a GET before each PUT or PATCH, pages of an import; Entra looks up before every write and
// writes with PATCH only. The storm and the soak use vendor-bound operations only (no creates in the soak, so that
// a steady state has a steady user count).
var phaseMixes = map[string]map[string]int{
	"get":    {"get": 1},
	"lookup": {"lookup": 1},
	"patch":  {"patch": 1},
	"put":    {"put": 1},
	"post":   {"post": 1},
	"list":   {"list": 1},
	"okta":   {"lookup": 25, "post": 5, "get": 30, "put": 15, "patch": 15, "list": 10},
	"entra":  {"lookup": 50, "entra-patch": 40, "post": 10},
	"storm":  {"get": 3, "put": 2, "patch": 3, "post": 2},
	"soak":   {"lookup": 30, "get": 30, "put": 15, "patch": 15, "list": 10},
}

type benchOptions struct {
	target      string
	users       int
	bridge      string
	pin         string
	phases      []string
	duration    time.Duration
	concurrency int
	rate        float64
	direct      bool
	page        int
	storm       int
	stormFor    time.Duration
	soak        time.Duration
	soakEvery   time.Duration
	timeout     time.Duration
	maxTime     time.Duration
	jsonOut     string
	logLevel    string
	bridgeEnv   []string
}

func parseBenchFlags(args []string, stderr io.Writer) (benchOptions, error) {
	fs := flag.NewFlagSet("scim-load bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o benchOptions
	var phases, bridgeEnv string
	fs.StringVar(&o.target, "target", "trainual", "vendor emulator: "+strings.Join(targets.Names(), " or "))
	fs.IntVar(&o.users, "users", 1000, "vendor accounts seeded in the emulator and linked through the bridge before the phases")
	fs.StringVar(&o.bridge, "bridge", "", "scim-bridge binary to run (default: go build ./cmd/scim-bridge into a temporary directory)")
	fs.StringVar(&o.pin, "pin", "auto", `CPU pinning with taskset: "auto" (bridge on the last CPU, this process on the others, when taskset exists and there are 2+ CPUs), "off", or "LOAD:BRIDGE" CPU lists such as 0:1`)
	fs.StringVar(&phases, "phases", "import,get,lookup,patch,put,post,okta,entra", "phases to run after linking, from "+strings.Join(benchPhases, ","))
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of each load phase")
	fs.IntVar(&o.concurrency, "concurrency", 8, "concurrent clients (closed loop when -rate is 0)")
	fs.Float64Var(&o.rate, "rate", 500, "bridge requests per second across all clients; 0 sends as fast as the answers come (throughput)")
	fs.BoolVar(&o.direct, "direct", true, "after each bridge request, make the vendor calls it needs straight to the emulator, for the bridge-added latency")
	fs.IntVar(&o.page, "page", 100, "count of each page of the paged import (as an IdP asks)")
	fs.IntVar(&o.storm, "storm", 20, "vendor rate limit (requests/s) during the storm phase; the emulator answers 429 beyond it")
	fs.DurationVar(&o.stormFor, "storm-duration", 30*time.Second, "length of the storm phase (long enough to see throughput settle)")
	fs.DurationVar(&o.soak, "soak", 3*time.Minute, "length of the soak phase (steady load, RSS sampled)")
	fs.DurationVar(&o.soakEvery, "soak-every", 15*time.Second, "RSS sampling interval during the soak phase")
	fs.DurationVar(&o.timeout, "timeout", 60*time.Second, "per-request timeout (above the bridge's 20 s retry budget)")
	fs.DurationVar(&o.maxTime, "max-time", 45*time.Minute, "bound on the whole run")
	fs.StringVar(&o.jsonOut, "json", "", "also write the results as JSON to this file")
	fs.StringVar(&bridgeEnv, "bridge-env", "", "comma-separated KEY=VALUE settings for the bridge's environment only, e.g. GOMEMLIMIT=40MiB")
	fs.StringVar(&o.logLevel, "log-level", "info", "the bridge's SCIM_BRIDGE_LOG_LEVEL (info writes an access log line per request, as in production)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var errs []error
	if _, err := targets.Lookup(o.target); err != nil {
		errs = append(errs, fmt.Errorf("-target: %w", err))
	}
	if o.users < 1 || o.users > 1_000_000 {
		errs = append(errs, errors.New("-users must be between 1 and 1000000"))
	}
	for p := range strings.SplitSeq(phases, ",") {
		p = strings.TrimSpace(p)
		switch {
		case p == "" || p == "link":
		case !slices.Contains(benchPhases, p):
			errs = append(errs, fmt.Errorf("-phases: unknown phase %q (want %s)", p, strings.Join(benchPhases, ", ")))
		case !slices.Contains(o.phases, p):
			o.phases = append(o.phases, p)
		}
	}
	slices.SortStableFunc(o.phases, func(a, b string) int { return slices.Index(benchPhases, a) - slices.Index(benchPhases, b) })
	if o.pin != "auto" && o.pin != "off" {
		if l, b, ok := strings.Cut(o.pin, ":"); !ok || l == "" || b == "" {
			errs = append(errs, errors.New(`-pin must be auto, off or LOAD:BRIDGE`))
		}
	}
	if o.duration <= 0 || o.duration > time.Hour {
		errs = append(errs, errors.New("-duration must be between 0 and 1h"))
	}
	if o.concurrency < 1 || o.concurrency > 256 {
		errs = append(errs, errors.New("-concurrency must be between 1 and 256"))
	} else if o.users < o.concurrency {
		errs = append(errs, errors.New("-users must be at least -concurrency: each client writes users of its own"))
	}
	if o.rate < 0 {
		errs = append(errs, errors.New("-rate must not be negative"))
	}
	if o.page < 1 || o.page > 1000 {
		errs = append(errs, errors.New("-page must be between 1 and 1000"))
	}
	if slices.Contains(o.phases, "storm") && (o.storm < 1 || o.stormFor <= 0) {
		errs = append(errs, errors.New("-storm must be at least 1 request/s and -storm-duration positive"))
	}
	if slices.Contains(o.phases, "soak") && (o.soak <= 0 || o.soakEvery <= 0 || o.soakEvery > o.soak) {
		errs = append(errs, errors.New("-soak and -soak-every must be positive, -soak-every at most -soak"))
	}
	if o.timeout <= 0 || o.maxTime <= 0 {
		errs = append(errs, errors.New("-timeout and -max-time must be positive"))
	}
	for kv := range strings.SplitSeq(bridgeEnv, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			errs = append(errs, fmt.Errorf("-bridge-env: %q is not KEY=VALUE", kv))
			continue
		}
		o.bridgeEnv = append(o.bridgeEnv, kv)
	}
	switch o.logLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, errors.New("-log-level must be debug, info, warn or error"))
	}
	return o, errors.Join(errs...)
}

// runBench runs the benchmark and prints each phase's table as it ends.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseBenchFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.maxTime)
	defer cancel()

	loadCPUs, bridgeCPUs, pinNote := pinning(o.pin)
	if loadCPUs != "" {
		if out, err := exec.Command("taskset", "-a", "-p", "-c", loadCPUs, fmt.Sprint(os.Getpid())).CombinedOutput(); err != nil {
			return fmt.Errorf("pin this process to CPU %s: %v: %s", loadCPUs, err, out)
		}
	}
	bin := o.bridge
	if bin == "" {
		dir, err := os.MkdirTemp("", "scim-load-bridge-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		bin = dir + "/scim-bridge"
		fmt.Fprintln(stderr, "scim-load: building ./cmd/scim-bridge …")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/scim-bridge/scim-bridge/cmd/scim-bridge")
		cmd.Stdout, cmd.Stderr = stderr, stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build ./cmd/scim-bridge (run scim-load from the repository, or pass -bridge): %w", err)
		}
	}

	v, err := startVendor(o.target)
	if err != nil {
		return err
	}
	defer v.close()
	dir, err := os.MkdirTemp("", "scim-load-db-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	br, err := startBridge(ctx, bridgeSpec{bin: bin, cpus: bridgeCPUs, target: o.target, upstreamURL: v.base,
		upstreamKey: v.apiKey, db: dir + "/bench.db", logLevel: o.logLevel, env: o.bridgeEnv})
	if err != nil {
		return err
	}
	defer br.stop()

	b := &bench{o: o, v: v, br: br, out: stdout, bridgeCPUs: bridgeCPUs,
		l: newLoader(br.base, br.token, o.timeout, o.concurrency*2)}
	b.result.Machine = machine(pinNote)
	b.result.Target, b.result.Users = o.target, o.users
	b.result.Settings = fmt.Sprintf("concurrency %d, rate %s, direct calls %v, %s per phase, import page %d",
		o.concurrency, rateString(o.rate), o.direct, o.duration, o.page)
	if len(o.bridgeEnv) > 0 {
		b.result.Settings += ", bridge environment " + strings.Join(o.bridgeEnv, " ")
	}
	fmt.Fprintf(stdout, "scim-load bench: %s, %d users, %s\n%s\n", o.target, o.users, b.result.Settings, b.result.Machine)

	err = b.run(ctx)
	if o.jsonOut != "" {
		data, _ := json.MarshalIndent(b.result, "", "  ")
		if werr := os.WriteFile(o.jsonOut, append(data, '\n'), 0o644); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	if !br.alive() {
		err = errors.Join(err, fmt.Errorf("the bridge stopped during the run:\n%s", br.stderr.String()))
	}
	return err
}

func rateString(r float64) string {
	if r == 0 {
		return "closed loop"
	}
	return fmt.Sprintf("%.0f req/s", r)
}

// pinning resolves -pin into taskset CPU lists for this process and for the bridge.
func pinning(pin string) (load, bridge, note string) {
	if pin == "off" {
		return "", "", "not pinned"
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return "", "", "not pinned (no taskset)"
	}
	if pin == "auto" {
		n := runtime.NumCPU()
		if n < 2 {
			return "", "", "not pinned (1 CPU)"
		}
		load, bridge = "0", fmt.Sprint(n-1)
		if n > 2 {
			load = fmt.Sprintf("0-%d", n-2)
		}
	} else {
		load, bridge, _ = strings.Cut(pin, ":")
	}
	return load, bridge, fmt.Sprintf("bridge pinned to CPU %s, load generator and emulator to CPU %s", bridge, load)
}

// machine describes where the run happened.
func machine(pin string) string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = ", load average " + strings.Join(strings.Fields(string(b))[:3], " ") + " at start"
	}
	return fmt.Sprintf("machine: %d CPUs (%s), %s, %s%s", runtime.NumCPU(), model, runtime.Version(), pin, load)
}
