package upstreamtest

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Faults implements the fault-injection part of Emulator. An emulator embeds it and calls Intercept at the top of
// each request, once it knows which Op the request is.
type Faults struct {
	mu        sync.Mutex
	fail      map[Op]*failure
	drop      map[Op]int
	calls     map[Op]int
	latency   time.Duration
	rps       int
	window    time.Time
	inWindow  int
	seatLimit int
	// log is a ring of the last logLimit calls (next is where the next one goes once it is full), so that a
	// long-running sandbox keeps a bounded amount of memory; calls counts every call exactly.
	log      []Call
	next     int
	logLimit int
}

// DefaultLogLimit is how many calls Log keeps unless SetLogLimit says otherwise: far more than any test makes,
// and at about 1.5 KB a call a few MB at most.
const DefaultLogLimit = 2048

type failure struct {
	status     int
	times      int
	retryAfter time.Duration
}

// Fail implements Emulator.
func (f *Faults) Fail(op Op, status, times int, retryAfter time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail == nil {
		f.fail = map[Op]*failure{}
	}
	f.fail[op] = &failure{status: status, times: times, retryAfter: retryAfter}
}

// DropResponse implements Emulator.
func (f *Faults) DropResponse(op Op) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.drop == nil {
		f.drop = map[Op]int{}
	}
	f.drop[op]++
}

// SetLatency implements Emulator.
func (f *Faults) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency = d
}

// SetRateLimit implements Emulator.
func (f *Faults) SetRateLimit(rps int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rps, f.inWindow = rps, 0
}

// SetSeatLimit implements Emulator.
func (f *Faults) SetSeatLimit(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seatLimit = n
}

// SeatLimit returns the configured seat limit (0 = none), for the emulator's create handler.
func (f *Faults) SeatLimit() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seatLimit
}

// Calls implements Emulator.
func (f *Faults) Calls(op Op) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// Reset implements Emulator.
func (f *Faults) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail, f.drop, f.calls, f.log, f.next = nil, nil, nil, nil, 0
	f.latency, f.rps, f.inWindow, f.seatLimit = 0, 0, 0, 0
}

// SetLogLimit sets how many of the latest calls Log keeps (n <= 0: DefaultLogLimit); the calls kept so far are
// trimmed to the newest n. Calls is not affected: it counts every call.
func (f *Faults) SetLogLimit(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	log := f.logLocked()
	f.logLimit = n
	if limit := f.limit(); len(log) > limit {
		log = log[len(log)-limit:]
	}
	f.log, f.next = log, 0
}

func (f *Faults) limit() int {
	if f.logLimit > 0 {
		return f.logLimit
	}
	return DefaultLogLimit
}

// Record adds a request to the call log, dropping the oldest once the log holds its limit; emulators call it with
// the body they read.
func (f *Faults) Record(op Op, r *http.Request, body []byte) {
	q := r.URL.Query()
	q.Del("apiKey")
	c := Call{Op: op, Method: r.Method, Path: r.URL.Path, Query: q.Encode(), Body: body}
	f.mu.Lock()
	defer f.mu.Unlock()
	if limit := f.limit(); len(f.log) < limit {
		f.log = append(f.log, c)
		return
	}
	f.log[f.next] = c
	f.next = (f.next + 1) % len(f.log)
}

// Log implements Emulator: the latest calls (at most the log limit), oldest first.
func (f *Faults) Log() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logLocked()
}

// logLocked returns a copy of the log in call order; f.mu must be held.
func (f *Faults) logLocked() []Call {
	out := make([]Call, 0, len(f.log))
	out = append(out, f.log[f.next:]...)
	return append(out, f.log[:f.next]...)
}

// Intercept records the call and applies injected faults. When handled is true the response has been written and
// the emulator must do nothing more. Otherwise the emulator applies the request and writes its answer to out,
// which cuts the connection instead of answering when a lost response was requested.
func (f *Faults) Intercept(w http.ResponseWriter, op Op) (out http.ResponseWriter, handled bool) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[Op]int{}
	}
	f.calls[op]++
	latency := f.latency
	limited := false
	if f.rps > 0 {
		now := time.Now()
		if now.Sub(f.window) >= time.Second {
			f.window, f.inWindow = now, 0
		}
		f.inWindow++
		limited = f.inWindow > f.rps
	}
	var fl failure
	if x := f.fail[op]; x != nil && x.times != 0 {
		fl = *x
		if x.times > 0 {
			x.times--
		}
	}
	drop := f.drop[op] > 0
	if drop {
		f.drop[op]--
	}
	f.mu.Unlock()

	if latency > 0 {
		time.Sleep(latency)
	}
	if limited {
		writeError(w, http.StatusTooManyRequests, 0)
		return w, true
	}
	if fl.status != 0 {
		writeError(w, fl.status, fl.retryAfter)
		return w, true
	}
	if drop {
		return &dropWriter{ResponseWriter: w}, false
	}
	return w, false
}

func writeError(w http.ResponseWriter, status int, retryAfter time.Duration) {
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":"` + http.StatusText(status) + `"}`))
}

// dropWriter swallows the answer and hijacks the connection to close it, so the client sees a reset after the
// vendor applied the request: the "lost response" case.
type dropWriter struct {
	http.ResponseWriter
	done bool
}

func (d *dropWriter) Header() http.Header { return http.Header{} }
func (d *dropWriter) Write(b []byte) (int, error) {
	d.cut()
	return len(b), nil
}
func (d *dropWriter) WriteHeader(int) { d.cut() }

func (d *dropWriter) cut() {
	if d.done {
		return
	}
	d.done = true
	if hj, ok := d.ResponseWriter.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
