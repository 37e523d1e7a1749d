package pgstore

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/scim-bridge/scim-bridge/scim/store"
	"github.com/scim-bridge/scim-bridge/scim/store/internal/engine"
)

// Record is one link with the namespace it belongs to, as Import takes it.
type Record struct {
	Namespace string
	Link      store.Link
}

// GroupRecord is one group with its namespace.
type GroupRecord struct {
	Namespace string
	Group     store.Group
}

// MemberRecord is one membership: a user of a group of a namespace.
type MemberRecord struct {
	Namespace, GroupID, UserID string
}

// EventRecord is one audit event with its namespace; its Seq is kept.
type EventRecord struct {
	Namespace string
	Event     store.AuditEvent
}

// StateRecord is what a namespace holds besides rows: its mass-deprovisioning guard's state, and the last seq its
// audit trail handed out, kept even when that event was pruned so that the copy never gives a seq twice.
type StateRecord struct {
	Namespace string
	Guard     store.GuardState
	LastSeq   int64
}

// Data is what Import copies. Each part is read once, in the order of the fields; a nil part copies nothing.
type Data struct {
	Links   iter.Seq2[Record, error]
	Groups  iter.Seq2[GroupRecord, error]
	Members iter.Seq2[MemberRecord, error] // each of a group Groups holds
	Events  iter.Seq2[EventRecord, error]
	States  iter.Seq2[StateRecord, error]
}

// Counts says how much Import copied.
type Counts struct {
	Links, Groups, Members, Events int
	Guards                         int // guards that hold
}

// ErrNotEmpty reports that Import found data already in the database.
var ErrNotEmpty = errors.New("the database is not empty")

// importTables are the tables Import fills, locked in this order.
var importTables = []string{"links", "groups", "group_members", "audit_events", "audit_seq", "guard"}

