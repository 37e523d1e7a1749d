package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/scim-bridge/scim-bridge/scim/store"
	"github.com/scim-bridge/scim-bridge/scim/store/internal/engine"
)

var _ store.GroupStore = (*Store)(nil)

const groupColumns = `id, display_name, external_id, extras, version, created_ms, modified_ms`

// memberStatements are every statement that reads or writes group_members. Member lists travel as one JSON array
// parameter unpacked by json_each: one statement per step whatever the number of members, with no limit on bound
// variables. Each statement searches an index on its leading columns, so a change costs a probe per member it
// names, never a pass over the group (TestMemberStatementsSearchIndexes holds them to that).
const (
	// $1 namespace, $2 group id, $3 JSON array of user ids; each returns the user ids it changed. The insert's
	// "WHERE true" is SQLite's way to tell an upsert's ON CONFLICT from a join's ON.
	sqlRemoveMembers = `DELETE FROM group_members WHERE namespace = $1 AND group_id = $2
		AND user_id IN (SELECT value FROM json_each($3)) RETURNING user_id`
	sqlInsertMembers = `INSERT INTO group_members (namespace, group_id, user_id)
		SELECT $1, $2, value FROM json_each($3) WHERE true ON CONFLICT DO NOTHING RETURNING user_id`
	// $1 namespace, $2 group id.
	sqlClearMembers  = `DELETE FROM group_members WHERE namespace = $1 AND group_id = $2 RETURNING user_id`
	sqlDeleteMembers = `DELETE FROM group_members WHERE namespace = $1 AND group_id = $2`
	sqlCountMembers  = `SELECT (SELECT count(*) FROM group_members WHERE namespace = $1 AND group_id = $2)
		FROM groups WHERE namespace = $1 AND id = $2`
	// $1 namespace, $2 group id, $3 after this user id, $4 limit.
	sqlMembersPage = `SELECT user_id FROM group_members WHERE namespace = $1 AND group_id = $2 AND user_id > $3
		ORDER BY user_id LIMIT $4`
	// $1 namespace, $2 user id (and $3, for the bump, the clock in milliseconds).
	sqlGroupsOf = `SELECT group_id FROM group_members WHERE namespace = $1 AND user_id = $2 ORDER BY group_id`
	// Each group's Modified moves past its own last value, as bumpGroup does for one group.
	sqlBumpGroupsOfUser = `UPDATE groups SET version = version + 1, modified_ms = max($3, modified_ms + 1)
		WHERE namespace = $1 AND id IN (SELECT group_id FROM group_members WHERE namespace = $1 AND user_id = $2)`
	sqlRemoveUser = `DELETE FROM group_members WHERE namespace = $1 AND user_id = $2 RETURNING group_id`
)

// memberStatements lists the statements above for TestMemberStatementsSearchIndexes.
var memberStatements = []string{sqlRemoveMembers, sqlInsertMembers, sqlClearMembers, sqlDeleteMembers,
	sqlCountMembers, sqlMembersPage, sqlGroupsOf, sqlBumpGroupsOfUser, sqlRemoveUser}

