package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBenchFlagsAreValidatedTogether(t *testing.T) {
	o, err := parseBenchFlags([]string{"-target", "thoughtindustries", "-users", "5000", "-phases", "soak,get,link,get,import",
		"-rate", "0", "-pin", "0:1", "-direct=false", "-bridge-env", "GOMEMLIMIT=40MiB, GOGC=50"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.target != "thoughtindustries" || o.users != 5000 || o.rate != 0 || o.direct || o.pin != "0:1" ||
		!slices.Equal(o.bridgeEnv, []string{"GOMEMLIMIT=40MiB", "GOGC=50"}) {
		t.Errorf("options %+v", o)
	}
	if want := []string{"import", "get", "soak"}; !slices.Equal(o.phases, want) {
		t.Errorf("phases %v, want %v: each once, in run order, link implied", o.phases, want)
	}
	d, err := parseBenchFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if d.users != 1000 || d.concurrency != 8 || d.rate != 500 || !d.direct || d.duration != 10*time.Second ||
		!slices.Equal(d.phases, []string{"import", "get", "lookup", "patch", "put", "post", "okta", "entra"}) {
		t.Errorf("defaults %+v", d)
	}
	_, err = parseBenchFlags([]string{"-target", "acme", "-users", "0", "-phases", "get,fly", "-pin", "1", "-concurrency", "0",
		"-rate", "-1", "-log-level", "loud", "-bridge-env", "GOGC"}, io.Discard)
	for _, want := range []string{"-target", "-users", "-phases", `"fly"`, "-pin", "-concurrency", "-rate", "-log-level", "-bridge-env"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
	if _, err := parseBenchFlags([]string{"-users", "4", "-concurrency", "8"}, io.Discard); err == nil || !strings.Contains(err.Error(), "-users must be at least -concurrency") {
		t.Errorf("fewer users than clients: %v", err)
	}
	if _, err := parseBenchFlags([]string{"-phases", "storm", "-storm", "0"}, io.Discard); err == nil {
		t.Error("a storm without a vendor limit was accepted")
	}
}

func TestEveryPhaseMixNamesKnownOperations(t *testing.T) {
	for _, p := range benchPhases {
		if p == "import" || p == "floor" { // no mix: the import pages, the floor sends only relayed GETs
			continue
		}
		mix, ok := phaseMixes[p]
		if !ok {
			t.Errorf("phase %s has no mix", p)
		}
		total := 0
		for op, w := range mix {
			if !slices.Contains(benchOps, op) {
				t.Errorf("phase %s mixes unknown operation %s", p, op)
			}
			total += w
		}
		counts := map[string]int{}
		for r := range total {
			counts[pick(r, mix, benchOps)]++
		}
		for op, w := range mix {
			if counts[op] != w {
				t.Errorf("phase %s: %s drawn %d times in %d, want its weight %d", p, op, counts[op], total, w)
			}
		}
	}
}

func TestProcFilesAreRead(t *testing.T) {
	rss, hwm, err := parseStatus([]byte("Name:\tscim-bridge\nVmHWM:\t   61440 kB\nVmRSS:\t   40960 kB\nThreads:\t7\n"))
	if err != nil || rss != 40<<20 || hwm != 60<<20 {
		t.Errorf("parseStatus = %d, %d, %v", rss, hwm, err)
	}
	if _, _, err := parseStatus([]byte("Name:\tx\n")); err == nil {
		t.Error("a status without VmRSS was accepted")
	}
	// The command name may hold spaces and parentheses.
	stat := "4242 (scim (bridge)) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 7 0 100 1000 200"
	if got := parseStatCPU([]byte(stat)); got != 3*time.Second {
		t.Errorf("parseStatCPU = %v, want 3s (300 ticks)", got)
	}
	rss, hwm, err = parseStatus(must(os.ReadFile("/proc/self/status")))
	if err != nil || rss <= 0 || hwm < rss {
		t.Errorf("own status: %d, %d, %v", rss, hwm, err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Bridge-added latency is the bridge's percentile minus the direct calls' percentile of the same requests.
func TestOpResultsSubtractTheDirectCalls(t *testing.T) {
	var all []sampleD
	for i := 1; i <= 100; i++ {
		all = append(all, sampleD{sample: sample{op: "get", latency: time.Duration(i) * time.Millisecond, status: 200},
			direct: time.Duration(i) * 100 * time.Microsecond, hasDirect: true})
	}
	all = append(all, sampleD{sample: sample{op: "lookup", latency: time.Millisecond, status: statusWrong}},
		sampleD{sample: sample{op: "lookup", latency: time.Millisecond, status: 0}, hasDirect: true, directErr: true})
	rs := opResults(all, time.Second)
	if len(rs) != 2 || rs[0].Op != "lookup" || rs[1].Op != "get" {
		t.Fatalf("results %+v, want lookup then get", rs)
	}
	g := rs[1]
	if g.P50 != 50 || g.P99 != 99 || g.DirectP50 != 5 || g.DirectP99 != 9.9 || g.AddedP50 != 45 || g.AddedP99 != 89.1 || g.Errors != 0 {
		t.Errorf("get %+v", g)
	}
	l := rs[0]
	if l.Errors != 2 || l.Statuses["wrong-answer"] != 1 || l.Statuses["transport-error"] != 1 || l.Statuses["direct-error"] != 1 {
		t.Errorf("lookup %+v", l)
	}
}

func TestAPhaseIsPrinted(t *testing.T) {
	var out bytes.Buffer
	writePhase(&out, phaseResult{Name: "get", Seconds: 10, Requests: 5000, ReqPerSec: 500,
		Ops: []opResult{{Op: "get", Requests: 5000, ReqPerSec: 500, P50: 0.5, P90: 0.7, P99: 1.2, Max: 9, Direct: true,
			DirectP50: 0.1, DirectP99: 0.3, AddedP50: 0.4, AddedP99: 0.9, Errors: 2, Statuses: map[string]int{"503": 2}}},
		VendorCalls: map[string]float64{"total": 1, "get": 1}, BridgeCPUMicros: 250, BridgeCPUShare: 0.125, LoadCPUShare: 0.2,
		RSSMB: 30, PeakRSSMB: 31.5, HeapMB: 4, CheckedUsers: 3, CheckedCreates: 4, Duplicated: 1, Notes: []string{"a note"}})
	for _, want := range []string{"added p50", "0.50ms", "+0.40ms", "+0.90ms", "get errors by status: 503=2",
		"vendor calls per request: 1.00 (get 1.00)", "250 µs per request (12% of a core)", "peak RSS (VmHWM) 31.5 MB",
		"4 creates, 0 lost, 1 duplicated", "a note"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	start := time.Unix(100, 0)
	if got := rateSeries([]time.Time{start, start.Add(time.Second), start.Add(11 * time.Second)}, start, 5*time.Second); got != "0.4 0.0 0.2" {
		t.Errorf("rateSeries = %q", got)
	}
}

// TestTheBenchmarkRuns builds the bridge and runs a short benchmark of every phase against it, as the README's
// command does: nothing may fail, be lost or be duplicated, the storm must see 429s, and the JSON must hold the
// figures.
func TestTheBenchmarkRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bridge")
	}
	bin := filepath.Join(t.TempDir(), "scim-bridge")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/scim-bridge/scim-bridge/cmd/scim-bridge").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, target := range []string{"trainual", "thoughtindustries"} {
		t.Run(target, func(t *testing.T) {
			jsonOut := filepath.Join(t.TempDir(), "bench.json")
			var out, errOut bytes.Buffer
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
			defer cancel()
			err := run(ctx, []string{"bench", "-bridge", bin, "-target", target, "-users", "300", "-duration", "700ms",
				"-concurrency", "4", "-rate", "400", "-phases", strings.Join(benchPhases, ","), "-storm", "40",
				"-storm-duration", "2s", "-soak", "1500ms", "-soak-every", "500ms", "-page", "50", "-pin", "off",
				"-json", jsonOut}, func(string) string { return "" }, &out, &errOut)
			if err != nil {
				t.Fatalf("bench: %v\n%s\n%s", err, out.String(), errOut.String())
			}
			var res benchResult
			if err := json.Unmarshal(must(os.ReadFile(jsonOut)), &res); err != nil {
				t.Fatal(err)
			}
			names := []string{}
			for _, p := range res.Phases {
				names = append(names, p.Name)
				if p.PeakRSSMB <= 0 || (p.BridgeCPUMicros <= 0 && p.Name != "floor") || p.Requests == 0 {
					t.Errorf("phase %s lacks figures: %+v", p.Name, p)
				}
				if p.LostWrites+p.LostCreates+p.Duplicated != 0 {
					t.Errorf("phase %s lost or duplicated: %+v", p.Name, p)
				}
				for _, op := range p.Ops {
					if op.Errors != 0 && p.Name != "storm" {
						t.Errorf("phase %s: %s had %d errors %v", p.Name, op.Op, op.Errors, op.Statuses)
					}
				}
			}
			if want := append([]string{"link"}, benchPhases...); !slices.Equal(names, want) {
				t.Errorf("phases %v, want %v", names, want)
			}
			phase := map[string]phaseResult{}
			for _, p := range res.Phases {
				phase[p.Name] = p
			}
			link, get, storm, floor := phase["link"], phase["get"], phase["storm"], phase["floor"]
			if len(floor.Ops) != 1 || floor.Ops[0].Op != "get-relay" || !floor.Ops[0].Direct || floor.VendorCalls["total"] != 0 {
				t.Errorf("the floor phase: %+v", floor)
			}
			if link.Ops[0].Requests != 300 || !link.Ops[0].Direct {
				t.Errorf("link %+v", link.Ops[0])
			}
			if get.VendorCalls["total"] != 1 || get.VendorCalls["get"] != 1 {
				t.Errorf("a GET cost %v vendor calls, want exactly one get", get.VendorCalls)
			}
			if storm.Vendor429 == 0 {
				t.Errorf("the storm saw no 429: %+v", storm)
			}
			for _, want := range []string{"== import", "ratio 1.000", "== storm", "vendor limit 40 calls/s", "== soak", "RSS / Go heap resident / Go heap in use"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}
