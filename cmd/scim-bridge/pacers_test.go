package main

import (
	"testing"

	"github.com/scim-bridge/scim-bridge/adapters/targets"
)

// TestConnectionsToOneVendorAccountShareItsPacer: the vendor limits an account, so connections that reach the
// same account (target, URL and key) share one pacer, with the lowest ceiling any of them sets, and connections
// to different accounts never do.
func TestConnectionsToOneVendorAccountShareItsPacer(t *testing.T) {
	trainual, _ := targets.Lookup("trainual")
	ti, _ := targets.Lookup("thoughtindustries")
	env := func(url, token string) func(string) string {
		return func(k string) string {
			return map[string]string{"SCIM_BRIDGE_UPSTREAM_URL": url, "SCIM_BRIDGE_UPSTREAM_TOKEN": token}[k]
		}
	}
	p := newPacers()
	okta := p.forAccount(trainual, env("https://app.trainual.com/api/v1", "key-a"), 0)
	entra := p.forAccount(trainual, env("https://app.trainual.com/api/v1", "key-a"), 3)
	if okta != entra {
		t.Fatal("two connections to one Trainual account got two pacers")
	}
	if r := okta.Rate(); r != 3 {
		t.Fatalf("shared pace %v, want the lower ceiling 3", r)
	}
	if again := p.forAccount(trainual, env("https://app.trainual.com/api/v1", "key-a"), 10); again.Rate() != 3 {
		t.Fatalf("a higher ceiling raised the shared pace to %v", again.Rate())
	}
	for name, other := range map[string]struct {
		t   targets.Target
		get func(string) string
	}{
		"another key":    {trainual, env("https://app.trainual.com/api/v1", "key-b")},
		"another URL":    {trainual, env("https://eu.trainual.example/api/v1", "key-a")},
		"another target": {ti, env("https://app.trainual.com/api/v1", "key-a")},
	} {
		if p.forAccount(other.t, other.get, 0) == okta {
			t.Errorf("%s shares the pacer", name)
		}
	}
}
