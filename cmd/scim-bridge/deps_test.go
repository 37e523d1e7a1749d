package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyRule enforces the one-way dependencies of docs/architecture.md: the SCIM side never imports a
// vendor package (only the contract in adapters, and scimtest through adapters/targets), and adapters never
// import the SCIM side.
func TestDependencyRule(t *testing.T) {
	const mod = "github.com/scim-bridge/scim-bridge/"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "../../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	vendors := []string{mod + "adapters/trainual", mod + "adapters/thoughtindustries", mod + "adapters/targets"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, imports := fields[0], fields[1:]
		for _, imp := range imports {
			switch {
			case strings.HasPrefix(pkg, mod+"scim") && pkg != mod+"scim/scimtest":
				for _, v := range vendors {
					if strings.HasPrefix(imp, v) {
						t.Errorf("%s imports %s: the SCIM side must only know the adapters contract", pkg, imp)
					}
				}
			case strings.HasPrefix(pkg, mod+"adapters"):
				if strings.HasPrefix(imp, mod+"scim") {
					t.Errorf("%s imports %s: adapters must not know the SCIM side", pkg, imp)
				}
			}
		}
	}
}
