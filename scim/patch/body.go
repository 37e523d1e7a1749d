package patch

import (
	"fmt"
	"sort"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scim-bridge/scim-bridge/scim/internal/jsonbody"
	"github.com/scim-bridge/scim-bridge/scim/internal/userschema"
)

// PatchOpURN is the schema URN of a PATCH request body.
const PatchOpURN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// Operation is one PATCH operation. Op is "add", "replace" or "remove"; Path is "" for a path-less operation;
// Value holds JSON-decoded data (numbers as json.Number).
type Operation struct {
	Op    string
	Path  string
	Value any
}

// fail returns a copy of a library error value with a detail of our own.
func fail(base scimerrors.ScimError, format string, args ...any) error {
	e := base
	e.Detail = fmt.Sprintf(format, args...)
	return e
}

// rawOp is an operation as found in a body, before any rewriting.
type rawOp struct {
	op    string
	path  string
	value any
}

// decodeBody reads a PatchOp body: the schemas check, the Operations list (key in any case) and each operation's
// op (in any case), path and value.
func decodeBody(body []byte) ([]rawOp, error) {
	v, err := jsonbody.Decode(body)
	if err != nil {
		return nil, fail(scimerrors.ScimErrorInvalidSyntax, "The PATCH body is not valid JSON.")
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, fail(scimerrors.ScimErrorInvalidSyntax, "The PATCH body must be a JSON object.")
	}
	if s, _, ok := userschema.Get(doc, "schemas"); ok {
		if !hasPatchOpURN(s) {
			return nil, fail(scimerrors.ScimErrorInvalidValue, "schemas must contain %s.", PatchOpURN)
		}
	}
	list, _, _ := userschema.Get(doc, "Operations")
	ops, ok := list.([]any)
	if !ok || len(ops) == 0 {
		return nil, fail(scimerrors.ScimErrorInvalidValue, "Operations must be a non-empty array.")
	}
	out := make([]rawOp, 0, len(ops))
	for i, o := range ops {
		m, ok := o.(map[string]any)
		if !ok {
			return nil, fail(scimerrors.ScimErrorInvalidValue, "Operations[%d] must be an object.", i)
		}
		opv, _, _ := userschema.Get(m, "op")
		op, ok := opv.(string)
		op = strings.ToLower(strings.TrimSpace(op))
		if !ok || (op != "add" && op != "replace" && op != "remove") {
			return nil, fail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: op must be add, replace or remove.", i)
		}
		var path string
		switch p, _, _ := userschema.Get(m, "path"); p := p.(type) {
		case nil:
		case string:
			path = strings.TrimSpace(p)
		default:
			return nil, fail(scimerrors.ScimErrorInvalidPath, "Operations[%d]: path must be a string.", i)
		}
		value, _, _ := userschema.Get(m, "value")
		out = append(out, rawOp{op: op, path: path, value: value})
	}
	return out, nil
}

func hasPatchOpURN(v any) bool {
	l, _ := userschema.AsList(v)
	for _, s := range l {
		if s, ok := s.(string); ok && strings.EqualFold(s, PatchOpURN) {
			return true
		}
	}
	return false
}

// Parse reads a body produced by Normalize (it also accepts any well-formed PatchOp body) into operations.
// Errors are errors.ScimError values: invalidSyntax for bad JSON, invalidValue for a bad structure, noTarget for
// a remove without path.
func Parse(body []byte) ([]Operation, error) {
	raw, err := decodeBody(body)
	if err != nil {
		return nil, err
	}
	ops := make([]Operation, len(raw))
	for i, r := range raw {
		if r.op == "remove" && r.path == "" {
			return nil, fail(scimerrors.ScimErrorNoTarget, "Operations[%d]: remove needs a path.", i)
		}
		ops[i] = Operation{Op: r.op, Path: r.path, Value: r.value}
	}
	return ops, nil
}

// sortedKeys gives path-less values a deterministic order of application; "name" sorts before "name.givenName",
// so a dotted key refines a whole-object key given alongside it.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ignoredInValue reports keys that a path-less value may carry but that never change a resource: Okta replays
// id (and sometimes meta and schemas) with the attributes it changes.
func ignoredInValue(k string) bool {
	switch strings.ToLower(k) {
	case "id", "meta", "schemas":
		return true
	}
	return false
}

// writable reports whether a client may change what p addresses.
func writable(p userschema.Path) bool {
	if p.Extension != nil {
		return true
	}
	return p.Attr.Writable() && (p.Sub == nil || p.Sub.Writable())
}

// resolve resolves an explicit path, failing with invalidPath or mutability.
func resolve(i int, path string) (userschema.Path, error) {
	p, err := userschema.ResolvePath(path)
	if err != nil {
		return p, fail(scimerrors.ScimErrorInvalidPath, "Operations[%d]: %v.", i, err)
	}
	if !writable(p) {
		return p, fail(scimerrors.ScimErrorMutability, "Operations[%d]: attribute %q is %s and cannot be modified.",
			i, p.Target().Path(), mutability(p))
	}
	return p, nil
}

func mutability(p userschema.Path) string {
	if !p.Attr.Writable() {
		return p.Attr.Mutability
	}
	return p.Sub.Mutability
}

// resolveKey resolves a key of a path-less value; ok is false for keys that are skipped (read-only attributes).
func resolveKey(i int, key string) (p userschema.Path, ok bool, err error) {
	p, perr := userschema.ResolvePath(key)
	if perr != nil {
		return p, false, fail(scimerrors.ScimErrorInvalidValue, "Operations[%d]: value: %v.", i, perr)
	}
	return p, writable(p), nil
}
