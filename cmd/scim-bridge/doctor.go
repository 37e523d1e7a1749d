package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/doctor"
	"github.com/scim-bridge/scim-bridge/adapters/targets"
)

// doctorFunc is one target's checks: the vendor half of `scim-bridge doctor`, kept beside the adapter's wire.go.
type doctorFunc func(ctx context.Context, get func(string) string, deps adapters.Deps, opts doctor.Options) (doctor.Report, error)

// exitStatus ends the process with a status after the command has printed everything it had to say.
type exitStatus int

func (e exitStatus) Error() string { return "exit status " + strconv.Itoa(int(e)) }

// doctorOutput is the --json document: the report, and what the exit status and the summary line say.
type doctorOutput struct {
	doctor.Report
	ExitCode int                    `json:"exit_code"`
	Summary  map[doctor.Verdict]int `json:"summary"`
}

// runDoctor checks the target's assumptions against the live account that serve's settings point at. Exit status:
// 0 when every assumption observed holds, 1 when one differs or fails, 2 when the checks could not run.
func runDoctor(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var testUser, connName string
	var asJSON bool
	s, err := loadSettings("doctor", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&testUser, "write-test-user", "", "also create, change and finally remove (or deactivate) a test person with this unused e-mail "+
			"(Trainual e-mails them an invitation and uses a seat meanwhile); without it the doctor only reads")
		fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
		fs.StringVar(&connName, "connection", "", "with SCIM_BRIDGE_CONFIG: the connection to check (required when the file has several)")
	})
	if err != nil {
		return err
	}
	if s.get("SCIM_BRIDGE_CONFIG") != "" || connName != "" {
		conns, err := connectionsOf(s, getenv)
		if err != nil {
			return err
		}
		pick, err := pickConnection(conns, connName)
		if err != nil {
			return err
		}
		s = pick.s
	}
	name := s.get("SCIM_BRIDGE_TARGET")
	cannotRun := func(reason string) error {
		if asJSON {
			writeDoctorJSON(stdout, doctor.Report{Target: name, TestUser: testUser, Results: []doctor.Result{}, Aborted: reason})
		} else {
			fmt.Fprintln(stderr, "scim-bridge doctor: "+reason)
		}
		return exitStatus(doctor.ExitCannotRun)
	}
	if name == "" {
		return cannotRun("SCIM_BRIDGE_TARGET is required: one of " + strings.Join(targets.Names(), ", "))
	}
	t, err := targets.Lookup(name)
	if err != nil {
		return cannotRun(err.Error())
	}
	name = t.Name
	check := doctorFunc(t.Doctor)
	if check == nil {
		return cannotRun("no checks exist for target " + t.Name)
	}
	if testUser != "" {
		if err := doctor.CheckTestUser(testUser); err != nil {
			return cannotRun(err.Error())
		}
	}
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(s.get("SCIM_BRIDGE_LOG_LEVEL")))
	log := newLogger(stderr, level).With(slog.String("target", t.Name), slog.String("component", "doctor"))

	rep, err := check(ctx, s.get, adapters.Deps{Logger: log}, doctor.Options{TestUser: testUser})
	if err != nil {
		return cannotRun("invalid configuration: " + err.Error())
	}
	if asJSON {
		writeDoctorJSON(stdout, rep)
	} else {
		writeDoctorTable(stdout, rep)
	}
	if code := rep.ExitCode(); code != doctor.ExitHolds {
		return exitStatus(code)
	}
	return nil
}

func writeDoctorJSON(w io.Writer, rep doctor.Report) {
	out := doctorOutput{Report: rep, ExitCode: rep.ExitCode(), Summary: map[doctor.Verdict]int{}}
	for _, v := range []doctor.Verdict{doctor.Holds, doctor.Differs, doctor.Fails, doctor.Skipped} {
		out.Summary[v] = rep.Count(v)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}

// doctorColumns are the table's columns and widths: wide enough for a terminal of about 180 columns, each cell
// wrapped at word boundaries within its column.
var doctorColumns = []struct {
	title string
	width int
}{{"ASSUMPTION", 22}, {"EXPECTED", 40}, {"OBSERVED", 40}, {"VERDICT", 7}, {"ADVICE", 56}}

func writeDoctorTable(w io.Writer, rep doctor.Report) {
	mode := "read-only; add --write-test-user EMAIL to check creating, changing and removing a person"
	if rep.TestUser != "" {
		mode = "with the test person " + rep.TestUser
	}
	fmt.Fprintf(w, "scim-bridge doctor: %s at %s (%s)\n\n", rep.Target, rep.BaseURL, mode)
	var head, rule []string
	for _, c := range doctorColumns {
		head = append(head, c.title)
		rule = append(rule, strings.Repeat("-", c.width))
	}
	writeRow(w, head)
	writeRow(w, rule)
	for i, r := range rep.Results {
		if i > 0 {
			fmt.Fprintln(w)
		}
		writeRow(w, []string{r.ID + " (" + r.Title + ")", r.Expected, r.Observed, string(r.Verdict), r.Advice})
	}
	fmt.Fprintf(w, "\n%d hold, %d differ, %d fail, %d skipped; %d calls to %s.\n",
		rep.Count(doctor.Holds), rep.Count(doctor.Differs), rep.Count(doctor.Fails), rep.Count(doctor.Skipped), rep.Calls, rep.Target)
	switch rep.ExitCode() {
	case doctor.ExitCannotRun:
		fmt.Fprintf(w, "The doctor could not finish: %s.\n", rep.Aborted)
	case doctor.ExitDiffers:
		fmt.Fprintln(w, "Not every assumption holds. \"differs\": the bridge copes, but report it. \"fails\": act on the advice before going live.")
	default:
		fmt.Fprintln(w, "Every assumption observed holds.")
	}
	if len(rep.Notes) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for _, n := range rep.Notes {
			for i, line := range wrap(n, 110) {
				prefix := "  - "
				if i > 0 {
					prefix = "    "
				}
				fmt.Fprintln(w, prefix+line)
			}
		}
	}
}

// writeRow prints one table row, each cell wrapped within its column.
func writeRow(w io.Writer, cells []string) {
	cols := make([][]string, len(cells))
	lines := 1
	for i, c := range cells {
		cols[i] = wrap(c, doctorColumns[i].width)
		lines = max(lines, len(cols[i]))
	}
	for l := range lines {
		var b strings.Builder
		for i := range cells {
			cell := ""
			if l < len(cols[i]) {
				cell = cols[i][l]
			}
			b.WriteString(cell)
			if i < len(cells)-1 {
				b.WriteString(strings.Repeat(" ", doctorColumns[i].width-utf8.RuneCountInString(cell)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// wrap breaks s into lines of at most width runes at spaces, cutting words longer than a line.
func wrap(s string, width int) []string {
	var out []string
	line := ""
	for _, word := range strings.Fields(s) {
		for utf8.RuneCountInString(word) > width {
			if line != "" {
				out, line = append(out, line), ""
			}
			r := []rune(word)
			out, word = append(out, string(r[:width])), string(r[width:])
		}
		switch {
		case line == "":
			line = word
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) <= width:
			line += " " + word
		default:
			out, line = append(out, line), word
		}
	}
	if line != "" || len(out) == 0 {
		out = append(out, line)
	}
	return out
}
