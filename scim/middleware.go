package scim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

type requestIDKey struct{}

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
func observe(log *slog.Logger, m *metrics) func(http.Handler) http.Handler {
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
						writeError(sw, apiError{Status: http.StatusInternalServerError, Detail: "Internal error. Request id " + id + "."})
					}
				}
				route := routePattern(r)
				dur := time.Since(start)
				if m != nil {
					m.observe(r.Method, route, sw.status, dur)
				}
				level := slog.LevelInfo
				if route == "/healthz" || route == "/readyz" || route == "/metrics" {
					level = slog.LevelDebug
				}
				log.LogAttrs(r.Context(), level, "request", slog.String("request_id", id), slog.String("method", r.Method),
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

// limitBody answers 413 with a SCIM body for bodies over max, and otherwise hands the handler a body it can read
// again. The library reads bodies with io.ReadAll and would turn a cut-off body into a 400.
func limitBody(max int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body == nil || r.Body == http.NoBody {
				next.ServeHTTP(w, r)
				return
			}
			if r.ContentLength > max {
				tooLarge(w, max)
				return
			}
			b, err := io.ReadAll(io.LimitReader(r.Body, max+1))
			if err != nil {
				writeError(w, apiError{Status: http.StatusBadRequest, ScimType: "invalidSyntax", Detail: "The request body could not be read."})
				return
			}
			if int64(len(b)) > max {
				tooLarge(w, max)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
			r.ContentLength = int64(len(b))
			next.ServeHTTP(w, r)
		})
	}
}

func tooLarge(w http.ResponseWriter, max int64) {
	w.Header().Set("Connection", "close")
	writeError(w, apiError{Status: http.StatusRequestEntityTooLarge,
		Detail: "The request body is larger than " + humanBytes(max) + "."})
}

func humanBytes(n int64) string {
	if n%(1<<20) == 0 {
		return itoa(n>>20) + " MiB"
	}
	if n%(1<<10) == 0 {
		return itoa(n>>10) + " KiB"
	}
	return itoa(n) + " bytes"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// readBody returns the (already size-limited) body and puts a fresh reader back.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b, nil
}

// setBody replaces the request body.
func setBody(r *http.Request, b []byte) {
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	r.Header.Del("Content-Length")
}

var errNotJSONObject = errors.New("not a JSON object")

// decodeObject decodes a JSON object keeping numbers exact.
func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errNotJSONObject
	}
	if dec.More() {
		return nil, errNotJSONObject
	}
	return m, nil
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
