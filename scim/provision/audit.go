package provision

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/scim/store"
)

// Actor is who asked for an action: the request id and the credential's name (never the secret), for the audit
// trail. The SCIM side puts it in the request's context.
type Actor struct {
	RequestID  string
	Credential string
}

type actorKey struct{}

// ContextWithActor returns ctx carrying a.
func ContextWithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

func actorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

// Audit operations.
const (
	OpCreate      = "create"
	OpUpdate      = "update"
	OpDeactivate  = "deactivate"
	OpReactivate  = "reactivate"
	OpDelete      = "delete"
	OpLink        = "link"
	OpRetire      = "retire"
	OpHold        = "hold"
	OpRelease     = "release"
	OpGroupAdd    = "group-add"    // added to a linked vendor group
	OpGroupRemove = "group-remove" // removed from a linked group: recorded, to be done by hand in the vendor
)

// changedNames lists the attribute names a Change sets, for the audit trail.
func changedNames(ch adapters.Change) []string {
	var out []string
	if ch.Email != nil {
		out = append(out, "email")
	}
	if ch.GivenName != nil {
		out = append(out, pathGivenName)
	}
	if ch.FamilyName != nil {
		out = append(out, pathFamilyName)
	}
	if ch.Active != nil {
		out = append(out, pathActive)
	}
	for k := range ch.Attrs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// operationOf names what a change does to an account.
func operationOf(ch adapters.Change, fallback string) string {
	if ch.Active != nil {
		if *ch.Active {
			return OpReactivate
		}
		return OpDeactivate
	}
	return fallback
}

// resultOf is an audit result: "ok" or the kind of failure.
func resultOf(err error) string {
	if err == nil {
		return "ok"
	}
	if err == errManual {
		return "manual"
	}
	if e, ok := err.(*Error); ok {
		switch e.Kind {
		case KindHeld:
			return "held"
		case KindNotFound:
			return "not_found"
		case KindUniqueness:
			return "conflict"
		case KindInvalid:
			return "invalid"
		case KindPrecondition:
			return "precondition"
		}
	}
	return adapters.KindOf(err).String()
}

// record appends one audit event; a failure to record is logged, never the request's failure.
func (s *Service) record(ctx context.Context, op, userID, userName string, attrs []string, err error) {
	if s.audit == nil {
		return
	}
	a := actorFrom(ctx)
	_, aerr := s.audit.Append(context.WithoutCancel(ctx), store.AuditEvent{Time: time.Now().UTC(), RequestID: a.RequestID,
		Credential: a.Credential, Operation: op, UserID: userID, UserName: userName, Attributes: attrs, Result: resultOf(err)})
	if aerr != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "could not record an audit event", slog.String("operation", op),
			slogID(userID), slog.String("error", aerr.Error()))
	}
}

// GuardPolicy configures the mass-deprovisioning guard: more than Limit deactivations and deletions (or more than
// Share of the connection's live users) within Window stops further ones until an operator releases the guard.
type GuardPolicy struct {
	Limit  int     // 0: no count limit
	Share  float64 // 0: no share limit; 0.05 is 5%
	Window time.Duration
}

// ParseGuardThreshold reads SCIM_BRIDGE_GUARD_THRESHOLD: a count ("10"), a share ("5%"), or "0" (off).
func ParseGuardThreshold(s string) (GuardPolicy, error) {
	s = strings.TrimSpace(s)
	var p GuardPolicy
	if pct, ok := strings.CutSuffix(s, "%"); ok {
		var f float64
		if _, err := fmt.Sscanf(pct, "%g", &f); err != nil || f < 0 || f > 100 {
			return p, fmt.Errorf("SCIM_BRIDGE_GUARD_THRESHOLD must be a count such as 10, a share such as 5%%, or 0 to turn the guard off")
		}
		p.Share = f / 100
		return p, nil
	}
	if _, err := fmt.Sscanf(s, "%d", &p.Limit); err != nil || p.Limit < 0 || fmt.Sprint(p.Limit) != s {
		return p, fmt.Errorf("SCIM_BRIDGE_GUARD_THRESHOLD must be a count such as 10, a share such as 5%%, or 0 to turn the guard off")
	}
	return p, nil
}

