// Command scim-bridge is a SCIM 2.0 service provider that provisions Okta and Microsoft Entra ID users into
// vendors without usable SCIM (Trainual, Thought Industries).
//
//	scim-bridge [serve] [flags]   serve the SCIM API (every flag is also an environment variable)
//	scim-bridge sandbox [flags]   serve it against an in-process vendor emulator: no vendor account needed
//	scim-bridge migrate-store --from <SQLite file> --to postgres://...   copy the links into Postgres
//	scim-bridge doctor [flags]    check the vendor assumptions against the live account before going live
//	scim-bridge links [flags]     show the identity links (SCIM id, userName, state, version, last write)
//	scim-bridge audit [flags]     list the audit trail of provisioning actions
//	scim-bridge guard status|release   show or release the mass-deprovisioning guard
//	scim-bridge reconcile [--fix] report (and fix) what changed in the vendor behind the IdP's back
//	scim-bridge version           print the version
//	scim-bridge healthcheck       probe a running bridge's /healthz: exit 0 when healthy, 1 when not (the image's HEALTHCHECK)
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
		if st, ok := errors.AsType[exitStatus](err); ok {
			os.Exit(int(st)) // the command has reported already
		}
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
	case "doctor":
		return runDoctor(ctx, args, getenv, stdout, stderr)
	case "audit":
		return runAudit(ctx, args, getenv, stdout, stderr)
	case "guard":
		return runGuard(ctx, args, getenv, stdout, stderr)
	case "links":
		return runLinks(ctx, args, getenv, stdout, stderr)
	case "reconcile":
		return runReconcile(ctx, args, getenv, stdout, stderr)
	case "migrate-store":
		return migrateStore(ctx, args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, versionString())
		return nil
	case "healthcheck":
		return healthcheck(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, "usage: scim-bridge [serve|sandbox|doctor|links|audit|guard|reconcile|migrate-store|healthcheck|version] [flags]; scim-bridge serve -h lists the settings")
		return nil
	}
	return fmt.Errorf("unknown command %q (want serve, sandbox, doctor, links, audit, guard, reconcile, migrate-store, healthcheck or version)", cmd)
}
