package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/scim/store"
	"github.com/scim-bridge/scim-bridge/scim/store/internal/engine"
)

var (
	_ store.AuditLog    = (*Store)(nil)
	_ store.Guard       = (*Store)(nil)
	_ store.LinkCounter = (*Store)(nil)
)

const (
	eventColumns = `seq, time_ms, request_id, credential, operation, user_id, user_name, attributes, result`

	// sqlNextSeq hands out the namespace's next seq ($1 namespace). audit_seq keeps the last one even when Prune
	// has deleted every event, so a seq is never given twice.
	sqlNextSeq = `INSERT INTO audit_seq (namespace, last_seq) VALUES ($1, 1)
		ON CONFLICT (namespace) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq`
	sqlInsertEvent = `INSERT INTO audit_events (namespace, seq, time_ms, request_id, credential, operation, user_id,
		user_name, user_name_fold, attributes, result) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`
	sqlPrune     = `DELETE FROM audit_events INDEXED BY audit_events_time WHERE namespace = $1 AND time_ms < $2`
	sqlCountLive = `SELECT count(*) FROM links WHERE namespace = $1 AND deleted = 0`

	// $1 namespace, $2 since (ms), $3 reason. A guard that holds already keeps its since and reason.
	sqlTripGuard = `INSERT INTO guard (namespace, held, since_ms, reason) VALUES ($1, 1, $2, $3)
		ON CONFLICT (namespace) DO UPDATE SET held = 1, since_ms = excluded.since_ms, reason = excluded.reason
		WHERE held = 0`
	sqlGuardState   = `SELECT held, since_ms, reason FROM guard WHERE namespace = $1`
	sqlReleaseGuard = `UPDATE guard SET held = 0, since_ms = 0, reason = '' WHERE namespace = $1 AND held = 1`
)

// Append implements store.AuditLog. The event's seq comes from audit_seq in the same write transaction, so seqs
// are ascending in the order events commit, and a reader that sees one has seen every smaller one.
func (s *Store) Append(ctx context.Context, e store.AuditEvent) (_ store.AuditEvent, err error) {
	e, err = engine.NormalizeEvent(e)
	if err != nil {
		return store.AuditEvent{}, fmt.Errorf("sqlstore: append audit event: %w", err)
	}
	attrs, err := engine.AttributesArg(e.Attributes)
	if err != nil {
		return store.AuditEvent{}, fmt.Errorf("sqlstore: append audit event: %w", err)
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return store.AuditEvent{}, fmt.Errorf("sqlstore: append audit event: begin: %w", err)
	}
	defer endTx(tx, &err)
	if err := tx.StmtContext(ctx, s.st.nextSeq).QueryRowContext(ctx, s.ns).Scan(&e.Seq); err != nil {
		return store.AuditEvent{}, fmt.Errorf("sqlstore: append audit event: next seq: %w", err)
	}
	if _, err := tx.StmtContext(ctx, s.st.insertEvent).ExecContext(ctx, s.ns, e.Seq, e.Time.UnixMilli(), e.RequestID,
		e.Credential, e.Operation, e.UserID, e.UserName, store.Fold(e.UserName), attrs, e.Result); err != nil {
		return store.AuditEvent{}, fmt.Errorf("sqlstore: append audit event: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return store.AuditEvent{}, fmt.Errorf("sqlstore: append audit event: commit: %w", err)
	}
	return e, nil
}

// Events implements store.AuditLog.
func (s *Store) Events(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	limit, err := engine.AuditLimit(q.Limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: audit events: %w", err)
	}
	query, args := eventsQuery(s.ns, q, limit)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: audit events: %w", err)
	}
	defer rows.Close()
	events := []store.AuditEvent{}
	for rows.Next() {
		e, err := engine.ScanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: audit events: %w", err)
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: audit events: %w", err)
	}
	return events, nil
}

// CountSince implements store.AuditLog. With no operations it counts events of every operation.
func (s *Store) CountSince(ctx context.Context, since time.Time, okOnly bool, operations ...string) (int, error) {
	query, args := countSinceQuery(s.ns, since, okOnly, operations)
	var n int
	if err := s.r.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count audit events: %w", err)
	}
	return n, nil
}

// Prune implements store.AuditLog.
func (s *Store) Prune(ctx context.Context, before time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, sqlPrune, s.ns, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("sqlstore: prune audit events: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: prune audit events: %w", err)
	}
	return int(n), nil
}

