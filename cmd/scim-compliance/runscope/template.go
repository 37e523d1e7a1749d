package runscope

import (
	"regexp"
	"strings"
)

var placeholder = regexp.MustCompile(`\{\{\s*([^{}\s]+)\s*\}\}`)

// Substitute replaces each {{name}} with the variable's value. An unknown name is left as written, as Runscope does,
// so that a value a failed step never captured shows up verbatim in the request rather than as an empty string.
func Substitute(s string, vars map[string]string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := vars[placeholder.FindStringSubmatch(m)[1]]; ok {
			return v
		}
		return m
	})
}

// EncodeURL percent-encodes what may not appear raw in a URL's path and query: the suites write filters as typed
// (`filter=userName eq "x"`), spaces and quotes included. Characters that are legal (delimiters such as & = + / ?)
// and escapes already present (%22) pass through, so encoding an encoded URL is a no-op. The scheme and authority
// are left alone.
func EncodeURL(raw string) string {
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 {
		start = i + len("://")
		if j := strings.IndexAny(raw[start:], "/?"); j >= 0 {
			start += j
		} else {
			return raw
		}
	}
	var b strings.Builder
	b.WriteString(raw[:start])
	for i := start; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '%' && i+2 < len(raw) && isHex(raw[i+1]) && isHex(raw[i+2]):
			b.WriteByte(c)
		case allowedInURL(c):
			b.WriteByte(c)
		default:
			const hex = "0123456789ABCDEF"
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xF])
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// allowedInURL reports whether c may appear raw in a path or query (RFC 3986 unreserved, sub-delims, ":@/?").
func allowedInURL(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/?", c) >= 0
}
