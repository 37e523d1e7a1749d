// Package pace spaces the calls one process makes to one vendor account, so that together they stay under the
// vendor's rate limit. Neither vendor documents its limit, so a Pacer learns it from the vendor's 429s.
//
// Why one shared pacer, not backoff alone: an IdP sends many requests in parallel, each making one to three vendor
// calls. Independent exponential backoffs cannot share a vendor limit. Each request learns of the limit only by
// being refused. The retries of a burst land in the next vendor window together and are refused again, and after a
// few rounds a request gives up while the vendor is still busy. Measured against a 20 calls/s vendor with 8 clients,
// 37 % of requests failed with 429 after about 1.5 s. A pacer makes every call wait its turn at the rate the vendor
// accepts. Requests queue for a bounded time (the retry budget) instead of failing, and the vendor is kept busy
// rather than refusing.
//
// The algorithm is additive-increase/multiplicative-decrease, as in TCP congestion control:
//   - Unpaced (the normal state): calls go out at once. The only cost is counting the calls the vendor accepted,
//     per tenth of a second, over the last second.
//   - On a 429: the pace becomes 90 % of what the vendor accepted in the last second. That is a good estimate of
//     its limit when it has just refused a burst. (When it accepted almost nothing, someone else spent the limit:
//     there is nothing to learn, and only the pauses below apply.) If the vendor sends Retry-After, every call
//     waits for it. Further 429s within the same second are the rest of that burst and change nothing.
//   - A 429 to a call sent after an earlier 429, with no call accepted in between, means the vendor's window is
//     still spent: every call pauses, one turn (or 100 ms when unpaced), then twice that, and so on, up to 5 s.
//   - On a 429 while paced: the pace drops to 90 % of the lower of the pace and what the vendor accepted.
//   - Paced, without a 429 for 2 s: the pace rises 10 % a second, to find a limit that was raised or
//     underestimated. It never rises above twice what the vendor accepted, so an idle pacer cannot drift upwards.
//   - Without a 429 for a minute: unpaced again.
//
// A call whose turn would come after its context's deadline is refused at once with *Refused, without waiting.
// The IdP is better served by a 429 with an honest Retry-After than by a timeout.
//
// One process paces itself only. Replicas behind a load balancer each learn their share from the 429s they get,
// and the additive-increase/multiplicative-decrease rule makes their sum converge on the vendor's limit.
package pace

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// The algorithm's constants, in one place.
const (
	minRate      = 0.5                    // calls/s: the slowest pace; below it an IdP's retries are better off failing
	cutFactor    = 0.9                    // a 429 sets the pace to this share of what the vendor accepted
	raiseFactor  = 1.1                    // each step of probing upwards
	raiseEvery   = time.Second            // how often the pace may rise
	holdAfter    = 2 * time.Second        // no rise this soon after a 429
	cutHold      = time.Second            // 429s this soon after a cut belong to the burst that caused it
	maxPause     = 5 * time.Second        // the longest pause a run of refusals makes every call take
	unpacedPause = 100 * time.Millisecond // the first pause of a run of refusals when there is no pace yet
	minEvidence  = 2                      // calls accepted in the last second below which a 429 teaches no pace
	forgetAfter  = time.Minute            // without a 429 this long, calls go unpaced again
	bucket       = 100 * time.Millisecond // resolution of the accepted-calls count
	buckets      = 10                     // buckets × bucket = the window the vendor's accepted rate is measured over
)

// Pacer spaces calls to one vendor account. The zero value is not usable: use New. It is safe for concurrent use.
type Pacer struct {
	now func() time.Time

	mu           sync.Mutex
	ceiling      float64   // calls/s set by the operator; 0: none
	rate         float64   // learned calls/s; 0: unpaced
	next         time.Time // when the next paced call may start
	pausedUntil  time.Time // no call starts before this: the vendor's Retry-After, or a run of refusals
	streak       int       // refusals in a row of calls sent after the vendor had already refused one
	lastCut      time.Time
	lastThrottle time.Time
	lastRaise    time.Time
	counts       [buckets]int   // accepted calls per bucket
	stamps       [buckets]int64 // which bucket (time / bucket) each slot holds
	waited       time.Duration  // total time calls spent waiting for their turn
	refused      int64          // calls refused because their turn came too late
}

// New returns a Pacer. ceiling caps the calls per second (0: no cap; the operator knows the vendor's contract
// limit, when there is one, better than any estimate).
func New(ceiling float64) *Pacer {
	return newPacer(ceiling, time.Now)
}

func newPacer(ceiling float64, now func() time.Time) *Pacer {
	return &Pacer{ceiling: max(ceiling, 0), now: now}
}

// SetCeiling changes the operator's cap (0: none).
func (p *Pacer) SetCeiling(ceiling float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ceiling = max(ceiling, 0)
}

// Refused is returned by Wait when the caller's turn would come after its context's deadline (or the context ended
// while it waited). The call was not sent.
type Refused struct {
	// Wait is how long the caller would have had to wait for its turn: a fair Retry-After.
	Wait time.Duration
}

func (r *Refused) Error() string {
	return fmt.Sprintf("the vendor's rate limit: the next free turn is in %s, after the deadline", r.Wait.Round(time.Millisecond))
}

// Turn is a call Wait let go. Report the vendor's answer to it with Done.
type Turn struct {
	p  *Pacer
	at time.Time // when the call went
}

