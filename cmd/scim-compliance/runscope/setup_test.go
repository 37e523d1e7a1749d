package runscope

import (
	"context"
	"math/rand/v2"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/scim-bridge/scim-bridge/cmd/scim-compliance/scimfake"
)

func TestSetupVariablesFollowOktasShapes(t *testing.T) {
	v := SetupVariables(rand.New(rand.NewPCG(7, 7)))
	shapes := map[string]string{
		"randomGivenName":        `^Runscope[0-9]{3}$`,
		"randomFamilyName":       `^[A-Z][a-z]{8}[0-9]{3}$`,
		"randomUsername":         `^Runscope[0-9]{3}[A-Z][a-z]{8}[0-9]{3}@atko\.com$`,
		"InvalidUserEmail":       `^abcdefgh@atko\.com$`,
		"UserIdThatDoesNotExist": `^010101001010101011001010101011$`,
		"randomGroupName":        `^.+$`,
	}
	for name, shape := range shapes {
		if !regexp.MustCompile(shape).MatchString(v[name]) {
			t.Errorf("%s = %q, want %s", name, v[name], shape)
		}
	}
	if v["randomEmail"] != v["randomUsername"] {
		t.Errorf("randomEmail %q != randomUsername %q", v["randomEmail"], v["randomUsername"])
	}
	if v["randomUsernameCaps"] != strings.ToUpper(v["randomUsername"]) {
		t.Errorf("randomUsernameCaps = %q, want the upper case of %q", v["randomUsernameCaps"], v["randomUsername"])
	}
}

func TestEnsureUserCreatesOneUserOnlyWhenTheServerHasNone(t *testing.T) {
	fake := scimfake.New(token)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	base := srv.URL + scimfake.Prefix
	rng := rand.New(rand.NewPCG(1, 1))

	for i, wantCreated := range []bool{true, false} {
		created, err := EnsureUser(context.Background(), srv.Client(), base, "Bearer "+token, rng)
		if err != nil {
			t.Fatal(err)
		}
		if created != wantCreated || fake.Users() != 1 {
			t.Fatalf("call %d: created = %v with %d users; want %v with 1", i+1, created, fake.Users(), wantCreated)
		}
	}
}

func TestEnsureUserErrorsOnRejectedAuthWithoutTheToken(t *testing.T) {
	srv := httptest.NewServer(scimfake.New(token))
	defer srv.Close()
	_, err := EnsureUser(context.Background(), srv.Client(), srv.URL+scimfake.Prefix, "Bearer wrong-"+token, rand.New(rand.NewPCG(1, 1)))
	if err == nil || !strings.Contains(err.Error(), "status 401") {
		t.Fatalf("err = %v, want a 401", err)
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error leaks the token: %v", err)
	}
}
