package upstreamtest

import (
	"bytes"
	"sync"
)

// LogBuffer is an io.Writer that concurrent writers (a server's logger, an adapter's goroutines) may share and a
// test may read at any time. Tests point loggers at one to assert that no secret was ever written.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
