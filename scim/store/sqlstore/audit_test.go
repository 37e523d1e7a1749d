package sqlstore

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/scim/store"
)

// The audit conformance suite runs from storetest (TestSQLiteFile, TestSQLiteMemory and TestEngines); these tests
// cover what is particular to SQLite: the query plans, and the upgrade of a released database (fixture_test.go).

// Every audit statement, and CountLive, must reach its rows through the index meant for it: CountSince runs under
// the guard's lock before every deactivation and deletion (and reads its index alone), and Prune and Events run on
// a trail that grows for months. A SCAN, or a search of another index, fails here.
func TestAuditStatementsSearchIndexes(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "plans.db"), "test")
	for _, st := range auditStatements() {
		plan := queryPlan(t, s, st.query, st.args)
		var searches []string
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN ") {
				t.Errorf("%s\nscans:\n  %s", oneLine(st.query), strings.Join(plan, "\n  "))
			}
			if strings.HasPrefix(step, "SEARCH ") {
				searches = append(searches, step)
			}
		}
		for _, index := range st.indexes {
			if !slices.ContainsFunc(searches, func(step string) bool { return strings.Contains(step, index) }) {
				t.Errorf("%s\ndoes not search %s:\n  %s", oneLine(st.query), index, strings.Join(plan, "\n  "))
			}
		}
		if len(searches) != len(st.indexes) {
			t.Errorf("%s\nsearches %d times, want %d (%s):\n  %s", oneLine(st.query), len(searches), len(st.indexes),
				strings.Join(st.indexes, ", "), strings.Join(plan, "\n  "))
		}
	}
}

// auditStatement is a statement of the audit trail with arguments of the right shape and the indexes its plan must
// search, for TestAuditStatementsSearchIndexes.
type auditStatement struct {
	query   string
	args    []any
	indexes []string
}

func auditStatements() []auditStatement {
	out := []auditStatement{
		{sqlPrune, []any{"ns", int64(0)}, []string{"INDEX audit_events_time"}},
		{sqlCountLive, []any{"ns"}, []string{"COVERING INDEX links_live_"}},
	}
	for _, ok := range []bool{false, true} {
		q, args := countSinceQuery("ns", time.UnixMilli(0), ok, []string{"deactivate", "delete"})
		out = append(out, auditStatement{q, args, []string{"COVERING INDEX audit_events_operation"}})
		q, args = countSinceQuery("ns", time.UnixMilli(0), ok, nil)
		out = append(out, auditStatement{q, args, []string{"INDEX audit_events_time"}})
	}
	for _, tc := range []struct {
		q       store.AuditQuery
		indexes []string
	}{
		{store.AuditQuery{}, []string{"PRIMARY KEY"}},
		{store.AuditQuery{After: 10}, []string{"PRIMARY KEY"}},
		{store.AuditQuery{Since: time.UnixMilli(1)}, []string{"INDEX audit_events_time"}},
		{store.AuditQuery{Since: time.UnixMilli(1), After: 3}, []string{"PRIMARY KEY"}},
		{store.AuditQuery{User: "alice"}, []string{"INDEX audit_events_user_id", "INDEX audit_events_user_name"}},
		{store.AuditQuery{User: "alice", Since: time.UnixMilli(1), After: 3},
			[]string{"INDEX audit_events_user_id", "INDEX audit_events_user_name"}},
	} {
		query, args := eventsQuery("ns", tc.q, 10)
		out = append(out, auditStatement{query, args, tc.indexes})
	}
	return out
}

func queryPlan(t *testing.T, s *Store, stmt string, args []any) []string {
	t.Helper()
	rows, err := s.w.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+stmt, args...)
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", stmt, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}
