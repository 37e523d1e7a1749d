package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/scim/store"
	"github.com/scim-bridge/scim-bridge/scim/store/pgstore"
	"github.com/scim-bridge/scim-bridge/scim/store/sqlstore"
)

// sourceStore is a store migrate-store can copy everything from: the links, the groups and their members, the
// audit trail and the guard, and it can say which namespaces its database holds, so that every connection is
// copied, not only one.
type sourceStore interface {
	store.Store
	store.GroupStore
	store.AuditLog
	store.Guard
	Namespaces(ctx context.Context) ([]string, error)
	LastAuditSeq(ctx context.Context) (int64, error)
}

// copyPage is how many rows migrate-store reads per List, ListGroups, Members or Events call.
const copyPage = 500

// migrateStore implements `scim-bridge migrate-store --from <SQLite file or postgres:// URL> --to postgres://...`:
// it copies every namespace's links (tombstones included, versions and timestamps unchanged), groups and their
// members, audit trail (seqs unchanged) and guard state into a Postgres database that holds none of them, in one
// transaction, so that a one-instance deployment can grow into several replicas without re-linking anyone or losing
// its history.
func migrateStore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate-store", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the store to copy from: a SQLite file (today's SCIM_BRIDGE_DB) or a postgres:// URL")
	to := fs.String("to", "", "the postgres:// URL to copy into; it must hold no links, groups, audit trail or guard")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: scim-bridge migrate-store --from <SQLite file or postgres:// URL> --to postgres://...\n\n"+
			"Copies every link, group and membership, the audit trail and the guard state into an empty Postgres\n"+
			"database, all or nothing. Stop the instance that writes --from first: anything written during the copy\n"+
			"would be missed.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("migrate-store: unexpected argument %q", fs.Arg(0))
	}
	var problems []string
	switch {
	case *from == "":
		problems = append(problems, "--from is required: the SQLite file (or postgres:// URL) to copy from")
	case !pgstore.IsURL(*from) && !strings.HasPrefix(*from, "file:"):
		// Opening a SQLite path that does not exist would create an empty database and copy nothing.
		if _, err := os.Stat(*from); err != nil {
			problems = append(problems, fmt.Sprintf("--from: cannot use %s: %v", *from, errors.Unwrap(err)))
		}
	}
	switch {
	case *to == "":
		problems = append(problems, "--to is required: the postgres:// URL to copy into")
	case !pgstore.IsURL(*to):
		problems = append(problems, "--to must be a postgres:// URL: the store is copied into Postgres")
	case *to == *from:
		problems = append(problems, "--from and --to name the same database")
	}
	if len(problems) > 0 {
		return errors.New("migrate-store:\n  " + strings.Join(problems, "\n  "))
	}

	src, err := openSources(ctx, *from)
	if err != nil {
		return fmt.Errorf("migrate-store: --from: %w", err)
	}
	defer src.close()
	c, err := pgstore.Import(ctx, *to, src.data(ctx))
	if errors.Is(err, pgstore.ErrNotEmpty) {
		return fmt.Errorf("migrate-store: --to: %w; nothing was copied. migrate-store only fills an empty database, "+
			"so that it can never mix two copies: if an earlier run completed, everything is already there", err)
	}
	if err != nil {
		return fmt.Errorf("migrate-store: %w; nothing was copied", err)
	}
	fmt.Fprintf(stdout, "copied %d links, %d groups with %d memberships, %d audit events and %s from %s to %s\n",
		c.Links, c.Groups, c.Members, c.Events, guardsHolding(c.Guards), pgstore.Redacted(*from), pgstore.Redacted(*to))
	for _, ns := range src.namespaces {
		n := src.counts[ns]
		fmt.Fprintf(stdout, "  %s: %d links, %d groups, %d memberships, %d audit events", ns, n.Links, n.Groups, n.Members, n.Events)
		if g := src.guards[ns]; g.Held {
			fmt.Fprintf(stdout, "; the guard holds since %s (%s)", g.Since.UTC().Format(time.RFC3339), g.Reason)
		}
		fmt.Fprintln(stdout)
	}
	return nil
}

// guardsHolding says how many guards that hold were copied.
func guardsHolding(n int) string {
	if n == 1 {
		return "1 guard that holds"
	}
	return fmt.Sprintf("%d guards that hold", n)
}

// sources are the source database opened once per namespace it holds. Each store is only read.
type sources struct {
	namespaces []string
	stores     map[string]sourceStore
	counts     map[string]*pgstore.Counts
	guards     map[string]store.GuardState
}

func openSources(ctx context.Context, dsn string) (*sources, error) {
	// A store is bound to a namespace; this one only reads the list.
	probe, err := openSource(ctx, dsn, "migrate-store")
	if err != nil {
		return nil, err
	}
	namespaces, err := probe.Namespaces(ctx)
	probe.Close()
	if err != nil {
		return nil, err
	}
	src := &sources{namespaces: namespaces, stores: map[string]sourceStore{}, counts: map[string]*pgstore.Counts{},
		guards: map[string]store.GuardState{}}
	for _, ns := range namespaces {
		s, err := openSource(ctx, dsn, ns)
		if err != nil {
			src.close()
			return nil, err
		}
		src.stores[ns] = s
		src.counts[ns] = &pgstore.Counts{}
	}
	return src, nil
}

