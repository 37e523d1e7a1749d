package upstreamtest

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

func record(f *Faults, n int) {
	for i := range n {
		r := httptest.NewRequest("POST", fmt.Sprintf("/users?n=%d&apiKey=secret", i), nil)
		f.Record(OpCreate, r, []byte(fmt.Sprint(i)))
		f.Intercept(httptest.NewRecorder(), OpCreate)
	}
}

func bodies(log []Call) string {
	var b []string
	for _, c := range log {
		b = append(b, string(c.Body))
	}
	return strings.Join(b, ",")
}

// A sandbox under load for hours must not keep every call: the log keeps the newest calls, in order, while the
// counters stay exact.
func TestTheCallLogIsBoundedAndTheCountsAreExact(t *testing.T) {
	var f Faults
	record(&f, DefaultLogLimit+10)
	log := f.Log()
	if len(log) != DefaultLogLimit || string(log[0].Body) != "10" || string(log[len(log)-1].Body) != fmt.Sprint(DefaultLogLimit+9) {
		t.Fatalf("log holds %d calls, %s..%s; want the newest %d in order", len(log), log[0].Body, log[len(log)-1].Body, DefaultLogLimit)
	}
	for i := 1; i < len(log); i++ {
		if log[i].Query != fmt.Sprintf("n=%d", i+10) {
			t.Fatalf("log[%d].Query = %q: out of order, or the key was kept", i, log[i].Query)
		}
	}
	if n := f.Calls(OpCreate); n != DefaultLogLimit+10 {
		t.Errorf("Calls = %d, want every call counted (%d)", n, DefaultLogLimit+10)
	}

	f.SetLogLimit(3)
	if got := bodies(f.Log()); got != fmt.Sprintf("%d,%d,%d", DefaultLogLimit+7, DefaultLogLimit+8, DefaultLogLimit+9) {
		t.Errorf("after SetLogLimit(3) the log is %s, want the 3 newest", got)
	}
	record(&f, 4)
	if got := bodies(f.Log()); got != "1,2,3" {
		t.Errorf("log is %s, want 1,2,3", got)
	}
	f.SetLogLimit(5)
	record(&f, 1)
	if got := bodies(f.Log()); got != "1,2,3,0" {
		t.Errorf("after growing the limit the log is %s, want 1,2,3,0", got)
	}
	f.Reset()
	if len(f.Log()) != 0 || f.Calls(OpCreate) != 0 {
		t.Error("Reset kept calls")
	}
}

// The index must find exactly what strings.EqualFold finds, or an emulator's duplicate check would change.
func TestFoldKeyAgreesWithEqualFold(t *testing.T) {
	words := []string{"", "a", "A", "k", "K", "\u212a", "s", "S", "\u017f", "ß", "ẞ", "σ", "Σ", "ς", "\xff", "\xfe",
		"\ufffd", "İ", "i", "ı", "I", "Ǆ", "ǅ", "ǆ", "jane@example.com", "JANE@EXAMPLE.COM", "jan\u212ae@example.com",
		"ja\xffe@x", "ja\xfee@x", "Ω", "\u2126", "ω"}
	for _, a := range words {
		for _, b := range words {
			for _, pair := range [][2]string{{a, b}, {a + "x" + b, b + "X" + a}, {"é" + a, "É" + b}} {
				if eq, same := strings.EqualFold(pair[0], pair[1]), FoldKey(pair[0]) == FoldKey(pair[1]); eq != same {
					t.Errorf("EqualFold(%q, %q) = %v but keys %q, %q", pair[0], pair[1], eq, FoldKey(pair[0]), FoldKey(pair[1]))
				}
			}
		}
	}
}

func FuzzFoldKey(f *testing.F) {
	f.Add("jane@example.com", "JANE@example.COM")
	f.Add("k\u017f", "\u212aS")
	f.Fuzz(func(t *testing.T, a, b string) {
		if strings.EqualFold(a, b) != (FoldKey(a) == FoldKey(b)) {
			t.Errorf("EqualFold(%q, %q) = %v but keys %q, %q", a, b, strings.EqualFold(a, b), FoldKey(a), FoldKey(b))
		}
		if !utf8.ValidString(FoldKey(a)) {
			t.Errorf("FoldKey(%q) is not UTF-8", a)
		}
	})
}

func TestEmailIndexKeepsLiveCandidatesOnly(t *testing.T) {
	holder := map[int]string{}
	var x EmailIndex[int]
	add := func(id int, email string) {
		holder[id] = email
		x.Add(email, id, func(other int) bool { return strings.EqualFold(holder[other], email) })
	}
	add(1, "a@x")
	add(2, "A@X")
	add(3, "b@x")
	if got := x.Candidates("a@X"); fmt.Sprint(got) != "[1 2]" {
		t.Errorf("candidates %v, want [1 2]", got)
	}
	holder[1] = "c@x" // changed elsewhere; the next Add under the old key prunes it
	add(1, "c@x")
	add(4, "a@x")
	if got := x.Candidates("A@x"); fmt.Sprint(got) != "[2 4]" {
		t.Errorf("candidates %v, want [2 4]: a stale id was kept", got)
	}
	add(2, "a@x")
	if got := x.Candidates("a@x"); fmt.Sprint(got) != "[4 2]" {
		t.Errorf("candidates %v, want each id once", got)
	}
}
