package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scim-bridge/scim-bridge/scim/store"
	"github.com/scim-bridge/scim-bridge/scim/store/internal/engine"
)

var _ store.GroupStore = (*Store)(nil)

// Member lists travel as one text[] parameter, joined as unnest($3) rather than tested with = ANY($3): once the
// server caches a generic plan, = ANY against a parameter is a linear search of the array for every member of the
// group (seconds for 5,000 ids against a large group), where the join is a hash or an index probe per id
// (TestLargeChangesStayLinearUnderGenericPlans).
//
// Concurrency: every write to a group's members first locks the group's row (SELECT ... FOR UPDATE), so member
// changes of one group from any replica apply one after the other, each seeing what its predecessor committed
// (READ COMMITTED takes a new snapshot per statement) and bumping the version its predecessor left. RemoveUser, the one write that spans groups, locks its groups in id order, so two of them cannot
// deadlock on each other.

const groupColumns = `id, display_name, external_id, extras, version, created_ms, modified_ms`

// sqlChangeMembers is ChangeMembers in one statement: $1 namespace, $2 group id, $3 the user ids to delete, $4 those
// to insert (the two disjoint), $5 and $6 the group's next version and modified, set only if a pair changed. It
// returns (true, id) for each pair inserted and (false, id) for each deleted. Data-modifying CTEs run to completion
// on one snapshot whether or not the final SELECT reads them.
const sqlChangeMembers = `WITH
	del AS (DELETE FROM group_members m USING unnest($3::text[]) AS u(id)
		WHERE m.namespace = $1 AND m.group_id = $2 AND m.user_id = u.id RETURNING m.user_id),
	ins AS (INSERT INTO group_members (namespace, group_id, user_id) SELECT $1, $2, unnest($4::text[])
		ON CONFLICT DO NOTHING RETURNING user_id),
	bump AS (UPDATE groups SET version = $5, modified_ms = $6 WHERE namespace = $1 AND id = $2
		AND (EXISTS (SELECT FROM del) OR EXISTS (SELECT FROM ins)))
	SELECT false, user_id FROM del UNION ALL SELECT true, user_id FROM ins`