// CreateGroup implements store.GroupStore.
func (s *Store) CreateGroup(ctx context.Context, g store.Group) (store.Group, error) {
	if err := engine.ValidateGroup(g); err != nil {
		return store.Group{}, fmt.Errorf("sqlstore: create group: %w", err)
	}
	g.Extras = bytes.Clone(g.Extras)
	g.Version = 1
	g.Created = engine.NowMillis()
	g.Modified = g.Created
	_, err := s.w.ExecContext(ctx, `INSERT INTO groups (namespace, id, display_name, display_name_fold, external_id,
		extras, version, created_ms, modified_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		s.ns, g.ID, g.DisplayName, store.Fold(g.DisplayName), g.ExternalID, engine.ExtrasArg(g.Extras), g.Version,
		g.Created.UnixMilli(), g.Modified.UnixMilli())
	if err != nil {
		return store.Group{}, fmt.Errorf("sqlstore: create group %q: %w", g.ID, mapErr(err))
	}
	return g, nil
}

// GetGroup implements store.GroupStore.
func (s *Store) GetGroup(ctx context.Context, id string) (store.Group, error) {
	g, err := scanGroup(s.r.QueryRowContext(ctx, `SELECT `+groupColumns+` FROM groups WHERE namespace = $1 AND id = $2`,
		s.ns, id))
	if err != nil {
		return store.Group{}, fmt.Errorf("sqlstore: get group %q: %w", id, err)
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
		return nil, fmt.Errorf("sqlstore: lookup groups: unknown index %d", by)
	}
	if value == "" {
		// "" means "none" in external_id and no group has an empty displayName.
		return []store.Group{}, nil
	}
	groups, err := s.queryGroups(ctx, `SELECT `+groupColumns+` FROM groups WHERE namespace = $1 AND `+column+` = $2
		ORDER BY id`, s.ns, value)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: lookup groups by %s: %w", column, err)
	}
	return groups, nil
}

// UpdateGroup implements store.GroupStore. Members are not touched.
func (s *Store) UpdateGroup(ctx context.Context, id string, fn func(store.Group) (store.Group, error)) (_ store.Group, err error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return store.Group{}, fmt.Errorf("sqlstore: update group %q: begin: %w", id, err)
	}
	defer endTx(tx, &err)
	cur, err := scanGroup(tx.QueryRowContext(ctx, `SELECT `+groupColumns+` FROM groups WHERE namespace = $1 AND id = $2`,
		s.ns, id))
	if err != nil {
		return store.Group{}, fmt.Errorf("sqlstore: update group %q: %w", id, err)
	}
	next, err := fn(cur)
	if err != nil {
		return store.Group{}, err
	}
	if next.ID != id {
		return store.Group{}, fmt.Errorf("sqlstore: update group %q: fn changed the id to %q", id, next.ID)
	}
	if err := engine.ValidateGroup(next); err != nil {
		return store.Group{}, fmt.Errorf("sqlstore: update group %q: %w", id, err)
	}
	next.Extras = bytes.Clone(next.Extras)
	next.Version = cur.Version + 1
	next.Created = cur.Created
	next.Modified = engine.NextModified(cur.Modified)
	if _, err := tx.ExecContext(ctx, `UPDATE groups SET display_name = $3, display_name_fold = $4, external_id = $5,
		extras = $6, version = $7, modified_ms = $8 WHERE namespace = $1 AND id = $2`,
		s.ns, id, next.DisplayName, store.Fold(next.DisplayName), next.ExternalID, engine.ExtrasArg(next.Extras),
		next.Version, next.Modified.UnixMilli()); err != nil {
		return store.Group{}, fmt.Errorf("sqlstore: update group %q: %w", id, mapErr(err))
	}
	if err := tx.Commit(); err != nil {
		return store.Group{}, fmt.Errorf("sqlstore: update group %q: commit: %w", id, mapErr(err))
	}
	return next, nil
}

// DeleteGroup implements store.GroupStore.
func (s *Store) DeleteGroup(ctx context.Context, id string) (err error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: delete group %q: begin: %w", id, err)
	}
	defer endTx(tx, &err)
	res, err := tx.ExecContext(ctx, `DELETE FROM groups WHERE namespace = $1 AND id = $2`, s.ns, id)
	if err != nil {
		return fmt.Errorf("sqlstore: delete group %q: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: delete group %q: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("sqlstore: delete group %q: %w", id, store.ErrNotFound)
	}
	// The foreign key cascades on writers (foreign_keys is on); deleting here as well keeps the promise on a
	// connection that has it off.
	if _, err := tx.ExecContext(ctx, sqlDeleteMembers, s.ns, id); err != nil {
		return fmt.Errorf("sqlstore: delete group %q: members: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: delete group %q: commit: %w", id, err)
	}
	return nil
}

// ListGroups implements store.GroupStore.
func (s *Store) ListGroups(ctx context.Context, afterID string, limit int) ([]store.Group, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("sqlstore: list groups: limit %d is not positive", limit)
	}
	groups, err := s.queryGroups(ctx, `SELECT `+groupColumns+` FROM groups WHERE namespace = $1 AND id > $2
		ORDER BY id LIMIT $3`, s.ns, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list groups: %w", err)
	}
	return groups, nil
}

// CountGroups implements store.GroupStore.
func (s *Store) CountGroups(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM groups WHERE namespace = $1`, s.ns).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count groups: %w", err)
	}
	return n, nil
}

