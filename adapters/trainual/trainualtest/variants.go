package trainualtest

import (
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
)

// Variant makes the emulator differ in one way from the Trainual the adapter assumes, so that a test can show that
// `scim-bridge doctor` notices, and says the right thing. The zero Variant is the emulator described on Emulator.
type Variant struct {
	// IgnoreEmailFilter answers GET /users?email= with everyone, as if Trainual named the parameter otherwise.
	IgnoreEmailFilter bool
	// CaseSensitiveEmailFilter matches ?email= only in the case the address is stored in.
	CaseSensitiveEmailFilter bool
	// PageSize serves this many users a page instead of PageSize.
	PageSize int
	// DuplicateStatus refuses a duplicate e-mail with this status instead of 422; DuplicateMessage, when set,
	// replaces "Email has already been taken".
	DuplicateStatus  int
	DuplicateMessage string
	// DropFields are accepted by create and update but never stored, as Rails drops unpermitted parameters
	// (e.g. "department").
	DropFields []string
	// HardDelete makes DELETE /users/{id} remove the user instead of deactivating them.
	HardDelete bool
	// NoEcho answers POST and PATCH with their status and an empty body.
	NoEcho bool
}

// variants holds the Variant in force; it is read without the emulator's lock, which handlers already hold.
type variants struct{ p atomic.Pointer[Variant] }

// SetVariant changes how the emulator behaves from the next request on.
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

func (e *Emulator) pageSize() int {
	if n := e.variant().PageSize; n > 0 {
		return n
	}
	return PageSize
}

// emailMatches is the ?email= filter: empty matches everyone.
func (e *Emulator) emailMatches(stored, filter string) bool {
	v := e.variant()
	switch {
	case filter == "" || v.IgnoreEmailFilter:
		return true
	case v.CaseSensitiveEmailFilter:
		return stored == filter
	}
	return strings.EqualFold(stored, filter)
}

// writeTaken refuses a duplicate e-mail.
func (e *Emulator) writeTaken(w http.ResponseWriter) {
	v := e.variant()
	status, msg := http.StatusUnprocessableEntity, msgTaken
	if v.DuplicateStatus != 0 {
		status = v.DuplicateStatus
	}
	if v.DuplicateMessage != "" {
		msg = v.DuplicateMessage
	}
	writeJSON(w, status, map[string]any{"errors": []string{msg}})
}

// echo answers a create or an update.
func (e *Emulator) echo(w http.ResponseWriter, status int, body map[string]any) {
	if e.variant().NoEcho {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, body)
}

// drop undoes the fields a variant does not store: next takes them from prev (zero for a create) and the
// short answer does not mention them. e.mu must be held.
func (e *Emulator) drop(next, prev *record, short map[string]any) {
	if prev == nil {
		prev = &record{}
	}
	for _, f := range e.variant().DropFields {
		switch f {
		case "first_name":
			next.firstName = prev.firstName
		case "last_name":
			next.lastName = prev.lastName
		case "title":
			next.title = prev.title
		case "department":
			next.department = prev.department
		case "role":
			next.role = prev.role
		}
		delete(short, f)
	}
}

// hardDelete removes rec when the variant deletes instead of deactivating. e.mu must be held.
func (e *Emulator) hardDelete(rec *record) {
	if rec != nil && e.variant().HardDelete {
		delete(e.users, rec.id)
	}
}
