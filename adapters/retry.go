package adapters

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"
)

// RetryPolicy bounds how hard Retrying tries.
type RetryPolicy struct {
	// Attempts is the most calls made for one operation, the first included. Default 4.
	Attempts int
	// BaseDelay is the first backoff; each later one doubles, with full jitter. Default 250ms.
	BaseDelay time.Duration
	// MaxDelay caps one backoff and any vendor Retry-After we are willing to wait for. Default 5s.
	MaxDelay time.Duration
	// Budget caps the whole operation, waits and attempts included, so the IdP gets an answer before its own
	// timeout (Okta and Entra wait about 60s). It is a hard bound: each attempt runs under a context that ends when
	// the budget does, so an attempt's own timeout (upstream.Options.Timeout) only applies while it is shorter
	// than what is left. Default 20s.
	Budget time.Duration
	// Paced says the adapter's calls go through a shared pace.Pacer (adapters.Deps.Pacer). A throttled call is then
	// tried again until the budget runs out, however many attempts that takes, and without a backoff of its own:
	// the pacer has learned from the 429 and gives each call its turn at the rate the vendor accepts, so spacing
	// the retries again would only waste turns. Without a pacer, backoff is all there is, and Attempts bounds it.
	Paced bool
	// Logger, when set, receives one line per failed attempt that will be retried.
	Logger *slog.Logger
	// OnRetry, when set, is called once per retry, after its wait and just before the attempt: op is the operation
	// (create, get, find, update, list, delete), kind the failure that caused the retry and wait how long Retrying
	// waited. A wait the caller's context cuts short is not a retry and is not reported. VendorMetrics.Retried is
	// one; it must not block.
	OnRetry func(op string, kind Kind, wait time.Duration)
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Attempts <= 0 {
		p.Attempts = 4
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 250 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 5 * time.Second
	}
	if p.Budget <= 0 {
		p.Budget = 20 * time.Second
	}
	return p
}

// Retrying wraps a with bounded, jittered retries of throttled and unavailable calls. Reads and updates (which set
// absolute values, so repeating them is harmless) are simply repeated. Create is never sent again blindly: after a
// failure that may have been applied, Retrying looks the email up first and returns the account it finds, so a
// lost response can never produce a second account. When the budget runs out, the last *Error is returned with
// RetryAfter set, so the IdP can be told when to come back.
func Retrying(a Adapter, p RetryPolicy) Adapter {
	r := &retrying{next: a, p: p.withDefaults()}
	if d, ok := a.(Deleter); ok {
		return &retryingDeleter{retrying: r, del: d}
	}
	return r
}

type retrying struct {
	next Adapter
	p    RetryPolicy
}

type retryingDeleter struct {
	*retrying
	del Deleter
}

