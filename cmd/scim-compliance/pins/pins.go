package pins

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// Separator splits an entry into the item (a Runscope step, a Postman request) and the check inside it.
const Separator = " :: "

// Entry is one pinned expected failure. An empty Check pins every check of the item.
type Entry struct {
	Item  string
	Check string
	// Source says where the entry came from ("file.txt:12" or "flag"), for reports.
	Source string
}

// String renders the entry in the list syntax.
func (e Entry) String() string {
	if e.Check == "" {
		return e.Item
	}
	return e.Item + Separator + e.Check
}

func (e Entry) matches(o Outcome) bool {
	return e.Item == normalize(o.Item) && (e.Check == "" || e.Check == normalize(o.Check))
}

// ParseEntry reads one "item :: check" (or bare "item") entry.
func ParseEntry(s, source string) (Entry, error) {
	item, check, _ := strings.Cut(s, Separator)
	e := Entry{Item: normalize(item), Check: normalize(check), Source: source}
	if e.Item == "" || strings.HasPrefix(e.Item, "::") {
		return Entry{}, fmt.Errorf("pins: %s: entry %q names no item", source, s)
	}
	return e, nil
}

// List is a set of pinned entries.
type List []Entry

// Parse reads a list: one entry a line; blank lines and lines starting with # (the reasons) are ignored.
func Parse(r io.Reader, name string) (List, error) {
	var l List
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		e, err := ParseEntry(line, fmt.Sprintf("%s:%d", name, n))
		if err != nil {
			return nil, err
		}
		l = append(l, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("pins: read %s: %w", name, err)
	}
	return l, nil
}

// Load reads the list in a file.
func Load(path string) (List, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pins: %w", err)
	}
	defer f.Close()
	return Parse(f, path)
}

// Flag is a repeatable command-line flag: a value naming an existing file adds the file's entries, any other value is
// one entry. A mistyped file name thus becomes an entry that matches nothing, which Settle reports as stale.
type Flag struct {
	List List
}

// String implements flag.Value.
func (f *Flag) String() string {
	if f == nil {
		return ""
	}
	parts := make([]string, len(f.List))
	for i, e := range f.List {
		parts[i] = e.String()
	}
	return strings.Join(parts, "; ")
}

// Set implements flag.Value.
func (f *Flag) Set(v string) error {
	// Entries may hold slashes ("Remove Group Members w/ PUT"), so any value that is not a readable regular file
	// is an entry.
	if st, err := os.Stat(v); err == nil && st.Mode().IsRegular() {
		l, err := Load(v)
		if err != nil {
			return err
		}
		f.List = append(f.List, l...)
		return nil
	}
	e, err := ParseEntry(v, "flag")
	if err != nil {
		return err
	}
	f.List = append(f.List, e)
	return nil
}

// Outcome is the result of one check of a suite.
type Outcome struct {
	Item   string
	Check  string
	Passed bool
	// Detail explains a failure (expected and actual); empty when Passed.
	Detail string
	// Context shows the exchange behind a failure (request line, status, start of the body) for the report.
	Context string
}

// Report is a suite's outcomes settled against a pinned list.
type Report struct {
	Passed int
	// Failed are the failures no entry pins: each one fails the run.
	Failed []Outcome
	// Pinned are the failures an entry pins: expected, they do not fail the run.
	Pinned []Outcome
	// Stale are the entries that pinned no failure: the check passed (or no longer exists), so the entry should go.
	Stale []Entry
}

// OK reports whether the run has no unpinned failure. Stale entries do not fail a run: a fix landing must not turn
// the suite red, but the report names them so the list stays honest.
func (r Report) OK() bool { return len(r.Failed) == 0 }

// Settle sorts outcomes into passes, unpinned failures and pinned failures, and finds the stale entries.
func (l List) Settle(outcomes []Outcome) Report {
	var r Report
	used := make([]bool, len(l))
	for _, o := range outcomes {
		if o.Passed {
			r.Passed++
			continue
		}
		pinned := false
		for i, e := range l {
			if e.matches(o) {
				used[i] = true
				pinned = true
			}
		}
		if pinned {
			r.Pinned = append(r.Pinned, o)
		} else {
			r.Failed = append(r.Failed, o)
		}
	}
	for i, e := range l {
		if !used[i] {
			r.Stale = append(r.Stale, e)
		}
	}
	return r
}

// normalize trims the surrounding blanks suite authors leave in names ("Remove User From Group ").
func normalize(s string) string { return strings.TrimSpace(s) }
