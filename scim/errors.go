package scim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/scim/provision"
	"github.com/scim-bridge/scim-bridge/scim/store"
)

// apiError is an error as the IdP sees it.
type apiError struct {
	Status     int
	ScimType   string
	Detail     string
	RetryAfter time.Duration
}

// mapError is THE table from Go errors to SCIM responses. Details are fixed texts: the text of a cause (which may
// hold a vendor URL or body) never reaches the client; it is logged once with the request id instead.
func mapError(err error, target, reqID string) apiError {
	vendor := vendorName(target)
	if se, ok := errors.AsType[scimerrors.ScimError](err); ok {
		return apiError{Status: se.Status, ScimType: string(se.ScimType), Detail: se.Detail}
	}
	if se, ok := errors.AsType[*scimerrors.ScimError](err); ok && se != nil {
		return apiError{Status: se.Status, ScimType: string(se.ScimType), Detail: se.Detail}
	}
	switch {
	case errors.Is(err, provision.ErrPrecondition):
		return apiError{Status: http.StatusPreconditionFailed, Detail: "The resource has changed: its version does not match If-Match."}
	case errors.Is(err, store.ErrNotFound):
		return apiError{Status: http.StatusNotFound, Detail: "Resource not found."}
	case errors.Is(err, store.ErrConflict):
		return apiError{Status: http.StatusConflict, ScimType: "uniqueness", Detail: "A user with this userName already exists."}
	}
	if ae, ok := errors.AsType[*adapters.Error](err); ok {
		switch ae.Kind {
		case adapters.KindNotFound:
			return apiError{Status: http.StatusNotFound, Detail: "Resource not found."}
		case adapters.KindConflict:
			return apiError{Status: http.StatusConflict, ScimType: "uniqueness",
				Detail: "The email is already used by another " + vendor + " account."}
		case adapters.KindSeatLimit:
			return apiError{Status: http.StatusForbidden,
				Detail: "The " + vendor + " plan has no free seat: free one in " + vendor + " or upgrade the plan, then retry."}
		case adapters.KindRejected:
			return apiError{Status: http.StatusBadRequest, ScimType: "invalidValue",
				Detail: vendor + " refused the values (for example a userName that is not a valid email address, or a missing name)."}
		case adapters.KindUnauthorized:
			return apiError{Status: http.StatusBadGateway,
				Detail: vendor + " refused the bridge's API key: check SCIM_BRIDGE_UPSTREAM_TOKEN. Request id " + reqID + "."}
		case adapters.KindRateLimited:
			return apiError{Status: http.StatusTooManyRequests, Detail: vendor + " is throttling requests; retry later.",
				RetryAfter: retryAfterOr(ae.RetryAfter)}
		case adapters.KindUnavailable:
			return apiError{Status: http.StatusServiceUnavailable, Detail: vendor + " is unavailable; retry later.",
				RetryAfter: retryAfterOr(ae.RetryAfter)}
		default:
			return apiError{Status: http.StatusBadGateway, Detail: vendor + " gave an unexpected answer. Request id " + reqID + "."}
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return apiError{Status: http.StatusServiceUnavailable, Detail: "The request was cancelled or timed out; retry later.",
			RetryAfter: 5 * time.Second}
	}
	return apiError{Status: http.StatusInternalServerError, Detail: "Internal error. Request id " + reqID + "."}
}

func retryAfterOr(d time.Duration) time.Duration {
	if d <= 0 {
		return 5 * time.Second
	}
	return d
}

func vendorName(target string) string {
	switch target {
	case "trainual":
		return "Trainual"
	case "thoughtindustries":
		return "Thought Industries"
	case "":
		return "The vendor"
	}
	return target
}

// writeError writes a SCIM error body (RFC 7644 §3.12).
func writeError(w http.ResponseWriter, e apiError) {
	h := w.Header()
	h.Set("Content-Type", "application/scim+json")
	h.Del("Etag")
	h.Del("Location")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	if e.Detail == "" {
		e.Detail = http.StatusText(e.Status)
	}
	w.WriteHeader(e.Status)
	var b strings.Builder
	b.WriteString(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"]`)
	if e.ScimType != "" {
		fmt.Fprintf(&b, `,"scimType":%q`, e.ScimType)
	}
	fmt.Fprintf(&b, `,"detail":%s,"status":"%d"}`, jsonString(e.Detail), e.Status)
	_, _ = w.Write([]byte(b.String()))
}

// errorSlot carries a handler's error past the library, which can only emit a fixed set of statuses per method
// (no 429, 503 or 412 on GET, ...): the handler parks the mapped error here and the wrapper writes it.
type errorSlot struct {
	err *apiError
}

type slotKey struct{}

func withSlot(ctx context.Context) (context.Context, *errorSlot) {
	s := &errorSlot{}
	return context.WithValue(ctx, slotKey{}, s), s
}

// fail maps err, logs it once, parks it for the wrapper, and returns a value the library accepts.
func (c *conn) fail(r *http.Request, err error) error {
	reqID := requestIDFrom(r.Context())
	e := mapError(err, c.target, reqID)
	level := slog.LevelInfo
	switch {
	case r.Context().Err() != nil:
		// The IdP hung up (or its deadline passed): not the bridge's failure, and nobody reads the answer; the
		// access log line still records it.
		level = slog.LevelInfo
	case e.Status >= 500:
		level = slog.LevelError
	}
	c.log.LogAttrs(r.Context(), level, "request failed", slog.String("request_id", reqID),
		slog.Int("status", e.Status), slog.String("error", err.Error()))
	if s, ok := r.Context().Value(slotKey{}).(*errorSlot); ok {
		s.err = &e
	}
	return scimerrors.ScimError{Status: http.StatusInternalServerError, Detail: "error"}
}
