package runscope

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/dop251/goja"
)

// prelude is the slice of Chai (assert and expect style) the suites' scripts use, and nothing more: a script that
// calls anything else fails with "not a function", which is the loud failure wanted when a new suite edition starts
// using more of Chai. Used today: assert(v, msg), assert.ok, assert.notEqual, expect(v).to.be.empty.
const prelude = `
function AssertionError(message) { this.message = message; }
AssertionError.prototype = Object.create(Error.prototype);
AssertionError.prototype.name = 'AssertionError';
AssertionError.prototype.constructor = AssertionError;

function __inspect(v) {
	if (typeof v === 'string') return "'" + v + "'";
	if (v === undefined) return 'undefined';
	try { return JSON.stringify(v); } catch (e) { return String(v); }
}
function __fail(message, detail) {
	throw new AssertionError(message ? message + ': ' + detail : detail);
}

function assert(expression, message) {
	if (!expression) __fail(message, 'expected ' + __inspect(expression) + ' to be truthy');
}
assert.ok = function (value, message) {
	if (!value) __fail(message, 'expected ' + __inspect(value) + ' to be truthy');
};
assert.notEqual = function (actual, expected, message) {
	// Chai's notEqual is the non-strict comparison.
	if (actual == expected) __fail(message, 'expected ' + __inspect(actual) + ' to not equal ' + __inspect(expected));
};

function __Assertion(value) { this.__value = value; }
Object.defineProperty(__Assertion.prototype, 'to', { get: function () { return this; } });
Object.defineProperty(__Assertion.prototype, 'be', { get: function () { return this; } });
Object.defineProperty(__Assertion.prototype, 'empty', { get: function () {
	var v = this.__value;
	var size;
	if (typeof v === 'string' || Array.isArray(v)) size = v.length;
	else if (v !== null && typeof v === 'object') size = Object.keys(v).length;
	else __fail('', '.empty was passed non-string primitive ' + __inspect(v));
	if (size !== 0) __fail('', 'expected ' + __inspect(v) + ' to be empty');
	return this;
} });
function expect(value) { return new __Assertion(value); }
`

// scriptEnv is what a post-response script sees.
type scriptEnv struct {
	body     string
	status   int
	header   http.Header
	elapsed  time.Duration
	vars     map[string]string
	log      func(args ...any)
	deadline time.Duration
}

// runScript runs one post-response script; a nil error means every assertion in it held. The script may set
// variables through variables.set, which later steps see.
func runScript(src string, env scriptEnv) error {
	vm := goja.New()
	headers := make(map[string]any, len(env.header))
	for k := range env.header {
		headers[k] = env.header.Get(k)
	}
	response := map[string]any{
		"body":          env.body,
		"status":        env.status,
		"headers":       headers,
		"response_time": env.elapsed.Milliseconds(),
	}
	variables := map[string]any{
		"get": func(name string) goja.Value {
			if v, ok := env.vars[name]; ok {
				return vm.ToValue(v)
			}
			return goja.Undefined()
		},
		"set": func(name string, v goja.Value) { env.vars[name] = v.String() },
	}
	logf := func(args ...any) {
		if env.log != nil {
			env.log(args...)
		}
	}
	for name, v := range map[string]any{"response": response, "variables": variables, "log": logf} {
		if err := vm.Set(name, v); err != nil {
			return fmt.Errorf("script: set %s: %w", name, err)
		}
	}
	if _, err := vm.RunString(prelude); err != nil {
		return fmt.Errorf("script: prelude: %w", err)
	}
	// A script is untrusted text from a suite file: bound its run time so a loop cannot hang the runner.
	timer := time.AfterFunc(env.deadline, func() { vm.Interrupt("timed out after " + env.deadline.String()) })
	defer timer.Stop()
	_, err := vm.RunString(src)
	if err == nil {
		return nil
	}
	var exc *goja.Exception
	if errors.As(err, &exc) {
		if obj, ok := exc.Value().(*goja.Object); ok {
			name, msg := obj.Get("name"), obj.Get("message")
			if msg != nil && !goja.IsUndefined(msg) {
				return fmt.Errorf("%s: %s", name, msg)
			}
		}
		return errors.New(exc.Value().String())
	}
	var intr *goja.InterruptedError
	if errors.As(err, &intr) {
		return fmt.Errorf("interrupted: %v", intr.Value())
	}
	return err
}
