// Package doctortest holds what the vendors' doctor tests check alike, so that both hold a doctor to the same
// standard: verdicts and advice against an emulator variant, a test person that is all a run touches, and the docs
// listing every assumption.
package doctortest

import (
	"context"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters/doctor"
	"github.com/scim-bridge/scim-bridge/adapters/upstreamtest"
)

// Waits records the pauses a doctor asks for instead of sleeping through them; Wait is doctor.Options.Wait.
type Waits struct {
	mu sync.Mutex
	d  []time.Duration
}

// Wait records d.
func (w *Waits) Wait(_ context.Context, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.d = append(w.d, d)
	return nil
}

// Seen returns the pauses asked for so far.
func (w *Waits) Seen() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.d)
}

// Expect checks a finished write run: every assumption of list reported once, each with its verdict in want
// (Holds when absent) and advice holding the words in advice, the exit code the verdicts call for, and notes
// that say what is left of the test person ("deactivated" or "gone").
func Expect(t *testing.T, rep doctor.Report, list []doctor.Assumption, want map[string]doctor.Verdict, advice map[string]string, left string) {
	t.Helper()
	if rep.Aborted != "" {
		t.Fatalf("aborted: %s", rep.Aborted)
	}
	ids := map[string]bool{}
	for _, res := range rep.Results {
		ids[res.ID] = true
		w, listed := want[res.ID]
		if !listed {
			w = doctor.Holds
		}
		if res.Verdict != w {
			t.Errorf("%s: %s (%s; advice %q), want %s", res.ID, res.Verdict, res.Observed, res.Advice, w)
		}
		if res.Verdict != doctor.Holds && res.Verdict != doctor.Skipped && res.Advice == "" {
			t.Errorf("%s %s without advice", res.ID, res.Verdict)
		}
		if words := advice[res.ID]; !strings.Contains(res.Advice, words) {
			t.Errorf("%s advice %q lacks %q", res.ID, res.Advice, words)
		}
	}
	if len(ids) != len(list) || len(rep.Results) != len(list) {
		t.Errorf("%d results (%d ids) for %d assumptions", len(rep.Results), len(ids), len(list))
	}
	wantExit := doctor.ExitHolds
	for _, v := range want {
		if v == doctor.Differs || v == doctor.Fails {
			wantExit = doctor.ExitDiffers
		}
	}
	if got := rep.ExitCode(); got != wantExit {
		t.Errorf("exit code %d, want %d", got, wantExit)
	}
	notes := strings.Join(rep.Notes, " ")
	if left == "deactivated" && !strings.Contains(notes, "left deactivated") || left == "gone" && !strings.Contains(notes, "Nothing is left") {
		t.Errorf("the notes do not say what is left: %q", notes)
	}
}

// WritesOnlyTestPerson checks that no request of log that changes anything named a seeded person, and that every
// create was of the test person.
func WritesOnlyTestPerson(t *testing.T, log []upstreamtest.Call, seeds []string, testPerson string) {
	t.Helper()
	for _, c := range log {
		if c.Method == http.MethodGet {
			continue
		}
		if slices.ContainsFunc(seeds, func(id string) bool { return strings.HasSuffix(c.Path, "/users/"+id) }) {
			t.Errorf("%s %s touches a person the doctor did not create", c.Method, c.Path)
		}
		if c.Method == http.MethodPost && !strings.Contains(string(c.Body), testPerson) {
			t.Errorf("POST %s creates someone else: %s", c.Path, c.Body)
		}
	}
}

// DocsNameEveryAssumption checks that the "Before go-live" section of the vendor's page lists, in its table, the
// ids of list in the same order.
func DocsNameEveryAssumption(t *testing.T, page string, list []doctor.Assumption) {
	t.Helper()
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "## Before go-live")
	if !ok {
		t.Fatalf("%s has no \"Before go-live\" section", page)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\|").FindAllStringSubmatch(section, -1) {
		documented = append(documented, m[1])
	}
	var listed []string
	for _, a := range list {
		listed = append(listed, a.ID)
	}
	if !slices.Equal(documented, listed) {
		t.Errorf("%s Before go-live lists\n%v\nthe doctor checks\n%v", page, documented, listed)
	}
}