// LastAuditSeq returns the last seq the namespace's audit trail handed out (0 if none), even when its event has
// been pruned: migrate-store carries it over so that the copy never gives a seq twice either.
func (s *Store) LastAuditSeq(ctx context.Context) (int64, error) {
	var n int64
	if err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(last_seq), 0) FROM audit_seq WHERE namespace = $1`,
		s.ns).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: last audit seq: %w", err)
	}
	return n, nil
}

// GuardState implements store.Guard; a guard that does not hold reads as the zero GuardState.
func (s *Store) GuardState(ctx context.Context) (store.GuardState, error) {
	st, err := scanGuard(s.r.QueryRowContext(ctx, sqlGuardState, s.ns))
	if err != nil {
		return store.GuardState{}, fmt.Errorf("sqlstore: guard state: %w", err)
	}
	return st, nil
}

// TripGuard implements store.Guard. A zero at means now. The write transaction holds the database's write lock,
// so of two replicas tripping at once the first one's since and reason stand and both return them.
func (s *Store) TripGuard(ctx context.Context, at time.Time, reason string) (_ store.GuardState, err error) {
	at = engine.EventTime(at)
	tx, err := s.begin(ctx)
	if err != nil {
		return store.GuardState{}, fmt.Errorf("sqlstore: trip guard: begin: %w", err)
	}
	defer endTx(tx, &err)
	if _, err := tx.ExecContext(ctx, sqlTripGuard, s.ns, at.UnixMilli(), engine.CleanText(reason)); err != nil {
		return store.GuardState{}, fmt.Errorf("sqlstore: trip guard: %w", err)
	}
	st, err := scanGuard(tx.QueryRowContext(ctx, sqlGuardState, s.ns))
	if err != nil {
		return store.GuardState{}, fmt.Errorf("sqlstore: trip guard: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return store.GuardState{}, fmt.Errorf("sqlstore: trip guard: commit: %w", err)
	}
	return st, nil
}

// ReleaseGuard implements store.Guard.
func (s *Store) ReleaseGuard(ctx context.Context) (bool, error) {
	res, err := s.w.ExecContext(ctx, sqlReleaseGuard, s.ns)
	if err != nil {
		return false, fmt.Errorf("sqlstore: release guard: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: release guard: %w", err)
	}
	return n > 0, nil
}

// CountLive implements store.LinkCounter. "deleted = 0" is spelled as in the live-userName partial index, which
// answers the count alone.
func (s *Store) CountLive(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, sqlCountLive, s.ns).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count live links: %w", err)
	}
	return n, nil
}

// eventsQuery is the query Events runs, with only the conditions q sets. Without statistics SQLite would rather
// walk the namespace's whole trail in seq order than sort a few rows, so the indexes are named: a user is two index
// ranges, on (namespace, user_id, seq) and (namespace, user_name_fold, seq), which After narrows too, merged in seq
// order by UNION; a first page since a time reads the time index; everything else walks the primary key from After
// (a later page since a time starts just past the previous one, where the events are that recent).
func eventsQuery(ns string, q store.AuditQuery, limit int) (string, []any) {
	args := []any{ns}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var cond string
	if q.After > 0 {
		cond += ` AND seq > ` + arg(q.After)
	}
	if !q.Since.IsZero() {
		cond += ` AND time_ms >= ` + arg(q.Since.UnixMilli())
	}
	from := func(index string) string {
		s := `SELECT ` + eventColumns + ` FROM audit_events`
		if index != "" {
			s += ` INDEXED BY ` + index
		}
		return s + ` WHERE namespace = $1`
	}
	if q.User != "" {
		user := engine.CleanText(q.User)
		return from("audit_events_user_id") + ` AND user_id = ` + arg(user) + cond +
			` UNION ` + from("audit_events_user_name") + ` AND user_name_fold = ` + arg(store.Fold(user)) + cond +
			` ORDER BY seq LIMIT ` + arg(limit), args
	}
	index := ""
	if q.After == 0 && !q.Since.IsZero() {
		index = "audit_events_time"
	}
	return from(index) + cond + ` ORDER BY seq LIMIT ` + arg(limit), args
}

// countSinceQuery is the query CountSince runs: the operations as one placeholder each, which the operation index
// (namespace, operation, time_ms, result) answers alone with a range per operation.
func countSinceQuery(ns string, since time.Time, okOnly bool, operations []string) (string, []any) {
	var b strings.Builder
	args := []any{ns, since.UnixMilli()}
	ops := engine.UniqueOps(operations)
	if len(ops) > 0 {
		b.WriteString(`SELECT count(*) FROM audit_events INDEXED BY audit_events_operation WHERE namespace = $1
			AND time_ms >= $2 AND operation IN (`)
		for i, op := range ops {
			if i > 0 {
				b.WriteString(", ")
			}
			args = append(args, engine.CleanText(op))
			b.WriteString("$" + strconv.Itoa(len(args)))
		}
		b.WriteString(`)`)
	} else {
		b.WriteString(`SELECT count(*) FROM audit_events INDEXED BY audit_events_time WHERE namespace = $1
			AND time_ms >= $2`)
	}
	if okOnly {
		b.WriteString(` AND result = 'ok'`)
	}
	return b.String(), args
}

func scanGuard(row *sql.Row) (store.GuardState, error) {
	var (
		held    int64
		sinceMS int64
		reason  string
	)
	err := row.Scan(&held, &sinceMS, &reason)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && held == 0) {
		return store.GuardState{}, nil
	}
	if err != nil {
		return store.GuardState{}, err
	}
	return store.GuardState{Held: true, Since: time.UnixMilli(sinceMS).UTC(), Reason: reason}, nil
}
