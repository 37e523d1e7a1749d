package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scim-bridge/scim-bridge/scim/provision"
	"github.com/scim-bridge/scim-bridge/scim/store"
)

// The operator commands read the same settings as serve (one connection from the environment, or --connection C
// of SCIM_BRIDGE_CONFIG) and work on the connection's slice of the store directly: they need no running server
// and work with any number of replicas.

// operatorConn opens one connection the way serve does, without serving it.
func operatorConn(ctx context.Context, cmd string, args []string, getenv func(string) string, stderr io.Writer,
	extra func(*flag.FlagSet)) (*opened, func(), error) {
	var connName string
	s, err := loadSettings(cmd, args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&connName, "connection", "", "with SCIM_BRIDGE_CONFIG: the connection (required when the file has several)")
		if extra != nil {
			extra(fs)
		}
	})
	if err != nil {
		return nil, nil, err
	}
	conns, err := connectionsOf(s, getenv)
	if err != nil {
		return nil, nil, err
	}
	pick, err := pickConnection(conns, connName)
	if err != nil {
		return nil, nil, err
	}
	log := newLogger(stderr, slog.LevelWarn)
	// A running bridge may be calling the same vendor account: this process learns the pace on its own.
	cfg, adapter, pacer, problems := openAdapter(pick, log, newPacers())
	if len(problems) > 0 {
		return nil, nil, errors.New("invalid configuration:\n  " + strings.Join(problems, "\n  "))
	}
	o, err := openConnection(ctx, pick.name, cfg, adapter, pacer, cfg.db, log, prometheus.NewRegistry())
	if err != nil {
		return nil, nil, err
	}
	return &o, o.closer, nil
}

// pickConnection is the connection --connection names, or the only one when it names none.
func pickConnection(conns []connection, name string) (connection, error) {
	for _, c := range conns {
		if c.name == name || (name == "" && len(conns) == 1) {
			return c, nil
		}
	}
	names := make([]string, len(conns))
	for i, c := range conns {
		names[i] = c.name
	}
	return connection{}, fmt.Errorf("--connection must name one of the connections: %s", strings.Join(names, ", "))
}

// parseSince reads --since: a duration back from now ("24h", "7d") or an RFC 3339 time.
func parseSince(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, ok := parseDays(v); ok {
		return time.Now().Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("--since must be a duration such as 24h or 7d, or a time such as 2026-12-01T08:00:00Z")
	}
	return t, nil
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// runAudit lists the audit trail: scim-bridge audit [--connection C] [--user X] [--since T] [--json].
func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var who, since string
	var asJSON bool
	o, closeFn, err := operatorConn(ctx, "audit", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&who, "user", "", "only this person: SCIM id or userName")
		fs.StringVar(&since, "since", "", "only events since then: a duration back from now (24h, 7d) or an RFC 3339 time")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	})
	if err != nil {
		return err
	}
	defer closeFn()
	from, err := parseSince(since)
	if err != nil {
		return err
	}
	events, err := o.svc.AuditEvents(ctx, store.AuditQuery{User: who, Since: from})
	if err != nil {
		return err
	}
	if asJSON {
		if events == nil {
			events = []store.AuditEvent{}
		}
		writeJSON(stdout, events)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tOPERATION\tSCIM ID\tUSERNAME\tATTRIBUTES\tRESULT\tCREDENTIAL\tREQUEST")
	for _, e := range events {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format(time.RFC3339), e.Operation, dash(e.UserID),
			dash(e.UserName), dash(strings.Join(e.Attributes, ",")), e.Result, dash(e.Credential), dash(e.RequestID))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// runGuard is scim-bridge guard status|release [--connection C] [--json].
func runGuard(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "status" && args[0] != "release") {
		return errors.New("usage: scim-bridge guard status|release [--connection C] [--json]")
	}
	verb := args[0]
	var asJSON bool
	o, closeFn, err := operatorConn(ctx, "guard "+verb, args[1:], getenv, stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	})
	if err != nil {
		return err
	}
	defer closeFn()
	if verb == "release" {
		by := "cli"
		if u, err := user.Current(); err == nil {
			by = "cli:" + u.Username
		}
		was, err := o.svc.ReleaseGuard(ctx, by)
		if err != nil {
			return err
		}
		if was {
			fmt.Fprintf(stdout, "connection %s: the guard is released; deactivations and deletions flow again (the IdP retries the held ones).\n", o.name)
		} else {
			fmt.Fprintf(stdout, "connection %s: the guard was not holding anything.\n", o.name)
		}
		return nil
	}
	st, held, err := o.svc.GuardStatus(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		if held == nil {
			held = []store.AuditEvent{}
		}
		writeJSON(stdout, map[string]any{"connection": o.name, "held": st.Held, "since": st.Since, "reason": st.Reason, "requests": held})
		return nil
	}
	if !st.Held {
		fmt.Fprintf(stdout, "connection %s: not holding (threshold %s in %s)\n", o.name, thresholdText(o.cfg.guard), o.cfg.guard.Window)
		return nil
	}
	fmt.Fprintf(stdout, "connection %s: HOLDING deactivations and deletions since %s\n  reason: %s\n  held requests: %d\n",
		o.name, st.Since.UTC().Format(time.RFC3339), st.Reason, len(held))
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  TIME\tWOULD\tSCIM ID\tUSERNAME\tCREDENTIAL")
	for _, e := range held {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format(time.RFC3339), strings.Join(e.Attributes, ","), e.UserID, dash(e.UserName), dash(e.Credential))
	}
	fmt.Fprintln(tw, "Check the IdP's assignments, then run: scim-bridge guard release"+connFlag(o.name, getenv))
	return tw.Flush()
}