func (r *retryingDeleter) Delete(ctx context.Context, id string) error {
	_, err := do(ctx, r.retrying, "delete", func(ctx context.Context) (struct{}, error) {
		return struct{}{}, r.del.Delete(ctx, id)
	})
	// A retried DELETE whose first attempt landed answers 404: the user is gone, which is what was asked.
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

func (r *retrying) Get(ctx context.Context, id string) (User, error) {
	return do(ctx, r, "get", func(ctx context.Context) (User, error) { return r.next.Get(ctx, id) })
}

func (r *retrying) FindByEmail(ctx context.Context, email string) (User, error) {
	return do(ctx, r, "find", func(ctx context.Context) (User, error) { return r.next.FindByEmail(ctx, email) })
}

func (r *retrying) Update(ctx context.Context, id string, ch Change) (User, error) {
	return do(ctx, r, "update", func(ctx context.Context) (User, error) {
		u, err := r.next.Update(ctx, id, ch)
		// A failed attempt may have changed the user (a DELETE that landed before its confirming read failed): the
		// next one reads it afresh instead of trusting the caller's earlier read.
		ch.Base = nil
		return u, err
	})
}

func (r *retrying) List(ctx context.Context, pr PageRequest) (Page, error) {
	return do(ctx, r, "list", func(ctx context.Context) (Page, error) { return r.next.List(ctx, pr) })
}

func (r *retrying) Create(ctx context.Context, u User) (User, error) {
	mayHaveLanded := false
	return do(ctx, r, "create", func(ctx context.Context) (User, error) {
		if mayHaveLanded {
			found, err := r.next.FindByEmail(ctx, u.Email)
			if err == nil {
				return found, nil
			}
			if !errors.Is(err, ErrNotFound) {
				// Unknown whether the first create landed: do not risk a second account.
				return User{}, err
			}
		}
		created, err := r.next.Create(ctx, u)
		if e, ok := errors.AsType[*Error](err); ok && e.Ambiguous {
			mayHaveLanded = true
		}
		return created, err
	})
}

// errBudgetSpent is the cause of an attempt's context ending because the retry budget did.
var errBudgetSpent = errors.New("retry budget spent")

// do runs call until it succeeds, fails for good, or the policy's attempts or budget run out. Every attempt gets
// a context whose deadline is the end of the budget: a vendor that hangs used to get a full attempt timeout after
// the last wait, so a 2s budget took 3s.
func do[T any](ctx context.Context, r *retrying, op string, call func(context.Context) (T, error)) (T, error) {
	deadline := time.Now().Add(r.p.Budget)
	bctx, cancel := context.WithDeadlineCause(ctx, deadline, errBudgetSpent)
	defer cancel()
	var lastMsg string
	for attempt := 1; ; attempt++ {
		v, err := call(bctx)
		if err == nil {
			return v, nil
		}
		e, ok := errors.AsType[*Error](err)
		if !ok || !e.Kind.Retryable() {
			return v, err
		}
		paced := r.p.Paced && e.Kind == KindRateLimited
		var wait time.Duration
		if paced {
			// The pacer makes the next attempt wait for its turn (and for the vendor's Retry-After). The short
			// jitter only keeps a misconfigured chain, with no pacer under it, from spinning.
			wait = rand.N(r.p.BaseDelay/5 + 1)
		} else {
			wait = backoff(r.p, attempt)
			if e.RetryAfter > 0 {
				wait = max(wait, min(e.RetryAfter, r.p.MaxDelay))
			}
		}
		// A wait that would end past the budget is not started: the IdP is better served by the answer now. When
		// paced, e.RetryAfter is the vendor's hint or the turn the pacer refused because it came after the budget.
		needed := wait
		if paced {
			needed = max(wait, e.RetryAfter)
		}
		if (!paced && attempt >= r.p.Attempts) || time.Until(deadline) < needed || bctx.Err() != nil {
			if e.RetryAfter <= 0 {
				// The vendors document no Retry-After: give the IdP our own estimate.
				e.RetryAfter = max(time.Second, r.p.MaxDelay)
			}
			return v, e
		}
		if r.p.Logger != nil && e.Error() != lastMsg {
			lastMsg = e.Error()
			r.p.Logger.LogAttrs(ctx, slog.LevelWarn, "upstream call failed; retrying",
				slog.String("op", op), slog.Int("attempt", attempt), slog.String("error", lastMsg), slog.Duration("wait", wait))
		}
		t := time.NewTimer(wait)
		select {
		case <-bctx.Done():
			t.Stop()
			return v, e
		case <-t.C:
		}
		if r.p.OnRetry != nil {
			r.p.OnRetry(op, e.Kind, wait)
		}
	}
}

// backoff is exponential with "equal jitter" (AWS architecture blog, "Exponential Backoff And Jitter"): it spreads the
// retries of an IdP's parallel requests instead of sending them back in lock-step.
func backoff(p RetryPolicy, attempt int) time.Duration {
	d := p.BaseDelay << (attempt - 1)
	if d <= 0 || d > p.MaxDelay {
		d = p.MaxDelay
	}
	return d/2 + rand.N(d/2+1)
}