// Wait blocks until the caller may send one call to the vendor, or returns *Refused.
func (p *Pacer) Wait(ctx context.Context) (Turn, error) {
	for {
		wait, err := p.reserve(ctx)
		if err != nil {
			return Turn{}, err
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return Turn{}, &Refused{Wait: wait}
			}
		}
		// A refusal heard while this call slept paused every call: its turn is taken again, after the pause,
		// rather than spent on a refusal.
		p.mu.Lock()
		now := p.now()
		if !p.pausedUntil.After(now) {
			p.mu.Unlock()
			return Turn{p: p, at: now}, nil
		}
		p.mu.Unlock()
	}
}

// reserve takes the caller's turn and says how long until it comes; a turn after ctx's deadline is not taken.
func (p *Pacer) reserve(ctx context.Context) (time.Duration, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.expire(now)
	rate := p.effective()
	start := now
	if p.pausedUntil.After(start) {
		start = p.pausedUntil
	}
	if rate > 0 && p.next.After(start) {
		start = p.next
	}
	wait := start.Sub(now)
	if deadline, ok := ctx.Deadline(); ok && wait > 0 && start.After(deadline) {
		p.refused++
		return 0, &Refused{Wait: wait}
	}
	if rate > 0 {
		p.next = start.Add(time.Duration(float64(time.Second) / rate))
	}
	p.waited += wait
	return wait, nil
}

// Done reports the vendor's answer to the call: throttled when it answered 429, with its Retry-After hint (0:
// none). Any other answer, errors included, counts as accepted: the vendor spent its limit on it. Done on the zero
// Turn does nothing.
func (t Turn) Done(throttled bool, retryAfter time.Duration) {
	if t.p != nil {
		t.p.done(t.at, throttled, retryAfter)
	}
}

func (p *Pacer) done(sent time.Time, throttled bool, retryAfter time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if !throttled {
		p.streak = 0
		p.count(now)
		p.raise(now)
		return
	}
	// A call sent after the vendor had refused one, and refused in turn, means the vendor's window is still
	// spent (a fixed window refuses everything until it ends, however well the calls are spaced). Every call
	// then pauses, for one turn, then two, four...: a few probes find the end of the window, where a steady pace
	// would have spent a refusal on every turn until it came. Calls already on their way when the first
	// refusal came are the same burst and teach nothing new.
	if sent.After(p.lastThrottle) {
		p.streak++
	}
	p.lastThrottle = now
	pause := retryAfter
	if p.streak > 1 {
		interval := unpacedPause
		if r := p.effective(); r > 0 {
			interval = time.Duration(float64(time.Second) / r)
		}
		pause = max(pause, min(maxPause, interval<<min(p.streak-2, 16)))
	}
	if pause > 0 && now.Add(pause).After(p.pausedUntil) {
		p.pausedUntil = now.Add(pause)
	}
	if now.Sub(p.lastCut) < cutHold {
		return
	}
	accepted := float64(p.accepted(now))
	if p.rate == 0 && accepted < minEvidence {
		// Refused before the vendor accepted anything to speak of (another client spent its limit): there is no
		// pace to learn yet, and the pauses of a run of refusals wait out the vendor's window.
		return
	}
	rate := accepted
	if p.rate > 0 {
		rate = min(p.rate, accepted)
	}
	p.rate = max(minRate, rate*cutFactor)
	p.lastCut, p.lastRaise = now, now
}

// Rate is the current pace in calls per second: the learned pace or the operator's ceiling, whichever is lower; 0
// when calls are not paced.
func (p *Pacer) Rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire(p.now())
	return p.effective()
}

// Stats returns the total time calls waited for their turn and how many were refused, for metrics.
func (p *Pacer) Stats() (waited time.Duration, refused int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waited, p.refused
}

// effective is the pace applied now; p.mu is held.
func (p *Pacer) effective() float64 {
	switch {
	case p.rate == 0:
		return p.ceiling
	case p.ceiling == 0:
		return p.rate
	default:
		return min(p.rate, p.ceiling)
	}
}

// expire forgets a learned pace that has not been needed for a while; p.mu is held.
func (p *Pacer) expire(now time.Time) {
	if p.rate > 0 && now.Sub(p.lastThrottle) >= forgetAfter {
		p.rate = 0
	}
}

// raise probes upwards after a quiet spell; p.mu is held.
func (p *Pacer) raise(now time.Time) {
	if p.rate == 0 || now.Sub(p.lastThrottle) < holdAfter || now.Sub(p.lastRaise) < raiseEvery {
		return
	}
	p.lastRaise = now
	if limit := 2 * float64(p.accepted(now)); p.rate*raiseFactor > limit {
		p.rate = max(p.rate, min(limit, p.rate*raiseFactor))
		return
	}
	p.rate *= raiseFactor
}

// count adds one accepted call; p.mu is held.
func (p *Pacer) count(now time.Time) {
	b := now.UnixNano() / int64(bucket)
	i := b % buckets
	if p.stamps[i] != b {
		p.stamps[i], p.counts[i] = b, 0
	}
	p.counts[i]++
}

// accepted is how many calls the vendor accepted over the last buckets × bucket; p.mu is held.
func (p *Pacer) accepted(now time.Time) int {
	b := now.UnixNano() / int64(bucket)
	n := 0
	for i := range buckets {
		if b-p.stamps[i] < buckets {
			n += p.counts[i]
		}
	}
	return n
}
