package provision

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies what provision refuses; scim/errors.go maps each to one HTTP status and SCIM scimType.
type Kind int

// The kinds of refusal.
const (
	KindInvalid      Kind = iota + 1 // the request's values cannot be provisioned (400 invalidValue)
	KindUniqueness                   // the userName or the vendor account belongs to another user (409 uniqueness)
	KindNotFound                     // no such user, or the vendor no longer has it (404)
	KindPrecondition                 // If-Match names another version (412)
	KindHeld                         // the mass-deprovisioning guard holds deactivations and deletions (503)
)

// Error is a refusal with a detail written for the IdP's administrator: it never holds a vendor answer or a
// secret.
type Error struct {
	Kind   Kind
	Detail string
	// RetryAfter tells the IdP when to try again (KindHeld).
	RetryAfter time.Duration
}

func (e *Error) Error() string { return fmt.Sprintf("provision: %s", e.Detail) }

// Is makes errors.Is(err, ErrPrecondition) match any *Error of the same Kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Detail == "" && t.Kind == e.Kind
}

// ErrPrecondition is returned when an If-Match header names another version.
var ErrPrecondition error = &Error{Kind: KindPrecondition}

func invalidValue(detail string) error { return &Error{Kind: KindInvalid, Detail: detail} }
func uniqueness(detail string) error   { return &Error{Kind: KindUniqueness, Detail: detail} }
func notFound(id string) error {
	return &Error{Kind: KindNotFound, Detail: fmt.Sprintf("Resource %s not found.", id)}
}

func isNotFound(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && e.Kind == KindNotFound
}
