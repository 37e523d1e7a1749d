package scim

import (
	"context"
	"encoding/json"
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

// This file is the one place that turns a failure into an HTTP status. Handlers return Go errors; fail maps each
// through answer, logs what the bridge (not the request) is responsible for, and writes the SCIM error body
// (RFC 7644 §3.12). cmd/scim-bridge/deps_test.go fails the build when another file of this package names an error
// status.

// apiError is an error as the IdP sees it.
type apiError struct {
	Status     int
	ScimType   scimerrors.ScimType
	Detail     string
	RetryAfter time.Duration
}

// problem is a refusal of the request itself, decided by this package before provision sees the request.
type problem int

const (
	problemNoEndpoint     problem = iota + 1 // no route: SCIM 404 instead of chi's text
	problemMethod                            // the route exists, the method does not (Allow is set by the router)
	problemBulk                              // POST /Bulk
	problemMe                                // /Me
	problemBodyUnreadable                    // the connection failed while the body was read
	problemTrailingData                      // a body goes on after its JSON document
	problemNotInteger                        // count or startIndex is not an integer; arg names the parameter
	problemSearchBody                        // a .search body that is not a SearchRequest object
	problemSearchSchemas                     // a .search body without the SearchRequest schema
)

// problems is the table of request refusals; %s in a detail is the refusal's arg.
var problems = map[problem]apiError{
	problemNoEndpoint:     {Status: http.StatusNotFound, Detail: "Specified endpoint does not exist."},
	problemMethod:         {Status: http.StatusMethodNotAllowed, Detail: "The method is not supported on this endpoint."},
	problemBulk:           {Status: http.StatusNotImplemented, Detail: "Bulk operations are not supported (see /ServiceProviderConfig)."},
	problemMe:             {Status: http.StatusNotImplemented, Detail: "The /Me endpoint is not supported."},
	problemBodyUnreadable: {Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidSyntax, Detail: "The request body could not be read."},
	problemTrailingData: {Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidSyntax,
		Detail: "The request body must be one JSON document; something follows it."},
	problemNotInteger:    {Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidValue, Detail: "The %s parameter must be an integer."},
	problemSearchBody:    {Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidSyntax, Detail: "The request body is not a valid SearchRequest."},
	problemSearchSchemas: {Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidSyntax, Detail: "schemas must contain " + schemaSearch + "."},
}

// refusal is a problem as an error.
type refusal struct {
	p   problem
	arg string
}

func (e *refusal) Error() string { return "scim: " + answer(e, "", "").Detail }

func refuse(p problem, arg string) error { return &refusal{p: p, arg: arg} }

// scimTypeStatus is RFC 7644 §3.12 Table 9: the status of each scimType. The library's error values (which
// scim/patch, scim/filter and the schema validation return) are answered by their scimType through this table.
var scimTypeStatus = map[scimerrors.ScimType]int{
	scimerrors.ScimTypeInvalidFilter:  http.StatusBadRequest,
	scimerrors.ScimTypeTooMany:        http.StatusBadRequest,
	scimerrors.ScimTypeUniqueness:     http.StatusConflict,
	scimerrors.ScimTypeMutability:     http.StatusBadRequest,
	scimerrors.ScimTypeInvalidSyntax:  http.StatusBadRequest,
	scimerrors.ScimTypeInvalidPath:    http.StatusBadRequest,
	scimerrors.ScimTypeNoTarget:       http.StatusBadRequest,
	scimerrors.ScimTypeInvalidValue:   http.StatusBadRequest,
	scimerrors.ScimTypeInvalidVersion: http.StatusBadRequest,
	scimerrors.ScimTypeSensitive:      http.StatusForbidden,
}

// Fixed texts shared by several rows.
const (
	detailUserNameTaken = "A user with this userName already exists."
	detailNotFound      = "Resource not found."
)

// answer is THE table from Go errors to SCIM responses. Details are fixed texts: the text of a cause (which may
// hold a vendor URL or body) never reaches the client; fail logs it once with the request id instead. vendor is
// the target's display name ("Thought Industries").
func answer(err error, vendor, reqID string) apiError {
	if vendor == "" {
		vendor = "The vendor"
	}
	if e, ok := errors.AsType[*refusal](err); ok {
		a := problems[e.p]
		if strings.Contains(a.Detail, "%s") {
			a.Detail = fmt.Sprintf(a.Detail, e.arg)
		}
		return a
	}
	if e, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return apiError{Status: http.StatusRequestEntityTooLarge, Detail: "The request body is larger than " + humanBytes(e.Limit) + "."}
	}
	if se, ok := libraryError(err); ok {
		status, typed := scimTypeStatus[se.ScimType]
		if !typed {
			// No path of ours produces an untyped library value; should one appear, it is a refused request.
			status = http.StatusBadRequest
		}
		return apiError{Status: status, ScimType: se.ScimType, Detail: se.Detail}
	}
	if pe, ok := errors.AsType[*provision.Error](err); ok {
		switch pe.Kind {
		case provision.KindInvalid:
			return apiError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidValue, Detail: pe.Detail}
		case provision.KindUniqueness:
			return apiError{Status: http.StatusConflict, ScimType: scimerrors.ScimTypeUniqueness, Detail: pe.Detail}
		case provision.KindNotFound:
			return apiError{Status: http.StatusNotFound, Detail: pe.Detail}
		case provision.KindPrecondition:
			return apiError{Status: http.StatusPreconditionFailed, Detail: "The resource has changed: its version does not match If-Match."}
		case provision.KindHeld:
			return apiError{Status: http.StatusServiceUnavailable, Detail: pe.Detail, RetryAfter: retryAfterOr(pe.RetryAfter)}
		}
	}
	// provision translates the store's and the vendor's refusals itself; these rows keep the answer right if one
	// ever passes through untranslated.
	switch {
	case errors.Is(err, store.ErrNotFound):
		return apiError{Status: http.StatusNotFound, Detail: detailNotFound}
	case errors.Is(err, store.ErrConflict):
		return apiError{Status: http.StatusConflict, ScimType: scimerrors.ScimTypeUniqueness, Detail: detailUserNameTaken}
	}
	if ae, ok := errors.AsType[*adapters.Error](err); ok {
		switch ae.Kind {
		case adapters.KindNotFound:
			return apiError{Status: http.StatusNotFound, Detail: detailNotFound}
		case adapters.KindConflict:
			return apiError{Status: http.StatusConflict, ScimType: scimerrors.ScimTypeUniqueness,
				Detail: "The email is already used by another " + vendor + " account."}
		case adapters.KindSeatLimit:
			return apiError{Status: http.StatusForbidden,
				Detail: "The " + vendor + " plan has no free seat: free one in " + vendor + " or upgrade the plan, then retry."}
		case adapters.KindRejected:
			if ae.Detail != "" {
				return apiError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidValue, Detail: vendor + ": " + ae.Detail}
			}
			return apiError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidValue,
				Detail: vendor + " refused the values and gave no reason. Request id " + reqID + "."}
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