// CreateGroup implements store.GroupStore.
func (s *Store) CreateGroup(ctx context.Context, g store.Group) (store.Group, error) {
	if err := engine.ValidateGroup(g); err != nil {
		return store.Group{}, fmt.Errorf("pgstore: create group: %w", err)
	}
	g.Extras = bytes.Clone(g.Extras)
	g.Version = 1
	g.Created = engine.NowMillis()
	g.Modified = g.Created
	_, err := s.pool.Exec(ctx, `INSERT INTO groups (namespace, id, display_name, display_name_fold, external_id,
		extras, version, created_ms, modified_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		s.ns, g.ID, g.DisplayName, store.Fold(g.DisplayName), g.ExternalID, engine.ExtrasArg(g.Extras), g.Version,
		g.Created.UnixMilli(), g.Modified.UnixMilli())
	if err != nil {
		return store.Group{}, fmt.Errorf("pgstore: create group %q: %w", g.ID, mapErr(err))
	}
	return g, nil
}

// GetGroup implements store.GroupStore.
func (s *Store) GetGroup(ctx context.Context, id string) (store.Group, error) {
	g, err := scanGroup(s.pool.QueryRow(ctx, `SELECT `+groupColumns+` FROM groups WHERE namespace = $1 AND id = $2`,
		s.ns, id))
	if err != nil {
		return store.Group{}, fmt.Errorf("pgstore: get group %q: %w", id, err)
	}
	return g, nil
}

// LookupGroups implements store.GroupStore.
func (s *Store) LookupGroups(ctx context.Context, by store.GroupIndex, value string) ([]store.Group, error) {
	var column string
	switch by {
	case store.GroupByDisplayName:
		column, value = "display_name_fold", store.Fold(value)
	case store.GroupByExternalID:
		column = "external_id"
	default:
		return nil, fmt.Errorf("pgstore: lookup groups: unknown index %d", by)
	}
	if value == "" {
		// "" means "none" in external_id and no group has an empty displayName.
		return []store.Group{}, nil
	}
	groups, err := s.queryGroups(ctx, `SELECT `+groupColumns+` FROM groups WHERE namespace = $1 AND `+column+` = $2
		ORDER BY id`, s.ns, value)
	if err != nil {
		return nil, fmt.Errorf("pgstore: lookup groups by %s: %w", column, err)
	}
	return groups, nil
}

// UpdateGroup implements store.GroupStore. The row is locked from the read to the commit; members are not touched.
func (s *Store) UpdateGroup(ctx context.Context, id string, fn func(store.Group) (store.Group, error)) (store.Group, error) {
	var next store.Group
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cur, err := scanGroup(tx.QueryRow(ctx, `SELECT `+groupColumns+` FROM groups WHERE namespace = $1 AND id = $2
			FOR UPDATE`, s.ns, id))
		if err != nil {
			return fmt.Errorf("pgstore: update group %q: %w", id, err)
		}
		if next, err = fn(cur); err != nil {
			return fnError{err}
		}
		if next.ID != id {
			return fmt.Errorf("pgstore: update group %q: fn changed the id to %q", id, next.ID)
		}
		if err := engine.ValidateGroup(next); err != nil {
			return fmt.Errorf("pgstore: update group %q: %w", id, err)
		}
		next.Extras = bytes.Clone(next.Extras)
		next.Version = cur.Version + 1
		next.Created = cur.Created
		next.Modified = engine.NextModified(cur.Modified)
		if _, err := tx.Exec(ctx, `UPDATE groups SET display_name = $3, display_name_fold = $4, external_id = $5,
			extras = $6, version = $7, modified_ms = $8 WHERE namespace = $1 AND id = $2`,
			s.ns, id, next.DisplayName, store.Fold(next.DisplayName), next.ExternalID, engine.ExtrasArg(next.Extras),
			next.Version, next.Modified.UnixMilli()); err != nil {
			return fmt.Errorf("pgstore: update group %q: %w", id, mapErr(err))
		}
		return nil
	})
	var fe fnError
	if errors.As(err, &fe) {
		return store.Group{}, fe.err // unchanged, as the interface promises
	}
	if err != nil {
		return store.Group{}, err
	}
	return next, nil
}

// DeleteGroup implements store.GroupStore. The members go with the group (ON DELETE CASCADE).
func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM groups WHERE namespace = $1 AND id = $2`, s.ns, id)
	if err != nil {
		return fmt.Errorf("pgstore: delete group %q: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: delete group %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// ListGroups implements store.GroupStore.
func (s *Store) ListGroups(ctx context.Context, afterID string, limit int) ([]store.Group, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("pgstore: list groups: limit %d is not positive", limit)
	}
	groups, err := s.queryGroups(ctx, `SELECT `+groupColumns+` FROM groups WHERE namespace = $1 AND id > $2
		ORDER BY id LIMIT $3`, s.ns, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list groups: %w", err)
	}
	return groups, nil
}

// CountGroups implements store.GroupStore.
func (s *Store) CountGroups(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM groups WHERE namespace = $1`, s.ns).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgstore: count groups: %w", err)
	}
	return n, nil
}

// ChangeMembers implements store.GroupStore. Under the group's lock one statement deletes the pairs to remove,
// inserts those to add (an existing pair is left as it is), bumps the group if either changed anything, and returns
// what changed.
func (s *Store) ChangeMembers(ctx context.Context, groupID string, add, remove []string) (added, removed []string, err error) {
	if err := engine.CheckUserIDs(add, remove); err != nil {
		return nil, nil, fmt.Errorf("pgstore: change members of %q: %w", groupID, err)
	}
	ins, del := engine.PlanChanges(add, remove)
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cur, err := lockGroup(ctx, tx, s.ns, groupID)
		if err != nil {
			return err
		}
		if len(ins) == 0 && len(del) == 0 {
			return nil
		}
		next := engine.NextModified(cur.modified)
		rows, err := tx.Query(ctx, sqlChangeMembers, s.ns, groupID, del, ins, cur.version+1, next.UnixMilli())
		if err != nil {
			return err
		}
		var (
			gone, joined []string
			isAdd        bool
			id           string
		)
		if _, err := pgx.ForEachRow(rows, []any{&isAdd, &id}, func() error {
			if isAdd {
				joined = append(joined, id)
			} else {
				gone = append(gone, id)
			}
			return nil
		}); err != nil {
			return err
		}
		added, removed = engine.InOrder(ins, joined), engine.InOrder(del, gone)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("pgstore: change members of %q: %w", groupID, err)
	}
	return nonNil(added), nonNil(removed), nil
}

// ClearMembers implements store.GroupStore.
func (s *Store) ClearMembers(ctx context.Context, groupID string) ([]string, error) {
	var removed []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cur, err := lockGroup(ctx, tx, s.ns, groupID)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `DELETE FROM group_members WHERE namespace = $1 AND group_id = $2 RETURNING user_id`,
			s.ns, groupID)
		if err != nil {
			return err
		}
		if removed, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		if len(removed) == 0 {
			return nil
		}
		return bumpGroup(ctx, tx, s.ns, groupID, cur)
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: clear members of %q: %w", groupID, err)
	}
	slices.Sort(removed) // RETURNING promises no order; user_id is "C", so this is the database's order too
	return nonNil(removed), nil
}

// Members implements store.GroupStore. ErrNotFound if the group does not exist.
func (s *Store) Members(ctx context.Context, groupID, afterUserID string, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("pgstore: members of %q: limit %d is not positive", groupID, limit)
	}
	ids, err := s.strings(ctx, `SELECT user_id FROM group_members WHERE namespace = $1 AND group_id = $2
		AND user_id > $3 ORDER BY user_id LIMIT $4`, s.ns, groupID, afterUserID, limit)
	if err != nil {
		return nil, fmt.Errorf("pgstore: members of %q: %w", groupID, err)
	}
	if len(ids) == 0 {
		// An empty page is either the end of the members or a group that does not exist.
		var exists bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM groups WHERE namespace = $1 AND id = $2)`,
			s.ns, groupID).Scan(&exists); err != nil {
			return nil, fmt.Errorf("pgstore: members of %q: %w", groupID, err)
		}
		if !exists {
			return nil, fmt.Errorf("pgstore: members of %q: %w", groupID, store.ErrNotFound)
		}
	}
	return ids, nil
}

