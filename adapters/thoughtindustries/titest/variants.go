package titest

import (
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Variant makes the tenant differ in one way from the Thought Industries the adapter assumes, so that a test can
// show that `scim-bridge doctor` notices, and says the right thing. The zero Variant is the emulator described in
// the package documentation.
type Variant struct {
	// IgnoreEmailFilter answers GET /users?email= with everyone, as if the parameter had another name.
	IgnoreEmailFilter bool
	// CaseSensitiveEmailFilter matches ?email= only in the case the address is stored in.
	CaseSensitiveEmailFilter bool
	// DefaultPerPage and MaxPerPage replace the seed's 25 and 100.
	DefaultPerPage, MaxPerPage int
	// DuplicateStatus refuses a duplicate e-mail with this status instead of 422; DuplicateMessage, when set,
	// replaces "Email has already been taken".
	DuplicateStatus  int
	DuplicateMessage string
	// DropFields are accepted by create and update but never stored (e.g. "language").
	DropFields []string
	// SoftDelete makes DELETE /users/{id} deactivate the user and keep them, instead of deleting for good.
	SoftDelete bool
	// NoEcho answers POST and PUT with their status and an empty body.
	NoEcho bool
}

// variants holds the Variant in force; it is read without the emulator's lock, which handlers already hold.
type variants struct{ p atomic.Pointer[Variant] }

// SetVariant changes how the tenant behaves from the next request on.
func (e *Emulator) SetVariant(v Variant) {
	v.DropFields = slices.Clone(v.DropFields)
	e.variants.p.Store(&v)
}

func (e *Emulator) variant() Variant {
	if v := e.variants.p.Load(); v != nil {
		return *v
	}
	return Variant{}
}

func (e *Emulator) defaultPerPage() int {
	if n := e.variant().DefaultPerPage; n > 0 {
		return n
	}
	return DefaultPerPage
}

func (e *Emulator) maxPerPage() int {
	if n := e.variant().MaxPerPage; n > 0 {
		return n
	}
	return MaxPerPage
}

// emailMatches is the ?email= filter.
func (e *Emulator) emailMatches(stored, filter string) bool {
	v := e.variant()
	switch {
	case v.IgnoreEmailFilter:
		return true
	case v.CaseSensitiveEmailFilter:
		return stored == filter
	}
	return strings.EqualFold(stored, filter)
}

// writeTaken refuses a duplicate e-mail.
func (e *Emulator) writeTaken(w http.ResponseWriter) {
	v := e.variant()
	status, msg := http.StatusUnprocessableEntity, msgDuplicateEmail
	if v.DuplicateStatus != 0 {
		status = v.DuplicateStatus
	}
	if v.DuplicateMessage != "" {
		msg = v.DuplicateMessage
	}
	writeError(w, status, msg)
}

// echo answers a create or an update.
func (e *Emulator) echo(w http.ResponseWriter, status int, body map[string]any) {
	if e.variant().NoEcho {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, body)
}

// drop undoes the fields a variant does not store: next takes them from prev (zero for a create).
func (e *Emulator) drop(next, prev *record) {
	if prev == nil {
		prev = &record{}
	}
	for _, f := range e.variant().DropFields {
		switch f {
		case "firstName":
			next.firstName = prev.firstName
		case "lastName":
			next.lastName = prev.lastName
		case "role":
			next.role = prev.role
		case "ssoId":
			next.ssoID = prev.ssoID
		case "avatarUrl":
			next.avatarURL = prev.avatarURL
		case "language":
			next.language = prev.language
		}
	}
}

// softDelete deactivates instead of deleting when the variant says so, and reports whether it answered. e.mu must
// be held and the user must exist.
func (e *Emulator) softDelete(w http.ResponseWriter, id string) bool {
	if !e.variant().SoftDelete {
		return false
	}
	u := e.users[id]
	u.active, u.updatedAt = false, time.Now().UTC()
	writeJSON(w, http.StatusOK, map[string]any{"success": true})
	return true
}
