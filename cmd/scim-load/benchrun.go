package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	randv2 "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
)

// statusWrong marks a 2xx answer that is wrong (a lookup that does not find exactly the user, a create without
// an id): an error, not a status.
const statusWrong = 1

// directPool is how many vendor accounts the direct calls act on: accounts the bridge never touches, so that the
// direct writes cannot disturb what the bridge's are checked against.
const directPool = 256

type bench struct {
	o          benchOptions
	bridgeCPUs string // where the bridge (and the floor phase's relay) runs; "" when not pinned
	v          *vendor
	br         *bridgeProc
	l          *loader
	out        io.Writer
	result     benchResult
	runID      string
	seq        atomic.Int64

	users []*benchUser // seeded and linked; users[i] is written only by worker i % concurrency
	pool  []benchUser  // direct-only accounts

	mu      sync.Mutex
	created []createdUser // POSTs of the current phase
}

// benchUser is a linked user and what the vendor must hold for it after the writes acknowledged so far.
type benchUser struct {
	id, email          string
	active             bool
	family             string
	unsureA, unsureF   bool // a write failed: the vendor may or may not have applied it
	touchedA, touchedF bool // written during the current phase
}

type createdUser struct {
	email, id string
	status    int
}

// sampleD is one bridge request and, when made, its direct counterpart.
type sampleD struct {
	sample
	direct    time.Duration
	hasDirect bool
	directErr bool
}

type benchResult struct {
	Machine  string        `json:"machine"`
	Target   string        `json:"target"`
	Users    int           `json:"users"`
	Settings string        `json:"settings"`
	Seed     string        `json:"seed"`
	Phases   []phaseResult `json:"phases"`
}

type phaseResult struct {
	Name            string             `json:"name"`
	Mix             string             `json:"mix"`
	Seconds         float64            `json:"seconds"`
	Requests        int                `json:"requests"`
	ReqPerSec       float64            `json:"req_per_s"`
	Ops             []opResult         `json:"ops"`
	VendorCalls     map[string]float64 `json:"vendor_calls_per_request"` // by vendor operation, "total" too
	Vendor429       int64              `json:"vendor_429s"`
	BridgeCPUMicros float64            `json:"bridge_cpu_us_per_request"`
	BridgeCPUShare  float64            `json:"bridge_cpu_share"`
	LoadCPUShare    float64            `json:"load_generator_cpu_share"`
	RSSMB           float64            `json:"rss_mb"`
	PeakRSSMB       float64            `json:"peak_rss_mb"`
	HeapMB          float64            `json:"heap_in_use_mb"`
	LostWrites      int                `json:"lost_writes"`
	UnsureWrites    int                `json:"unsure_writes"`
	CheckedUsers    int                `json:"checked_users"`
	Duplicated      int                `json:"duplicated_creates"`
	LostCreates     int                `json:"lost_creates"`
	CheckedCreates  int                `json:"checked_creates"`
	Notes           []string           `json:"notes,omitempty"`
}

type opResult struct {
	Op        string         `json:"op"`
	Requests  int            `json:"requests"`
	ReqPerSec float64        `json:"req_per_s"`
	P50       float64        `json:"p50_ms"`
	P90       float64        `json:"p90_ms"`
	P99       float64        `json:"p99_ms"`
	Max       float64        `json:"max_ms"`
	Direct    bool           `json:"direct"`
	DirectP50 float64        `json:"direct_p50_ms,omitempty"`
	DirectP99 float64        `json:"direct_p99_ms,omitempty"`
	AddedP50  float64        `json:"added_p50_ms,omitempty"`
	AddedP99  float64        `json:"added_p99_ms,omitempty"`
	Errors    int            `json:"errors"`
	Statuses  map[string]int `json:"error_statuses,omitempty"`
}

func newLoader(base, token string, timeout time.Duration, conns int) *loader {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = conns, conns
	return &loader{o: options{base: base, token: token, timeout: timeout}, client: &http.Client{Transport: tr, Timeout: timeout}}
}

