package runscope

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Step types of the format.
const (
	StepRequest = "request"
	StepPause   = "pause"
)

// Sources an assertion or a variable reads from.
const (
	SourceStatus  = "response_status"
	SourceJSON    = "response_json"
	SourceTime    = "response_time"
	SourceText    = "response_text"
	SourceHeaders = "response_headers"
)

// Suite is a parsed Runscope test export.
type Suite struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Steps       []Step `json:"steps"`
}

// Step is one step of a suite. Only request steps do anything: pauses exist because Runscope runs against
// eventually consistent servers, which a local run does not need to wait for.
type Step struct {
	Type       string      `json:"step_type"`
	Note       string      `json:"note"`
	Skipped    bool        `json:"skipped"`
	Method     string      `json:"method"`
	URL        string      `json:"url"`
	Headers    Headers     `json:"headers"`
	Body       string      `json:"body"`
	Assertions []Assertion `json:"assertions"`
	Variables  []Variable  `json:"variables"`
	Scripts    []string    `json:"scripts"`
}

// Name is the step's identity in reports and pinned lists: its note, trimmed, unsubstituted.
func (s Step) Name() string {
	if n := strings.TrimSpace(s.Note); n != "" {
		return n
	}
	return strings.TrimSpace(s.Method + " " + s.URL)
}

// Headers maps a header name to its values; the format writes a value as a string or a list of strings.
type Headers map[string][]string

// UnmarshalJSON accepts both value shapes.
func (h *Headers) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("headers: %w", err)
	}
	out := make(Headers, len(raw))
	for k, v := range raw {
		var one string
		if err := json.Unmarshal(v, &one); err == nil {
			out[k] = []string{one}
			continue
		}
		var many []string
		if err := json.Unmarshal(v, &many); err != nil {
			return fmt.Errorf("header %q: want a string or a list of strings: %w", k, err)
		}
		out[k] = many
	}
	*h = out
	return nil
}

// Assertion is a declarative check on a response.
type Assertion struct {
	Source     string `json:"source"`
	Property   string `json:"property"`
	Comparison string `json:"comparison"`
	// Value is a string in the exports, sometimes null; a number is accepted too.
	Value any `json:"value"`
}

// ValueString is the expected value as written in the suite, "" when absent.
func (a Assertion) ValueString() string {
	switch v := a.Value.(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return render(v)
	}
}

// Name is the assertion's identity in reports and pinned lists, built from the unsubstituted suite text so that it
// is the same on every run: "<source> [<property>] <comparison> [<value>]".
func (a Assertion) Name() string {
	parts := []string{a.Source}
	if a.Property != "" {
		parts = append(parts, a.Property)
	}
	parts = append(parts, a.Comparison)
	if v := a.ValueString(); v != "" {
		parts = append(parts, v)
	}
	return strings.Join(parts, " ")
}

// Variable names a value to capture from the response for later steps.
type Variable struct {
	Name     string `json:"name"`
	Source   string `json:"source"`
	Property string `json:"property"`
}

// ScriptName is the identity of the n-th (0-based) non-blank script of a step.
func ScriptName(n int) string { return fmt.Sprintf("script %d", n+1) }

// Parse decodes a suite.
func Parse(b []byte) (*Suite, error) {
	var s Suite
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("runscope: parse suite: %w", err)
	}
	if len(s.Steps) == 0 {
		return nil, fmt.Errorf("runscope: parse suite: no steps")
	}
	return &s, nil
}

// Load reads and decodes a suite file. The suite's label is the file's base name: both editions of Okta's spec tests
// carry the same "name", so only the file tells them apart.
func Load(path string) (*Suite, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("runscope: %w", err)
	}
	s, err := Parse(b)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return s, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), nil
}
