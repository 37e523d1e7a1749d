package store

import (
	"context"
	"sync"
)

// KeyedMutex is an in-process Locker: one mutex per key, created on first use and dropped when nobody holds or
// waits for it, so memory stays bounded by the number of keys in use. The zero value is ready to use; a
// KeyedMutex must not be copied after first use.
type KeyedMutex struct {
	mu      sync.Mutex
	entries map[string]*lockEntry
}

type lockEntry struct {
	// held has room for one token; sending it takes the lock. A channel rather than a sync.Mutex lets a waiter
	// give up when its context ends.
	held chan struct{}
	refs int // holder plus waiters; the entry leaves the map at zero
}

var _ Locker = (*KeyedMutex)(nil)

// Lock implements Locker.
func (m *KeyedMutex) Lock(ctx context.Context, key string) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e := m.ref(key)
	select {
	case e.held <- struct{}{}:
	case <-ctx.Done():
		m.unref(key, e)
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-e.held
			m.unref(key, e)
		})
	}, nil
}

func (m *KeyedMutex) ref(key string) *lockEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil {
		m.entries = make(map[string]*lockEntry)
	}
	e, ok := m.entries[key]
	if !ok {
		e = &lockEntry{held: make(chan struct{}, 1)}
		m.entries[key] = e
	}
	e.refs++
	return e
}

func (m *KeyedMutex) unref(key string, e *lockEntry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e.refs--
	if e.refs == 0 {
		delete(m.entries, key)
	}
}
