package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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

	// sqlAppend takes the namespace's next seq from audit_seq and inserts the event with it, in one statement. The
	// upsert locks the namespace's audit_seq row until the statement commits, so appends from every replica take
	// seqs in the order they commit: a reader that sees a seq has seen every smaller one, and paging by After
	// never steps over an event that commits later. audit_seq outlives pruned events, so no seq is given twice.
	sqlAppend = `WITH next AS (
			INSERT INTO audit_seq (namespace, last_seq) VALUES ($1, 1)
			ON CONFLICT (namespace) DO UPDATE SET last_seq = audit_seq.last_seq + 1 RETURNING last_seq)
		INSERT INTO audit_events (namespace, seq, time_ms, request_id, credential, operation, user_id, user_name,
			user_name_fold, attributes, result)
		VALUES ($1, (SELECT last_seq FROM next), $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING seq`
	sqlPrune = `DELETE FROM audit_events WHERE namespace = $1 AND time_ms < $2`
	// "NOT deleted" is spelled as in the live-userName partial index, which answers the count alone.
	sqlCountLive = `SELECT count(*) FROM links WHERE namespace = $1 AND NOT deleted`

	// $1 namespace, $2 since (ms), $3 reason. A guard that holds already keeps its since and reason; the upsert
	// locks the row either way, so the state read after it in the same transaction is the one in force.
	sqlTripGuard = `INSERT INTO guard (namespace, held, since_ms, reason) VALUES ($1, true, $2, $3)
		ON CONFLICT (namespace) DO UPDATE SET held = true, since_ms = excluded.since_ms, reason = excluded.reason
		WHERE NOT guard.held`
	sqlGuardState   = `SELECT held, since_ms, reason FROM guard WHERE namespace = $1`
	sqlReleaseGuard = `UPDATE guard SET held = false, since_ms = 0, reason = '' WHERE namespace = $1 AND held`
)

// Append implements store.AuditLog.
func (s *Store) Append(ctx context.Context, e store.AuditEvent) (store.AuditEvent, error) {
	e, err := engine.NormalizeEvent(e)
	if err != nil {
		return store.AuditEvent{}, fmt.Errorf("pgstore: append audit event: %w", err)
	}
	attrs, err := engine.AttributesArg(e.Attributes)
	if err != nil {
		return store.AuditEvent{}, fmt.Errorf("pgstore: append audit event: %w", err)
	}
	if err := s.pool.QueryRow(ctx, sqlAppend, s.ns, e.Time.UnixMilli(), e.RequestID, e.Credential, e.Operation,
		e.UserID, e.UserName, store.Fold(e.UserName), attrs, e.Result).Scan(&e.Seq); err != nil {
		return store.AuditEvent{}, fmt.Errorf("pgstore: append audit event: %w", err)
	}
	return e, nil
}

// Events implements store.AuditLog.
func (s *Store) Events(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	limit, err := engine.AuditLimit(q.Limit)
	if err != nil {
		return nil, fmt.Errorf("pgstore: audit events: %w", err)
	}
	query, args := eventsQuery(s.ns, q, limit)
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: audit events: %w", err)
	}
	defer rows.Close()
	events := []store.AuditEvent{}
	for rows.Next() {
		e, err := engine.ScanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("pgstore: audit events: %w", err)
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: audit events: %w", err)
	}
	return events, nil
}

// CountSince implements store.AuditLog. With no operations it counts events of every operation.
func (s *Store) CountSince(ctx context.Context, since time.Time, okOnly bool, operations ...string) (int, error) {
	query, args := countSinceQuery(s.ns, since, okOnly, operations)
	var n int
	if err := s.pool.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgstore: count audit events: %w", err)
	}
	return n, nil
}

