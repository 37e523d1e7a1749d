package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/scim-bridge/scim-bridge/adapters/targets"
)

const mod = "github.com/scim-bridge/scim-bridge/"

// goList runs go list over the module and returns one line per package.
func goList(t *testing.T, format string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", format, "../../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// testSupport reports the test-support packages (<pkg>test, as httptest): they may reach any package.
func testSupport(pkg string) bool { return strings.HasSuffix(pkg, "test") }

// TestDependencyRule enforces the one-way dependencies of docs/architecture.md: the SCIM side knows only the
// adapters contract (package adapters), never a package under it; adapters never import the SCIM side; provision
// speaks its own errors. The vendor packages are not listed here: everything under adapters/ but the contract
// counts, so a new vendor is covered without touching this file.
func TestDependencyRule(t *testing.T) {
	lines := goList(t, `{{.ImportPath}} {{join .Imports " "}}`)
	pkgs := map[string]bool{}
	for _, line := range lines {
		pkgs[strings.Fields(line)[0]] = true
	}
	for _, line := range lines {
		fields := strings.Fields(line)
		pkg, imports := fields[0], fields[1:]
		for _, imp := range imports {
			// provision decides what happens to a person; how that reads as HTTP or SCIM is scim/errors.go's
			// business alone, so provision speaks its own typed errors.
			if pkg == mod+"scim/provision" && (imp == "net/http" || strings.HasPrefix(imp, "github.com/elimity-com/scim")) {
				t.Errorf("%s imports %s: provision returns its own errors, mapped to HTTP in scim/errors.go", pkg, imp)
			}
			switch {
			case strings.HasPrefix(pkg, mod+"scim") && !testSupport(pkg):
				if strings.HasPrefix(imp, mod+"adapters/") {
					t.Errorf("%s imports %s: the SCIM side must only know the adapters contract (package adapters)", pkg, imp)
				}
			case strings.HasPrefix(pkg, mod+"adapters"):
				if strings.HasPrefix(imp, mod+"scim") {
					t.Errorf("%s imports %s: adapters must not know the SCIM side", pkg, imp)
				}
			}
		}
	}
	// Every registered target lives where the rule above expects a vendor: adapters/<name>.
	for _, name := range targets.Names() {
		if !pkgs[mod+"adapters/"+name] {
			t.Errorf("target %q has no package adapters/%s", name, name)
		}
	}
}

// scimFiles parses the non-test Go files of the SCIM side (scim/..., test-support packages excepted).
func scimFiles(t *testing.T) map[string]*ast.File {
	t.Helper()
	files := map[string]*ast.File{}
	fset := token.NewFileSet()
	for _, line := range goList(t, `{{.ImportPath}} {{.Dir}} {{join .GoFiles " "}}`) {
		fields := strings.Fields(line)
		if !strings.HasPrefix(fields[0], mod+"scim") || testSupport(fields[0]) {
			continue
		}
		for _, name := range fields[2:] {
			path := filepath.Join(fields[1], name)
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := strings.CutPrefix(fields[0]+"/"+name, mod)
			files[rel] = f
		}
	}
	return files
}

// httpStatuses reads net/http's status constants (status.go in GOROOT): name → code.
func httpStatuses(t *testing.T) map[string]int {
	t.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(strings.TrimSpace(string(out)), "src", "net", "http", "status.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]int{}
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Names) == 1 && len(vs.Values) == 1 {
			if lit, ok := vs.Values[0].(*ast.BasicLit); ok && lit.Kind == token.INT {
				code, _ := strconv.Atoi(lit.Value)
				codes[vs.Names[0].Name] = code
			}
		}
		return true
	})
	if codes["StatusConflict"] != 409 {
		t.Fatalf("could not read net/http's status codes (StatusConflict = %d)", codes["StatusConflict"])
	}
	return codes
}

// TestOneStatusTable keeps every failure status of the SCIM API in scim/errors.go: no other file of the SCIM side
// that imports net/http names an http.Status constant of 400 or more, or writes a number from 400 to 599. Handlers return errors;
// errors.go maps them. (Success statuses — 200, 201, 204, 304 — are chosen where the answer is written,
// respond.go.) scim/auth is outside the rule: it answers for itself before a request reaches a connection
// (RFC 6750 401 with WWW-Authenticate, its rate limit's 429, RFC 6749 token errors).
func TestOneStatusTable(t *testing.T) {
	codes := httpStatuses(t)
	for name, f := range scimFiles(t) {
		if name == "scim/errors.go" || strings.HasPrefix(name, "scim/auth/") {
			continue
		}
		httpName := ""
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "net/http" {
				httpName = "http"
				if imp.Name != nil {
					httpName = imp.Name.Name
				}
			}
		}
		if httpName == "" {
			continue // a file that does not speak HTTP chooses no status
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok && x.Name == httpName && codes[n.Sel.Name] >= 400 {
					t.Errorf("%s names http.%s: failure statuses are chosen in scim/errors.go only (return an error instead)", name, n.Sel.Name)
				}
			case *ast.BasicLit:
				if v, err := strconv.Atoi(n.Value); err == nil && n.Kind == token.INT && v >= 400 && v <= 599 {
					t.Errorf("%s writes the number %d: failure statuses are chosen in scim/errors.go only", name, v)
				}
			}
			return true
		})
	}
}

// TestSCIMSideNamesNoVendor: no string in the SCIM side names a target, so that adding a vendor touches nothing
// under scim/ (its display name reaches error details through scim.Connection.Vendor, from adapters/targets).
func TestSCIMSideNamesNoVendor(t *testing.T) {
	var names []string
	for _, n := range targets.Names() {
		tg, err := targets.Lookup(n)
		if err != nil {
			t.Fatal(err)
		}
		if tg.DisplayName == "" {
			t.Errorf("target %q has no DisplayName", n)
		}
		names = append(names, strings.ToLower(tg.Name), strings.ToLower(tg.DisplayName))
	}
	for file, f := range scimFiles(t) {
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				for _, v := range names {
					if v != "" && strings.Contains(strings.ToLower(lit.Value), v) {
						t.Errorf("%s: the string %s names the vendor %q", file, lit.Value, v)
					}
				}
			}
			return true
		})
	}
}
