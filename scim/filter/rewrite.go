package filter

import (
	"regexp"
	"strings"
)

// The tokens Rewrite distinguishes. Anything that is not a space, a bracket, a parenthesis or a quoted string
// is a word: attribute paths, operators, literals and IdP-style unquoted values.
const (
	tokSpace = iota
	tokWord
	tokString
	tokPunct // one of ( ) [ ]
)

type token struct {
	kind int
	text string
}

var (
	jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
	compareOps = map[string]bool{"eq": true, "ne": true, "co": true, "sw": true, "ew": true, "gt": true,
		"ge": true, "lt": true, "le": true}
)

// Rewrite turns the IdP filter dialects into syntax that github.com/scim2/filter-parser/v2 (and so the elimity
// library) accepts, leaving valid filters as they are:
//
//   - `emails[type eq "work"].value eq "x"` (Entra) becomes `emails[type eq "work" and value eq "x"]`, and
//     likewise for any attr[F].sub OP V or attr[F].sub pr, when F is a single comparison. The parser allows at
//     most two comparisons and no parentheses inside brackets, so a compound F is left alone (Parse then
//     rejects it with invalidFilter rather than the rewrite changing its meaning).
//   - unquoted values (`userName sw O`, `externalId eq jyoung`, `meta.Created gt 2015-10-10T14:38:21-07:00`) are
//     quoted; true, false, null and JSON numbers stay bare.
//   - lower-case hex digits in \u escapes, valid JSON but refused by the parser, are upper-cased.
//
// Input it cannot tokenise (an unterminated string, unbalanced brackets) is returned unchanged.
func Rewrite(raw string) string {
	toks, ok := tokenize(raw)
	if !ok {
		return raw
	}
	out, ok := rewriteTokens(toks)
	if !ok {
		return raw
	}
	var b strings.Builder
	for _, t := range out {
		b.WriteString(t.text)
	}
	return b.String()
}

func tokenize(s string) ([]token, bool) {
	var toks []token
	depth := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			j := i
			for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
				j++
			}
			toks = append(toks, token{tokSpace, s[i:j]})
			i = j
		case c == '(' || c == ')' || c == '[' || c == ']':
			if c == '(' || c == '[' {
				depth++
			} else if depth--; depth < 0 {
				return nil, false
			}
			toks = append(toks, token{tokPunct, s[i : i+1]})
			i++
		case c == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' {
					j++
				}
			}
			if j >= len(s) {
				return nil, false
			}
			toks = append(toks, token{tokString, fixEscapes(s[i : j+1])})
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t()[]\"", rune(s[j])) {
				j++
			}
			toks = append(toks, token{tokWord, s[i:j]})
			i = j
		}
	}
	return toks, depth == 0
}

// fixEscapes upper-cases the hex digits of \u escapes in a quoted string.
func fixEscapes(q string) string {
	if !strings.Contains(q, `\u`) {
		return q
	}
	b := []byte(q)
	for i := 0; i+1 < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if b[i+1] == 'u' {
			for j := i + 2; j < i+6 && j < len(b); j++ {
				if b[j] >= 'a' && b[j] <= 'f' {
					b[j] -= 'a' - 'A'
				}
			}
		}
		i++ // skip the escaped character so that `\\u` is not taken for an escape
	}
	return string(b)
}

// quote writes s as a filter string literal: the grammar wants upper-case hex in \u escapes, which Go's JSON
// encoder does not produce.
func quote(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&0xF])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func isLiteral(w string) bool {
	switch strings.ToLower(w) {
	case "true", "false", "null":
		return true
	}
	return jsonNumber.MatchString(w)
}

// rewriteTokens quotes unquoted values and folds attr[F].sub comparisons into the brackets.
func rewriteTokens(toks []token) ([]token, bool) {
	out := make([]token, 0, len(toks))
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		// attr [ F ] .sub SP op [SP value]
		if t.kind == tokPunct && t.text == "[" {
			end := closing(toks, i)
			if end < 0 {
				return nil, false
			}
			inner, ok := rewriteTokens(toks[i+1 : end])
			if !ok {
				return nil, false
			}
			if n, cmp := trailingComparison(toks, end+1); n > 0 && simple(inner) {
				out = append(out, t)
				out = append(out, inner...)
				out = append(out, token{tokSpace, " "}, token{tokWord, "and"}, token{tokSpace, " "})
				out = append(out, cmp...)
				out = append(out, token{tokPunct, "]"})
				i = end + n
				continue
			}
			out = append(out, t)
			out = append(out, inner...)
			out = append(out, toks[end])
			i = end
			continue
		}
		out = append(out, t)
		// word SP op SP value: quote the value when it is a bare word that is not a literal.
		if t.kind == tokWord && i+4 < len(toks) && toks[i+1].kind == tokSpace && toks[i+2].kind == tokWord &&
			compareOps[strings.ToLower(toks[i+2].text)] && toks[i+3].kind == tokSpace && toks[i+4].kind == tokWord &&
			!isLogical(t.text) {
			v := toks[i+4]
			if !isLiteral(v.text) {
				v = token{tokString, quote(v.text)}
			}
			out = append(out, toks[i+1], toks[i+2], toks[i+3], v)
			i += 4
		}
	}
	return out, true
}

func isLogical(w string) bool {
	switch strings.ToLower(w) {
	case "and", "or", "not":
		return true
	}
	return false
}

// closing returns the index of the "]" matching the "[" at i, or -1.
func closing(toks []token, i int) int {
	depth := 0
	for j := i; j < len(toks); j++ {
		if toks[j].kind != tokPunct {
			continue
		}
		switch toks[j].text {
		case "[", "(":
			depth++
		case "]", ")":
			depth--
			if depth == 0 {
				if toks[j].text != "]" {
					return -1
				}
				return j
			}
		}
	}
	return -1
}

// trailingComparison recognises ".sub SP op SP value" or ".sub SP pr" starting at toks[i]. It returns how many
// tokens it spans and the comparison rewritten without the leading dot (value quoted if needed).
func trailingComparison(toks []token, i int) (int, []token) {
	if i >= len(toks) || toks[i].kind != tokWord || len(toks[i].text) < 2 || toks[i].text[0] != '.' {
		return 0, nil
	}
	sub := token{tokWord, toks[i].text[1:]}
	if i+2 >= len(toks) || toks[i+1].kind != tokSpace || toks[i+2].kind != tokWord {
		return 0, nil
	}
	op := strings.ToLower(toks[i+2].text)
	if op == "pr" {
		return 3, []token{sub, token{tokSpace, " "}, toks[i+2]}
	}
	if !compareOps[op] || i+4 >= len(toks) || toks[i+3].kind != tokSpace {
		return 0, nil
	}
	v := toks[i+4]
	switch {
	case v.kind == tokWord && !isLiteral(v.text):
		v = token{tokString, quote(v.text)}
	case v.kind != tokWord && v.kind != tokString:
		return 0, nil
	}
	return 5, []token{sub, token{tokSpace, " "}, toks[i+2], token{tokSpace, " "}, v}
}

// simple reports whether a bracket's content is a single comparison, so that one more can be joined with "and".
func simple(toks []token) bool {
	for _, t := range toks {
		if t.kind == tokPunct || (t.kind == tokWord && isLogical(t.text)) {
			return false
		}
	}
	return true
}
