package main

import (
	"io"
	"sync"
	"time"
)

// The access log writes one line per request. Written straight to standard error, each line is a write system
// call and a wake-up of whatever reads the other end (the container runtime, journald): measured, 15 % of the
// bridge's CPU on a GET. So access lines are gathered in memory and written together, at least every
// accessFlushEvery and whenever accessFlushAt bytes are waiting, as glog and zap's BufferedWriteSyncer do. Every
// other log line (start-up, warnings, errors) is still written at once, and shutdown writes what is waiting. What a
// crash (kill -9, out of memory) loses is at most accessFlushEvery of access lines, never a warning or an error.
const (
	accessFlushEvery = 200 * time.Millisecond
	accessFlushAt    = 32 << 10
)

// lockedWriter serialises writes to the process's log output, which the immediate logger and the access log's
// flushes share: a flush of many lines is one write, and must not interleave with a line written at once.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// lineBuffer gathers the access log's lines (slog's handler writes each record with one Write) and writes them to
// out in batches. Close writes what is waiting and stops the background flush.
type lineBuffer struct {
	out    io.Writer
	mu     sync.Mutex
	buf    []byte
	closed bool
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

func newLineBuffer(out io.Writer) *lineBuffer {
	b := &lineBuffer{out: out, stop: make(chan struct{}), done: make(chan struct{})}
	go b.loop()
	return b
}

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return b.out.Write(p)
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) >= accessFlushAt {
		b.flushLocked()
	}
	return len(p), nil
}

func (b *lineBuffer) loop() {
	defer close(b.done)
	t := time.NewTicker(accessFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.flush()
		case <-b.stop:
			b.mu.Lock()
			b.flushLocked()
			b.closed = true
			b.mu.Unlock()
			return
		}
	}
}

func (b *lineBuffer) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
}

// flushLocked writes the waiting lines; b.mu is held. A failed write drops them: there is nowhere else to log it.
func (b *lineBuffer) flushLocked() {
	if len(b.buf) == 0 {
		return
	}
	_, _ = b.out.Write(b.buf)
	if cap(b.buf) > 4*accessFlushAt {
		b.buf = nil // a burst of long lines does not pin its memory
		return
	}
	b.buf = b.buf[:0]
}

// Close writes what is waiting; later writes go straight out.
func (b *lineBuffer) Close() {
	b.once.Do(func() {
		close(b.stop)
		<-b.done
	})
}
