package thoughtindustries

import (
	"context"
	"sync"
)

// keyLock serialises work per key (a user id) within one process. Entries exist only while someone holds or
// waits for them, so the map does not grow with the number of users ever touched.
type keyLock struct {
	mu   sync.Mutex
	held map[string]*keyEntry
}

type keyEntry struct {
	sem  chan struct{} // capacity 1: a mutex that a waiter can give up on when its context ends
	refs int           // holders plus waiters
}

// lock waits for key, or for ctx to end. The returned function releases it and must be called exactly once.
func (l *keyLock) lock(ctx context.Context, key string) (unlock func(), err error) {
	l.mu.Lock()
	if l.held == nil {
		l.held = map[string]*keyEntry{}
	}
	e := l.held[key]
	if e == nil {
		e = &keyEntry{sem: make(chan struct{}, 1)}
		l.held[key] = e
	}
	e.refs++
	l.mu.Unlock()

	select {
	case e.sem <- struct{}{}:
		return func() {
			<-e.sem
			l.release(key, e)
		}, nil
	case <-ctx.Done():
		l.release(key, e)
		return nil, ctx.Err()
	}
}

func (l *keyLock) release(key string, e *keyEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e.refs--
	if e.refs == 0 {
		delete(l.held, key)
	}
}

// size reports how many keys have an entry; tests use it to prove entries are cleaned up.
func (l *keyLock) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.held)
}
