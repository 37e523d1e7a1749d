// Command scim-bridge is a SCIM 2.0 service provider that provisions Okta and Microsoft Entra ID users into
// vendors without usable SCIM (Trainual, Thought Industries).
//
//	scim-bridge [serve] [flags]   serve the SCIM API (every flag is also an environment variable)
//	scim-bridge sandbox [flags]   serve it against an in-process vendor emulator: no vendor account needed
//	scim-bridge version           print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, nil); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "scim-bridge:", err)
		}
		os.Exit(2)
	}
}

// run is main without the process: tests call it with their own environment, output and context. ready, when
// not nil, receives the address the server listens on.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, ready func(addr string)) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr, ready)
	case "sandbox":
		return sandbox(ctx, args, getenv, stdout, stderr, ready)
	case "version":
		fmt.Fprintln(stdout, versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, "usage: scim-bridge [serve|sandbox|version] [flags]; scim-bridge serve -h lists the settings")
		return nil
	}
	return fmt.Errorf("unknown command %q (want serve, sandbox or version)", cmd)
}