// Prune implements store.AuditLog.
func (s *Store) Prune(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, sqlPrune, s.ns, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("pgstore: prune audit events: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// LastAuditSeq returns the last seq the namespace's audit trail handed out (0 if none), even when its event has
// been pruned: migrate-store carries it over so that the copy never gives a seq twice either.
func (s *Store) LastAuditSeq(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(last_seq), 0) FROM audit_seq WHERE namespace = $1`,
		s.ns).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgstore: last audit seq: %w", err)
	}
	return n, nil
}

// GuardState implements store.Guard; a guard that does not hold reads as the zero GuardState.
func (s *Store) GuardState(ctx context.Context) (store.GuardState, error) {
	st, err := scanGuard(s.pool.QueryRow(ctx, sqlGuardState, s.ns))
	if err != nil {
		return store.GuardState{}, fmt.Errorf("pgstore: guard state: %w", err)
	}
	return st, nil
}

// TripGuard implements store.Guard. A zero at means now. Of replicas tripping at once, the first to commit sets
// since and reason and every one returns them.
func (s *Store) TripGuard(ctx context.Context, at time.Time, reason string) (store.GuardState, error) {
	at = engine.EventTime(at)
	var st store.GuardState
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlTripGuard, s.ns, at.UnixMilli(), engine.CleanText(reason)); err != nil {
			return err
		}
		var err error
		st, err = scanGuard(tx.QueryRow(ctx, sqlGuardState, s.ns))
		return err
	})
	if err != nil {
		return store.GuardState{}, fmt.Errorf("pgstore: trip guard: %w", err)
	}
	return st, nil
}

// ReleaseGuard implements store.Guard.
func (s *Store) ReleaseGuard(ctx context.Context) (bool, error) {
	tag, err := s.pool.Exec(ctx, sqlReleaseGuard, s.ns)
	if err != nil {
		return false, fmt.Errorf("pgstore: release guard: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// CountLive implements store.LinkCounter.
func (s *Store) CountLive(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, sqlCountLive, s.ns).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgstore: count live links: %w", err)
	}
	return n, nil
}

// eventsQuery is the query Events runs, with only the conditions q sets, so that the planner can match each to
// its index: a user is two index ranges, one on user_id and one on user_name_fold (each (namespace, column, seq),
// so After narrows them too), merged by UNION; a time reads the time index or the primary key, as the planner's
// statistics say.
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
	const sel = `SELECT ` + eventColumns + ` FROM audit_events WHERE namespace = $1`
	if q.User != "" {
		user := engine.CleanText(q.User)
		return sel + ` AND user_id = ` + arg(user) + cond +
			` UNION ` + sel + ` AND user_name_fold = ` + arg(store.Fold(user)) + cond +
			` ORDER BY seq LIMIT ` + arg(limit), args
	}
	return sel + cond + ` ORDER BY seq LIMIT ` + arg(limit), args
}

// countSinceQuery is the query CountSince runs: the operations as one placeholder each, which the operation
// index answers with a range per operation.
func countSinceQuery(ns string, since time.Time, okOnly bool, operations []string) (string, []any) {
	var b strings.Builder
	args := []any{ns, since.UnixMilli()}
	b.WriteString(`SELECT count(*) FROM audit_events WHERE namespace = $1 AND time_ms >= $2`)
	if ops := engine.UniqueOps(operations); len(ops) > 0 {
		b.WriteString(` AND operation IN (`)
		for i, op := range ops {
			if i > 0 {
				b.WriteString(", ")
			}
			args = append(args, engine.CleanText(op))
			b.WriteString("$" + strconv.Itoa(len(args)))
		}
		b.WriteString(`)`)
	}
	if okOnly {
		b.WriteString(` AND result = 'ok'`)
	}
	return b.String(), args
}

func scanGuard(row pgx.Row) (store.GuardState, error) {
	var (
		held    bool
		sinceMS int64
		reason  string
	)
	err := row.Scan(&held, &sinceMS, &reason)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !held) {
		return store.GuardState{}, nil
	}
	if err != nil {
		return store.GuardState{}, err
	}
	return store.GuardState{Held: true, Since: time.UnixMilli(sinceMS).UTC(), Reason: reason}, nil
}
