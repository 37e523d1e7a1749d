package store

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestKeyedMutexForgetsKeysNobodyUses(t *testing.T) {
	var m KeyedMutex
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			key := []string{"a", "b", "c"}[i%3]
			unlock, err := m.Lock(t.Context(), key)
			if err != nil {
				t.Errorf("Lock: %v", err)
				return
			}
			unlock()
			unlock()
		})
	}
	wg.Wait()

	// A waiter that gives up must drop its reference too.
	unlock, err := m.Lock(t.Context(), "held")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if _, err := m.Lock(ctx, "held"); err == nil {
		t.Fatal("Lock of a held key succeeded")
	}
	unlock()

	if n := len(m.entries); n != 0 {
		t.Errorf("entries after every holder left = %d, want 0", n)
	}
}
