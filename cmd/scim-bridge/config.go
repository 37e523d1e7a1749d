package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/targets"
	"github.com/scim-bridge/scim-bridge/scim/auth"
	"github.com/scim-bridge/scim-bridge/scim/provision"
)

// coreSettings are the process's own settings; each target adds its own (targets.AllSettings).
var coreSettings = []adapters.Setting{
	{Env: "SCIM_BRIDGE_CONFIG", Usage: "YAML file describing several connections (see docs/configuration.md); without it the other settings describe one connection"},
	{Env: "SCIM_BRIDGE_LISTEN", Default: ":8080", Usage: "listen address"},
	{Env: "SCIM_BRIDGE_TARGET", Usage: "vendor to provision into: " + strings.Join(targets.Names(), " or ")},
	{Env: "SCIM_BRIDGE_TOKEN", Secret: true, Usage: "bearer token(s) the IdP must send, comma-separated for rotation; each plain or sha256:<hex>"},
	{Env: "SCIM_BRIDGE_DB", Default: "scim-bridge.db", Usage: "SQLite database file holding the identity links, or a postgres:// URL for several replicas"},
	{Env: "SCIM_BRIDGE_LOG_LEVEL", Default: "info", Usage: "debug, info, warn or error (logs are JSON)"},
	{Env: "SCIM_BRIDGE_BASE_PATH", Default: "/scim/v2", Usage: "path the SCIM API is served under"},
	{Env: "SCIM_BRIDGE_PUBLIC_URL", Usage: "absolute URL of the SCIM base path as the IdP reaches it (for meta.location behind a proxy)"},
	{Env: "SCIM_BRIDGE_UPSTREAM_RETRY_BUDGET", Default: "20s", Usage: "longest time spent retrying a throttled or failing vendor call before answering 429/503"},
	{Env: "SCIM_BRIDGE_UPSTREAM_RATE", Default: "0", Usage: "most vendor calls per second, shared by every connection to the same vendor account; 0: no cap, the pace is learned from the vendor's 429s"},
	{Env: "SCIM_BRIDGE_LIST_CACHE_TTL", Default: "30s", Usage: "how long a full vendor listing is reused for plain lists and unindexed filters"},
	{Env: "SCIM_BRIDGE_EMAIL_FROM", Default: "userName", Usage: "where the vendor e-mail (login) comes from: userName, work (emails[type eq \"work\"]) or primary (the primary e-mail)"},
	{Env: "SCIM_BRIDGE_GROUPS", Default: "on", Usage: "on: serve /Groups (Okta Group Push, Entra group provisioning); off: a Users-only deployment"},
	{Env: "SCIM_BRIDGE_GROUP_LINKS", Usage: "SCIM groups whose members join a vendor group: <displayName>=<vendor group id> or externalId:<id>=<vendor group id>, comma-separated (Thought Industries)"},
	{Env: "SCIM_BRIDGE_GROUP_RULES", Usage: "attributes group members get: <group>: <attr>=<value>, ...; rules separated by ';', first match wins, '*' for everyone (e.g. Trainual Admins: role=admin; *: role=member)"},
	{Env: "SCIM_BRIDGE_GUARD_THRESHOLD", Default: "10", Usage: "mass-deprovisioning guard: more deactivations and deletions than this count (or share, e.g. 5%) within SCIM_BRIDGE_GUARD_WINDOW holds further ones until `scim-bridge guard release`; 0 turns it off"},
	{Env: "SCIM_BRIDGE_GUARD_WINDOW", Default: "10m", Usage: "the guard's window (Go duration)"},
	{Env: "SCIM_BRIDGE_AUDIT_RETENTION", Default: "90d", Usage: "how long audit events are kept (Go duration, or days such as 90d)"},
	{Env: "SCIM_BRIDGE_DERIVE_NAMES", Default: "true", Usage: "derive missing first/last names for the vendor from name.formatted, displayName or the e-mail (true or false)"},
	{Env: "SCIM_BRIDGE_OAUTH_CLIENT_ID", Usage: "enables POST /oauth/token (client credentials) with this client id"},
	{Env: "SCIM_BRIDGE_OAUTH_CLIENT_SECRET", Secret: true, Usage: "client secret for POST /oauth/token"},
	{Env: "SCIM_BRIDGE_JWT_SIGNING_KEY", Secret: true, Usage: "HS256 secret or PEM private key signing issued tokens (random per process when unset)"},
	{Env: "SCIM_BRIDGE_JWT_TTL", Default: "1h", Usage: "lifetime of issued tokens"},
	{Env: "SCIM_BRIDGE_JWT_ISSUER", Usage: "issuer of accepted external JWTs (and of issued tokens; default scim-bridge)"},
	{Env: "SCIM_BRIDGE_JWT_AUDIENCE", Usage: "audience of accepted external JWTs (and of issued tokens; default scim-bridge)"},
	{Env: "SCIM_BRIDGE_JWKS_URL", Usage: "JWKS URL of the authorization server whose JWTs are accepted"},
	{Env: "SCIM_BRIDGE_BASIC_USER", Usage: "HTTP Basic user name"},
	{Env: "SCIM_BRIDGE_BASIC_PASSWORD", Secret: true, Usage: "HTTP Basic password"},
	{Env: "SCIM_BRIDGE_RATE_LIMIT", Default: "50", Usage: "requests per second per credential (burst 2x); 0 turns it off"},
	{Env: "SCIM_BRIDGE_ALLOW_CIDRS", Usage: "comma-separated CIDRs allowed to call the SCIM API (empty: all)"},
	{Env: "SCIM_BRIDGE_TRUSTED_PROXIES", Usage: "comma-separated CIDRs of proxies whose X-Forwarded-For is believed"},
	{Env: "SCIM_BRIDGE_TLS_CERT", Usage: "PEM certificate file: serve HTTPS (reloaded when it changes)"},
	{Env: "SCIM_BRIDGE_TLS_KEY", Usage: "PEM private key file for SCIM_BRIDGE_TLS_CERT"},
}