func (b *bench) run(ctx context.Context) error {
	b.runID = randomID()
	if err := b.seed(); err != nil {
		return err
	}
	if err := b.link(ctx); err != nil {
		return err
	}
	for _, p := range b.o.phases {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("stopped before phase %s: %w", p, err)
		}
		if !b.br.alive() {
			return fmt.Errorf("the bridge is gone before phase %s", p)
		}
		var err error
		switch p {
		case "import":
			err = b.importPhase(ctx)
		case "floor":
			err = b.floorPhase(ctx)
		case "storm":
			err = b.stormPhase(ctx)
		case "soak":
			err = b.soakPhase(ctx)
		default:
			b.loadPhase(ctx, p, phaseMixes[p], b.o.direct, b.o.rate, b.o.duration, nil, nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// seed stores the users in the emulator directly, as accounts made in the vendor's UI before go-live.
func (b *bench) seed() error {
	t0 := time.Now()
	const batch = 10000
	for from := 0; from < b.o.users; from += batch {
		var us []adapters.User
		for i := from; i < min(from+batch, b.o.users); i++ {
			us = append(us, adapters.User{Email: fmt.Sprintf("user%07d@example.com", i), GivenName: "Load",
				FamilyName: fmt.Sprintf("User%d", i), Active: true,
				Attrs: map[string]string{adapters.AttrTitle: "Engineer", adapters.AttrDepartment: "Sales"}})
		}
		for j, id := range b.v.emu.Seed(us...) {
			b.users = append(b.users, &benchUser{id: id, email: us[j].Email, active: true, family: us[j].FamilyName})
		}
	}
	for i := range directPool {
		email := fmt.Sprintf("direct%04d@example.com", i)
		id := b.v.emu.Seed(adapters.User{Email: email, GivenName: "Direct", FamilyName: "Pool", Active: true})[0]
		b.pool = append(b.pool, benchUser{id: id, email: email})
	}
	b.v.emu.Reset() // counters only; the accounts stay
	b.result.Seed = fmt.Sprintf("%d users (+%d for direct calls) seeded into the emulator in %.1f s", b.o.users, directPool, time.Since(t0).Seconds())
	fmt.Fprintln(b.out, b.result.Seed)
	return nil
}

// link makes the bridge link every seeded user, the way an IdP's first lookups do: one userName lookup each.
func (b *bench) link(ctx context.Context) error {
	var next atomic.Int64
	res := b.measure(ctx, phaseSpec{name: "link", desc: fmt.Sprintf("a userName lookup of each of the %d users (cold: links it), %d clients, closed loop, direct calls %v",
		len(b.users), b.o.concurrency, b.o.direct), step: func(ctx context.Context, w int, rng *randv2.Rand) (sampleD, bool) {
		i := int(next.Add(1)) - 1
		if i >= len(b.users) {
			return sampleD{}, false
		}
		u := b.users[i]
		s := b.lookup(ctx, "lookup-cold", u)
		if b.o.direct {
			p := &b.pool[rng.IntN(len(b.pool))]
			s.direct, s.directErr = timed(func() error { return b.v.coldLookup(ctx, p.email, p.id) })
			s.hasDirect = true
		}
		return s, true
	}})
	if res.Ops != nil && res.Ops[0].Errors > 0 {
		return fmt.Errorf("linking failed for %d of %d users", res.Ops[0].Errors, len(b.users))
	}
	return nil
}

// loadPhase runs mix for dur with the configured clients; each client paces itself to rate/concurrency requests a
// second (0: as fast as answers come).
func (b *bench) loadPhase(ctx context.Context, name string, mix map[string]int, direct bool, rate float64, dur time.Duration, afterLoad func(), extra func(*phaseResult)) phaseResult {
	total := 0
	for _, w := range mix {
		total += w
	}
	b.mu.Lock()
	b.created = nil
	b.mu.Unlock()
	// The users each client writes: its own, so that every user's writes are sequential and checkable.
	owned := make([][]*benchUser, b.o.concurrency)
	for i, u := range b.users {
		owned[i%b.o.concurrency] = append(owned[i%b.o.concurrency], u)
	}
	desc := fmt.Sprintf("%s for %s, %d clients, %s, direct calls %v", mixOf(mix), dur, b.o.concurrency, rateString(rate), direct)
	end := time.Now().Add(dur)
	return b.measure(ctx, phaseSpec{name: name, desc: desc, interval: b.interval(rate), afterLoad: afterLoad, extra: extra,
		step: func(ctx context.Context, w int, rng *randv2.Rand) (sampleD, bool) {
			if time.Now().After(end) {
				return sampleD{}, false
			}
			return b.request(ctx, pick(rng.IntN(total), mix, benchOps), rng, owned[w], direct), true
		}})
}

// interval is how often each client sends so that all of them together send rate requests a second (0: no
// pacing).
func (b *bench) interval(rate float64) time.Duration {
	if rate <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) * float64(b.o.concurrency) / rate)
}

// phaseSpec is one measured phase: each client calls step until it says stop (paced to one call per interval
// when interval > 0).
type phaseSpec struct {
	name, desc string
	interval   time.Duration
	step       func(ctx context.Context, w int, rng *randv2.Rand) (sampleD, bool)
	afterLoad  func()             // when the clients have stopped, before the checks
	extra      func(*phaseResult) // adds to the result before it is printed
}

// meter holds the counters at the start of a phase.
type meter struct {
	start     time.Time
	calls     map[upstreamtest.Op]int64
	v429      int64
	cpu, self time.Duration
}

func (b *bench) startMeter() meter {
	return meter{start: time.Now(), calls: b.v.calls(), v429: b.v.bridge429.Load(), cpu: serverCPU(b.br.pid), self: selfCPU()}
}

// measure runs the phase's clients and reports the phase.
func (b *bench) measure(ctx context.Context, ps phaseSpec) phaseResult {
	fmt.Fprintf(b.out, "\n== %s: %s\n", ps.name, ps.desc)
	m := b.startMeter()
	results := make([][]sampleD, b.o.concurrency)
	var wg sync.WaitGroup
	for w := range b.o.concurrency {
		wg.Go(func() {
			rng := randv2.New(randv2.NewPCG(uint64(w)+1, uint64(m.start.UnixNano())))
			next := m.start.Add(time.Duration(w) * ps.interval / time.Duration(b.o.concurrency))
			for ctx.Err() == nil {
				if ps.interval > 0 {
					if d := time.Until(next); d > 0 {
						time.Sleep(d)
					}
					next = next.Add(ps.interval)
				}
				s, more := ps.step(ctx, w, rng)
				if !more {
					return
				}
				results[w] = append(results[w], s)
			}
		})
	}
	wg.Wait()
	var all []sampleD
	for _, r := range results {
		all = append(all, r...)
	}
	return b.finish(ctx, m, ps, all)
}

// finish computes a phase's result from its samples and the counters' progress since m, checks the vendor, and
// prints the result.
func (b *bench) finish(ctx context.Context, m meter, ps phaseSpec, all []sampleD) phaseResult {
	elapsed := time.Since(m.start)
	cpu, self := serverCPU(b.br.pid)-m.cpu, selfCPU()-m.self
	calls := b.v.calls()
	if ps.afterLoad != nil {
		ps.afterLoad()
	}
	p := phaseResult{Name: ps.name, Mix: ps.desc, Seconds: elapsed.Seconds(), Requests: len(all),
		ReqPerSec: float64(len(all)) / elapsed.Seconds(), VendorCalls: map[string]float64{}}
	p.Ops = opResults(all, elapsed)
	var totalCalls int64
	for _, op := range vendorOps {
		d := calls[op] - m.calls[op]
		totalCalls += d
		if d != 0 && len(all) > 0 {
			p.VendorCalls[string(op)] = float64(d) / float64(len(all))
		}
	}
	if len(all) > 0 {
		p.VendorCalls["total"] = float64(totalCalls) / float64(len(all))
		p.BridgeCPUMicros = float64(cpu.Microseconds()) / float64(len(all))
	}
	p.Vendor429 = b.v.bridge429.Load() - m.v429
	p.BridgeCPUShare = cpu.Seconds() / elapsed.Seconds()
	p.LoadCPUShare = self.Seconds() / elapsed.Seconds()
	b.check(ctx, &p)
	if rss, hwm, err := b.br.memory(); err == nil {
		p.RSSMB, p.PeakRSSMB = mb(rss), mb(hwm)
	}
	p.HeapMB = mb(b.br.heapInUse())
	if ps.extra != nil {
		ps.extra(&p)
	}
	writePhase(b.out, p)
	b.result.Phases = append(b.result.Phases, p)
	return p
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

// timed runs f and returns how long it took and whether it failed.
func timed(f func() error) (time.Duration, bool) {
	t0 := time.Now()
	err := f()
	return time.Since(t0), err != nil
}

func mixOf(mix map[string]int) string {
	var parts []string
	for _, op := range benchOps {
		if mix[op] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", op, mix[op]))
		}
	}
	return strings.Join(parts, ",")
}

const patchSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// request sends one bridge request of op and, when direct is set, its direct counterpart on a pool account.
func (b *bench) request(ctx context.Context, op string, rng *randv2.Rand, owned []*benchUser, direct bool) sampleD {
	u := b.users[rng.IntN(len(b.users))]
	var own *benchUser
	if len(owned) > 0 {
		own = owned[rng.IntN(len(owned))]
	}
	p := &b.pool[rng.IntN(len(b.pool))]
	var s sampleD
	var directFn func() error
	switch op {
	case "lookup":
		s = b.lookup(ctx, op, u)
		directFn = func() error { _, err := b.v.find(ctx, p.email); return err }
	case "get":
		s = b.send(ctx, op, "GET", "/Users/"+url.PathEscape(u.id), nil, func(body []byte) bool { return strings.Contains(string(body), u.id) })
		directFn = func() error { _, err := b.v.get(ctx, p.id); return err }
	case "patch":
		want := !own.active
		body := fmt.Appendf(nil, `{"schemas":[%q],"Operations":[{"op":"replace","value":{"active":%t}}]}`, patchSchema, want)
		s = b.send(ctx, op, "PATCH", "/Users/"+url.PathEscape(own.id), body, nil)
		own.wroteActive(want, s.status)
		directFn = func() error { return b.v.update(ctx, p.id) }
	case "put":
		family := fmt.Sprintf("Put%d", b.seq.Add(1))
		active := own.active || own.unsureA
		body, _ := json.Marshal(map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "id": own.id, "userName": own.email,
			"name":   map[string]string{"givenName": "Load", "familyName": family},
			"emails": []any{map[string]any{"value": own.email, "type": "work", "primary": true}},
			"active": active, "title": "Engineer",
		})
		s = b.send(ctx, op, "PUT", "/Users/"+url.PathEscape(own.id), body, nil)
		own.wroteActive(active, s.status)
		own.wroteFamily(family, s.status)
		directFn = func() error { return b.v.update(ctx, p.id) }
	case "entra-patch":
		if rng.IntN(2) == 0 {
			want := !own.active
			body := fmt.Appendf(nil, `{"schemas":[%q],"Operations":[{"op":"Replace","path":"active","value":"%s"}]}`,
				patchSchema, map[bool]string{true: "True", false: "False"}[want])
			s = b.send(ctx, op, "PATCH", "/Users/"+url.PathEscape(own.id), body, nil)
			own.wroteActive(want, s.status)
		} else {
			n := b.seq.Add(1)
			family := fmt.Sprintf("Entra%d", n)
			body := fmt.Appendf(nil, `{"schemas":[%q],"Operations":[{"op":"Replace","path":"name.familyName","value":%q},{"op":"Add","path":"title","value":"Title %d"}]}`,
				patchSchema, family, n)
			s = b.send(ctx, op, "PATCH", "/Users/"+url.PathEscape(own.id), body, nil)
			own.wroteFamily(family, s.status)
		}
		directFn = func() error { return b.v.update(ctx, p.id) }
	case "post":
		n := b.seq.Add(1)
		email := fmt.Sprintf("post-%s-%d@example.com", b.runID, n)
		body := userBody(email)
		var id string
		s = b.send(ctx, op, "POST", "/Users", body, func(resp []byte) bool {
			var c struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(resp, &c)
			id = c.ID
			return id != ""
		})
		b.mu.Lock()
		b.created = append(b.created, createdUser{email: email, id: id, status: s.status})
		b.mu.Unlock()
		directFn = func() error { return b.v.create(ctx, fmt.Sprintf("direct-%s-%d@example.com", b.runID, n)) }
	case "list":
		hi := max(len(b.users)-b.o.page, b.o.page+1)
		start := b.o.page + 1 + rng.IntN(hi-b.o.page)
		s = b.send(ctx, op, "GET", fmt.Sprintf("/Users?startIndex=%d&count=%d", start, b.o.page), nil, nil)
	}
	if direct && directFn != nil {
		s.direct, s.directErr = timed(directFn)
		s.hasDirect = true
	}
	return s
}

