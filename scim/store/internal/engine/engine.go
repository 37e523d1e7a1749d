// Package engine holds what the SQLite and Postgres stores do alike whatever their SQL dialect and driver:
// validating what they are given, the clock they stamp rows with, planning member changes and normalising audit
// events. Keeping it in one place is what keeps the two engines' answers the same for the conformance suite.
package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scim-bridge/scim-bridge/scim/store"
)

// ValidateLink refuses a link no store keeps.
func ValidateLink(l store.Link) error {
	switch {
	case l.ID == "":
		return errors.New("empty id")
	case l.UserName == "":
		return errors.New("empty userName")
	}
	return nil
}

// ValidateGroup refuses a group no store keeps.
func ValidateGroup(g store.Group) error {
	switch {
	case g.ID == "":
		return errors.New("empty id")
	case g.DisplayName == "":
		return errors.New("empty displayName")
	}
	return nil
}

// NowMillis is the stores' clock at the precision they keep, without a monotonic reading, so that a Link or Group
// returned by a write compares equal to the same one read back.
func NowMillis() time.Time {
	return time.UnixMilli(time.Now().UnixMilli()).UTC()
}

// NextModified is the stores' clock, but always after prev: Modified feeds Last-Modified and ETags, so it must move
// even when two changes share a millisecond or the replicas' clocks disagree.
func NextModified(prev time.Time) time.Time {
	now := NowMillis()
	if !now.After(prev) {
		return prev.Add(time.Millisecond)
	}
	return now
}

// ExtrasArg binds extras as text (Postgres text, not a blob), keeping nil as NULL.
func ExtrasArg(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

// CheckUserIDs refuses ids no user can have before anything is applied: an empty id, and bytes that are not UTF-8
// (Postgres cannot store them, and the JSON array that carries them to SQLite would alter them).
func CheckUserIDs(lists ...[]string) error {
	for _, list := range lists {
		for _, id := range list {
			if id == "" {
				return errors.New("empty user id")
			}
			if !utf8.ValidString(id) {
				return fmt.Errorf("user id %q is not UTF-8", id)
			}
		}
	}
	return nil
}

// PlanChanges turns ChangeMembers' lists into the ids to insert and the ids to delete, each without repeats and in
// the order given. A user in both lists is removed, then added: a member afterwards either way, so it is only
// inserted, and reported as added only if it was not a member before.
func PlanChanges(add, remove []string) (ins, del []string) {
	ins = unique(add)
	inAdd := make(map[string]bool, len(ins))
	for _, id := range ins {
		inAdd[id] = true
	}
	for _, id := range unique(remove) {
		if !inAdd[id] {
			del = append(del, id)
		}
	}
	return ins, del
}

// InOrder returns the ids of want that are in got, in want's order (RETURNING promises no order); never nil.
func InOrder(want, got []string) []string {
	in := make(map[string]bool, len(got))
	for _, id := range got {
		in[id] = true
	}
	out := make([]string, 0, len(got))
	for _, id := range want {
		if in[id] {
			out = append(out, id)
		}
	}
	return out
}

// unique returns ids without repeats, in the order of first appearance.
func unique(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// DefaultAuditLimit is how many events Events returns when the query sets no Limit.
const DefaultAuditLimit = 1000

// AuditLimit is the number of events a query with the given Limit returns at most.
func AuditLimit(limit int) (int, error) {
	switch {
	case limit < 0:
		return 0, fmt.Errorf("limit %d is negative", limit)
	case limit == 0:
		return DefaultAuditLimit, nil
	}
	return limit, nil
}

// UniqueOps returns CountSince's operations sorted and without repeats, one placeholder each.
func UniqueOps(ops []string) []string {
	out := slices.Clone(ops)
	slices.Sort(out)
	return slices.Compact(out)
}

// NormalizeEvent makes e what the stores keep: its time in UTC at millisecond precision (now, if the caller set
// none, so that a deprovisioning is never recorded outside every window the guard measures), text that either
// engine stores unchanged, and its own copy of the attribute names.
func NormalizeEvent(e store.AuditEvent) (store.AuditEvent, error) {
	if e.Operation == "" {
		return store.AuditEvent{}, errors.New("empty operation")
	}
	e.Seq = 0
	e.Time = EventTime(e.Time)
	for _, p := range []*string{&e.RequestID, &e.Credential, &e.Operation, &e.UserID, &e.UserName, &e.Result} {
		*p = CleanText(*p)
	}
	if e.Attributes != nil {
		attrs := make([]string, len(e.Attributes))
		for i, a := range e.Attributes {
			attrs[i] = CleanText(a)
		}
		e.Attributes = attrs
	}
	return e, nil
}

// EventTime is t in UTC at the millisecond precision the stores keep, or their clock for a zero t.
func EventTime(t time.Time) time.Time {
	if t.IsZero() {
		return NowMillis()
	}
	return time.UnixMilli(t.UnixMilli()).UTC()
}

// CleanText replaces what Postgres text cannot hold (bytes that are not UTF-8, NUL) with U+FFFD, so that both
// engines keep the same event and an odd userName never costs an audit record.
func CleanText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// AttributesArg encodes attribute names as a JSON array, keeping nil (NULL) apart from empty ("[]").
func AttributesArg(attrs []string) (any, error) {
	if attrs == nil {
		return nil, nil
	}
	b, err := json.Marshal(attrs)
	if err != nil {
		return nil, fmt.Errorf("encode attributes: %w", err)
	}
	return string(b), nil
}

// ScanEvent reads a row of the columns seq, time_ms, request_id, credential, operation, user_id, user_name,
// attributes, result, as either driver's rows answer Scan.
func ScanEvent(row interface{ Scan(...any) error }) (store.AuditEvent, error) {
	var (
		e      store.AuditEvent
		timeMS int64
		attrs  *string // NULL (nil attributes) apart from "[]"
	)
	if err := row.Scan(&e.Seq, &timeMS, &e.RequestID, &e.Credential, &e.Operation, &e.UserID, &e.UserName, &attrs,
		&e.Result); err != nil {
		return store.AuditEvent{}, err
	}
	e.Time = time.UnixMilli(timeMS).UTC()
	if attrs != nil {
		if err := json.Unmarshal([]byte(*attrs), &e.Attributes); err != nil {
			return store.AuditEvent{}, fmt.Errorf("event %d: attributes: %w", e.Seq, err)
		}
	}
	return e, nil
}

// CheckSchemaVersion refuses a database whose newest recorded migration is beyond the known steps: one migrated
// by a newer binary may hold columns or constraints this one would violate.
func CheckSchemaVersion(newest int64, known int) error {
	if newest > int64(known) {
		return fmt.Errorf("migrate: database schema version %d is newer than this binary's %d", newest, known)
	}
	return nil
}
