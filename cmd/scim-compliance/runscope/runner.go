package runscope

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/cmd/scim-compliance/pins"
)

// maxBody bounds how much of a response is read; SCIM answers in these suites are a few kilobytes.
const maxBody = 8 << 20

// Runner runs suites. The zero value is not usable: set Client and Vars.
type Runner struct {
	Client *http.Client
	// Vars are the suite variables ({{name}}); steps capture more into it as they run.
	Vars map[string]string
	// ScriptTimeout bounds each post-response script; zero means five seconds.
	ScriptTimeout time.Duration
	// Log receives the scripts' log() output; nil discards it.
	Log io.Writer
}

// response is what a step's checks look at.
type response struct {
	status  int
	header  http.Header
	body    []byte
	elapsed time.Duration
	json    any
	jsonErr error
}

// Run runs every request step in order (pauses and skipped steps are passed over) and returns one outcome per
// assertion and per non-blank script: Item is the step's name, Check the assertion's or script's, and a failure's
// Context is the exchange ("METHOD URL -> STATUS BODY"). A step whose request fails outright fails all its checks.
// Only a cancelled context stops the run early; its error is returned with the checks made so far.
func (r *Runner) Run(ctx context.Context, s *Suite) ([]pins.Outcome, error) {
	var checks []pins.Outcome
	for _, st := range s.Steps {
		if st.Type != StepRequest || st.Skipped {
			continue
		}
		if err := ctx.Err(); err != nil {
			return checks, fmt.Errorf("runscope: run: %w", err)
		}
		checks = append(checks, r.step(ctx, st)...)
	}
	return checks, nil
}

func (r *Runner) step(ctx context.Context, st Step) []pins.Outcome {
	method := strings.ToUpper(strings.TrimSpace(st.Method))
	target := EncodeURL(Substitute(st.URL, r.Vars))
	exchange := method + " " + target
	resp, err := r.do(ctx, method, target, st)
	if err != nil {
		return r.failAll(st, fmt.Sprintf("request failed: %v", err), exchange)
	}
	exchange += fmt.Sprintf(" -> %d %s", resp.status, pins.Abbreviate(string(resp.body), 300))

	r.capture(st.Variables, resp)

	var checks []pins.Outcome
	for _, a := range st.Assertions {
		c := pins.Outcome{Item: st.Name(), Check: a.Name()}
		c.Passed, c.Detail = r.assert(a, resp)
		if !c.Passed {
			c.Context = exchange
		}
		checks = append(checks, c)
	}
	n := 0
	for _, src := range st.Scripts {
		if strings.TrimSpace(src) == "" {
			continue
		}
		c := pins.Outcome{Item: st.Name(), Check: ScriptName(n), Passed: true}
		n++
		if err := runScript(src, r.scriptEnv(resp)); err != nil {
			c.Passed, c.Detail, c.Context = false, err.Error(), exchange
		}
		checks = append(checks, c)
	}
	return checks
}

func (r *Runner) failAll(st Step, detail, exchange string) []pins.Outcome {
	var checks []pins.Outcome
	for _, a := range st.Assertions {
		checks = append(checks, pins.Outcome{Item: st.Name(), Check: a.Name(), Detail: detail, Context: exchange})
	}
	n := 0
	for _, src := range st.Scripts {
		if strings.TrimSpace(src) != "" {
			checks = append(checks, pins.Outcome{Item: st.Name(), Check: ScriptName(n), Detail: detail, Context: exchange})
			n++
		}
	}
	return checks
}

func (r *Runner) do(ctx context.Context, method, target string, st Step) (*response, error) {
	var body io.Reader
	if b := Substitute(st.Body, r.Vars); b != "" {
		body = strings.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	for k, vs := range st.Headers {
		for _, v := range vs {
			req.Header.Add(k, Substitute(v, r.Vars))
		}
	}
	start := time.Now()
	res, err := r.Client.Do(req)
	if err != nil {
		// The error names the URL, which holds no secret: the token travels in a header.
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	out := &response{status: res.StatusCode, header: res.Header, body: b, elapsed: time.Since(start)}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&out.json); err != nil {
		out.json, out.jsonErr = nil, err
	}
	return out, nil
}

// source returns the value an assertion or variable reads, and whether it is present.
func (resp *response) source(source, property string) (any, bool, error) {
	switch source {
	case SourceStatus:
		return json.Number(strconv.Itoa(resp.status)), true, nil
	case SourceTime:
		return json.Number(strconv.FormatInt(resp.elapsed.Milliseconds(), 10)), true, nil
	case SourceText:
		return string(resp.body), true, nil
	case SourceHeaders:
		vs := resp.header.Values(property)
		if len(vs) == 0 {
			return nil, false, nil
		}
		return strings.Join(vs, ", "), true, nil
	case SourceJSON:
		if resp.jsonErr != nil {
			return nil, false, errors.New("response body is not JSON")
		}
		v, ok := Lookup(resp.json, property)
		return v, ok, nil
	}
	return nil, false, fmt.Errorf("unsupported source %q", source)
}

func (r *Runner) assert(a Assertion, resp *response) (bool, string) {
	expected := Substitute(a.ValueString(), r.Vars)
	want := a.Comparison
	if expected != "" {
		want += " " + strconv.Quote(expected)
	}
	actual, present, err := resp.source(a.Source, a.Property)
	if err != nil && a.Source != SourceJSON {
		return false, err.Error()
	}
	ok, cmpErr := Compare(a.Comparison, actual, present, expected)
	if cmpErr != nil {
		return false, cmpErr.Error()
	}
	if ok {
		return true, ""
	}
	got := "absent"
	switch {
	case err != nil:
		got = err.Error()
	case present:
		got = pins.Abbreviate(render(actual), 200)
		if _, isString := actual.(string); isString {
			got = strconv.Quote(got)
		}
	}
	return false, fmt.Sprintf("expected %s, got %s", want, got)
}

// capture stores the step's variables; one whose value is absent is left unset, as Runscope does.
func (r *Runner) capture(vars []Variable, resp *response) {
	for _, v := range vars {
		val, present, err := resp.source(v.Source, v.Property)
		if err == nil && present && val != nil {
			r.Vars[v.Name] = render(val)
		}
	}
}

func (r *Runner) scriptEnv(resp *response) scriptEnv {
	timeout := r.ScriptTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	env := scriptEnv{
		body: string(resp.body), status: resp.status, header: resp.header, elapsed: resp.elapsed,
		vars: r.Vars, deadline: timeout,
	}
	if r.Log != nil {
		env.log = func(args ...any) { fmt.Fprintln(r.Log, args...) }
	}
	return env
}