// ChangeMembers implements store.GroupStore. It deletes the pairs to remove and inserts those to add (an existing
// pair is left as it is), each statement returning what it changed: a probe per id named, whatever the group's size.
func (s *Store) ChangeMembers(ctx context.Context, groupID string, add, remove []string) (added, removed []string, err error) {
	if err := engine.CheckUserIDs(add, remove); err != nil {
		return nil, nil, fmt.Errorf("sqlstore: change members of %q: %w", groupID, err)
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlstore: change members of %q: begin: %w", groupID, err)
	}
	defer endTx(tx, &err)
	cur, err := lockGroup(ctx, tx, s.ns, groupID)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlstore: change members of %q: %w", groupID, err)
	}
	ins, del := engine.PlanChanges(add, remove)
	if len(ins) > 0 {
		s.mayHaveMembers.Store(true) // before the insert commits: a GroupsOf after it must query
	}
	added, removed = []string{}, []string{}
	if len(del) > 0 {
		rows, err := tx.QueryContext(ctx, sqlRemoveMembers, s.ns, groupID, jsonArray(del))
		gone, err := collectStrings(rows, err)
		if err != nil {
			return nil, nil, fmt.Errorf("sqlstore: change members of %q: remove: %w", groupID, err)
		}
		removed = engine.InOrder(del, gone)
	}
	if len(ins) > 0 {
		rows, err := tx.QueryContext(ctx, sqlInsertMembers, s.ns, groupID, jsonArray(ins))
		joined, err := collectStrings(rows, err)
		if err != nil {
			return nil, nil, fmt.Errorf("sqlstore: change members of %q: add: %w", groupID, err)
		}
		added = engine.InOrder(ins, joined)
	}
	if len(added) > 0 || len(removed) > 0 {
		if err := bumpGroup(ctx, tx, s.ns, groupID, cur); err != nil {
			return nil, nil, fmt.Errorf("sqlstore: change members of %q: %w", groupID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, fmt.Errorf("sqlstore: change members of %q: commit: %w", groupID, err)
	}
	return added, removed, nil
}

// ClearMembers implements store.GroupStore.
func (s *Store) ClearMembers(ctx context.Context, groupID string) (_ []string, err error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: clear members of %q: begin: %w", groupID, err)
	}
	defer endTx(tx, &err)
	cur, err := lockGroup(ctx, tx, s.ns, groupID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: clear members of %q: %w", groupID, err)
	}
	rows, err := tx.QueryContext(ctx, sqlClearMembers, s.ns, groupID)
	removed, err := collectStrings(rows, err)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: clear members of %q: %w", groupID, err)
	}
	if len(removed) > 0 {
		if err := bumpGroup(ctx, tx, s.ns, groupID, cur); err != nil {
			return nil, fmt.Errorf("sqlstore: clear members of %q: %w", groupID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlstore: clear members of %q: commit: %w", groupID, err)
	}
	slices.Sort(removed) // RETURNING promises no order
	return removed, nil
}

// Members implements store.GroupStore. ErrNotFound if the group does not exist.
func (s *Store) Members(ctx context.Context, groupID, afterUserID string, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("sqlstore: members of %q: limit %d is not positive", groupID, limit)
	}
	rows, err := s.r.QueryContext(ctx, sqlMembersPage, s.ns, groupID, afterUserID, limit)
	ids, err := collectStrings(rows, err)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: members of %q: %w", groupID, err)
	}
	if len(ids) == 0 {
		// An empty page is either the end of the members or a group that does not exist.
		var one int
		err := s.r.QueryRowContext(ctx, `SELECT 1 FROM groups WHERE namespace = $1 AND id = $2`, s.ns, groupID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			err = store.ErrNotFound
		}
		if err != nil {
			return nil, fmt.Errorf("sqlstore: members of %q: %w", groupID, err)
		}
	}
	return ids, nil
}

// CountMembers implements store.GroupStore. ErrNotFound if the group does not exist.
func (s *Store) CountMembers(ctx context.Context, groupID string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, sqlCountMembers, s.ns, groupID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("sqlstore: count members of %q: %w", groupID, err)
	}
	return n, nil
}

// GroupsOf implements store.GroupStore.
func (s *Store) GroupsOf(ctx context.Context, userID string) ([]string, error) {
	if !s.mayHaveMembers.Load() {
		return []string{}, nil
	}
	rows, err := s.st.groupsOf.QueryContext(ctx, s.ns, userID)
	ids, err := collectStrings(rows, err)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: groups of %q: %w", userID, err)
	}
	return ids, nil
}

