package sqlstore

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/scim/store"
)

func BenchmarkCreate(b *testing.B) {
	s := openStore(b, filepath.Join(b.TempDir(), "links.db"), "bench")
	i := 0
	for b.Loop() {
		i++
		id := fmt.Sprintf("%09d", i)
		if _, err := s.Create(b.Context(), store.Link{ID: id, UserName: "user" + id, Extras: []byte(`{"title":"x"}`)}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLookupByUserName(b *testing.B) {
	s := openStore(b, filepath.Join(b.TempDir(), "links.db"), "bench")
	for i := range 1000 {
		id := fmt.Sprintf("%09d", i)
		if _, err := s.Create(b.Context(), store.Link{ID: id, UserName: "User" + id}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		got, err := s.Lookup(b.Context(), store.ByUserName, "USER000000500")
		if err != nil || len(got) != 1 {
			b.Fatalf("Lookup = %d links, %v", len(got), err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	s := openStore(b, filepath.Join(b.TempDir(), "links.db"), "bench")
	for i := range 1000 {
		id := fmt.Sprintf("%09d", i)
		if _, err := s.Create(b.Context(), store.Link{ID: id, UserName: "User" + id, Extras: []byte(`{"title":"x"}`)}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if _, err := s.Get(b.Context(), "000000500"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdate(b *testing.B) {
	s := openStore(b, filepath.Join(b.TempDir(), "links.db"), "bench")
	if _, err := s.Create(b.Context(), store.Link{ID: "1", UserName: "user1", Extras: []byte(`{"title":"x"}`)}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Update(b.Context(), "1", func(l store.Link) (store.Link, error) { l.Extras = []byte(`{"title":"y"}`); return l, nil }); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	s := openStore(b, filepath.Join(b.TempDir(), "links.db"), "bench")
	e := store.AuditEvent{RequestID: "req", Credential: "token:sha256:9f86d081", Operation: "update", UserID: "1001",
		UserName: "alice@example.com", Attributes: []string{"email", "name.givenName"}, Result: "ok"}
	for b.Loop() {
		e.Time = time.Now()
		if _, err := s.Append(b.Context(), e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCountSince(b *testing.B) {
	s := openStore(b, filepath.Join(b.TempDir(), "links.db"), "bench")
	start := time.Now()
	for i := range 10_000 {
		op := []string{"create", "update", "deactivate", "delete"}[i%4]
		if _, err := s.Append(b.Context(), store.AuditEvent{Time: start.Add(time.Duration(i) * time.Second),
			Operation: op, UserID: fmt.Sprint(i), Result: "ok"}); err != nil {
			b.Fatal(err)
		}
	}
	since := start.Add(9_400 * time.Second) // the last 600 events: a ten-minute window
	for b.Loop() {
		if n, err := s.CountSince(b.Context(), since, false, "deactivate", "delete"); err != nil || n != 300 {
			b.Fatalf("CountSince = %d, %v; want 300", n, err)
		}
	}
}