func (u *benchUser) wroteActive(v bool, status int) {
	u.touchedA = true
	if status >= 200 && status < 300 {
		u.active, u.unsureA = v, false
	} else {
		u.unsureA = true
	}
}

func (u *benchUser) wroteFamily(v string, status int) {
	u.touchedF = true
	if status >= 200 && status < 300 {
		u.family, u.unsureF = v, false
	} else {
		u.unsureF = true
	}
}

// lookup sends the userName lookup of u; an answer that does not hold exactly u is wrong.
func (b *bench) lookup(ctx context.Context, op string, u *benchUser) sampleD {
	return b.send(ctx, op, "GET", "/Users?filter="+url.QueryEscape(`userName eq "`+u.email+`"`), nil, func(body []byte) bool {
		var l struct {
			Total     int `json:"totalResults"`
			Resources []struct {
				ID string `json:"id"`
			} `json:"Resources"`
		}
		return json.Unmarshal(body, &l) == nil && l.Total == 1 && len(l.Resources) == 1 && l.Resources[0].ID == u.id
	})
}

// send makes one bridge request; ok, when given, checks a 2xx answer's body.
func (b *bench) send(ctx context.Context, op, method, path string, body []byte, ok func([]byte) bool) sampleD {
	t0 := time.Now()
	status, resp, err := b.l.do(ctx, method, path, body)
	s := sampleD{sample: sample{op: op, latency: time.Since(t0), status: status}}
	if err != nil {
		s.status = 0
	} else if status >= 200 && status < 300 && ok != nil && !ok(resp) {
		s.status = statusWrong
	}
	return s
}

