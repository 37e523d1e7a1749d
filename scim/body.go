package scim

import (
	"errors"
	"io"
	"net/http"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scim-bridge/scim-bridge/scim/internal/jsonbody"
	"github.com/scim-bridge/scim-bridge/scim/patch"
)

// This file reads request bodies: each is read once, decoded once, and checked before provision sees it.

// limitBody refuses a body declared larger than max at once, and caps what a handler can read of any other: a
// chunked body that goes past max fails its one read with *http.MaxBytesError. Both answer 413 (errors.go).
func (c *conn) limitBody(next http.Handler) http.Handler {
	max := c.cfg.MaxBodyBytes
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > max {
			c.fail(w, r, &http.MaxBytesError{Limit: max})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}

// readBody reads the whole (size-limited) request body.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, err
		}
		return nil, refuse(problemBodyUnreadable, "")
	}
	return b, nil
}

// bodyObject decodes a request body that must be one JSON object (users and groups alike), its failures as the
// SCIM errors the IdP gets.
func bodyObject(b []byte) (map[string]any, error) {
	v, err := jsonbody.Decode(b)
	switch {
	case errors.Is(err, jsonbody.ErrTrailingData):
		return nil, refuse(problemTrailingData, "")
	case err != nil:
		return nil, scimerrors.ScimErrorInvalidSyntax
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, scimerrors.ScimErrorInvalidSyntax
	}
	return m, nil
}

// userBody reads the body of POST /Users or PUT /Users/{id} into the attributes provision stores: decoded once,
// Entra's string booleans coerced, validated against the User schema by github.com/elimity-com/scim (unknown and
// read-only attributes dropped, names canonical; wrong types, a missing userName or a missing core schema URN are
// its 400 errors), and multi-valued attributes normalised (one primary, no repeated value: RFC 7643 §2.4).
func userBody(r *http.Request) (map[string]any, error) {
	b, err := readBody(r)
	if err != nil {
		return nil, err
	}
	doc, err := bodyObject(b)
	if err != nil {
		return nil, err
	}
	coerceBooleans(doc)
	attrs, err := validateUser(doc)
	if err != nil {
		return nil, err
	}
	patch.NormalizeMultiValued(attrs)
	return attrs, nil
}

// patchBody reads the body of PATCH /Users/{id} into operations with patch.Decode: decoded once, the Okta and
// Entra dialects normalised, paths resolved against the library's User schema, and every operation checked by the
// rules of the library's own PATCH validation (its error values, its scimTypes). The library itself is not asked:
// scim/patch's tests compare the two verdicts.
func patchBody(r *http.Request) ([]patch.Operation, error) {
	b, err := readBody(r)
	if err != nil {
		return nil, err
	}
	return patch.Decode(b)
}

// coerceBooleans turns Entra's string booleans ("True", "false") into JSON booleans on the User schema's boolean
// attributes (active, and primary inside multi-valued attributes), in place, before the library validates the
// body (it refuses them unless its package-global string switch is on). Other strings are left alone.
func coerceBooleans(doc map[string]any) {
	for k, v := range doc {
		if strings.EqualFold(k, "active") {
			if bv, ok := parseBool(v); ok {
				doc[k] = bv
			}
			continue
		}
		list, ok := v.([]any)
		if !ok {
			continue
		}
		for _, e := range list {
			em, ok := e.(map[string]any)
			if !ok {
				continue
			}
			for ek, ev := range em {
				if strings.EqualFold(ek, "primary") {
					if bv, ok := parseBool(ev); ok {
						em[ek] = bv
					}
				}
			}
		}
	}
}

func parseBool(v any) (bool, bool) {
	s, ok := v.(string)
	if !ok {
		return false, false
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}
