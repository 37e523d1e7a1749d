package provision

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
)

// The listing keeps users encoded: what it hands out must be what it was given, Opaque aside.
func TestTheListingCodecRoundTrips(t *testing.T) {
	paris := time.FixedZone("", 3600)
	parsed, _ := time.Parse(time.RFC3339Nano, "2024-03-01T10:00:00.123456789+05:30")
	long := strings.Repeat("é", 300)
	users := []adapters.User{
		{},
		{ID: "101", Email: "a@example.com", GivenName: "A", FamilyName: "B", Partial: true, Attrs: map[string]string{}},
		{ID: "abc123", Email: long, GivenName: "Zoë", FamilyName: "", Active: true,
			Attrs:   map[string]string{adapters.AttrPreferredLanguage: "", adapters.AttrExternalID: "x", adapters.AttrDepartment: long},
			Created: time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC), Updated: time.Date(2021, 1, 2, 3, 4, 5, 0, paris)},
		{ID: "7", Created: parsed, Updated: parsed.UTC(), Attrs: map[string]string{adapters.AttrTitle: "t"}},
		{ID: "8", Created: time.Time{}.In(paris), Updated: time.Date(1, 1, 1, 0, 0, 0, 0, paris)},
	}
	var keys attrKeys
	for _, u := range users {
		rec := encodeUser(u, &keys)
		if encodedID(rec) != u.ID {
			t.Errorf("encodedID = %q, want %q", encodedID(rec), u.ID)
		}
		got := decodeUser(rec, &keys)
		if got.Created.Format(time.RFC3339Nano) != u.Created.Format(time.RFC3339Nano) ||
			got.Updated.Format(time.RFC3339Nano) != u.Updated.Format(time.RFC3339Nano) ||
			!got.Created.Equal(u.Created) || got.Created.IsZero() != u.Created.IsZero() {
			t.Errorf("times %v %v, want %v %v", got.Created, got.Updated, u.Created, u.Updated)
		}
		got.Created, got.Updated, u.Created, u.Updated = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, u) {
			t.Errorf("round trip:\n got %#v\nwant %#v", got, u)
		}
	}
	u := users[2]
	u.Opaque = map[string]any{"raw": 1}
	if got := decodeUser(encodeUser(u, &keys), &keys); got.Opaque != nil {
		t.Error("Opaque was kept")
	}
}

// The listing keeps its order through replacements, removals and the squeezing out of removed slots.
func TestTheListingKeepsItsOrder(t *testing.T) {
	l := newSnapList()
	for i := range 6 {
		l.put(adapters.User{ID: fmt.Sprint(i), Email: fmt.Sprintf("u%d@example.com", i)})
	}
	l.put(adapters.User{ID: "2", Email: "changed@example.com"})
	l.remove("1")
	l.remove("4")
	l.remove("nobody")
	l.put(adapters.User{ID: "1", Email: "back@example.com"})
	if u, ok := l.get("4"); ok {
		t.Errorf("a removed user is still there: %v", u)
	}
	order := func() string {
		var ids []string
		for _, rec := range l.ordered() {
			u := decodeUser(rec, &l.keys)
			ids = append(ids, u.ID+"="+u.Email)
		}
		return strings.Join(ids, " ")
	}
	want := "0=u0@example.com 2=changed@example.com 3=u3@example.com 5=u5@example.com 1=back@example.com"
	if got := order(); got != want {
		t.Errorf("order %s, want %s", got, want)
	}
	l.put(adapters.User{ID: "3", Email: "again@example.com"})
	l.remove("0")
	if got, want := order(), "2=changed@example.com 3=again@example.com 5=u5@example.com 1=back@example.com"; got != want {
		t.Errorf("order %s, want %s", got, want)
	}
	if u, ok := l.get("5"); !ok || u.Email != "u5@example.com" {
		t.Errorf("get after squeezing = %v, %v", u, ok)
	}
}

// listed is a Trainual list item as the adapter decodes it (the strings come from JSON, one allocation each).
func listed(i int) adapters.User {
	return adapters.User{ID: fmt.Sprint(100000 + i), Email: fmt.Sprintf("user%07d@example.com", i), GivenName: string([]byte("Load")),
		FamilyName: fmt.Sprintf("User%d", i), Partial: true, Attrs: map[string]string{}}
}

// retained reports the heap bytes per user that build keeps.
func retained(b *testing.B, build func(n int) any) {
	const n = 20000
	var before, after runtime.MemStats
	var kept any
	for b.Loop() {
		kept = nil
		runtime.GC()
		runtime.ReadMemStats(&before)
		kept = build(n)
		runtime.GC()
		runtime.ReadMemStats(&after)
	}
	runtime.KeepAlive(kept)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/user")
}

// BenchmarkListingMemory reports the bytes the cached listing holds per user.
func BenchmarkListingMemory(b *testing.B) {
	retained(b, func(n int) any {
		l := newSnapList()
		for i := range n {
			l.put(listed(i))
		}
		return l
	})
}

// BenchmarkListingMemoryAsUsers is the listing as it was held before snapcodec.go: a map of adapters.User and the
// order of ids.
func BenchmarkListingMemoryAsUsers(b *testing.B) {
	retained(b, func(n int) any {
		users, order := map[string]adapters.User{}, []string{}
		for i := range n {
			u := listed(i)
			users[u.ID], order = u, append(order, u.ID)
		}
		return []any{users, order}
	})
}
