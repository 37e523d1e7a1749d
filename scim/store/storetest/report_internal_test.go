package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/scim-bridge/scim-bridge/scim/store"
	"github.com/scim-bridge/scim-bridge/scim/store/sqlstore"
)

// A skipped case must show up as not run, or RunEngines could not tell an engine that skips from one that passes.
func TestReportRecordsSkips(t *testing.T) {
	var r Report
	r.runCase(t, "runs", func(t *testing.T) {})
	r.runCase(t, "skips", func(t *testing.T) { t.Skip("engine cannot do this") })
	if !slices.Equal(r.Ran, []string{"runs"}) {
		t.Errorf("Ran = %v, want [runs]", r.Ran)
	}
	if r.NotRun["skips"] != "skipped" {
		t.Errorf("NotRun = %v, want skips: skipped", r.NotRun)
	}
}

func TestReportGaps(t *testing.T) {
	full := Report{Ran: allCaseNames()}
	withSkip := Report{Ran: slices.DeleteFunc(allCaseNames(), func(n string) bool { return n == cases[3].name }),
		NotRun: map[string]string{cases[3].name: "skipped"}}
	noReopen := Report{Ran: slices.DeleteFunc(allCaseNames(), func(n string) bool { return n == reopenCase }),
		NotRun: map[string]string{reopenCase: "Harness.Reopen is nil"}}
	noLocker := Report{Ran: slices.DeleteFunc(allCaseNames(), func(n string) bool { return strings.HasPrefix(n, lockerPrefix) })}
	tests := []struct {
		name string
		r    Report
		want []string // substrings, one per expected gap
	}{
		{"every case ran", full, nil},
		{"a skipped case", withSkip, []string{cases[3].name + `" (skipped)`}},
		{"a harness without Reopen", noReopen, []string{"Harness.Reopen is nil"}},
		{"locker cases missing altogether", noLocker, slices.Collect(func(yield func(string) bool) {
			for _, c := range lockerCases {
				if !yield(lockerPrefix + c.name) {
					return
				}
			}
		})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.r.gaps()
			if len(got) != len(tc.want) {
				t.Fatalf("gaps = %q, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("gap %d = %q, want it to mention %q", i, got[i], w)
				}
			}
		})
	}
}

// Run must report the capability cases of a harness that lacks them rather than leave them out silently.
func TestRunReportsMissingCapabilities(t *testing.T) {
	// An in-memory SQLite store wrapped so that it is neither a Locker, a GroupStore nor an AuditStore and cannot
	// be reopened.
	r := Run(t, Harness{New: func(t *testing.T) store.Store {
		s, err := sqlstore.Open(t.Context(), ":memory:", "test")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return struct{ store.Store }{s}
	}})
	gaps := r.gaps()
	for _, want := range []string{reopenCase, namespacesCase, lockerPrefix + lockerCases[0].name,
		groupPrefix + groupCases[0].name, groupPrefix + groupReopenCase, auditPrefix + auditCases[0].name,
		auditPrefix + auditReopenCase, auditPrefix + auditReplicasCase} {
		if !slices.ContainsFunc(gaps, func(g string) bool { return strings.Contains(g, want) }) {
			t.Errorf("gaps %q do not mention %q", gaps, want)
		}
	}
}