// RemoveUser implements store.GroupStore. It returns the group ids in ascending order.
func (s *Store) RemoveUser(ctx context.Context, userID string) (_ []string, err error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: remove user %q from groups: begin: %w", userID, err)
	}
	defer endTx(tx, &err)
	// The writer holds the database's write lock, so the groups bumped here are those the delete below takes the
	// user out of.
	if _, err := tx.ExecContext(ctx, sqlBumpGroupsOfUser, s.ns, userID, engine.NowMillis().UnixMilli()); err != nil {
		return nil, fmt.Errorf("sqlstore: remove user %q from groups: bump versions: %w", userID, err)
	}
	rows, err := tx.QueryContext(ctx, sqlRemoveUser, s.ns, userID)
	groups, err := collectStrings(rows, err)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: remove user %q from groups: %w", userID, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlstore: remove user %q from groups: commit: %w", userID, err)
	}
	slices.Sort(groups) // RETURNING promises no order
	return groups, nil
}

// begin starts a write transaction; the writer's _txlock=immediate makes it hold the write lock from its first
// statement, so a read-then-write inside it sees no other writer in between.
func (s *Store) begin(ctx context.Context) (*sql.Tx, error) {
	return s.w.BeginTx(ctx, nil)
}

// endTx rolls tx back when the function is returning an error, joining a failed rollback to it.
func endTx(tx *sql.Tx, err *error) {
	if *err != nil {
		if rbErr := rollback(tx); rbErr != nil {
			*err = errors.Join(*err, rbErr)
		}
	}
}

// groupStamp is what a member change needs of the group it changes.
type groupStamp struct {
	version  int64
	modified time.Time
}

// lockGroup reads the group's version and modified inside the write transaction; ErrNotFound if it is missing.
func lockGroup(ctx context.Context, tx *sql.Tx, ns, id string) (groupStamp, error) {
	var (
		g          groupStamp
		modifiedMS int64
	)
	err := tx.QueryRowContext(ctx, `SELECT version, modified_ms FROM groups WHERE namespace = $1 AND id = $2`, ns, id).
		Scan(&g.version, &modifiedMS)
	if errors.Is(err, sql.ErrNoRows) {
		return groupStamp{}, store.ErrNotFound
	}
	if err != nil {
		return groupStamp{}, err
	}
	g.modified = time.UnixMilli(modifiedMS).UTC()
	return g, nil
}

// bumpGroup moves the group's Version and Modified on after a member change.
func bumpGroup(ctx context.Context, tx *sql.Tx, ns, id string, cur groupStamp) error {
	if _, err := tx.ExecContext(ctx, `UPDATE groups SET version = $3, modified_ms = $4 WHERE namespace = $1 AND id = $2`,
		ns, id, cur.version+1, engine.NextModified(cur.modified).UnixMilli()); err != nil {
		return fmt.Errorf("bump version: %w", err)
	}
	return nil
}

func (s *Store) queryGroups(ctx context.Context, query string, args ...any) ([]store.Group, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
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

func scanGroup(row interface{ Scan(...any) error }) (store.Group, error) {
	var (
		g                 store.Group
		extras            sql.NullString
		created, modified int64
	)
	err := row.Scan(&g.ID, &g.DisplayName, &g.ExternalID, &extras, &g.Version, &created, &modified)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Group{}, store.ErrNotFound
	}
	if err != nil {
		return store.Group{}, err
	}
	if extras.Valid {
		g.Extras = []byte(extras.String)
	}
	g.Created = time.UnixMilli(created).UTC()
	g.Modified = time.UnixMilli(modified).UTC()
	return g, nil
}

// collectStrings reads a one-column result and closes rows; never nil. It takes the query's error too, so that
// a query and its reading make one step.
func collectStrings(rows *sql.Rows, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// jsonArray encodes ids for json_each; engine.CheckUserIDs has made sure they survive the round trip.
func jsonArray(ids []string) string {
	b, err := json.Marshal(ids)
	if err != nil {
		panic(fmt.Sprintf("sqlstore: encode ids: %v", err)) // a []string always encodes
	}
	return string(b)
}
