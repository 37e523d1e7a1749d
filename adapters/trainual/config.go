package trainual

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/upstream"
)

// Names of the settings this target reads.
const (
	envURL      = "SCIM_BRIDGE_UPSTREAM_URL"
	envToken    = "SCIM_BRIDGE_UPSTREAM_TOKEN"
	envTimeout  = "SCIM_BRIDGE_UPSTREAM_TIMEOUT"
	envInactive = "SCIM_BRIDGE_TRAINUAL_INACTIVE_CREATE"

	defaultTimeout = 15 * time.Second
)

// Settings lists the environment variables the Trainual target reads.
var Settings = []adapters.Setting{
	{Env: envURL, Default: DefaultBaseURL, Usage: "Trainual API base URL"},
	{Env: envToken, Secret: true, Usage: "Trainual API key (Settings > Integrations > API), sent as a Bearer token"},
	{Env: envTimeout, Default: defaultTimeout.String(), Usage: "time limit of one Trainual API call (Go duration)"},
	{Env: envInactive, Default: string(inactiveDeactivate), Usage: "a create with active=false: deactivate (create, which invites, then deactivate at once) or refuse (answer 400, no invitation sent)"},
}

// inactiveCreate says what a create of an inactive person does: Trainual's create always invites (a seat and an
// e-mail) and cannot make a deactivated user.
type inactiveCreate string

const (
	inactiveDeactivate inactiveCreate = "deactivate"
	inactiveRefuse     inactiveCreate = "refuse"
)

// Open validates the settings and builds the raw Trainual adapter; it does no network I/O. Every problem is
// reported at once, each naming its variable.
func Open(get func(name string) string, deps adapters.Deps) (adapters.Adapter, error) {
	var problems []error

	base := strings.TrimSpace(get(envURL))
	if base == "" {
		base = DefaultBaseURL
	}
	if err := checkBaseURL(base); err != nil {
		problems = append(problems, fmt.Errorf("%s %w", envURL, err))
	}

	// A key read from a file often ends in a newline; anything else that is not printable would break the header.
	token := upstream.Secret(strings.TrimSpace(get(envToken)))
	switch {
	case token == "":
		problems = append(problems, fmt.Errorf("%s is required", envToken))
	case strings.ContainsFunc(token.Reveal(), func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }):
		problems = append(problems, fmt.Errorf("%s must not contain spaces or control characters", envToken))
	}

	timeout := defaultTimeout
	if v := strings.TrimSpace(get(envTimeout)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			problems = append(problems, fmt.Errorf("%s must be a positive Go duration such as 15s", envTimeout))
		} else {
			timeout = d
		}
	}

	inactive := inactiveCreate(strings.ToLower(strings.TrimSpace(get(envInactive))))
	switch inactive {
	case "":
		inactive = inactiveDeactivate
	case inactiveDeactivate, inactiveRefuse:
	default:
		problems = append(problems, fmt.Errorf("%s must be %s or %s", envInactive, inactiveDeactivate, inactiveRefuse))
	}

	if len(problems) > 0 {
		return nil, fmt.Errorf("trainual: invalid settings: %w", errors.Join(problems...))
	}

	c, err := upstream.New(upstream.Options{
		Name:    "trainual",
		BaseURL: base,
		Authorize: func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+token.Reveal())
		},
		Classify:  classify,
		Reason:    reason,
		Timeout:   timeout,
		UserAgent: "scim-bridge (trainual)",
		HTTP:      deps.HTTP,
		Pacer:     deps.Pacer,
	})
	if err != nil {
		return nil, fmt.Errorf("trainual: %w", err)
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &adapter{c: c, log: log, inactive: inactive}, nil
}

// checkBaseURL validates the base URL without quoting it back: it may hold credentials by mistake.
func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return errors.New("is not a valid URL")
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		return errors.New("must be an absolute http(s) URL")
	case u.User != nil:
		return errors.New("must not contain credentials (use " + envToken + ")")
	case u.RawQuery != "" || u.Fragment != "":
		return errors.New("must not contain a query string or fragment")
	}
	return nil
}
