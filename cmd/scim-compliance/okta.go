package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/cmd/scim-compliance/pins"
	"github.com/scim-bridge/scim-bridge/cmd/scim-compliance/runscope"
)

// authEnv may hold the Authorization header value instead of -auth, which keeps the token out of the process list.
const authEnv = "SCIM_COMPLIANCE_AUTH"

// varsFlag collects repeated -var name=value.
type varsFlag map[string]string

func (v varsFlag) String() string { return fmt.Sprintf("%d variables", len(v)) }

func (v varsFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("want name=value, got %q", s)
	}
	v[strings.TrimSpace(name)] = value
	return nil
}

func runOkta(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("okta", flag.ContinueOnError)
	fs.SetOutput(stderr)
	suitePath := fs.String("suite", "", "Runscope suite `file` (Okta-SCIM-20-SPEC-Test*.json)")
	base := fs.String("base", "", "SCIM base `URL`, e.g. http://127.0.0.1:8080/scim/v2 (the suite's SCIMBaseURL)")
	auth := fs.String("auth", "", `whole Authorization header value, e.g. "Bearer TOKEN" (default $`+authEnv+`)`)
	timeout := fs.Duration("timeout", 30*time.Second, "timeout of each request")
	seed := fs.Uint64("seed", 0, "seed of the generated test data (0: random)")
	vars := varsFlag{}
	fs.Var(vars, "var", "set a suite variable, `name=value` (repeatable; overrides generated ones)")
	var expect pins.Flag
	fs.Var(&expect, "expect-fail", "pinned expected failures: a list `file`, or one \"step :: check\" entry (repeatable)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *auth == "" {
		*auth = os.Getenv(authEnv)
	}
	if *suitePath == "" || *base == "" || *auth == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "okta: -suite, -base and -auth (or $"+authEnv+") are required")
		fs.Usage()
		return exitUsage
	}
	suite, label, err := runscope.Load(*suitePath)
	if err != nil {
		fmt.Fprintln(stderr, "okta:", err)
		return exitUsage
	}

	if *seed == 0 {
		*seed = rand.Uint64()
	}
	rng := rand.New(rand.NewPCG(*seed, *seed))
	baseURL := strings.TrimRight(*base, "/")
	r := &runscope.Runner{Client: &http.Client{Timeout: *timeout}, Vars: runscope.SetupVariables(rng)}
	r.Vars["SCIMBaseURL"] = baseURL
	r.Vars["auth"] = *auth
	for k, v := range vars {
		r.Vars[k] = v
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	created, err := runscope.EnsureUser(ctx, r.Client, baseURL, *auth, rng)
	if err != nil {
		fmt.Fprintln(stderr, "okta:", err)
		return exitUsage
	}
	if created {
		fmt.Fprintf(stdout, "okta %s: created one user to meet the suite's precondition\n", label)
	}
	outcomes, err := r.Run(ctx, suite)
	if err != nil {
		fmt.Fprintln(stderr, "okta:", err)
		return exitUsage
	}
	return settle(stdout, stderr, "okta "+label, expect.List, outcomes)
}

// settle prints the report of outcomes against the pinned list and returns the exit status.
func settle(stdout, stderr io.Writer, label string, pinned pins.List, outcomes []pins.Outcome) int {
	if len(outcomes) == 0 {
		fmt.Fprintln(stderr, label+": no checks ran")
		return exitUsage
	}
	rep := pinned.Settle(outcomes)
	if err := rep.Write(stdout, label); err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	if !rep.OK() {
		return exitFail
	}
	return exitOK
}
