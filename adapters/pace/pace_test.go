package pace

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

// clock is a fake time source the tests move by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTest(ceiling float64) (*Pacer, *clock) {
	c := &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	return newPacer(ceiling, c.now), c
}

// accept reports n calls accepted, spread evenly over d.
func accept(p *Pacer, c *clock, n int, d time.Duration) {
	for range n {
		p.done(c.now(), false, 0)
		c.advance(d / time.Duration(n))
	}
}

// refuse reports a 429 to a call sent now.
func refuse(p *Pacer, c *clock, retryAfter time.Duration) { p.done(c.now(), true, retryAfter) }

func mustReserve(t *testing.T, p *Pacer) time.Duration {
	t.Helper()
	w, err := p.reserve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// takeTurn does what Wait does, on the fake clock: it returns when the call is sent.
func takeTurn(t *testing.T, p *Pacer, c *clock) time.Time {
	t.Helper()
	for {
		c.advance(mustReserve(t, p))
		if !p.pausedUntil.After(c.now()) {
			return c.now()
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func TestUnpacedCallsGoAtOnce(t *testing.T) {
	p, c := newTest(0)
	for range 1000 {
		if w := mustReserve(t, p); w != 0 {
			t.Fatalf("an unpaced call waited %s", w)
		}
		p.done(c.now(), false, 0)
	}
	c.advance(time.Second)
	if r := p.Rate(); r != 0 {
		t.Fatalf("rate %v without a 429", r)
	}
}

func TestA429PacesAtWhatTheVendorAccepted(t *testing.T) {
	p, c := newTest(0)
	accept(p, c, 20, 900*time.Millisecond) // the vendor took 20 in the last second, then refused
	refuse(p, c, 0)
	if r := p.Rate(); !near(r, 18) {
		t.Fatalf("rate %v after a 429 with 20 calls accepted in the last second, want 18 (90 %%)", r)
	}
	// The calls of one burst are refused together: one cut, not one per refusal.
	refuse(p, c, 0)
	refuse(p, c, 0)
	if r := p.Rate(); !near(r, 18) {
		t.Fatalf("rate %v after more 429s of the same burst, want 18", r)
	}
	// Turns are spaced 1/18 s apart, first come first served.
	want := time.Duration(0)
	for i := range 5 {
		if w := mustReserve(t, p); w != want {
			t.Fatalf("turn %d waits %s, want %s", i, w, want)
		}
		want += time.Second / 18
	}
}

func TestA429WhilePacedCutsAgain(t *testing.T) {
	p, c := newTest(0)
	accept(p, c, 20, 900*time.Millisecond)
	refuse(p, c, 0) // 18/s
	c.advance(1500 * time.Millisecond)
	accept(p, c, 10, 900*time.Millisecond) // the vendor now takes only 10 a second
	refuse(p, c, 0)
	if r := p.Rate(); !near(r, 9) {
		t.Fatalf("rate %v, want 9: 90 %% of the 10 the vendor accepted, which is below the pace", r)
	}
	// With nothing accepted at all, the pace bottoms out rather than stopping.
	for range 50 {
		c.advance(1100 * time.Millisecond)
		refuse(p, c, 0)
	}
	if r := p.Rate(); !near(r, minRate) {
		t.Fatalf("rate %v after a minute of refusals, want the floor %v", r, minRate)
	}
}

// TestARefusalWithNothingAcceptedTeachesNoPace: refused before the vendor accepted anything (another client spent
// its limit), the pacer learns no pace; a run of such refusals pauses every call, 100 ms, then 200 ms...
func TestARefusalWithNothingAcceptedTeachesNoPace(t *testing.T) {
	p, c := newTest(0)
	refuse(p, c, 0)
	if r := p.Rate(); r != 0 {
		t.Fatalf("rate %v learned from a single refusal", r)
	}
	if w := mustReserve(t, p); w != 0 {
		t.Fatalf("the retry waited %s after one refusal", w)
	}
	for _, want := range []time.Duration{unpacedPause, 2 * unpacedPause} {
		c.advance(time.Millisecond)
		refuse(p, c, 0)
		before := c.now()
		if got := takeTurn(t, p, c).Sub(before); got != want {
			t.Fatalf("waited %s, want %s", got, want)
		}
	}
}

func TestRetryAfterHoldsEveryCall(t *testing.T) {
	p, c := newTest(0)
	accept(p, c, 5, 500*time.Millisecond)
	refuse(p, c, 3*time.Second)
	if w := mustReserve(t, p); w != 3*time.Second {
		t.Fatalf("the next call waits %s, want the vendor's 3s", w)
	}
	if w := mustReserve(t, p); w <= 3*time.Second {
		t.Fatalf("the call after it waits %s, want its paced turn after the 3s", w)
	}
}

func TestATurnAfterTheDeadlineIsRefusedAndNotTaken(t *testing.T) {
	p, c := newTest(2) // a ceiling of 2 calls/s: turns 500ms apart
	ctx, cancel := context.WithDeadline(context.Background(), c.now().Add(700*time.Millisecond))
	defer cancel()
	for i, want := range []time.Duration{0, 500 * time.Millisecond} {
		w, err := p.reserve(ctx)
		if err != nil || w != want {
			t.Fatalf("turn %d: %s, %v; want %s", i, w, err, want)
		}
	}
	_, err := p.reserve(ctx)
	r, ok := errors.AsType[*Refused](err)
	if !ok || r.Wait != time.Second {
		t.Fatalf("a turn 1s away with 700ms left: %v, want *Refused{Wait: 1s}", err)
	}
	// The refused turn was not taken: the next caller, with time enough, gets it.
	if w := mustReserve(t, p); w != time.Second {
		t.Fatalf("the next caller waits %s, want the untaken 1s turn", w)
	}
	if _, refused := p.Stats(); refused != 1 {
		t.Fatalf("refused %d, want 1", refused)
	}
}

func TestThePaceProbesUpwardsAndIsForgotten(t *testing.T) {
	p, c := newTest(0)
	accept(p, c, 20, 900*time.Millisecond)
	refuse(p, c, 0) // 18/s
	// No rise during the hold after a 429.
	accept(p, c, 18, holdAfter-100*time.Millisecond)
	if r := p.Rate(); !near(r, 18) {
		t.Fatalf("rate %v during the hold, want 18", r)
	}
	// Then 10 % a second while the vendor keeps accepting.
	accept(p, c, 18, time.Second)
	accept(p, c, 20, time.Second)
	if r := p.Rate(); !near(r, 18*1.1*1.1) {
		t.Fatalf("rate %v after two quiet seconds past the hold, want %v", r, 18*1.1*1.1)
	}
	// Never above twice what the vendor accepted: a trickle does not let the pace drift up.
	for range 30 {
		c.advance(time.Second)
		p.done(c.now(), false, 0)
	}
	if r := p.Rate(); r > 2*float64(p.accepted(c.now()))+18*1.1*1.1 {
		t.Fatalf("rate %v drifted up on a trickle of calls", r)
	}
	c.advance(forgetAfter)
	if r := p.Rate(); r != 0 {
		t.Fatalf("rate %v a minute after the last 429, want 0 (unpaced)", r)
	}
}

func TestTheCeilingCaps(t *testing.T) {
	for _, tc := range []struct {
		name           string
		ceiling        float64
		accepted       int
		throttle       bool
		wantRate, next float64
	}{
		{name: "ceiling alone paces", ceiling: 5, wantRate: 5},
		{name: "a learned pace above the ceiling is capped", ceiling: 5, accepted: 20, throttle: true, wantRate: 5},
		{name: "a learned pace below the ceiling wins", ceiling: 50, accepted: 20, throttle: true, wantRate: 18},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, c := newTest(tc.ceiling)
			accept(p, c, tc.accepted, 900*time.Millisecond)
			if tc.throttle {
				refuse(p, c, 0)
			}
			if r := p.Rate(); !near(r, tc.wantRate) {
				t.Fatalf("rate %v, want %v", r, tc.wantRate)
			}
			mustReserve(t, p)
			if w := mustReserve(t, p); w != time.Duration(float64(time.Second)/tc.wantRate) {
				t.Fatalf("second turn in %s, want 1/%v s", w, tc.wantRate)
			}
		})
	}
	p, _ := newTest(0)
	p.SetCeiling(4)
	if r := p.Rate(); r != 4 {
		t.Fatalf("rate %v after SetCeiling(4)", r)
	}
}

// TestAFixedWindowVendorIsKeptBusyNotRefused simulates a vendor that accepts 20 calls per one-second window
// (as the emulators do) and eight clients that send as soon as they may: after the first burst, the pacer keeps
// the vendor near its limit with few refusals.
func TestAFixedWindowVendorIsKeptBusyNotRefused(t *testing.T) {
	const limit, clients = 20, 8
	p, c := newTest(0)
	window, inWindow := c.now(), 0
	vendor := func() bool { // true: accepted
		if c.now().Sub(window) >= time.Second {
			window, inWindow = c.now(), 0
		}
		inWindow++
		return inWindow <= limit
	}
	// Each client holds the time of its next attempt; the earliest goes first.
	ready := make([]time.Time, clients)
	for i := range ready {
		ready[i] = c.now()
	}
	var accepted, refused int
	end := c.now().Add(60 * time.Second)
	for c.now().Before(end) {
		i := 0
		for j := range ready {
			if ready[j].Before(ready[i]) {
				i = j
			}
		}
		if ready[i].After(c.now()) {
			c.t = ready[i]
		}
		sent := takeTurn(t, p, c)
		ok := vendor()
		p.done(sent, !ok, 0)
		if ok {
			accepted++
		} else {
			refused++
		}
		ready[i] = c.now().Add(time.Millisecond) // a vendor round trip, then the client's next call
	}
	rate := float64(accepted) / 60
	if rate < 0.85*limit || rate > limit {
		t.Errorf("the vendor accepted %.1f calls/s, want between 85 %% and 100 %% of its %d", rate, limit)
	}
	if share := float64(refused) / float64(accepted+refused); share > 0.05 {
		t.Errorf("%.1f %% of calls were refused (%d of %d), want under 5 %%", 100*share, refused, accepted+refused)
	}
	t.Logf("accepted %.1f calls/s, refused %d of %d", rate, refused, accepted+refused)
}

// TestRefusalsInARowPauseEveryCall: a fixed window refuses every call until it ends, however well spaced, so
// each refusal of a call sent after an earlier refusal doubles a pause every call takes; the calls that were
// already on their way when the first refusal came add nothing; an accepted call ends the run.
func TestRefusalsInARowPauseEveryCall(t *testing.T) {
	p, c := newTest(0)
	accept(p, c, 20, 900*time.Millisecond)
	inFlight := c.now().Add(-time.Millisecond)
	refuse(p, c, 0) // the first refusal: 18/s, no pause
	for range 7 {
		p.done(inFlight, true, 0) // the rest of the burst
	}
	interval := time.Second / 18
	c.advance(time.Millisecond)
	before := c.now()
	if got := takeTurn(t, p, c).Sub(before); got != 0 {
		t.Fatalf("the first call after the burst waited %s", got)
	}
	for _, want := range []time.Duration{interval, 2 * interval, 4 * interval} {
		sent := c.now()
		c.advance(time.Millisecond) // the round trip
		p.done(sent, true, 0)
		before := c.now()
		if got := takeTurn(t, p, c).Sub(before); got != want {
			t.Fatalf("after %d refusals in a row the next call waited %s, want %s", p.streak, got, want)
		}
	}
	p.done(c.now(), false, 0)
	before = c.now()
	refuse(p, c, 0)
	if got := takeTurn(t, p, c).Sub(before); got > interval {
		t.Fatalf("after an accepted call, one refusal made the next call wait %s", got)
	}
	for range 40 {
		refuse(p, c, 0)
		takeTurn(t, p, c)
	}
	if p.pausedUntil.Sub(c.now()) > maxPause {
		t.Fatalf("a pause of %s, beyond the cap %s", p.pausedUntil.Sub(c.now()), maxPause)
	}
}
