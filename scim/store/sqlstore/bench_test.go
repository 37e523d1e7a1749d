package sqlstore

import (
	"fmt"
	"path/filepath"
	"testing"

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
