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
	log       []Call
}

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
	f.fail, f.drop, f.calls, f.log = nil, nil, nil, nil
	f.latency, f.rps, f.inWindow, f.seatLimit = 0, 0, 0, 0
}

// Record appends a request to the call log; emulators call it with the body they read.
func (f *Faults) Record(op Op, r *http.Request, body []byte) {
	q := r.URL.Query()
	q.Del("apiKey")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, Call{Op: op, Method: r.Method, Path: r.URL.Path, Query: q.Encode(), Body: body})
}

// Log implements Emulator.
func (f *Faults) Log() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.log...)
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
