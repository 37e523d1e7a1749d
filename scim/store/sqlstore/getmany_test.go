package sqlstore

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/scim-bridge/scim-bridge/scim/store"
)

// GetMany is Get for many ids at once: the same links (tombstones included), none of another namespace, and the
// missing ids simply absent, across more ids than one query takes.
func TestGetManyAnswersWhatGetAnswers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "links.db")
	s, other := openStore(t, path, "a"), openStore(t, path, "b")
	var ids []string
	for i := range getManyBatch + 20 {
		id := fmt.Sprintf("%05d", i)
		ids = append(ids, id)
		if i%7 == 3 {
			continue // missing
		}
		if _, err := s.Create(t.Context(), store.Link{ID: id, UserName: "u" + id, Extras: []byte(`{"n":1}`), Deleted: i%11 == 5}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := other.Create(t.Context(), store.Link{ID: "00003", UserName: "other"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetMany(t.Context(), append(ids, "nobody"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range append(ids, "nobody") {
		want, err := s.Get(t.Context(), id)
		l, ok := got[id]
		switch {
		case err != nil && ok:
			t.Errorf("GetMany has %s (%v), Get says %v", id, l, err)
		case err == nil && !reflect.DeepEqual(l, want):
			t.Errorf("GetMany(%s) = %+v, Get %+v", id, l, want)
		}
	}
	if empty, err := s.GetMany(t.Context(), nil); err != nil || len(empty) != 0 {
		t.Errorf("GetMany(nil) = %v, %v", empty, err)
	}
}
