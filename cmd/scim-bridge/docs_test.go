package main

import (
	"os"
	"strings"
	"testing"
)

// TestEverySettingIsDocumented keeps docs/configuration.md honest: a setting added to the code without a line
// there fails the build.
func TestEverySettingIsDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range allSettings() {
		if !strings.Contains(string(b), "`"+s.Env+"`") {
			t.Errorf("%s is not in docs/configuration.md", s.Env)
		}
	}
}