// settings merges flags, environment and *_FILE twins, in that order of precedence, for every known setting.
type settings struct {
	defs   []adapters.Setting
	values map[string]string
}

// allSettings lists the core settings, then every target's once. A setting that several targets read (the vendor
// URL, key and timeout) keeps each target's own help text, not the first target's for all.
func allSettings() []adapters.Setting {
	seen := map[string]bool{}
	var out []adapters.Setting
	for i, s := range append(append([]adapters.Setting{}, coreSettings...), targets.AllSettings()...) {
		if !seen[s.Env] {
			seen[s.Env] = true
			if i >= len(coreSettings) {
				s.Usage = targetUsage(s)
			}
			out = append(out, s)
		}
	}
	return out
}

// targetUsage is the help text of a target setting: one line per target when targets describe it differently.
func targetUsage(s adapters.Setting) string {
	var lines []string
	differ := false
	for _, n := range targets.Names() {
		t, _ := targets.Lookup(n)
		for _, ts := range t.Settings {
			if ts.Env != s.Env {
				continue
			}
			u := ts.Usage
			if ts.Default != s.Default && ts.Default != "" {
				u += " (default " + ts.Default + ")"
			}
			differ = differ || u != s.Usage
			lines = append(lines, n+": "+u)
		}
	}
	if !differ {
		return s.Usage
	}
	return strings.Join(lines, "\n")
}

// flagName turns SCIM_BRIDGE_UPSTREAM_URL into upstream-url.
func flagName(env string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(env, "SCIM_BRIDGE_")), "_", "-")
}

// loadSettings parses args as flags over getenv. Every problem is reported at once.
func loadSettings(name string, args []string, getenv func(string) string, stderr io.Writer, extra func(*flag.FlagSet)) (*settings, error) {
	defs := allSettings()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	flags := map[string]*string{}
	files := map[string]*string{}
	for _, d := range defs {
		usage := d.Usage + " (env " + d.Env + ")"
		flags[d.Env] = fs.String(flagName(d.Env), "", usage)
		if d.Secret {
			files[d.Env] = fs.String(flagName(d.Env)+"-file", "", "file holding "+d.Env+" (env "+d.Env+"_FILE)")
		}
	}
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	s := &settings{defs: defs, values: map[string]string{}}
	var problems []string
	for _, d := range defs {
		v, fromFile := "", ""
		switch {
		case set[flagName(d.Env)]:
			v = *flags[d.Env]
		default:
			v = getenv(d.Env)
		}
		if d.Secret {
			if set[flagName(d.Env)+"-file"] {
				fromFile = *files[d.Env]
			} else {
				fromFile = getenv(d.Env + "_FILE")
			}
		}
		if fromFile != "" {
			if v != "" {
				problems = append(problems, fmt.Sprintf("%s and %s_FILE are both set: use one", d.Env, d.Env))
				continue
			}
			b, err := os.ReadFile(fromFile)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s_FILE: cannot read the file: %v", d.Env, errors.Unwrap(err)))
				continue
			}
			v = strings.TrimRight(string(b), "\r\n")
		}
		if v == "" {
			v = d.Default
		}
		s.values[d.Env] = v
	}
	if len(problems) > 0 {
		return nil, errors.New("invalid configuration:\n  " + strings.Join(problems, "\n  "))
	}
	return s, nil
}

