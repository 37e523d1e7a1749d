package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the flusher and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestTheAccessLogIsWrittenInBatchesAndNeverLost: access lines reach the output within the flush interval, at once
// when enough are waiting, and all of them by Close; lines written concurrently with immediate ones stay whole.
func TestTheAccessLogIsWrittenInBatchesAndNeverLost(t *testing.T) {
	out := &syncBuffer{}
	shared := &lockedWriter{w: out}
	b := newLineBuffer(shared)
	access := newLogger(b, slog.LevelInfo)
	immediate := newLogger(shared, slog.LevelInfo)

	access.Info("request", slog.Int("n", 0))
	if strings.Contains(out.String(), `"n":0`) {
		t.Fatal("an access line was written at once, not batched")
	}
	deadline := time.Now().Add(10 * accessFlushEvery)
	for !strings.Contains(out.String(), `"n":0`) {
		if time.Now().After(deadline) {
			t.Fatalf("the access line was not written within %v", 10*accessFlushEvery)
		}
		time.Sleep(accessFlushEvery / 4)
	}

	// Enough lines to pass the size threshold are written without waiting for the timer.
	long := strings.Repeat("x", 1024)
	for i := range accessFlushAt/1024 + 1 {
		access.Info("request", slog.Int("bulk", i), slog.String("pad", long))
	}
	if !strings.Contains(out.String(), `"bulk":0`) {
		t.Fatal("a full buffer was not written at once")
	}

	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 200 {
				access.Info("request", slog.String("id", fmt.Sprintf("a-%d-%d", w, i)))
				if i%20 == 0 {
					immediate.Warn("warning", slog.String("id", fmt.Sprintf("w-%d-%d", w, i)))
				}
			}
		})
	}
	wg.Wait()
	b.Close()
	access.Info("request", slog.String("id", "after-close"))
	text := out.String()
	for w := range 8 {
		for i := range 200 {
			if !strings.Contains(text, fmt.Sprintf(`"id":"a-%d-%d"`, w, i)) {
				t.Fatalf("access line a-%d-%d was lost", w, i)
			}
		}
	}
	if !strings.Contains(text, `"id":"after-close"`) {
		t.Fatal("a line after Close was not written")
	}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if !strings.HasPrefix(line, "{") || !strings.HasSuffix(line, "}") || strings.Count(line, `"msg"`) != 1 {
			t.Fatalf("a torn or interleaved line: %.200s", line)
		}
	}
}
