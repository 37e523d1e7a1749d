package thoughtindustries

import (
	"bytes"
	"net/http"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/upstream"
)

// classify maps a Thought Industries failure to a Kind. The seed documents statuses only for a missing user (404);
// a duplicate email "returns an error" with no status, so the body decides for 400 and 422, and a full plan is
// recognised by its wording before 402/403 fall back to their usual meaning.
func classify(status int, body []byte) adapters.Kind {
	lower := bytes.ToLower(body)
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		if bytes.Contains(lower, []byte(emailWord)) && containsAny(lower, duplicateEmailPhrases) {
			return adapters.KindConflict
		}
		if containsAny(lower, seatLimitPhrases) {
			return adapters.KindSeatLimit
		}
	case http.StatusPaymentRequired:
		return adapters.KindSeatLimit
	case http.StatusForbidden:
		if containsAny(lower, seatLimitPhrases) {
			return adapters.KindSeatLimit
		}
	}
	return upstream.DefaultClassify(status, body)
}

func containsAny(b []byte, phrases []string) bool {
	for _, p := range phrases {
		if bytes.Contains(b, []byte(p)) {
			return true
		}
	}
	return false
}
