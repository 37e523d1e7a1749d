package main

import (
	"fmt"
	"io"
	"os"
)

const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

const usage = `usage:
  scim-compliance okta -suite FILE -base URL -auth "Bearer TOKEN" [-var k=v]... [-expect-fail FILE|ENTRY]...
  scim-compliance postman-prepare -in FILE -out FILE
  scim-compliance newman-check -report FILE [-expect-fail FILE|ENTRY]...
Run a subcommand with -h for its flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "okta":
		return runOkta(args[1:], stdout, stderr)
	case "postman-prepare":
		return runPostmanPrepare(args[1:], stdout, stderr)
	case "newman-check":
		return runNewmanCheck(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "scim-compliance: unknown subcommand %q\n%s", args[0], usage)
	return exitUsage
}
