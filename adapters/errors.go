package adapters

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an adapter failure; the SCIM side maps each Kind to one HTTP status.
type Kind int

// The kinds of adapter failure.
const (
	KindInternal     Kind = iota // a bug or an unexpected vendor answer
	KindNotFound                 // the user does not exist upstream
	KindConflict                 // the email is already taken upstream
	KindSeatLimit                // the vendor plan has no free seat
	KindRejected                 // the vendor refused the values (validation)
	KindUnauthorized             // the bridge's own vendor credentials were refused
	KindRateLimited              // the vendor is throttling
	KindUnavailable              // the vendor is down, timing out or answering 5xx
)

var kindNames = [...]string{"internal", "not_found", "conflict", "seat_limit", "rejected", "unauthorized", "rate_limited", "unavailable"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Retryable reports whether an idempotent call failing with this kind may succeed if tried again.
func (k Kind) Retryable() bool { return k == KindRateLimited || k == KindUnavailable }

// Error is the only error type adapters return.
type Error struct {
	Kind       Kind
	Op         string        // "trainual: update user"
	Status     int           // upstream HTTP status; 0 for transport errors
	RetryAfter time.Duration // the vendor's hint or our estimate; 0 when none
	// Ambiguous says the request may have been applied although it failed (timeout, reset, 5xx after sending), so a
	// create must not be sent again before looking for its effect.
	Ambiguous bool
	// Detail is the vendor's own reason for refusing values ("email is invalid"), cleaned for showing to the IdP;
	// "" when the vendor gave none.
	Detail string
	Err    error // cause, already free of secrets and query strings
}

func (e *Error) Error() string {
	s := e.Op + ": " + e.Kind.String()
	if e.Status != 0 {
		s += fmt.Sprintf(" (status %d)", e.Status)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotFound) and friends match any *Error of the same Kind.
func (e *Error) Is(target error) bool {
	var k kindSentinel
	if errors.As(target, &k) {
		return e.Kind == Kind(k)
	}
	return false
}

type kindSentinel Kind

func (k kindSentinel) Error() string { return "adapters: " + Kind(k).String() }

// Sentinels for errors.Is; they match any *Error of their Kind.
var (
	ErrNotFound     error = kindSentinel(KindNotFound)
	ErrConflict     error = kindSentinel(KindConflict)
	ErrSeatLimit    error = kindSentinel(KindSeatLimit)
	ErrRejected     error = kindSentinel(KindRejected)
	ErrUnauthorized error = kindSentinel(KindUnauthorized)
	ErrRateLimited  error = kindSentinel(KindRateLimited)
	ErrUnavailable  error = kindSentinel(KindUnavailable)
)

// KindOf returns the Kind of err, or KindInternal for errors that are not *Error.
func KindOf(err error) Kind {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Kind
	}
	return KindInternal
}

// Errorf builds an *Error of the given kind.
func Errorf(kind Kind, op string, format string, args ...any) *Error {
	return &Error{Kind: kind, Op: op, Err: fmt.Errorf(format, args...)}
}