// check compares the vendor with every acknowledged write, and counts every created e-mail at the vendor.
func (b *bench) check(ctx context.Context, p *phaseResult) {
	for _, u := range b.users {
		if !u.touchedA && !u.touchedF {
			continue
		}
		p.CheckedUsers++
		got, ok := b.v.emu.User(u.id)
		switch {
		case !ok:
			p.LostWrites++
		case u.unsureA || u.unsureF:
			p.UnsureWrites++
			if !u.unsureA && got.Active != u.active || !u.unsureF && got.FamilyName != u.family {
				p.LostWrites++
			}
		case got.Active != u.active || got.FamilyName != u.family:
			p.LostWrites++
		}
		u.touchedA, u.touchedF = false, false
	}
	b.mu.Lock()
	created := b.created
	b.created = nil
	b.mu.Unlock()
	for _, c := range created {
		n, err := b.v.find(ctx, c.email)
		if err != nil {
			p.Notes = append(p.Notes, "could not check a create: "+err.Error())
			break
		}
		p.CheckedCreates++
		acked := c.status >= 200 && c.status < 300
		switch {
		case n > 1:
			p.Duplicated++
		case n == 0 && acked:
			p.LostCreates++
		}
	}
}

// opResults computes each operation's figures; bridge-added is the bridge's percentile minus the direct one.
func opResults(all []sampleD, elapsed time.Duration) []opResult {
	byOp := map[string][]sampleD{}
	for _, s := range all {
		byOp[s.op] = append(byOp[s.op], s)
	}
	var out []opResult
	for _, op := range benchOps {
		ss := byOp[op]
		if len(ss) == 0 {
			continue
		}
		r := opResult{Op: op, Requests: len(ss), ReqPerSec: float64(len(ss)) / elapsed.Seconds(), Statuses: map[string]int{}}
		lat := make([]time.Duration, 0, len(ss))
		var dir []time.Duration
		for _, s := range ss {
			lat = append(lat, s.latency)
			if s.status < 200 || s.status > 299 {
				r.Errors++
				r.Statuses[statusName(s.status)]++
			}
			if s.hasDirect {
				dir = append(dir, s.direct)
				if s.directErr {
					r.Statuses["direct-error"]++
				}
			}
		}
		slices.Sort(lat)
		r.P50, r.P90, r.P99, r.Max = msf(percentile(lat, 50)), msf(percentile(lat, 90)), msf(percentile(lat, 99)), msf(lat[len(lat)-1])
		if len(dir) > 0 {
			slices.Sort(dir)
			r.Direct = true
			r.DirectP50, r.DirectP99 = msf(percentile(dir, 50)), msf(percentile(dir, 99))
			r.AddedP50, r.AddedP99 = r.P50-r.DirectP50, r.P99-r.DirectP99
		}
		if len(r.Statuses) == 0 {
			r.Statuses = nil
		}
		out = append(out, r)
	}
	return out
}

func statusName(s int) string {
	switch s {
	case 0:
		return "transport-error"
	case statusWrong:
		return "wrong-answer"
	}
	return fmt.Sprint(s)
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
