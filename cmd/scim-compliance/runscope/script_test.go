package runscope

import (
	"strings"
	"testing"
	"time"
)

func TestRunScript(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		script  string
		wantErr string // "" means the script passes
	}{
		{"a truthy assert passes", `{}`, `assert("nogroups", "No Groups found");`, ""},
		{"a falsy assert fails with its message", `{}`, `assert(0, "must hold");`, "AssertionError: must hold"},
		{"assert.ok passes on true", `{}`, `assert.ok(true, "ok");`, ""},
		{"assert.ok fails on false", `{}`, `assert.ok(false, "Resources is of type Array");`, "Resources is of type Array"},
		{"assert.notEqual passes on different values", `{"userName":"Ann@X"}`,
			`var d = JSON.parse(response.body); assert.notEqual(d.userName.toLowerCase(), variables.get("u"), "m");`, ""},
		{"assert.notEqual fails on equal values", `{"userName":"ann@x"}`,
			`var d = JSON.parse(response.body); assert.notEqual(d.userName, "ann@x", "same");`,
			"same: expected 'ann@x' to not equal 'ann@x'"},
		{"expect empty passes on an empty list", `{"members":[]}`,
			`expect(JSON.parse(response.body).members).to.be.empty;`, ""},
		{"expect empty fails on a non-empty list", `{"members":[{"value":"1"}]}`,
			`expect(JSON.parse(response.body).members).to.be.empty;`, "to be empty"},
		{"expect empty fails on undefined", `{}`,
			`expect(JSON.parse(response.body).members).to.be.empty;`, "non-string primitive undefined"},
		{"a body that is not JSON fails the script", `404 page not found`, `JSON.parse(response.body);`, "SyntaxError"},
		{"an unsupported Chai call fails loudly", `{}`, `assert.deepEqual(1, 1);`, "TypeError"},
		{"log is available", `{}`, `log(true);`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := scriptEnv{body: tt.body, status: 200, vars: map[string]string{"u": "Ann@X"}, deadline: 5 * time.Second}
			err := runScript(tt.script, env)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("script failed: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("script error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRunScriptSetsVariablesForLaterSteps(t *testing.T) {
	vars := map[string]string{}
	env := scriptEnv{body: `{"id":"u7"}`, vars: vars, deadline: 5 * time.Second}
	if err := runScript(`variables.set("copied", JSON.parse(response.body).id);`, env); err != nil {
		t.Fatal(err)
	}
	if vars["copied"] != "u7" {
		t.Errorf("variables after the script = %v, want copied=u7", vars)
	}
}

func TestRunScriptInterruptsAnEndlessScript(t *testing.T) {
	env := scriptEnv{body: `{}`, vars: map[string]string{}, deadline: 50 * time.Millisecond}
	err := runScript(`for (;;) {}`, env)
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("endless script returned %v, want an interruption", err)
	}
}
