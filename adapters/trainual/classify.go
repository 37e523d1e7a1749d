package trainual

import (
	"net/http"
	"strings"
	"unicode"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/upstream"
)

// classify maps a Trainual error answer to a Kind. Trainual publishes no error codes, so a Rails-style 422 is read
// by its message: a duplicate email and a full plan are both plausible 422s and must not end up as a generic
// rejection, because the IdP treats a 409 (link the existing account) and a seat shortage (an admin must buy seats)
// very differently from a bad value.
func classify(status int, body []byte) adapters.Kind {
	text := strings.ToLower(string(body))
	switch status {
	case http.StatusConflict:
		return adapters.KindConflict
	case http.StatusUnprocessableEntity:
		if mentionsTaken(text) {
			return adapters.KindConflict
		}
		if mentionsSeat(text) {
			return adapters.KindSeatLimit
		}
		return adapters.KindRejected
	case http.StatusPaymentRequired, http.StatusForbidden:
		if mentionsSeat(text) {
			return adapters.KindSeatLimit
		}
		if status == http.StatusForbidden {
			return adapters.KindUnauthorized
		}
		return adapters.KindRejected
	}
	return upstream.DefaultClassify(status, body)
}

func mentionsTaken(text string) bool {
	for _, p := range takenPhrases {
		if strings.Contains(text, p) {
			return true
		}
	}
	return hasWord(text, takenWords)
}

func mentionsSeat(text string) bool { return hasWord(text, seatWords) }

// hasWord reports whether text holds one of words as a whole word (letters only), so JSON punctuation and
// underscores separate words but "explanation" does not contain "plan".
func hasWord(text string, words []string) bool {
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) }) {
		for _, want := range words {
			if w == want {
				return true
			}
		}
	}
	return false
}

// reason is the vendor's words for a refusal, for the SCIM error detail.
func reason(body []byte) string { return upstream.ReasonFromJSON(body, errorKeys...) }
