package pins

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSkipsCommentsAndSplitsEntries(t *testing.T) {
	l, err := Parse(strings.NewReader(`
# reason one
Get group ::  Status code is 200
  Remove User From Group   

# a step name can hold "::" only with spaces around it as the separator
a::b :: c
`), "list.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Item: "Get group", Check: "Status code is 200", Source: "list.txt:3"},
		{Item: "Remove User From Group", Source: "list.txt:4"},
		{Item: "a::b", Check: "c", Source: "list.txt:7"},
	}
	if len(l) != len(want) {
		t.Fatalf("got %d entries %v, want %v", len(l), l, want)
	}
	for i := range want {
		if l[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, l[i], want[i])
		}
	}
}

func TestParseRejectsAnEntryWithoutItem(t *testing.T) {
	if _, err := Parse(strings.NewReader(" :: Status code is 200\n"), "l"); err == nil {
		t.Fatal("an entry naming no item was accepted")
	}
}

func TestSettle(t *testing.T) {
	outcomes := []Outcome{
		{Item: "Post user", Check: "Status code is 201", Passed: true},
		{Item: "Patch user", Check: "Status code is 204", Detail: "got 200"},
		{Item: "Get group by id ", Check: "Status code is 200", Detail: "got 404"},
		{Item: "Get group by id", Check: "Status code is 200", Detail: "got 404"},
		{Item: "Delete user", Check: "Status code is 204", Detail: "got 500"},
		{Item: "Groups step", Check: "script 1", Detail: "boom"},
		{Item: "Groups step", Check: "response_time is_less_than 600", Passed: true},
	}
	list := List{
		{Item: "Patch user", Check: "Status code is 204"},
		{Item: "Get group by id", Check: "Status code is 200"},
		{Item: "Groups step"},
		{Item: "Post user", Check: "Status code is 201"},
		{Item: "Renamed item", Check: "x"},
	}
	rep := list.Settle(outcomes)

	if rep.Passed != 2 {
		t.Errorf("passed = %d, want 2", rep.Passed)
	}
	if len(rep.Failed) != 1 || rep.Failed[0].Item != "Delete user" {
		t.Errorf("unpinned failures = %v, want only Delete user", rep.Failed)
	}
	if len(rep.Pinned) != 4 {
		t.Errorf("pinned failures = %d, want 4 (a pin covers every run of its check, a bare item every check)", len(rep.Pinned))
	}
	var stale []string
	for _, e := range rep.Stale {
		stale = append(stale, e.String())
	}
	if strings.Join(stale, "|") != "Post user :: Status code is 201|Renamed item :: x" {
		t.Errorf("stale = %q, want the passing pin and the pin that matches nothing", stale)
	}
	if rep.OK() {
		t.Error("a report with an unpinned failure is OK")
	}
	if !(List{}).Settle(outcomes[:1]).OK() {
		t.Error("a report with only passes is not OK")
	}
}

func TestFlagReadsAFileOrOneEntry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pinned.txt")
	if err := os.WriteFile(path, []byte("# why\nA :: b\nC\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var f Flag
	for _, v := range []string{path, "D :: e", "no-such-file.txt"} {
		if err := f.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	got := f.String()
	if want := "A :: b; C; D :: e; no-such-file.txt"; got != want {
		t.Errorf("flag = %q, want %q", got, want)
	}
}

func TestWritePrintsEachFindingAndTheSummary(t *testing.T) {
	rep := Report{
		Passed: 3,
		Failed: []Outcome{{Item: "Delete user", Check: "Status code is 204", Detail: "got 500", Context: "DELETE /Users/1 -> 500"}},
		Pinned: []Outcome{{Item: "Patch user", Check: "Status code is 204", Detail: "got 200"}},
		Stale:  []Entry{{Item: "Post user", Check: "Status code is 201", Source: "m.txt:4"}},
	}
	var b bytes.Buffer
	if err := rep.Write(&b, "microsoft"); err != nil {
		t.Fatal(err)
	}
	want := "FAIL   Delete user :: Status code is 204: got 500\n" +
		"         DELETE /Users/1 -> 500\n" +
		"PINNED Patch user :: Status code is 204: got 200\n" +
		"STALE  Post user :: Status code is 201 (m.txt:4): pinned as an expected failure but did not fail; drop the entry\n" +
		"microsoft: 3 passed, 1 failed, 1 pinned\n"
	if b.String() != want {
		t.Errorf("report =\n%s\nwant\n%s", b.String(), want)
	}
}

func TestAbbreviate(t *testing.T) {
	tests := []struct {
		name, in string
		n        int
		want     string
	}{
		{"short text is kept on one line", "a\n  b", 10, "a b"},
		{"long text is cut and marked", "abcdefgh", 4, "abcd..."},
		{"a cut never splits a rune", "aé", 2, "a..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Abbreviate(tt.in, tt.n); got != tt.want {
				t.Errorf("Abbreviate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
		})
	}
}
