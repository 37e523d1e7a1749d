// Package doctor is what `scim-bridge doctor` is built from: the vocabulary in which an adapter lists what it
// assumes about its vendor (Assumption), the verdicts a check reaches (Result, Report), and a Session that makes
// a check's vendor calls one at a time through the adapter's own HTTP client, keeps each raw answer, and waits
// out throttling. The checks themselves live beside each adapter's wire.go, because only there are the vendor's
// names (paths, parameters, envelope keys) known.
package doctor

import (
	"sort"
	"strings"
)

// Verdict is what the doctor concluded about one assumption.
type Verdict string

// The verdicts, from best to worst; Skipped says nothing about the vendor.
const (
	// Holds: the vendor did what the adapter expects.
	Holds Verdict = "holds"
	// Differs: the vendor did something else that the bridge copes with. Provisioning works, but the docs, the
	// emulator or a cost estimate are wrong, so the advice asks for a report.
	Differs Verdict = "differs"
	// Fails: the bridge would misbehave on this account. The advice names the setting to change or what to
	// report, and going live should wait.
	Fails Verdict = "fails"
	// Skipped: not observed (a write check without a test user, too few users to tell, or an earlier step
	// that did not succeed).
	Skipped Verdict = "skipped"
)

// Assumption is one thing an adapter takes for granted about its vendor. Each adapter lists its own in
// assumptions.go, built from the constants of its wire.go, and docs/<vendor>.md names the same IDs.
type Assumption struct {
	ID       string `json:"id"`       // stable, e.g. "find.email-param"
	Title    string `json:"title"`    // a few words, e.g. "e-mail lookup parameter"
	Expected string `json:"expected"` // what the adapter expects the vendor to do
	// Write marks an assumption that can only be observed by creating and changing a test person.
	Write bool `json:"write,omitempty"`
}

// Result is an assumption with what the vendor did.
type Result struct {
	Assumption
	Observed string  `json:"observed"`
	Verdict  Verdict `json:"verdict"`
	// Advice says what to do when the verdict is not Holds: a setting to change, or what to report.
	Advice string `json:"advice,omitempty"`
}

// Report is the outcome of one doctor run.
type Report struct {
	Target   string   `json:"target"`
	BaseURL  string   `json:"base_url"`
	TestUser string   `json:"write_test_user,omitempty"`
	Results  []Result `json:"results"`
	// Notes are facts the deployer should know that are no verdict: what the test person cost (an invitation, a
	// seat), what was left behind, how long throttling made the doctor wait.
	Notes []string `json:"notes,omitempty"`
	// Calls counts the HTTP requests sent to the vendor.
	Calls int `json:"vendor_calls"`
	// Aborted says why the doctor could not finish: the key was refused, the vendor was unreachable, or the test
	// e-mail already belongs to someone.
	Aborted string `json:"aborted,omitempty"`
}

// Exit statuses of `scim-bridge doctor`.
const (
	ExitHolds     = 0 // every assumption observed holds
	ExitDiffers   = 1 // at least one differs or fails
	ExitCannotRun = 2 // bad settings, key refused, vendor unreachable, test e-mail taken
)

// ExitCode is the process status the report calls for.
func (r Report) ExitCode() int {
	switch {
	case r.Aborted != "":
		return ExitCannotRun
	case r.Count(Differs)+r.Count(Fails) > 0:
		return ExitDiffers
	}
	return ExitHolds
}

// Count returns how many results have verdict v.
func (r Report) Count(v Verdict) int {
	n := 0
	for _, x := range r.Results {
		if x.Verdict == v {
			n++
		}
	}
	return n
}

// Result returns the result for an assumption id.
func (r Report) Result(id string) (Result, bool) {
	for _, x := range r.Results {
		if x.ID == id {
			return x, true
		}
	}
	return Result{}, false
}

// redact replaces every secret in s.
func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "<secret>")
		}
	}
	return s
}

// sortedKeys returns a map's keys in order, for observations that read the same on every run.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