// Import copies links, groups and their members, audit events and each namespace's guard and audit seq into the
// database at dsn exactly as given (versions, timestamps, tombstones and seqs kept), in one transaction: either
// everything is copied or nothing is. It refuses, with ErrNotEmpty naming what it found, a database that already
// holds any of them in any namespace, so that running it twice cannot mix two copies, and it keeps every other
// writer out of those tables while it copies.
func Import(ctx context.Context, dsn string, d Data) (Counts, error) {
	cfg, err := parseConfig(dsn)
	if err != nil {
		return Counts{}, fmt.Errorf("pgstore: import: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return Counts{}, fmt.Errorf("pgstore: import: %s", redact(err.Error(), dsn))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := migrate(ctx, conn, migrations); err != nil {
		return Counts{}, fmt.Errorf("pgstore: import: %w", err)
	}
	var c Counts
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// SHARE ROW EXCLUSIVE conflicts with every write and with itself, so neither a replica nor a second
		// import can slip rows in between the emptiness check and the commit; readers carry on.
		if _, err := tx.Exec(ctx, `LOCK TABLE `+strings.Join(importTables, ", ")+` IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		if err := checkEmpty(ctx, tx); err != nil {
			return err
		}
		var err error
		if c.Links, err = copyRows(ctx, tx, "links", []string{"namespace", "id", "user_name", "user_name_fold",
			"external_id", "email", "email_fold", "extras", "deleted", "version", "created_ms", "modified_ms"},
			d.Links, func(r Record) ([]any, error) {
				if err := validateRecord(r); err != nil {
					return nil, err
				}
				l := r.Link
				return []any{r.Namespace, l.ID, l.UserName, store.Fold(l.UserName), l.ExternalID, l.Email,
					store.Fold(l.Email), engine.ExtrasArg(l.Extras), l.Deleted, l.Version, l.Created.UnixMilli(),
					l.Modified.UnixMilli()}, nil
			}); err != nil {
			return err
		}
		if c.Groups, err = copyRows(ctx, tx, "groups", []string{"namespace", "id", "display_name", "display_name_fold",
			"external_id", "extras", "version", "created_ms", "modified_ms"},
			d.Groups, func(r GroupRecord) ([]any, error) {
				if err := validateGroupRecord(r); err != nil {
					return nil, err
				}
				g := r.Group
				return []any{r.Namespace, g.ID, g.DisplayName, store.Fold(g.DisplayName), g.ExternalID,
					engine.ExtrasArg(g.Extras), g.Version, g.Created.UnixMilli(), g.Modified.UnixMilli()}, nil
			}); err != nil {
			return err
		}
		if c.Members, err = copyRows(ctx, tx, "group_members", []string{"namespace", "group_id", "user_id"},
			d.Members, func(r MemberRecord) ([]any, error) {
				if r.Namespace == "" || r.GroupID == "" {
					return nil, fmt.Errorf("membership of %q has no namespace or group", r.UserID)
				}
				if err := engine.CheckUserIDs([]string{r.UserID}); err != nil {
					return nil, fmt.Errorf("member of group %q: %w", r.GroupID, err)
				}
				return []any{r.Namespace, r.GroupID, r.UserID}, nil
			}); err != nil {
			return err
		}
		if c.Events, err = copyRows(ctx, tx, "audit_events", []string{"namespace", "seq", "time_ms", "request_id",
			"credential", "operation", "user_id", "user_name", "user_name_fold", "attributes", "result"},
			d.Events, func(r EventRecord) ([]any, error) {
				if r.Namespace == "" {
					return nil, fmt.Errorf("audit event %d has no namespace", r.Event.Seq)
				}
				if r.Event.Seq < 1 {
					return nil, fmt.Errorf("audit event in %q has seq %d", r.Namespace, r.Event.Seq)
				}
				if r.Event.Time.IsZero() {
					return nil, fmt.Errorf("audit event %d in %q has no time", r.Event.Seq, r.Namespace)
				}
				seq := r.Event.Seq
				e, err := engine.NormalizeEvent(r.Event)
				if err != nil {
					return nil, fmt.Errorf("audit event %d in %q: %w", seq, r.Namespace, err)
				}
				attrs, err := engine.AttributesArg(e.Attributes)
				if err != nil {
					return nil, fmt.Errorf("audit event %d in %q: %w", seq, r.Namespace, err)
				}
				return []any{r.Namespace, seq, e.Time.UnixMilli(), e.RequestID, e.Credential, e.Operation, e.UserID,
					e.UserName, store.Fold(e.UserName), attrs, e.Result}, nil
			}); err != nil {
			return err
		}
		if c.Guards, err = importStates(ctx, tx, d.States); err != nil {
			return err
		}
		// The trail goes on after the last seq copied, or the last the source had handed out if that is later.
		_, err = tx.Exec(ctx, `INSERT INTO audit_seq (namespace, last_seq)
			SELECT namespace, max(seq) FROM audit_events GROUP BY namespace
			ON CONFLICT (namespace) DO UPDATE SET last_seq = greatest(audit_seq.last_seq, excluded.last_seq)`)
		return err
	})
	if err != nil {
		return Counts{}, fmt.Errorf("pgstore: import: %w", err)
	}
	return c, nil
}

// copyRows copies the records of src into table with COPY and returns how many it copied. An error from src or
// from row stops the copy and is returned as it is.
func copyRows[R any](ctx context.Context, tx pgx.Tx, table string, columns []string, src iter.Seq2[R, error],
	row func(R) ([]any, error)) (int, error) {
	if src == nil {
		return 0, nil
	}
	next, stop := iter.Pull2(src)
	defer stop()
	var rowErr error
	n, err := tx.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromFunc(func() ([]any, error) {
		r, err, ok := next()
		if !ok {
			return nil, nil
		}
		if err == nil {
			var values []any
			if values, err = row(r); err == nil {
				return values, nil
			}
		}
		rowErr = err
		return nil, err
	}))
	if rowErr != nil {
		return 0, rowErr
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", table, mapErr(err))
	}
	return int(n), nil
}

// importStates writes each namespace's guard (if it holds) and last audit seq, and returns how many guards hold.
func importStates(ctx context.Context, tx pgx.Tx, src iter.Seq2[StateRecord, error]) (int, error) {
	if src == nil {
		return 0, nil
	}
	guards := 0
	for r, err := range src {
		if err != nil {
			return 0, err
		}
		if r.Namespace == "" {
			return 0, errors.New("a namespace state has no namespace")
		}
		if r.LastSeq < 0 {
			return 0, fmt.Errorf("namespace %q: last audit seq %d", r.Namespace, r.LastSeq)
		}
		if r.Guard.Held {
			if r.Guard.Since.IsZero() {
				return 0, fmt.Errorf("namespace %q: the guard holds since no time", r.Namespace)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO guard (namespace, held, since_ms, reason) VALUES ($1, true, $2, $3)`,
				r.Namespace, r.Guard.Since.UnixMilli(), engine.CleanText(r.Guard.Reason)); err != nil {
				return 0, fmt.Errorf("guard of %q: %w", r.Namespace, mapErr(err))
			}
			guards++
		}
		if r.LastSeq > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO audit_seq (namespace, last_seq) VALUES ($1, $2)`,
				r.Namespace, r.LastSeq); err != nil {
				return 0, fmt.Errorf("audit seq of %q: %w", r.Namespace, mapErr(err))
			}
		}
	}
	return guards, nil
}

// checkEmpty refuses a database that holds links, groups, an audit trail (even one pruned to nothing) or a guard
// that holds, naming what it found in which namespace.
func checkEmpty(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `
		SELECT 'links', namespace, count(*) FROM links GROUP BY namespace
		UNION ALL SELECT 'groups', namespace, count(*) FROM groups GROUP BY namespace
		UNION ALL SELECT 'audit events', namespace, count(*) FROM audit_events GROUP BY namespace
		UNION ALL SELECT 'an audit trail pruned to nothing', s.namespace, 0 FROM audit_seq s
			WHERE NOT EXISTS (SELECT FROM audit_events e WHERE e.namespace = s.namespace)
		UNION ALL SELECT 'a holding guard', namespace, 0 FROM guard WHERE held`)
	if err != nil {
		return err
	}
	type found struct {
		What, NS string
		N        int64
	}
	all, err := pgx.CollectRows(rows, pgx.RowToStructByPos[found])
	if err != nil {
		return err
	}
	if len(all) == 0 {
		return nil
	}
	order := []string{"links", "groups", "audit events", "an audit trail pruned to nothing", "a holding guard"}
	slices.SortFunc(all, func(a, b found) int {
		if d := slices.Index(order, a.What) - slices.Index(order, b.What); d != 0 {
			return d
		}
		return strings.Compare(a.NS, b.NS)
	})
	var parts, items []string
	for i, f := range all {
		item := fmt.Sprintf("%q", f.NS)
		if f.N > 0 {
			item = fmt.Sprintf("%d in %q", f.N, f.NS)
		}
		items = append(items, item)
		if i == len(all)-1 || all[i+1].What != f.What {
			parts = append(parts, fmt.Sprintf("%s (%s)", f.What, strings.Join(items, ", ")))
			items = nil
		}
	}
	return fmt.Errorf("%w: it already holds %s", ErrNotEmpty, strings.Join(parts, "; "))
}

func validateRecord(r Record) error {
	l := r.Link
	if r.Namespace == "" {
		return fmt.Errorf("link %q has no namespace", l.ID)
	}
	if err := engine.ValidateLink(l); err != nil {
		return fmt.Errorf("link %q: %w", l.ID, err)
	}
	switch {
	case l.Version < 1:
		return fmt.Errorf("link %q has version %d", l.ID, l.Version)
	case l.Created.IsZero() || l.Modified.IsZero():
		return fmt.Errorf("link %q has no timestamps", l.ID)
	}
	return nil
}

func validateGroupRecord(r GroupRecord) error {
	g := r.Group
	if r.Namespace == "" {
		return fmt.Errorf("group %q has no namespace", g.ID)
	}
	if err := engine.ValidateGroup(g); err != nil {
		return fmt.Errorf("group %q: %w", g.ID, err)
	}
	switch {
	case g.Version < 1:
		return fmt.Errorf("group %q has version %d", g.ID, g.Version)
	case g.Created.IsZero() || g.Modified.IsZero():
		return fmt.Errorf("group %q has no timestamps", g.ID)
	}
	return nil
}
