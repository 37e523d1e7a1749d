package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	randv2 "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
)

// importPhase pages through /Users as an IdP's import does, one page after the other, and counts the vendor
// listing calls it cost against the minimum, ceil(vendor accounts / vendor page size).
func (b *bench) importPhase(ctx context.Context) error {
	ps := phaseSpec{name: "import", desc: fmt.Sprintf("one complete paged import, count=%d, one client", b.o.page)}
	fmt.Fprintf(b.out, "\n== %s: %s\n", ps.name, ps.desc)
	m := b.startMeter()
	vendorUsers := b.v.emu.Users()
	var all []sampleD
	var first time.Duration
	seen := map[string]bool{}
	total := -1
	for start := 1; total < 0 || start <= total; start += b.o.page {
		t0 := time.Now()
		status, body, err := b.l.do(ctx, "GET", fmt.Sprintf("/Users?startIndex=%d&count=%d", start, b.o.page), nil)
		s := sampleD{sample: sample{op: "import", latency: time.Since(t0), status: status}}
		if err != nil || status != 200 {
			return fmt.Errorf("import: the page at %d answered %d (%v): %s", start, status, err, truncate(body, 300))
		}
		var page struct {
			Total     int `json:"totalResults"`
			Resources []struct {
				ID string `json:"id"`
			} `json:"Resources"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return fmt.Errorf("import: the page at %d: %w", start, err)
		}
		if start == 1 {
			first = s.latency
		} else {
			all = append(all, s)
		}
		total = page.Total
		for _, r := range page.Resources {
			seen[r.ID] = true
		}
		if len(page.Resources) == 0 {
			break
		}
	}
	listCalls := b.v.calls()[upstreamtest.OpList] - m.calls[upstreamtest.OpList]
	size := b.v.emu.MaxPageSize()
	minimum := (vendorUsers + size - 1) / size
	ps.extra = func(p *phaseResult) {
		p.Requests++ // the first page
		p.Notes = append(p.Notes,
			fmt.Sprintf("%d SCIM pages, %d distinct users seen, totalResults %d, %d vendor accounts", len(all)+1, len(seen), total, vendorUsers),
			fmt.Sprintf("first page %.0f ms (reads the whole vendor listing); the others are in the table", msf(first)),
			fmt.Sprintf("vendor listing calls: %d; minimum ceil(%d/%d) = %d; ratio %.3f (target <= 1.05)", listCalls, vendorUsers, size, minimum, float64(listCalls)/float64(max(minimum, 1))),
			fmt.Sprintf("whole import %.1f s", time.Since(m.start).Seconds()))
		if len(seen) != total {
			p.Notes = append(p.Notes, fmt.Sprintf("PROBLEM: the import saw %d distinct users, totalResults says %d", len(seen), total))
		}
	}
	b.finish(ctx, m, ps, all)
	return nil
}

// floorPhase measures the bench's floor: the GET phase's load, at its rate, sent through a relay that stands in
// the bridge's place (its own process, on the bridge's CPU) and only passes each request to the emulator and back
// (relay.go). Its "added" latency is what this machine adds to any server between the client and the vendor; the
// bridge's own work is the get phase's added latency less this.
func (b *bench) floorPhase(ctx context.Context) error {
	u, err := url.Parse(b.v.base)
	if err != nil {
		return err
	}
	r, err := startRelay(ctx, b.bridgeCPUs, u.Scheme+"://"+u.Host)
	if err != nil {
		return err
	}
	defer r.stop()
	relayBase := r.root + u.Path
	end := time.Now().Add(b.o.duration)
	b.measure(ctx, phaseSpec{name: "floor", interval: b.interval(b.o.rate),
		desc: fmt.Sprintf("a GET through a relay in the bridge's place for %s, %d clients, %s, direct calls true",
			b.o.duration, b.o.concurrency, rateString(b.o.rate)),
		extra: func(p *phaseResult) {
			p.Notes = append(p.Notes, "the relay, not the bridge, served this phase: the bridge's CPU and memory above are its idle figures")
		},
		step: func(ctx context.Context, w int, rng *randv2.Rand) (sampleD, bool) {
			if time.Now().After(end) {
				return sampleD{}, false
			}
			p := &b.pool[rng.IntN(len(b.pool))]
			t0 := time.Now()
			_, err := b.v.getAt(ctx, relayBase, p.id)
			s := sampleD{sample: sample{op: "get-relay", latency: time.Since(t0), status: http.StatusOK}}
			if err != nil {
				s.status = 0
			}
			s.direct, s.directErr = timed(func() error { _, err := b.v.get(ctx, p.id); return err })
			s.hasDirect = true
			return s, true
		}})
	return nil
}

// stormPhase makes the vendor answer 429 beyond -storm requests a second while the clients send vendor-bound
// requests as fast as they can: the bridge should wait and retry (throughput converging to the vendor's limit),
// not fail, and lose or duplicate nothing.
func (b *bench) stormPhase(ctx context.Context) error {
	dur := b.o.stormFor
	b.v.emu.SetRateLimit(b.o.storm)
	b.v.traceAccepted(true)
	var accepted []time.Time
	start := time.Now()
	b.loadPhase(ctx, "storm", phaseMixes["storm"], false, 0, dur, func() {
		accepted = b.v.traceAccepted(false)
		b.v.emu.SetRateLimit(0)
	}, func(p *phaseResult) {
		p.Notes = append(p.Notes, fmt.Sprintf("vendor limit %d calls/s: it accepted %.1f calls/s over the phase and answered the bridge %d 429s",
			b.o.storm, float64(len(accepted))/p.Seconds, p.Vendor429))
		p.Notes = append(p.Notes, "accepted vendor calls/s by 5 s window: "+rateSeries(accepted, start, 5*time.Second))
	})
	return nil
}

// rateSeries buckets event times into windows and prints each window's rate.
func rateSeries(ts []time.Time, start time.Time, window time.Duration) string {
	var counts []int
	for _, t := range ts {
		i := int(t.Sub(start) / window)
		for len(counts) <= i {
			counts = append(counts, 0)
		}
		counts[i]++
	}
	var parts []string
	for _, c := range counts {
		parts = append(parts, fmt.Sprintf("%.1f", float64(c)/window.Seconds()))
	}
	return strings.Join(parts, " ")
}

// soakPhase keeps a steady load for -soak and samples the bridge's memory, to show it does not grow.
func (b *bench) soakPhase(ctx context.Context) error {
	type point struct {
		at                  time.Duration
		rss, resident, heap int64 // resident: the Go heap's pages the OS has not been given back
	}
	var mu sync.Mutex
	var series []point
	stop := make(chan struct{})
	done := make(chan struct{})
	start := time.Now()
	sample := func() {
		rss, _, _ := b.br.memory()
		g := b.br.goMemory()
		mu.Lock()
		series = append(series, point{time.Since(start), rss, g["go_memstats_heap_sys_bytes"] - g["go_memstats_heap_released_bytes"],
			g["go_memstats_heap_inuse_bytes"]})
		mu.Unlock()
	}
	go func() {
		defer close(done)
		t := time.NewTicker(b.o.soakEvery)
		defer t.Stop()
		sample()
		for {
			select {
			case <-t.C:
				sample()
			case <-stop:
				return
			}
		}
	}()
	b.loadPhase(ctx, "soak", phaseMixes["soak"], false, b.o.rate, b.o.soak, func() {
		close(stop)
		<-done
		sample()
	}, func(p *phaseResult) {
		var parts []string
		for _, s := range series {
			parts = append(parts, fmt.Sprintf("%.0fs %.1f/%.1f/%.1f", s.at.Seconds(), mb(s.rss), mb(s.resident), mb(s.heap)))
		}
		p.Notes = append(p.Notes, "RSS / Go heap resident / Go heap in use (MB) over time: "+strings.Join(parts, ", "))
		if len(series) >= 3 {
			third := series[len(series)/3]
			last := series[len(series)-1]
			maxRSS := slices.MaxFunc(series, func(a, b point) int { return int(a.rss - b.rss) })
			p.Notes = append(p.Notes, fmt.Sprintf("RSS from %.1f MB at %.0f s to %.1f MB at the end (%+.1f MB), max %.1f MB; Go heap resident %.1f -> %.1f MB, in use %.1f -> %.1f MB; the rest of RSS (binary, SQLite, stacks) %.1f -> %.1f MB",
				mb(third.rss), third.at.Seconds(), mb(last.rss), mb(last.rss-third.rss), mb(maxRSS.rss), mb(third.resident), mb(last.resident),
				mb(third.heap), mb(last.heap), mb(third.rss-third.resident), mb(last.rss-last.resident)))
		}
	})
	return nil
}

// writePhase prints one phase: a row per operation, then the phase's totals and checks.
func writePhase(w io.Writer, p phaseResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\trequests\treq/s\tp50\tp90\tp99\tmax\tdirect p50\tdirect p99\tadded p50\tadded p99\terrors\t")
	for _, r := range p.Ops {
		d50, d99, a50, a99 := "-", "-", "-", "-"
		if r.Direct {
			d50, d99 = fmtMS(r.DirectP50), fmtMS(r.DirectP99)
			a50, a99 = fmt.Sprintf("%+.2fms", r.AddedP50), fmt.Sprintf("%+.2fms", r.AddedP99)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", r.Op, r.Requests, r.ReqPerSec,
			fmtMS(r.P50), fmtMS(r.P90), fmtMS(r.P99), fmtMS(r.Max), d50, d99, a50, a99, r.Errors)
	}
	tw.Flush()
	for _, r := range p.Ops {
		if len(r.Statuses) > 0 {
			fmt.Fprintf(w, "  %s errors by status: %s\n", r.Op, statusList(r.Statuses))
		}
	}
	fmt.Fprintf(w, "  %d requests in %.1f s (%.0f req/s); vendor calls per request: %s; vendor 429s: %d\n",
		p.Requests, p.Seconds, p.ReqPerSec, callsString(p.VendorCalls), p.Vendor429)
	fmt.Fprintf(w, "  bridge CPU %.0f µs per request (%.0f%% of a core); load generator + emulator %.0f%% of a core\n",
		p.BridgeCPUMicros, 100*p.BridgeCPUShare, 100*p.LoadCPUShare)
	fmt.Fprintf(w, "  bridge memory: RSS %.1f MB, peak RSS (VmHWM) %.1f MB, Go heap in use %.1f MB\n", p.RSSMB, p.PeakRSSMB, p.HeapMB)
	if p.CheckedUsers > 0 || p.CheckedCreates > 0 {
		fmt.Fprintf(w, "  checked at the vendor: %d written users, %d lost writes (%d with a failed write, not counted unless an acknowledged one is missing); %d creates, %d lost, %d duplicated\n",
			p.CheckedUsers, p.LostWrites, p.UnsureWrites, p.CheckedCreates, p.LostCreates, p.Duplicated)
	}
	for _, n := range p.Notes {
		fmt.Fprintln(w, "  "+n)
	}
}

func fmtMS(v float64) string { return fmt.Sprintf("%.2fms", v) }

func statusList(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func callsString(m map[string]float64) string {
	if len(m) == 0 {
		return "0"
	}
	s := fmt.Sprintf("%.2f", m["total"])
	var parts []string
	for _, op := range vendorOps {
		if v, ok := m[string(op)]; ok && math.Abs(v) > 0.0005 {
			parts = append(parts, fmt.Sprintf("%s %.2f", op, v))
		}
	}
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}