func (src *sources) close() {
	for _, s := range src.stores {
		s.Close()
	}
}

func openSource(ctx context.Context, dsn, namespace string) (sourceStore, error) {
	if pgstore.IsURL(dsn) {
		s, err := pgstore.Open(ctx, dsn, namespace)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	s, err := sqlstore.Open(ctx, dsn, namespace)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// data is everything the source holds, read a page at a time as Import asks for it, counted per namespace.
func (src *sources) data(ctx context.Context) pgstore.Data {
	return pgstore.Data{
		Links: eachNamespace(src, func(ns string, s sourceStore, yield func(pgstore.Record, error) bool) bool {
			return pages(func(after string) ([]store.Link, error) { return s.List(ctx, after, copyPage) },
				func(l store.Link) string { return l.ID },
				func(l store.Link) bool {
					src.counts[ns].Links++
					return yield(pgstore.Record{Namespace: ns, Link: l}, nil)
				}, func(err error) { yield(pgstore.Record{}, err) })
		}),
		Groups: eachNamespace(src, func(ns string, s sourceStore, yield func(pgstore.GroupRecord, error) bool) bool {
			return eachGroup(ctx, s, func(g store.Group) bool {
				src.counts[ns].Groups++
				return yield(pgstore.GroupRecord{Namespace: ns, Group: g}, nil)
			}, func(err error) { yield(pgstore.GroupRecord{}, err) })
		}),
		Members: eachNamespace(src, func(ns string, s sourceStore, yield func(pgstore.MemberRecord, error) bool) bool {
			fail := func(err error) { yield(pgstore.MemberRecord{}, err) }
			return eachGroup(ctx, s, func(g store.Group) bool {
				return pages(func(after string) ([]string, error) { return s.Members(ctx, g.ID, after, copyPage) },
					func(id string) string { return id },
					func(id string) bool {
						src.counts[ns].Members++
						return yield(pgstore.MemberRecord{Namespace: ns, GroupID: g.ID, UserID: id}, nil)
					}, fail)
			}, fail)
		}),
		Events: eachNamespace(src, func(ns string, s sourceStore, yield func(pgstore.EventRecord, error) bool) bool {
			return pages(func(after int64) ([]store.AuditEvent, error) {
				return s.Events(ctx, store.AuditQuery{After: after, Limit: copyPage})
			}, func(e store.AuditEvent) int64 { return e.Seq },
				func(e store.AuditEvent) bool {
					src.counts[ns].Events++
					return yield(pgstore.EventRecord{Namespace: ns, Event: e}, nil)
				}, func(err error) { yield(pgstore.EventRecord{}, err) })
		}),
		States: eachNamespace(src, func(ns string, s sourceStore, yield func(pgstore.StateRecord, error) bool) bool {
			g, err := s.GuardState(ctx)
			if err != nil {
				yield(pgstore.StateRecord{}, err)
				return false
			}
			last, err := s.LastAuditSeq(ctx)
			if err != nil {
				yield(pgstore.StateRecord{}, err)
				return false
			}
			src.guards[ns] = g
			return yield(pgstore.StateRecord{Namespace: ns, Guard: g, LastSeq: last}, nil)
		}),
	}
}

// eachNamespace yields what each yields for every namespace in turn; each returns false to stop. Errors from the
// source are reported as the --from side's.
func eachNamespace[R any](src *sources, each func(ns string, s sourceStore, yield func(R, error) bool) bool) iter.Seq2[R, error] {
	return func(yield func(R, error) bool) {
		for _, ns := range src.namespaces {
			wrapped := func(r R, err error) bool {
				if err != nil {
					return yield(r, fmt.Errorf("--from: namespace %q: %w", ns, err))
				}
				return yield(r, nil)
			}
			if !each(ns, src.stores[ns], wrapped) {
				return
			}
		}
	}
}

// eachGroup calls fn on every group of s in id order until fn returns false; a read error goes to fail.
func eachGroup(ctx context.Context, s sourceStore, fn func(store.Group) bool, fail func(error)) bool {
	return pages(func(after string) ([]store.Group, error) { return s.ListGroups(ctx, after, copyPage) },
		func(g store.Group) string { return g.ID }, fn, fail)
}

// pages reads page after page (each after the key of the last item of the one before) and calls fn on every item
// until fn returns false or a page is short; a read error goes to fail. It reports whether it read everything.
func pages[T any, K any](page func(after K) ([]T, error), key func(T) K, fn func(T) bool, fail func(error)) bool {
	var after K
	for {
		items, err := page(after)
		if err != nil {
			fail(err)
			return false
		}
		for _, it := range items {
			if !fn(it) {
				return false
			}
		}
		if len(items) < copyPage {
			return true
		}
		after = key(items[len(items)-1])
	}
}