func connFlag(name string, getenv func(string) string) string {
	if getenv("SCIM_BRIDGE_CONFIG") == "" {
		return ""
	}
	return " --connection " + name
}

func thresholdText(p provision.GuardPolicy) string {
	switch {
	case !p.On():
		return "off"
	case p.Share > 0:
		return fmt.Sprintf("%g%%", p.Share*100)
	}
	return fmt.Sprint(p.Limit)
}

// runLinks is scim-bridge links [--connection C] [--user X] [--json].
func runLinks(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var who string
	var asJSON bool
	o, closeFn, err := operatorConn(ctx, "links", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&who, "user", "", "only this person: SCIM id or userName")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	})
	if err != nil {
		return err
	}
	defer closeFn()
	views, err := o.svc.Links(ctx, who)
	if err != nil {
		return err
	}
	if asJSON {
		if views == nil {
			views = []provision.LinkView{}
		}
		writeJSON(stdout, views)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCIM ID = VENDOR ID\tUSERNAME\tEXTERNALID\tSTATE\tVERSION\tLAST WRITE\tIDP OWNS")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", v.ID, v.UserName, dash(v.ExternalID), v.State, v.Version, v.LastWrite, dash(strings.Join(v.Owned, ",")))
	}
	return tw.Flush()
}

// runReconcile is scim-bridge reconcile [--connection C] [--json] [--fix].
func runReconcile(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var asJSON, fix bool
	o, closeFn, err := operatorConn(ctx, "reconcile", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		fs.BoolVar(&fix, "fix", false, "after printing what it would do, apply the IdP's side (retire gone links, re-apply state and drifted attributes)")
	})
	if err != nil {
		return err
	}
	defer closeFn()
	progress := progressPrinter(stderr)
	rep, err := o.svc.Reconcile(ctx, progress)
	if err != nil {
		return err
	}
	if asJSON {
		writeJSON(stdout, rep)
	} else {
		fmt.Fprintf(stdout, "connection %s: %d vendor users, %d live links, %d findings\n", o.name, rep.VendorUsers, rep.Links, len(rep.Findings))
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		if len(rep.Findings) > 0 {
			fmt.Fprintln(tw, "KIND\tSCIM ID\tUSERNAME\tDETAIL\tFIX")
		}
		for _, f := range rep.Findings {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Kind, f.ID, dash(f.UserName), f.Detail, dash(f.Fix))
		}
		_ = tw.Flush()
	}
	if !fix {
		return nil
	}
	n := 0
	for _, f := range rep.Findings {
		if f.Fix != "" {
			n++
			fmt.Fprintf(stderr, "will %s: %s %s\n", f.Fix, f.ID, f.UserName)
		}
	}
	failed := o.svc.Fix(provision.ContextWithActor(ctx, provision.Actor{Credential: "cli:reconcile"}), rep)
	for _, err := range failed {
		fmt.Fprintln(stderr, "could not fix:", err)
	}
	fmt.Fprintf(stderr, "fixed %d of %d\n", n-len(failed), n)
	if len(failed) > 0 {
		return fmt.Errorf("%d findings could not be fixed", len(failed))
	}
	return nil
}

// progressPrinter shows progress as a bar on a terminal and as a line every 10% (or 1,000 users) otherwise.
func progressPrinter(w io.Writer) func(done, total int) {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil {
			tty = fi.Mode()&os.ModeCharDevice != 0
		}
	}
	last := -1
	return func(done, total int) {
		if tty {
			if total > 0 {
				width := 30
				filled := min(width, done*width/max(total, 1))
				fmt.Fprintf(w, "\rreading vendor users [%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total)
			} else {
				fmt.Fprintf(w, "\rreading vendor users: %d", done)
			}
			if total > 0 && done >= total {
				fmt.Fprintln(w)
			}
			return
		}
		step := 1000
		if total > 0 {
			step = max(1, total/10)
		}
		if done/step != last || (total > 0 && done >= total) {
			last = done / step
			fmt.Fprintf(w, "read %d vendor users (of %s)\n", done, totalText(total))
		}
	}
}

func totalText(n int) string {
	if n < 0 {
		return "unknown"
	}
	return fmt.Sprint(n)
}
