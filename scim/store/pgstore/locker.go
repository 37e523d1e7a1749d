package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scim-bridge/scim-bridge/scim/store"
)

// Polling bounds for a key another process holds. Contention between replicas on one user is rare (an IdP sends
// one person's changes in order), so a short poll costs little and keeps the Locker to one connection.
const (
	pollMin = time.Millisecond
	pollMax = 50 * time.Millisecond
	// queryTimeout bounds a lock or unlock statement. Those statements never wait (pg_try_advisory_lock), so
	// they run without the caller's context: a statement cancelled half-way would leave it unknown whether the
	// session holds the lock.
	queryTimeout = 10 * time.Second
)

// locker is a store.Locker across processes. A key is first taken in process (store.KeyedMutex), so that at
// most one goroutine per process asks Postgres for it, then as a session advisory lock on the one connection
// the locker owns, polling while another process holds it.
//
// Every lock of the process lives in that one session. If the session is lost (the server restarts, the network
// drops it), Postgres releases all of them at once: holders are not interrupted, and until they finish another
// replica may take the same keys. The store's own constraints (unique live userName, row locks in Update) still
// hold; what is lost for that moment is the guarantee of one vendor call per person.
type locker struct {
	salt  []byte // namespace and schema, so that deployments sharing a database do not contend
	local store.KeyedMutex

	mu      sync.Mutex // one statement at a time on conn
	connect func(context.Context) (*pgx.Conn, error)
	conn    *pgx.Conn // nil until first use and after a failure
	gen     uint64    // bumped when conn is dropped: a lock taken in an older session is already gone
	closed  bool
}

var errClosed = errors.New("pgstore: store is closed")

// keyID maps a key to the advisory lock's 64-bit key. A collision only makes two keys wait for each other.
func (l *locker) keyID(key string) int64 {
	h := sha256.New()
	h.Write(l.salt)
	h.Write([]byte{0})
	h.Write([]byte(key))
	return int64(binary.BigEndian.Uint64(h.Sum(nil)))
}

// Lock implements store.Locker.
func (l *locker) Lock(ctx context.Context, key string) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	unlockLocal, err := l.local.Lock(ctx, key)
	if err != nil {
		return nil, err
	}
	id := l.keyID(key)
	delay := pollMin
	for {
		gen, ok, err := l.try(ctx, id)
		if err != nil {
			unlockLocal()
			if ctx.Err() != nil {
				return nil, ctx.Err() // the contract: a wait ended by ctx returns ctx's error
			}
			return nil, err
		}
		if ok {
			var once sync.Once
			return func() {
				once.Do(func() {
					l.release(id, gen)
					unlockLocal()
				})
			}, nil
		}
		// Jitter keeps replicas polling one key from doing so in step.
		t := time.NewTimer(delay/2 + rand.N(delay/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			unlockLocal()
			return nil, ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, pollMax)
	}
}

// try asks for the key once. It returns the session generation the lock was taken in. A session found broken is
// replaced once: nothing can be held through a dead session, so asking again on a new one is safe.
func (l *locker) try(ctx context.Context, id int64) (uint64, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for attempt := 0; ; attempt++ {
		if l.closed {
			return 0, false, errClosed
		}
		fresh := l.conn == nil
		if fresh {
			c, err := l.connect(ctx)
			if err != nil {
				return 0, false, fmt.Errorf("pgstore: lock: connect: %w", err)
			}
			l.conn = c
		}
		qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), queryTimeout)
		var ok bool
		err := l.conn.QueryRow(qctx, `SELECT pg_try_advisory_lock($1)`, id).Scan(&ok)
		cancel()
		if err == nil {
			return l.gen, ok, nil
		}
		l.dropLocked()
		if fresh || attempt > 0 {
			return 0, false, fmt.Errorf("pgstore: lock: %w", err)
		}
	}
}

func (l *locker) release(id int64, gen uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil || gen != l.gen {
		return // the session that held it is gone, and the lock with it
	}
	ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
	defer cancel()
	if _, err := l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, id); err != nil {
		// The session's lock state is unknown: ending the session is the one way to be sure nothing stays held.
		l.dropLocked()
	}
}

func (l *locker) dropLocked() {
	if l.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = l.conn.Close(ctx)
		cancel()
		l.conn = nil
	}
	l.gen++
}

func (l *locker) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.dropLocked()
}