// On reports whether the guard is on.
func (p GuardPolicy) On() bool { return (p.Limit > 0 || p.Share > 0) && p.Window > 0 }

// guardState is the per-process part of the guard: deprovisions under way here, which the audit trail does not
// hold yet. (Across replicas, requests that are under way at the same moment can exceed the threshold by as many
// as run at once; docs/operations.md says so.)
type guardState struct {
	mu       sync.Mutex
	inFlight int
	share    struct {
		at    time.Time
		users int
	}
}

// guardKey serialises the guard's check-and-count across replicas (with a store whose locks do).
const guardKey = "guard:deprovision"

// admitDeprovision decides whether a deactivation or deletion may go ahead. When it may, the caller must call the
// returned done once the vendor call ends. When the guard holds, the request is recorded and refused (503).
func (s *Service) admitDeprovision(ctx context.Context, op, userID, userName string) (done func(), err error) {
	if s.guard == nil || !s.guardPolicy.On() {
		return func() {}, nil
	}
	unlock, err := s.lock(ctx, guardKey)
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := s.guard.GuardState(ctx)
	if err != nil {
		return nil, err
	}
	if !st.Held {
		from := time.Now().Add(-s.guardPolicy.Window)
		n, err := s.deprovisionsSince(ctx, from)
		if err != nil {
			return nil, err
		}
		limit, why := s.guardLimit(ctx)
		if limit >= 0 && n+1 > limit {
			// An operator's release starts a fresh count: what was deprovisioned before it has been checked.
			if released, ok, err := s.lastRelease(ctx, from); err != nil {
				return nil, err
			} else if ok {
				if n, err = s.deprovisionsSince(ctx, released); err != nil {
					return nil, err
				}
			}
		}
		if limit >= 0 && n+1 > limit {
			reason := fmt.Sprintf("%d deactivations and deletions in %s (threshold %s)", n+1, s.guardPolicy.Window, why)
			if st, err = s.guard.TripGuard(ctx, time.Now().UTC(), reason); err != nil {
				return nil, err
			}
			s.log.LogAttrs(ctx, slog.LevelError, "mass-deprovisioning guard: holding every further deactivation and deletion until an operator runs `scim-bridge guard release`",
				slog.String("reason", reason))
			if s.hooks.GuardTripped != nil {
				s.hooks.GuardTripped()
			}
		}
	}
	if st.Held {
		herr := &Error{Kind: KindHeld, RetryAfter: s.guardPolicy.Window,
			Detail: "The mass-deprovisioning guard is holding deactivations and deletions for this connection since " +
				st.Since.UTC().Format(time.RFC3339) + " (" + st.Reason + "). Nothing was changed; retry after an operator has checked and run `scim-bridge guard release`."}
		s.record(ctx, OpHold, userID, userName, []string{op}, herr)
		if s.hooks.GuardHeld != nil {
			s.hooks.GuardHeld()
		}
		return nil, herr
	}
	s.gs.mu.Lock()
	s.gs.inFlight++
	s.gs.mu.Unlock()
	return func() {
		s.gs.mu.Lock()
		s.gs.inFlight--
		s.gs.mu.Unlock()
	}, nil
}

// deprovisionsSince counts the deactivations and deletions recorded since from, plus those under way here.
func (s *Service) deprovisionsSince(ctx context.Context, from time.Time) (int, error) {
	n := 0
	if s.audit != nil {
		var err error
		if n, err = s.audit.CountSince(ctx, from, false, OpDeactivate, OpDelete); err != nil {
			return 0, err
		}
	}
	s.gs.mu.Lock()
	defer s.gs.mu.Unlock()
	return n + s.gs.inFlight, nil
}

