package pins

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Write prints one line per unpinned failure, pinned failure and stale entry, then the summary line
// "<label>: N passed, N failed, N pinned" (pinned failures are not in N failed).
func (r Report) Write(w io.Writer, label string) error {
	var err error
	printf := func(format string, args ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, args...)
		}
	}
	for _, o := range r.Failed {
		printf("FAIL   %s%s%s: %s\n", o.Item, Separator, o.Check, o.Detail)
		if o.Context != "" {
			printf("         %s\n", o.Context)
		}
	}
	for _, o := range r.Pinned {
		printf("PINNED %s%s%s: %s\n", o.Item, Separator, o.Check, o.Detail)
	}
	for _, e := range r.Stale {
		printf("STALE  %s (%s): pinned as an expected failure but did not fail; drop the entry\n", e, e.Source)
	}
	printf("%s: %d passed, %d failed, %d pinned\n", label, r.Passed, len(r.Failed), len(r.Pinned))
	if err != nil {
		return fmt.Errorf("pins: write report: %w", err)
	}
	return nil
}

// Abbreviate puts s on one line and cuts it to at most n bytes (on a rune boundary), marking the cut with "...".
func Abbreviate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
