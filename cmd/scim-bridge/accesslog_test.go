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

// waitFor polls until out holds want or d has passed.
func waitFor(out *syncBuffer, want string, d time.Duration) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(5 * time.Millisecond) {
		if strings.Contains(out.String(), want) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// TestTheAccessLogIsWrittenInBatchesAndNeverLost: access lines are not written one by one but reach the output
// within the flush interval, at once when enough are waiting, on Sync, and all of them by Close; lines written
// concurrently with immediate ones stay whole.
func TestTheAccessLogIsWrittenInBatchesAndNeverLost(t *testing.T) {
	t.Run("within the interval", func(t *testing.T) {
		out := &syncBuffer{}
		b := newLineBuffer(out)
		defer b.Close()
		newLogger(b, slog.LevelInfo).Info("request", slog.Int("n", 0))
		if strings.Contains(out.String(), `"n":0`) {
			t.Fatal("an access line was written at once, not batched")
		}
		if !waitFor(out, `"n":0`, 10*accessFlushEvery) {
			t.Fatalf("the access line was not written within %v", 10*accessFlushEvery)
		}
	})
	t.Run("a full buffer, and Sync, do not wait for the interval", func(t *testing.T) {
		out := &syncBuffer{}
		b := newLineBufferEvery(out, time.Hour)
		defer b.Close()
		access := newLogger(b, slog.LevelInfo)
		access.Info("request", slog.String("id", "synced"))
		b.Sync()
		if !strings.Contains(out.String(), `"id":"synced"`) {
			t.Fatal("Sync returned before the line was written")
		}
		long := strings.Repeat("x", 1024)
		for i := range accessFlushAt/1024 + 1 {
			access.Info("request", slog.Int("bulk", i), slog.String("pad", long))
		}
		if !waitFor(out, `"bulk":0`, 5*time.Second) {
			t.Fatal("a full buffer was not written")
		}
	})
	t.Run("concurrent lines stay whole and Close loses none", func(t *testing.T) {
		out := &syncBuffer{}
		shared := &lockedWriter{w: out}
		b := newLineBufferEvery(shared, time.Hour)
		access := newLogger(b, slog.LevelInfo)
		immediate := newLogger(shared, slog.LevelInfo)
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := range 300 {
					access.Info("request", slog.String("id", fmt.Sprintf("a-%d-%d", w, i)), slog.String("pad", strings.Repeat("y", 200)))
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
			for i := range 300 {
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
	})
}