// lastRelease finds the newest guard release since from in the audit trail.
func (s *Service) lastRelease(ctx context.Context, from time.Time) (time.Time, bool, error) {
	if s.audit == nil {
		return time.Time{}, false, nil
	}
	var last time.Time
	found := false
	q := store.AuditQuery{Since: from, Limit: 1000}
	for {
		evs, err := s.audit.Events(ctx, q)
		if err != nil {
			return time.Time{}, false, err
		}
		for _, e := range evs {
			if e.Operation == OpRelease {
				last, found = e.Time, true
			}
		}
		if len(evs) < 1000 {
			return last, found, nil
		}
		q.After = evs[len(evs)-1].Seq
	}
}

// guardLimit is the threshold in force and how it reads; -1 when none applies.
func (s *Service) guardLimit(ctx context.Context) (int, string) {
	limit, why := -1, ""
	if s.guardPolicy.Limit > 0 {
		limit, why = s.guardPolicy.Limit, fmt.Sprint(s.guardPolicy.Limit)
	}
	if s.guardPolicy.Share > 0 && s.counter != nil {
		s.gs.mu.Lock()
		fresh := time.Since(s.gs.share.at) < time.Minute
		users := s.gs.share.users
		s.gs.mu.Unlock()
		if !fresh {
			if n, err := s.counter.CountLive(ctx); err == nil {
				users = n
				s.gs.mu.Lock()
				s.gs.share.at, s.gs.share.users = time.Now(), n
				s.gs.mu.Unlock()
			}
		}
		byShare := max(1, int(s.guardPolicy.Share*float64(users)))
		if limit < 0 || byShare < limit {
			limit, why = byShare, fmt.Sprintf("%g%% of %d users", s.guardPolicy.Share*100, users)
		}
	}
	return limit, why
}

// GuardStatus reports the guard's state and the requests it has held since it tripped.
func (s *Service) GuardStatus(ctx context.Context) (store.GuardState, []store.AuditEvent, error) {
	if s.guard == nil {
		return store.GuardState{}, nil, nil
	}
	st, err := s.guard.GuardState(ctx)
	if err != nil || !st.Held || s.audit == nil {
		return st, nil, err
	}
	var held []store.AuditEvent
	after := int64(0)
	for {
		evs, err := s.audit.Events(ctx, store.AuditQuery{Since: st.Since, After: after, Limit: 1000})
		if err != nil {
			return st, nil, err
		}
		for _, e := range evs {
			if e.Operation == OpHold {
				held = append(held, e)
			}
		}
		if len(evs) < 1000 {
			return st, held, nil
		}
		after = evs[len(evs)-1].Seq
	}
}

// ReleaseGuard lets deactivations and deletions flow again; the IdP's retries of the held ones then go through.
func (s *Service) ReleaseGuard(ctx context.Context, by string) (bool, error) {
	if s.guard == nil {
		return false, nil
	}
	was, err := s.guard.ReleaseGuard(ctx)
	if err == nil && was {
		s.record(ContextWithActor(ctx, Actor{Credential: by}), OpRelease, "", "", nil, nil)
	}
	return was, err
}

// PruneAudit deletes audit events older than retention and returns how many it deleted.
func (s *Service) PruneAudit(ctx context.Context, retention time.Duration) (int, error) {
	if s.audit == nil || retention <= 0 {
		return 0, nil
	}
	return s.audit.Prune(ctx, time.Now().Add(-retention))
}

// KeepAuditFor prunes the audit trail now and then every hour until ctx ends: retention is enforced by every
// replica (pruning is idempotent).
func (s *Service) KeepAuditFor(ctx context.Context, retention time.Duration) {
	for {
		if n, err := s.PruneAudit(ctx, retention); err != nil && ctx.Err() == nil {
			s.log.LogAttrs(ctx, slog.LevelError, "could not prune the audit trail", slog.String("error", err.Error()))
		} else if n > 0 {
			s.log.LogAttrs(ctx, slog.LevelInfo, "pruned the audit trail", slog.Int("events", n), slog.Duration("retention", retention))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Hour):
		}
	}
}