func (s *settings) get(env string) string { return s.values[env] }

func (s *settings) set(env, v string) { s.values[env] = v }

// logValue lists the effective settings for the start-up log, secrets as <secret>.
func (s *settings) logValue() slog.Value {
	var attrs []slog.Attr
	for _, d := range s.defs {
		v := s.values[d.Env]
		if v == "" {
			continue
		}
		if d.Secret {
			v = "<secret>"
		}
		v = redactDB(d.Env, v)
		attrs = append(attrs, slog.String(d.Env, v))
	}
	return slog.GroupValue(attrs...)
}

// config is what serve needs, validated.
type config struct {
	listen      string
	target      targets.Target
	db          string
	logLevel    slog.Level
	basePath    string
	publicURL   string
	retryBudget time.Duration
	vendorRate  float64
	listTTL     time.Duration
	emailFrom   provision.EmailFrom
	deriveNames bool
	groupsOn    bool
	groupLinks  []provision.GroupLink
	groupRules  string // parsed once the adapter says which attributes it holds
	guard       provision.GuardPolicy
	retention   time.Duration
	auth        auth.Config
	tlsCert     string
	tlsKey      string
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// validate checks every core setting and returns all problems at once. Target settings are checked by the
// target's Open.
func (s *settings) validate() (config, []string) {
	var c config
	var problems []string
	c.listen = s.get("SCIM_BRIDGE_LISTEN")
	if c.listen == "" {
		problems = append(problems, "SCIM_BRIDGE_LISTEN must not be empty")
	}
	if name := s.get("SCIM_BRIDGE_TARGET"); name == "" {
		problems = append(problems, "SCIM_BRIDGE_TARGET is required: one of "+strings.Join(targets.Names(), ", "))
	} else if t, err := targets.Lookup(name); err != nil {
		problems = append(problems, err.Error())
	} else {
		c.target = t
	}
	c.db = s.get("SCIM_BRIDGE_DB")
	if c.db == "" {
		problems = append(problems, "SCIM_BRIDGE_DB must not be empty")
	}
	if err := c.logLevel.UnmarshalText([]byte(s.get("SCIM_BRIDGE_LOG_LEVEL"))); err != nil {
		problems = append(problems, "SCIM_BRIDGE_LOG_LEVEL must be debug, info, warn or error")
	}
	c.basePath = s.get("SCIM_BRIDGE_BASE_PATH")
	if !strings.HasPrefix(c.basePath, "/") || strings.ContainsAny(c.basePath, "?# ") || c.basePath == "/" {
		problems = append(problems, "SCIM_BRIDGE_BASE_PATH must be a path such as /scim/v2")
	}
	c.publicURL = s.get("SCIM_BRIDGE_PUBLIC_URL")
	if c.publicURL != "" && !strings.HasPrefix(c.publicURL, "http://") && !strings.HasPrefix(c.publicURL, "https://") {
		problems = append(problems, "SCIM_BRIDGE_PUBLIC_URL must be an absolute http(s) URL")
	}
	dur := func(env string, dst *time.Duration) {
		d, err := time.ParseDuration(s.get(env))
		if err != nil || d <= 0 {
			problems = append(problems, env+" must be a positive duration such as 30s")
			return
		}
		*dst = d
	}
	dur("SCIM_BRIDGE_UPSTREAM_RETRY_BUDGET", &c.retryBudget)
	if r, err := strconv.ParseFloat(strings.TrimSpace(s.get("SCIM_BRIDGE_UPSTREAM_RATE")), 64); err != nil || r < 0 || math.IsInf(r, 0) || math.IsNaN(r) {
		problems = append(problems, "SCIM_BRIDGE_UPSTREAM_RATE must be a number of calls per second, 0 or more (0: learned from the vendor's 429s)")
	} else {
		c.vendorRate = r
	}
	dur("SCIM_BRIDGE_LIST_CACHE_TTL", &c.listTTL)
	if ef, ok := provision.ParseEmailFrom(s.get("SCIM_BRIDGE_EMAIL_FROM")); ok {
		c.emailFrom = ef
	} else {
		problems = append(problems, "SCIM_BRIDGE_EMAIL_FROM must be userName, work or primary")
	}
	if b, err := strconv.ParseBool(s.get("SCIM_BRIDGE_DERIVE_NAMES")); err == nil {
		c.deriveNames = b
	} else {
		problems = append(problems, "SCIM_BRIDGE_DERIVE_NAMES must be true or false")
	}
	switch strings.ToLower(strings.TrimSpace(s.get("SCIM_BRIDGE_GROUPS"))) {
	case "on", "true":
		c.groupsOn = true
	case "off", "false":
	default:
		problems = append(problems, "SCIM_BRIDGE_GROUPS must be on or off")
	}
	if links, err := provision.ParseGroupLinks(s.get("SCIM_BRIDGE_GROUP_LINKS")); err != nil {
		problems = append(problems, err.Error())
	} else {
		c.groupLinks = links
	}
	c.groupRules = s.get("SCIM_BRIDGE_GROUP_RULES")
	if !c.groupsOn && (len(c.groupLinks) > 0 || strings.TrimSpace(c.groupRules) != "") {
		problems = append(problems, "SCIM_BRIDGE_GROUP_LINKS and SCIM_BRIDGE_GROUP_RULES need SCIM_BRIDGE_GROUPS=on")
	}
	if gp, err := provision.ParseGuardThreshold(s.get("SCIM_BRIDGE_GUARD_THRESHOLD")); err != nil {
		problems = append(problems, err.Error())
	} else {
		c.guard = gp
	}
	dur("SCIM_BRIDGE_GUARD_WINDOW", &c.guard.Window)
	if d, ok := parseDays(s.get("SCIM_BRIDGE_AUDIT_RETENTION")); ok {
		c.retention = d
	} else {
		problems = append(problems, "SCIM_BRIDGE_AUDIT_RETENTION must be a duration such as 2160h or a number of days such as 90d")
	}

	var ttl time.Duration
	dur("SCIM_BRIDGE_JWT_TTL", &ttl)
	rate, err := strconv.ParseFloat(s.get("SCIM_BRIDGE_RATE_LIMIT"), 64)
	if err != nil || rate < 0 {
		problems = append(problems, "SCIM_BRIDGE_RATE_LIMIT must be a number of requests per second, 0 to turn it off")
	}
	c.auth = auth.Config{
		Tokens:            splitComma(s.get("SCIM_BRIDGE_TOKEN")),
		OAuthClientID:     s.get("SCIM_BRIDGE_OAUTH_CLIENT_ID"),
		OAuthClientSecret: s.get("SCIM_BRIDGE_OAUTH_CLIENT_SECRET"),
		JWTTTL:            ttl,
		JWTIssuer:         s.get("SCIM_BRIDGE_JWT_ISSUER"),
		JWTAudience:       s.get("SCIM_BRIDGE_JWT_AUDIENCE"),
		JWKSURL:           s.get("SCIM_BRIDGE_JWKS_URL"),
		BasicUser:         s.get("SCIM_BRIDGE_BASIC_USER"),
		BasicPassword:     s.get("SCIM_BRIDGE_BASIC_PASSWORD"),
		RateLimit:         rate,
		AllowCIDRs:        splitComma(s.get("SCIM_BRIDGE_ALLOW_CIDRS")),
		TrustedProxies:    splitComma(s.get("SCIM_BRIDGE_TRUSTED_PROXIES")),
	}
	if k := s.get("SCIM_BRIDGE_JWT_SIGNING_KEY"); k != "" {
		c.auth.JWTSigningKey = []byte(k)
	}
	if err := c.auth.Validate(); err != nil {
		problems = append(problems, err.Error())
	}
	c.tlsCert, c.tlsKey = s.get("SCIM_BRIDGE_TLS_CERT"), s.get("SCIM_BRIDGE_TLS_KEY")
	if (c.tlsCert == "") != (c.tlsKey == "") {
		problems = append(problems, "SCIM_BRIDGE_TLS_CERT and SCIM_BRIDGE_TLS_KEY must be set together")
	}
	return c, problems
}

// parseDays reads a positive Go duration or a whole number of days ("90d").
func parseDays(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if d, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(d)
		return time.Duration(n) * 24 * time.Hour, err == nil && n > 0
	}
	d, err := time.ParseDuration(v)
	return d, err == nil && d > 0
}
