package upstreamtest

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// EmailIndex finds the accounts that may hold an e-mail address, ignoring case exactly as strings.EqualFold does,
// so that an emulator's duplicate check and ?email= filter cost a map lookup instead of a scan of every account.
// It gives candidates, not answers: an emulator adds an id whenever an account gets an address and never has to
// remove one, but must check each candidate against the account as it is now (it may be gone or hold another
// address). It is not safe for concurrent use: the emulator's lock guards it.
type EmailIndex[ID comparable] struct {
	m map[string][]ID
}

// Add records that id holds email. valid reports whether an id listed under email still holds it; the ids that
// no longer do are dropped, so a key never holds more than its live accounts plus id.
func (x *EmailIndex[ID]) Add(email string, id ID, valid func(ID) bool) {
	if x.m == nil {
		x.m = map[string][]ID{}
	}
	k := FoldKey(email)
	ids := x.m[k][:0:0]
	for _, other := range x.m[k] {
		if other != id && valid(other) {
			ids = append(ids, other)
		}
	}
	x.m[k] = append(ids, id)
}

// Candidates returns the ids that held an address equal to email (ignoring case) when they were added, oldest
// first. The slice must not be modified.
func (x *EmailIndex[ID]) Candidates(email string) []ID {
	return x.m[FoldKey(email)]
}

// FoldKey maps s to a key shared by exactly the strings strings.EqualFold finds equal to s: every rune becomes the
// smallest rune of its Unicode simple-folding orbit (so "K", "k" and the Kelvin sign share a key), and every byte
// that is not valid UTF-8 becomes U+FFFD, as EqualFold decodes it.
func FoldKey(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		// The smallest rune of an ASCII letter's orbit is its upper case (non-ASCII members are larger).
		return strings.ToUpper(s)
	}
	b := make([]byte, 0, len(s))
	for _, r := range s { // an invalid byte reads as utf8.RuneError, as in EqualFold
		b = utf8.AppendRune(b, foldMin(r))
	}
	return string(b)
}

// foldMin returns the smallest rune of r's simple-folding orbit.
func foldMin(r rune) rune {
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	return least
}