// CountMembers implements store.GroupStore. ErrNotFound if the group does not exist.
func (s *Store) CountMembers(ctx context.Context, groupID string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM group_members WHERE namespace = $1 AND group_id = $2)
		FROM groups WHERE namespace = $1 AND id = $2`, s.ns, groupID).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("pgstore: count members of %q: %w", groupID, err)
	}
	return n, nil
}

// GroupsOf implements store.GroupStore.
func (s *Store) GroupsOf(ctx context.Context, userID string) ([]string, error) {
	ids, err := s.strings(ctx, `SELECT group_id FROM group_members WHERE namespace = $1 AND user_id = $2
		ORDER BY group_id`, s.ns, userID)
	if err != nil {
		return nil, fmt.Errorf("pgstore: groups of %q: %w", userID, err)
	}
	return ids, nil
}

// RemoveUser implements store.GroupStore. It returns the group ids in ascending order.
//
// The groups are locked in id order first, then the user leaves exactly those: a group the user joins while
// RemoveUser runs (its change committed after the lock was taken) keeps the user, as if that change came after.
func (s *Store) RemoveUser(ctx context.Context, userID string) ([]string, error) {
	var groups []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id FROM groups WHERE namespace = $1 AND id IN
			(SELECT group_id FROM group_members WHERE namespace = $1 AND user_id = $2) ORDER BY id FOR UPDATE`,
			s.ns, userID)
		if err != nil {
			return fmt.Errorf("lock groups: %w", err)
		}
		locked, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("lock groups: %w", err)
		}
		if len(locked) == 0 {
			return nil
		}
		rows, err = tx.Query(ctx, `DELETE FROM group_members WHERE namespace = $1 AND user_id = $2
			AND group_id = ANY($3) RETURNING group_id`, s.ns, userID, locked)
		if err != nil {
			return err
		}
		if groups, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		if len(groups) == 0 {
			return nil
		}
		// Each group's Modified moves past its own last value, as bumpGroup does for one group.
		_, err = tx.Exec(ctx, `UPDATE groups SET version = version + 1, modified_ms = GREATEST($3, modified_ms + 1)
			WHERE namespace = $1 AND id = ANY($2)`, s.ns, groups, engine.NowMillis().UnixMilli())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: remove user %q from groups: %w", userID, err)
	}
	slices.Sort(groups)
	return nonNil(groups), nil
}

// groupStamp is what a member change needs of the group it changes.
type groupStamp struct {
	version  int64
	modified time.Time
}

// lockGroup locks the group's row until tx ends and returns its version and modified; ErrNotFound if missing.
func lockGroup(ctx context.Context, tx pgx.Tx, ns, id string) (groupStamp, error) {
	var (
		g          groupStamp
		modifiedMS int64
	)
	err := tx.QueryRow(ctx, `SELECT version, modified_ms FROM groups WHERE namespace = $1 AND id = $2 FOR UPDATE`, ns, id).
		Scan(&g.version, &modifiedMS)
	if errors.Is(err, pgx.ErrNoRows) {
		return groupStamp{}, store.ErrNotFound
	}
	if err != nil {
		return groupStamp{}, err
	}
	g.modified = time.UnixMilli(modifiedMS).UTC()
	return g, nil
}

// bumpGroup moves the group's Version and Modified on after a member change.
func bumpGroup(ctx context.Context, tx pgx.Tx, ns, id string, cur groupStamp) error {
	_, err := tx.Exec(ctx, `UPDATE groups SET version = $3, modified_ms = $4 WHERE namespace = $1 AND id = $2`,
		ns, id, cur.version+1, engine.NextModified(cur.modified).UnixMilli())
	return err
}

func (s *Store) queryGroups(ctx context.Context, sql string, args ...any) ([]store.Group, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	groups := []store.Group{}
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, err
		}
		groups = append(groups, g)
	}
	return groups, rows.Err()
}

func (s *Store) strings(ctx context.Context, sql string, args ...any) ([]string, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return nonNil(out), err
}

func scanGroup(row pgx.Row) (store.Group, error) {
	var (
		g                 store.Group
		extras            *string
		created, modified int64
	)
	err := row.Scan(&g.ID, &g.DisplayName, &g.ExternalID, &extras, &g.Version, &created, &modified)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Group{}, store.ErrNotFound
	}
	if err != nil {
		return store.Group{}, err
	}
	if extras != nil {
		g.Extras = []byte(*extras)
	}
	g.Created = time.UnixMilli(created).UTC()
	g.Modified = time.UnixMilli(modified).UTC()
	return g, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
