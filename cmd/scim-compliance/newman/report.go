package newman

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/scim-bridge/scim-bridge/cmd/scim-compliance/pins"
)

// Check names for failures that are not assertions: a request that got no response, and a test script that threw
// outside pm.test (typically parsing a body that is not JSON). Both fail the run unless pinned.
const (
	CheckRequest    = "(request)"
	CheckTestScript = "(test script)"
)

// report is the part of newman's JSON reporter output (--reporters json) that is read.
type report struct {
	Run struct {
		Executions []execution `json:"executions"`
	} `json:"run"`
}

type execution struct {
	Item struct {
		Name string `json:"name"`
	} `json:"item"`
	Request *struct {
		Method string `json:"method"`
		URL    struct {
			Protocol string   `json:"protocol"`
			Host     []string `json:"host"`
			Port     string   `json:"port"`
			Path     []string `json:"path"`
			Query    []struct {
				Key   string  `json:"key"`
				Value *string `json:"value"`
			} `json:"query"`
		} `json:"url"`
	} `json:"request"`
	Response *struct {
		Code int `json:"code"`
		// Stream is a serialised Node Buffer: {"type":"Buffer","data":[bytes as numbers]}.
		Stream struct {
			Raw []int `json:"data"`
		} `json:"stream"`
	} `json:"response"`
	Assertions []struct {
		Assertion string     `json:"assertion"`
		Skipped   bool       `json:"skipped"`
		Error     *errorJSON `json:"error"`
	} `json:"assertions"`
	TestScript []struct {
		Error *errorJSON `json:"error"`
	} `json:"testScript"`
	RequestError *errorJSON `json:"requestError"`
}

type errorJSON struct {
	Name    string `json:"name"`
	Message string `json:"message"`
	// Code is all a request error carries when the request timed out: {"code":"ESOCKETTIMEDOUT","connect":false}.
	Code string `json:"code"`
}

func (e *errorJSON) String() string {
	msg, _, _ := strings.Cut(e.Message, "\n")
	if msg == "" {
		msg = e.Code
	}
	if e.Name == "" {
		return msg
	}
	return e.Name + ": " + msg
}

// ParseReport reads a newman JSON report into one outcome per assertion (skipped ones left out), plus a failed
// outcome for each request error and each test script error. Failures carry the exchange (method, URL, status and
// the start of the body) as context.
func ParseReport(b []byte) ([]pins.Outcome, error) {
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("newman: parse report: %w", err)
	}
	if r.Run.Executions == nil {
		return nil, fmt.Errorf("newman: parse report: no run.executions (not a newman JSON report?)")
	}
	var out []pins.Outcome
	for _, e := range r.Run.Executions {
		ctx := e.exchange()
		fail := func(check, detail string) {
			out = append(out, pins.Outcome{Item: e.Item.Name, Check: check, Detail: detail, Context: ctx})
		}
		if e.RequestError != nil {
			fail(CheckRequest, e.RequestError.String())
		}
		for _, ts := range e.TestScript {
			if ts.Error != nil {
				fail(CheckTestScript, ts.Error.String())
			}
		}
		for _, a := range e.Assertions {
			switch {
			case a.Skipped:
			case a.Error != nil:
				fail(a.Assertion, a.Error.String())
			default:
				out = append(out, pins.Outcome{Item: e.Item.Name, Check: a.Assertion, Passed: true})
			}
		}
	}
	return out, nil
}

// exchange renders "METHOD URL -> CODE BODY" with the body cut short; request headers (the bearer token among them)
// are never shown.
func (e execution) exchange() string {
	if e.Request == nil {
		return ""
	}
	u := e.Request.URL
	var b strings.Builder
	b.WriteString(e.Request.Method + " " + u.Protocol + "://" + strings.Join(u.Host, "."))
	if u.Port != "" {
		b.WriteString(":" + u.Port)
	}
	b.WriteString("/" + strings.Join(u.Path, "/"))
	for i, q := range u.Query {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		b.WriteString(sep + url.QueryEscape(q.Key))
		if q.Value != nil {
			b.WriteString("=" + *q.Value)
		}
	}
	if e.Response == nil {
		return b.String()
	}
	body := make([]byte, 0, len(e.Response.Stream.Raw))
	for _, c := range e.Response.Stream.Raw {
		body = append(body, byte(c))
	}
	fmt.Fprintf(&b, " -> %d %s", e.Response.Code, pins.Abbreviate(string(body), 300))
	return b.String()
}
