package userschema

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/scim2/filter-parser/v2"
)

// maxQuoted bounds how much of a client-supplied name is echoed back in an error detail.
const maxQuoted = 64

// Quote returns s quoted for an error detail, shortened so that a hostile request cannot inflate responses.
func Quote(s string) string {
	if len(s) > maxQuoted {
		cut := maxQuoted
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// ResolveAttrPath returns the definitions named by a parsed attribute path: the top-level attribute and, when
// the path has a sub-attribute, that sub-attribute. A name without URN that the core schema does not define is
// looked up in the enterprise extension, because Entra's legacy mappings send "manager" and "department" bare.
func ResolveAttrPath(ap filter.AttributePath) (top, sub *Attr, err error) {
	s := ForURN(ap.URI())
	if s == nil {
		return nil, nil, fmt.Errorf("unknown schema URN %s", Quote(ap.URI()))
	}
	top = s.Attr(ap.AttributeName)
	if top == nil && ap.URIPrefix == nil {
		top = Enterprise().Attr(ap.AttributeName)
	}
	if top == nil {
		return nil, nil, fmt.Errorf("unknown attribute %s", Quote(ap.String()))
	}
	if ap.SubAttribute == nil {
		return top, nil, nil
	}
	if !top.Complex() {
		return nil, nil, fmt.Errorf("attribute %q has no sub-attributes", top.Name)
	}
	sub = top.Sub(*ap.SubAttribute)
	if sub == nil {
		return nil, nil, fmt.Errorf("unknown sub-attribute %s of %q", Quote(*ap.SubAttribute), top.Name)
	}
	return top, sub, nil
}

// Path is a resolved PATCH path.
type Path struct {
	// Extension is set when the path is an extension URN on its own, addressing the whole extension object;
	// Attr is then nil.
	Extension *Schema
	Attr      *Attr             // top-level attribute
	Filter    filter.Expression // value filter, or nil
	Sub       *Attr             // sub-attribute, or nil
}

// Target returns the attribute the path finally addresses.
func (p Path) Target() *Attr {
	if p.Sub != nil {
		return p.Sub
	}
	return p.Attr
}

// String returns the canonical text of a path without a value filter; with a filter it returns "".
func (p Path) String() string {
	switch {
	case p.Extension != nil:
		return p.Extension.URN
	case p.Filter != nil:
		return ""
	}
	return p.Target().Path()
}

// errPathSyntax is returned (wrapped) when a path does not parse.
var errPathSyntax = errors.New("not a valid attribute path")

// ResolvePath parses and resolves a PATCH path such as "name.givenName", "emails[type eq \"work\"].value" or
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager".
func ResolvePath(raw string) (Path, error) {
	raw = strings.TrimSpace(raw)
	if s := ForURN(raw); s != nil && s != Core() {
		return Path{Extension: s}, nil
	}
	if !strings.ContainsAny(raw, "[]\"") {
		return resolvePlain(raw)
	}
	if p, ok := pathCache.Load(raw); ok {
		return p.(Path), nil
	}
	p, err := filter.ParsePathNumber([]byte(raw))
	if err != nil {
		return Path{}, fmt.Errorf("path %s: %w", Quote(raw), errPathSyntax)
	}
	if err := DecodeStrings(p.ValueExpression); err != nil {
		return Path{}, fmt.Errorf("path %s: %w", Quote(raw), err)
	}
	top, sub, err := ResolveAttrPath(p.AttributePath)
	if err != nil {
		return Path{}, fmt.Errorf("path %s: %w", Quote(raw), err)
	}
	out := Path{Attr: top, Sub: sub}
	if p.ValueExpression == nil {
		return out, nil
	}
	if sub != nil {
		return Path{}, fmt.Errorf("path %s: a value filter must follow the attribute, not a sub-attribute", Quote(raw))
	}
	if !top.MultiValued || !top.Complex() {
		return Path{}, fmt.Errorf("path %s: attribute %q is not multi-valued and complex, so it cannot be filtered",
			Quote(raw), top.Name)
	}
	if err := ValidateValueFilter(p.ValueExpression, top); err != nil {
		return Path{}, fmt.Errorf("path %s: %w", Quote(raw), err)
	}
	out.Filter = p.ValueExpression
	if p.SubAttribute != nil {
		out.Sub = top.Sub(*p.SubAttribute)
		if out.Sub == nil {
			return Path{}, fmt.Errorf("path %s: unknown sub-attribute %s of %q", Quote(raw), Quote(*p.SubAttribute), top.Name)
		}
	}
	if pathCacheSize.Add(1) <= maxCachedPaths {
		pathCache.Store(raw, out)
	}
	return out, nil
}

// The filter parser costs tens of microseconds per path; IdPs send the same few filtered paths over and over.
// Cached paths are shared, so their filter expressions must never be modified.
const maxCachedPaths = 512

var (
	pathCache     sync.Map // raw path → Path
	pathCacheSize atomic.Int64
)

// resolvePlain resolves a path without value filter ("[URN:]attr[.sub]") without the parser: every name it
// accepts is one the schema defines, so grammar checks would add nothing.
func resolvePlain(raw string) (Path, error) {
	var ap filter.AttributePath
	rest := raw
	if len(raw) > 4 && strings.EqualFold(raw[:4], "urn:") {
		i := strings.LastIndex(raw, ":")
		uri := raw[:i]
		ap.URIPrefix, rest = &uri, raw[i+1:]
	}
	name, sub, hasSub := strings.Cut(rest, ".")
	ap.AttributeName = name
	if hasSub {
		ap.SubAttribute = &sub
	}
	top, subAttr, err := ResolveAttrPath(ap)
	if err != nil {
		return Path{}, fmt.Errorf("path %s: %w", Quote(raw), err)
	}
	return Path{Attr: top, Sub: subAttr}, nil
}