// libraryError finds an error value of github.com/elimity-com/scim in err's chain, as a value or a pointer.
func libraryError(err error) (scimerrors.ScimError, bool) {
	if se, ok := errors.AsType[scimerrors.ScimError](err); ok {
		return se, true
	}
	if se, ok := errors.AsType[*scimerrors.ScimError](err); ok && se != nil {
		return *se, true
	}
	return scimerrors.ScimError{}, false
}

// requestFault reports errors that describe the request rather than a failure of the bridge or the vendor. They
// are not logged: their text may quote the filter or the body, which carry e-mail addresses (the access log line
// still records the status).
func requestFault(err error) bool {
	if _, ok := errors.AsType[*refusal](err); ok {
		return true
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return true
	}
	_, ok := libraryError(err)
	return ok
}

func retryAfterOr(d time.Duration) time.Duration {
	if d <= 0 {
		return 5 * time.Second
	}
	return d
}

// fail answers err for the connection: mapped by answer, logged once with the request id unless requestFault,
// written by writeError.
func (c *conn) fail(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	reqID := requestIDFrom(ctx)
	e := answer(err, c.vendor, reqID)
	if !requestFault(err) {
		level := slog.LevelInfo
		// A cancelled request (the IdP hung up, or its deadline passed) is not the bridge's failure, and nobody
		// reads the answer; the access log line still records it.
		if ctx.Err() == nil && e.Status >= http.StatusInternalServerError {
			level = slog.LevelError
		}
		c.log.LogAttrs(ctx, level, "request failed", slog.String("request_id", reqID),
			slog.Int("status", e.Status), slog.String("error", err.Error()))
	}
	writeError(w, e)
}

// refused is a handler that answers a problem, for routes that exist only to refuse (POST /Bulk, /Me).
func refused(p problem) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeError(w, answer(refuse(p, ""), "", requestIDFrom(r.Context())))
	}
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
	if e.Status == http.StatusRequestEntityTooLarge {
		// The rest of an oversized body is not read: the connection cannot be reused.
		h.Set("Connection", "close")
	}
	if e.Detail == "" {
		e.Detail = http.StatusText(e.Status)
	}
	w.WriteHeader(e.Status)
	var b strings.Builder
	b.WriteString(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"]`)
	if e.ScimType != "" {
		fmt.Fprintf(&b, `,"scimType":%q`, string(e.ScimType))
	}
	fmt.Fprintf(&b, `,"detail":%s,"status":"%d"}`, jsonString(e.Detail), e.Status)
	_, _ = w.Write([]byte(b.String()))
}

// writeReadiness answers /readyz, plain text for probes: 200 "ready", 200 "degraded" naming the connections whose
// store or vendor cannot be reached while others can, 503 "not ready" when none can serve.
func writeReadiness(w http.ResponseWriter, connections int, degraded []string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	switch {
	case len(degraded) == 0:
		_, _ = w.Write([]byte("ready\n"))
	case len(degraded) < connections:
		_, _ = fmt.Fprintf(w, "degraded: %s not ready\n", strings.Join(degraded, ", "))
	default:
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintf(w, "not ready: %s\n", strings.Join(degraded, ", "))
	}
}

func humanBytes(n int64) string {
	if n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	if n%(1<<10) == 0 {
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
