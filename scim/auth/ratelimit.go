package auth

import (
	"math"
	"sync"
	"time"
)

const (
	// limiterSweepEvery is how often idle buckets are dropped.
	limiterSweepEvery = time.Minute
	// limiterMaxBuckets triggers an early sweep: principals are authenticated, so the map only grows with
	// distinct valid credentials (e.g. many JWT subjects), but it must stay bounded all the same.
	limiterMaxBuckets = 10000
)

// limiter is a token bucket per principal. Rate and burst are in requests; burst is twice the rate (at least 1,
// so that a rate below 0.5/s still admits anything).
type limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: max(2*rate, 1), now: now, buckets: make(map[string]*bucket)}
}

// allow takes one token from key's bucket. When it is empty it reports how long until the next token.
func (l *limiter) allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= limiterMaxBuckets {
			l.sweepLocked(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	} else if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

func (l *limiter) sweep() {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
}

// sweepLocked drops buckets that have been idle long enough to be full again: such a bucket behaves exactly like
// a fresh one, so dropping it changes no decision.
func (l *limiter) sweepLocked(now time.Time) {
	refill := time.Duration(l.burst / l.rate * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) >= refill {
			delete(l.buckets, k)
		}
	}
}

func (l *limiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// retryAfterSeconds renders a wait as the integer Retry-After wants (RFC 9110 §10.2.3), rounded up and at least 1.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
