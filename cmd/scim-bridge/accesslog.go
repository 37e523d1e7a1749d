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
// out in batches, from its own goroutine: a request only ever appends to memory, and never waits for the write of a
// batch (a pipe whose reader is slow can make that write block). Close writes what is waiting and stops the
// background flush; later writes go straight out.
type lineBuffer struct {
	out    io.Writer
	mu     sync.Mutex
	buf    []byte
	spare  []byte // the previous batch's memory, reused
	closed bool
	every  time.Duration
	kick   chan struct{}      // asks the flusher to write now: the buffer is full
	syncs  chan chan struct{} // Sync's requests
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

func newLineBuffer(out io.Writer) *lineBuffer { return newLineBufferEvery(out, accessFlushEvery) }

func newLineBufferEvery(out io.Writer, every time.Duration) *lineBuffer {
	b := &lineBuffer{out: out, every: every, kick: make(chan struct{}, 1), syncs: make(chan chan struct{}),
		stop: make(chan struct{}), done: make(chan struct{})}
	go b.loop()
	return b
}

// Sync writes what is waiting before it returns.
func (b *lineBuffer) Sync() {
	done := make(chan struct{})
	select {
	case b.syncs <- done:
		<-done
	case <-b.done:
	}
}

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return b.out.Write(p)
	}
	b.buf = append(b.buf, p...)
	full := len(b.buf) >= accessFlushAt
	b.mu.Unlock()
	if full {
		select {
		case b.kick <- struct{}{}:
		default: // a flush is already asked for
		}
	}
	return len(p), nil
}

func (b *lineBuffer) loop() {
	defer close(b.done)
	t := time.NewTicker(b.every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.flush()
		case <-b.kick:
			b.flush()
		case d := <-b.syncs:
			b.flush()
			close(d)
		case <-b.stop:
			b.flush()
			b.mu.Lock()
			b.closed = true
			rest := b.buf
			b.buf = nil
			b.mu.Unlock()
			b.write(rest)
			return
		}
	}
}

// flush writes the waiting lines. Only the flusher's goroutine calls it, so batches go out in order; the lock is
// held only to swap the buffers.
func (b *lineBuffer) flush() {
	b.mu.Lock()
	batch := b.buf
	b.buf, b.spare = b.spare[:0], nil
	b.mu.Unlock()
	b.write(batch)
	if cap(batch) <= 4*accessFlushAt { // a burst of long lines does not pin its memory
		b.mu.Lock()
		b.spare = batch[:0]
		b.mu.Unlock()
	}
}

// write writes one batch. A failed write drops it: there is nowhere else to log that.
func (b *lineBuffer) write(batch []byte) {
	if len(batch) > 0 {
		_, _ = b.out.Write(batch)
	}
}

// Close writes what is waiting; later writes go straight out.
func (b *lineBuffer) Close() {
	b.once.Do(func() {
		close(b.stop)
		<-b.done
	})
}
