package engine

import (
	"slices"
	"testing"
	"time"
)

func TestPlanChanges(t *testing.T) {
	tests := []struct {
		name                string
		add, remove         []string
		wantIns, wantDelete []string
	}{
		{"nothing", nil, nil, []string{}, nil},
		{"repeats go, first order stays", []string{"b", "a", "b"}, []string{"d", "c", "d"}, []string{"b", "a"}, []string{"d", "c"}},
		{"a user in both lists is only inserted", []string{"a", "b"}, []string{"b", "c"}, []string{"a", "b"}, []string{"c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ins, del := PlanChanges(tc.add, tc.remove)
			if !slices.Equal(ins, tc.wantIns) || !slices.Equal(del, tc.wantDelete) {
				t.Errorf("PlanChanges(%q, %q) = %q, %q, want %q, %q", tc.add, tc.remove, ins, del, tc.wantIns, tc.wantDelete)
			}
		})
	}
}

func TestInOrderKeepsWantsOrder(t *testing.T) {
	got := InOrder([]string{"c", "a", "b"}, []string{"b", "c"})
	if !slices.Equal(got, []string{"c", "b"}) {
		t.Errorf("InOrder = %q, want [c b]", got)
	}
	if got := InOrder([]string{"a"}, nil); got == nil || len(got) != 0 {
		t.Errorf("InOrder with nothing got = %#v, want an empty non-nil slice", got)
	}
}

func TestCleanText(t *testing.T) {
	for in, want := range map[string]string{
		"alice":        "alice",
		"Équipe":       "Équipe",
		"a\x00b":       "a\uFFFDb",
		"a\xffb":       "a\uFFFDb",
		"\x00\xfe\xff": "\uFFFD\uFFFD",
	} {
		if got := CleanText(in); got != want {
			t.Errorf("CleanText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNextModifiedMovesOn(t *testing.T) {
	future := NowMillis().Add(time.Hour)
	if got := NextModified(future); !got.Equal(future.Add(time.Millisecond)) {
		t.Errorf("NextModified(an hour ahead) = %v, want %v", got, future.Add(time.Millisecond))
	}
	past := time.UnixMilli(0).UTC()
	if got := NextModified(past); !got.After(past) || got.Nanosecond()%int(time.Millisecond) != 0 {
		t.Errorf("NextModified(epoch) = %v, want the clock at millisecond precision", got)
	}
}

func TestAuditLimit(t *testing.T) {
	if n, err := AuditLimit(0); err != nil || n != DefaultAuditLimit {
		t.Errorf("AuditLimit(0) = %d, %v, want %d", n, err, DefaultAuditLimit)
	}
	if n, err := AuditLimit(7); err != nil || n != 7 {
		t.Errorf("AuditLimit(7) = %d, %v, want 7", n, err)
	}
	if _, err := AuditLimit(-1); err == nil {
		t.Error("AuditLimit(-1) succeeded, want an error")
	}
}

func TestCheckSchemaVersion(t *testing.T) {
	if err := CheckSchemaVersion(3, 3); err != nil {
		t.Errorf("CheckSchemaVersion(3, 3) = %v, want nil", err)
	}
	if err := CheckSchemaVersion(4, 3); err == nil {
		t.Error("CheckSchemaVersion(4, 3) succeeded, want an error")
	}
}
