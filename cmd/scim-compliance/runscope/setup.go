package runscope

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"

	"github.com/scim-bridge/scim-bridge/cmd/scim-compliance/pins"
)

// SetupVariables returns the variables Okta's initial script generates for its spec tests. rng only shapes test
// data, so a seeded generator makes a run reproducible.
func SetupVariables(rng *rand.Rand) map[string]string {
	digits := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		return b.String()
	}
	letters := func(n int, base byte) string {
		var b strings.Builder
		for range n {
			b.WriteByte(base + byte(rng.IntN(26)))
		}
		return b.String()
	}
	given := "Runscope" + digits(3)
	family := letters(1, 'A') + letters(8, 'a') + digits(3)
	user := given + family + "@atko.com"
	return map[string]string{
		"randomGivenName":        given,
		"randomFamilyName":       family,
		"randomUsername":         user,
		"randomEmail":            user,
		"randomUsernameCaps":     strings.ToUpper(user),
		"InvalidUserEmail":       "abcdefgh@atko.com",
		"UserIdThatDoesNotExist": "010101001010101011001010101011",
		"randomGroupName":        "Runscope Group " + digits(6),
	}
}

// EnsureUser makes the spec tests' precondition hold: their first step reads the first user of GET /Users and wants
// it to have a name, an email and an active flag. When the server has no user, one such user is created.
// auth is the whole Authorization header value; it appears in no error.
func EnsureUser(ctx context.Context, client *http.Client, base, auth string, rng *rand.Rand) (created bool, err error) {
	base = strings.TrimRight(base, "/")
	var list struct {
		TotalResults int               `json:"totalResults"`
		Resources    []json.RawMessage `json:"Resources"`
	}
	status, body, err := call(ctx, client, http.MethodGet, base+"/Users?count=1", auth, nil)
	if err != nil {
		return false, fmt.Errorf("runscope: precondition: list users: %w", err)
	}
	if status != http.StatusOK {
		return false, fmt.Errorf("runscope: precondition: list users: status %d: %s",
			status, pins.Abbreviate(string(body), 200))
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return false, fmt.Errorf("runscope: precondition: list users: %w", err)
	}
	if len(list.Resources) > 0 {
		return false, nil
	}
	vars := SetupVariables(rng)
	email := "precondition." + strings.ToLower(vars["randomUsername"])
	user := map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": email,
		"name": map[string]string{
			"givenName":  vars["randomGivenName"],
			"familyName": vars["randomFamilyName"],
		},
		"emails": []map[string]any{{"value": email, "type": "work", "primary": true}},
		"active": true,
	}
	payload, err := json.Marshal(user)
	if err != nil {
		return false, fmt.Errorf("runscope: precondition: %w", err)
	}
	status, body, err = call(ctx, client, http.MethodPost, base+"/Users", auth, payload)
	if err != nil {
		return false, fmt.Errorf("runscope: precondition: create user: %w", err)
	}
	if status != http.StatusCreated {
		return false, fmt.Errorf("runscope: precondition: create user: status %d: %s",
			status, pins.Abbreviate(string(body), 200))
	}
	return true, nil
}

func call(ctx context.Context, client *http.Client, method, target, auth string, payload []byte) (int, []byte, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Accept", "application/scim+json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return 0, nil, fmt.Errorf("read response: %w", err)
	}
	return res.StatusCode, b, nil
}
