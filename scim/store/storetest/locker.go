package storetest

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/scim/store"
)

var lockerCases = []struct {
	name string
	fn   func(t *testing.T, l store.Locker)
}{
	{"only one goroutine holds a key at a time", testLockExcludes},
	{"different keys do not block each other", testLockKeysIndependent},
	{"a wait cancelled by its context returns the context's error and takes nothing", testLockCancel},
	{"a wait that reaches its deadline returns DeadlineExceeded", testLockDeadline},
	{"a context that is already done is refused even when the key is free", testLockDoneContext},
	{"a second unlock does not release the next holder", testUnlockTwice},
}

// RunLocker runs the store.Locker part of the suite, each subtest on a fresh Locker from newLocker, and reports
// which cases ran. Run calls it for stores that are Lockers; a Locker that is not a store can call it directly.
func RunLocker(t *testing.T, newLocker func(t *testing.T) store.Locker) Report {
	t.Helper()
	var r Report
	for _, tc := range lockerCases {
		r.runCase(t, tc.name, func(t *testing.T) { tc.fn(t, newLocker(t)) })
	}
	return r
}

// waitLimit bounds waits that must succeed, so a broken Locker fails the test instead of hanging it.
const waitLimit = 30 * time.Second

func mustLock(t *testing.T, l store.Locker, key string) func() {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	unlock, err := l.Lock(ctx, key)
	if err != nil {
		t.Fatalf("Lock(%q): %v", key, err)
	}
	return unlock
}

// assertHeld checks that key cannot be taken now, by waiting briefly and expecting the deadline. The
// duration only bounds how long the check takes; no assertion depends on it.
func assertHeld(t *testing.T, l store.Locker, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	unlock, err := l.Lock(ctx, key)
	if err == nil {
		unlock()
		t.Fatalf("Lock(%q) succeeded while the key was held", key)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock(%q) error = %v, want DeadlineExceeded", key, err)
	}
}

func testLockExcludes(t *testing.T, l store.Locker) {
	const goroutines, rounds = 20, 50
	var (
		inside, overlaps atomic.Int32
		counter          int // deliberately unsynchronised: the Locker is the only thing ordering access
		wg               sync.WaitGroup
		errs             = make(chan error, goroutines)
	)
	for range goroutines {
		wg.Go(func() {
			for range rounds {
				unlock, err := l.Lock(t.Context(), "user:alice")
				if err != nil {
					errs <- err
					return
				}
				if inside.Add(1) != 1 {
					overlaps.Add(1)
				}
				counter++
				runtime.Gosched()
				inside.Add(-1)
				unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Lock: %v", err)
	}
	if overlaps.Load() != 0 || counter != goroutines*rounds {
		t.Errorf("overlapping holders = %d, counter = %d; want 0 and %d", overlaps.Load(), counter, goroutines*rounds)
	}
}

func testLockKeysIndependent(t *testing.T, l store.Locker) {
	unlockA := mustLock(t, l, "id:1")
	defer unlockA()
	unlockB := mustLock(t, l, "id:2")
	unlockB()
	assertHeld(t, l, "id:1")
}

func testLockCancel(t *testing.T, l store.Locker) {
	unlock := mustLock(t, l, "k")
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		u, err := l.Lock(ctx, "k")
		if err == nil {
			u()
		}
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Lock error = %v, want context.Canceled", err)
	}
	assertHeld(t, l, "k")
	unlock()
	mustLock(t, l, "k")()
}

func testLockDeadline(t *testing.T, l store.Locker) {
	unlock := mustLock(t, l, "k")
	assertHeld(t, l, "k")
	unlock()
	mustLock(t, l, "k")()
}

func testLockDoneContext(t *testing.T, l store.Locker) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if unlock, err := l.Lock(ctx, "free"); !errors.Is(err, context.Canceled) {
		if err == nil {
			unlock()
		}
		t.Fatalf("Lock with a done context: error = %v, want context.Canceled", err)
	}
	mustLock(t, l, "free")()
}

func testUnlockTwice(t *testing.T, l store.Locker) {
	first := mustLock(t, l, "k")
	first()
	second := mustLock(t, l, "k")
	defer second()
	first()
	assertHeld(t, l, "k")
}
