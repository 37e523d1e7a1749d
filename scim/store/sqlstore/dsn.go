package sqlstore

import (
	"net/url"
	"strconv"
	"strings"
)

// busyTimeoutMS is how long a connection waits for another process's write lock before failing with
// SQLITE_BUSY; in-process writers never wait on it because they share one connection.
const busyTimeoutMS = 5000

// readerCacheKiB is each reader connection's page cache. SQLite's default (2 MiB) on each of the readers was a
// sixth of a 100k-user bridge's memory once the caches filled; the pages the readers use most (the indexes' upper
// levels) fit in far less, and the others come from the operating system's file cache.
const readerCacheKiB = 512

// Connection settings, applied by the driver to every new connection. Writers begin transactions with
// IMMEDIATE so that Update's read-modify-write holds the write lock from its first read.
var (
	writerParams = []string{
		"_pragma=busy_timeout(" + strconv.Itoa(busyTimeoutMS) + ")",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(NORMAL)",
		"_pragma=foreign_keys(1)",
		"_txlock=immediate",
	}
	readerParams = []string{
		"_pragma=busy_timeout(" + strconv.Itoa(busyTimeoutMS) + ")",
		"_pragma=foreign_keys(1)",
		"_pragma=query_only(1)",
		"_pragma=cache_size(-" + strconv.Itoa(readerCacheKiB) + ")",
	}
)

// withParams appends driver parameters to a path or file: URI, after any the caller supplied.
func withParams(dsn string, params []string) string {
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + strings.Join(params, "&")
}

// inMemory reports whether dsn names an in-memory database, which exists per connection and so must be
// served by a single connection.
func inMemory(dsn string) bool {
	path, query, _ := strings.Cut(dsn, "?")
	return path == ":memory:" || path == "file::memory:" ||
		strings.Contains("&"+query+"&", "&mode=memory&")
}

// redact hides the DSN and its parameter values wherever the driver quoted them in err (it does for a bad
// parameter), keeping the rest of the message and the error chain for errors.Is/As.
func redact(err error, dsn string) error {
	msg := err.Error()
	secrets := []string{dsn}
	if _, query, ok := strings.Cut(dsn, "?"); ok {
		secrets = append(secrets, query)
		for pair := range strings.SplitSeq(query, "&") {
			_, v, _ := strings.Cut(pair, "=")
			secrets = append(secrets, v)
			if u, err := url.QueryUnescape(v); err == nil {
				secrets = append(secrets, u)
			}
		}
	}
	redacted := msg
	for _, s := range secrets {
		if s != "" {
			redacted = strings.ReplaceAll(redacted, s, "[redacted]")
		}
	}
	if redacted == msg {
		return err
	}
	return &redactedError{msg: redacted, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
