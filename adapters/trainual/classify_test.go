package trainual

import (
	"testing"

	"github.com/scim-bridge/scim-bridge/adapters"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		want   adapters.Kind
	}{
		{"a 409 is a conflict whatever its body", 409, ``, adapters.KindConflict},
		{"a 422 saying the email has been taken is a conflict", 422, `{"errors":["Email has already been taken"]}`, adapters.KindConflict},
		{"a 422 saying the user already exists is a conflict", 422, `{"error":"User ALREADY EXISTS"}`, adapters.KindConflict},
		{"a 422 saying taken in another form is a conflict", 422, `{"errors":{"email":["is taken"]}}`, adapters.KindConflict},
		{"a 422 about the seat limit is a seat limit", 422, `{"errors":["You have reached the seat limit for your plan"]}`, adapters.KindSeatLimit},
		{"a 402 about the plan is a seat limit", 402, `{"error":"Upgrade your Plan"}`, adapters.KindSeatLimit},
		{"a 403 about seats is a seat limit", 403, `{"error":"No seats left"}`, adapters.KindSeatLimit},
		{"a 402 about something else is a rejection", 402, `{"error":"Payment required"}`, adapters.KindRejected},
		{"a 403 otherwise is unauthorized", 403, `{"error":"Forbidden"}`, adapters.KindUnauthorized},
		{"a word that merely contains plan is no seat limit", 403, `{"error":"see explanation"}`, adapters.KindUnauthorized},
		{"a 401 is unauthorized", 401, `{"error":"Unauthorized"}`, adapters.KindUnauthorized},
		{"a 422 with another message is a rejection", 422, `{"errors":["First name can't be blank"]}`, adapters.KindRejected},
		{"a 404 is not found", 404, `{"error":"Not found"}`, adapters.KindNotFound},
		{"a 429 is rate limited", 429, ``, adapters.KindRateLimited},
		{"a 500 is unavailable", 500, ``, adapters.KindUnavailable},
		{"a 503 is unavailable even if it mentions the plan", 503, `plan maintenance`, adapters.KindUnavailable},
		{"a 400 is a rejection", 400, `{"errors":["Request body is not valid JSON"]}`, adapters.KindRejected},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := classify(c.status, []byte(c.body)); got != c.want {
				t.Errorf("classify(%d, %s) = %v, want %v", c.status, c.body, got, c.want)
			}
		})
	}
}
