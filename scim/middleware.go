package scim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

type requestIDKey struct{}

// errPanic stands for a recovered panic: errors.go answers it as an internal error naming the request id.
var errPanic = errors.New("scim: panic serving the request")

// requestIDFrom returns the request's id ("" outside a request).
func requestIDFrom(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey{}).(string)
	return s
}

// newRequestID makes a short random id. 64 bits keep collisions out of reach for any log retention we care about.
func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validRequestID accepts a caller's X-Request-Id only if it is short and plain, so a log line can't be forged.
func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// statusWriter remembers the status for the access log and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
	w.ResponseWriter.WriteHeader(s)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe assigns a request id, recovers panics into a SCIM 500, and writes one access-log line and the request
// metrics. The log line holds the route pattern, never the query (filters carry email addresses) nor headers.
//
// connectionOf names the connection a path belongs to ("" for the process's own endpoints), so that every log
// line and series says which connection it is about.
func observe(log, access *slog.Logger, m *metrics, connectionOf func(path string) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			id := r.Header.Get("X-Request-Id")
			if !validRequestID(id) {
				id = newRequestID()
			}
			w.Header().Set("X-Request-Id", id)
			r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
			sw := &statusWriter{ResponseWriter: w}
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					log.LogAttrs(r.Context(), slog.LevelError, "panic serving request", slog.String("request_id", id),
						slog.String("panic", panicText(p)))
					if sw.status == 0 {
						writeError(sw, answer(errPanic, "", id))
					}
				}
				route := routePattern(r)
				dur := time.Since(start)
				conn := connectionOf(r.URL.Path)
				if m != nil {
					m.observe(conn, r.Method, route, sw.status, dur)
				}
				level := slog.LevelInfo
				if route == "/healthz" || route == "/readyz" || route == "/metrics" {
					level = slog.LevelDebug
				}
				access.LogAttrs(r.Context(), level, "request", slog.String("connection", conn), slog.String("request_id", id), slog.String("method", r.Method),
					slog.String("route", route), slog.Int("status", sw.status), slog.Int("bytes", sw.bytes),
					slog.Duration("duration", dur), slog.String("user_agent", truncate(r.UserAgent(), 80)))
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

func panicText(p any) string {
	// A panic value may be anything, including a request body; keep only its type-level description, bounded.
	if err, ok := p.(error); ok {
		return truncate(err.Error(), 200)
	}
	if s, ok := p.(string); ok {
		return truncate(s, 200)
	}
	return "non-error panic"
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return "unmatched"
}

// canonicalPaths maps the lower-cased names of SCIM endpoints to their canonical spelling; Microsoft's collection
// sends /users and /serviceConfiguration.
var canonicalPaths = map[string]string{
	"users":                  "Users",
	"groups":                 "Groups",
	"schemas":                "Schemas",
	"resourcetypes":          "ResourceTypes",
	"serviceproviderconfig":  "ServiceProviderConfig",
	"serviceproviderconfigs": "ServiceProviderConfig",
	"serviceconfiguration":   "ServiceProviderConfig",
	"bulk":                   "Bulk",
	"me":                     "Me",
}

// canonicalPath rewrites the endpoint segment after base to its canonical case and drops a trailing slash.
func canonicalPath(base, p string) string {
	if len(p) <= len(base) || !strings.EqualFold(p[:len(base)], base) || p[len(base)] != '/' {
		return p
	}
	rest := strings.TrimSuffix(p[len(base)+1:], "/")
	seg, tail, hasTail := strings.Cut(rest, "/")
	if c, ok := canonicalPaths[strings.ToLower(seg)]; ok {
		seg = c
	}
	out := base + "/" + seg
	if hasTail {
		if strings.EqualFold(tail, ".search") {
			tail = ".search"
		}
		out += "/" + tail
	}
	return out
}
