package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/scim-bridge/scim-bridge/cmd/scim-compliance/newman"
	"github.com/scim-bridge/scim-bridge/cmd/scim-compliance/pins"
)

func runPostmanPrepare(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("postman-prepare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "Microsoft's Postman collection `file`")
	out := fs.String("out", "", "`file` to write the prepared copy to")
	drop := fs.String("drop", "Get Token", "`name` of the top-level item to remove")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *in == "" || *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "postman-prepare: -in and -out are required")
		fs.Usage()
		return exitUsage
	}
	src, err := os.ReadFile(*in)
	if err != nil {
		fmt.Fprintln(stderr, "postman-prepare:", err)
		return exitUsage
	}
	prepared, removed, err := newman.Prepare(src, *drop)
	if err != nil {
		fmt.Fprintln(stderr, "postman-prepare:", err)
		return exitUsage
	}
	if removed == 0 {
		// An already prepared copy is fine to prepare again; say so, in case the name changed upstream.
		fmt.Fprintf(stderr, "postman-prepare: no top-level item named %q; copied unchanged\n", *drop)
	}
	if err := os.WriteFile(*out, prepared, 0o644); err != nil {
		fmt.Fprintln(stderr, "postman-prepare:", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "postman-prepare: wrote %s (%d top-level item(s) named %q removed)\n", *out, removed, *drop)
	return exitOK
}

func runNewmanCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("newman-check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	reportPath := fs.String("report", "", "newman JSON report `file` (--reporters json --reporter-json-export FILE)")
	label := fs.String("label", "microsoft", "`name` of the suite in the summary line")
	var expect pins.Flag
	fs.Var(&expect, "expect-fail",
		"pinned expected failures: a list `file`, or one \"item :: assertion\" entry (repeatable)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *reportPath == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "newman-check: -report is required")
		fs.Usage()
		return exitUsage
	}
	b, err := os.ReadFile(*reportPath)
	if err != nil {
		fmt.Fprintln(stderr, "newman-check:", err)
		return exitUsage
	}
	outcomes, err := newman.ParseReport(b)
	if err != nil {
		fmt.Fprintln(stderr, "newman-check:", err)
		return exitUsage
	}
	return settle(stdout, stderr, *label, expect.List, outcomes)
}
