package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/adapters/pace"
	"github.com/scim-bridge/scim-bridge/scim"
	"github.com/scim-bridge/scim-bridge/scim/auth"
	"github.com/scim-bridge/scim-bridge/scim/provision"
	"github.com/scim-bridge/scim-bridge/scim/store"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, ready func(string)) error {
	s, err := loadSettings("serve", args, getenv, stderr, nil)
	if err != nil {
		return err
	}
	conns, err := connectionsOf(s, getenv)
	if err != nil {
		return err
	}
	return start(ctx, conns, stderr, ready)
}

// connectionsOf is the one connection the settings describe, or the connections of SCIM_BRIDGE_CONFIG.
func connectionsOf(s *settings, getenv func(string) string) ([]connection, error) {
	path := s.get("SCIM_BRIDGE_CONFIG")
	if path == "" {
		// The environment's one connection is named after its target, which is also its store namespace: the
		// links of a deployment configured before connections existed stay where they were.
		return []connection{{name: strings.ToLower(strings.TrimSpace(s.get("SCIM_BRIDGE_TARGET"))), s: s}}, nil
	}
	// Connection settings in the environment next to a file would be ambiguous (which connection?): refuse them.
	var problems []string
	for _, d := range s.defs {
		if processSettings[d.Env] || d.Env == "SCIM_BRIDGE_CONFIG" {
			continue
		}
		if getenv(d.Env) != "" || getenv(d.Env+"_FILE") != "" {
			problems = append(problems, d.Env+" is set, but SCIM_BRIDGE_CONFIG describes the connections: set it in the file ("+fileKey(d.Env)+")")
		}
	}
	if len(problems) > 0 {
		return nil, errors.New("invalid configuration:\n  " + strings.Join(problems, "\n  "))
	}
	conns, err := loadConfigFile(path, getenv)
	if err != nil {
		return nil, err
	}
	// A process setting from the environment (or a flag) wins over the file's.
	for _, c := range conns {
		for env := range processSettings {
			if getenv(env) != "" || s.get(env) != defaultOf(s.defs, env) {
				c.s.values[env] = s.get(env)
			}
		}
	}
	return conns, nil
}

func defaultOf(defs []adapters.Setting, env string) string {
	for _, d := range defs {
		if d.Env == env {
			return d.Default
		}
	}
	return ""
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// opened is one connection, validated and opened.
type opened struct {
	name   string
	cfg    config
	svc    *provision.Service
	authn  *auth.Authenticator
	closer func()
}

// start validates every connection's settings, opens everything and serves until ctx ends. Process settings
// (listen address, store, log level, TLS) are the same in every connection.
func start(ctx context.Context, conns []connection, logOut io.Writer, ready func(string)) error {
	pcfg, _ := conns[0].s.validate()
	logOut = &lockedWriter{w: logOut}
	log := newLogger(logOut, pcfg.logLevel)
	var problems []string
	cfgs := make([]config, len(conns))
	adapterOf := make([]adapters.Adapter, len(conns))
	pacerOf := make([]*pace.Pacer, len(conns))
	pacers := newPacers()
	for i, c := range conns {
		cfg, a, pacer, ps := openAdapter(c, log, pacers)
		adapterOf[i], pacerOf[i] = a, pacer
		if i > 0 {
			// Process settings are reported once, with the first connection.
			ps = slices.DeleteFunc(ps, func(p string) bool { return mentionsProcessSetting(p) })
		}
		for _, p := range ps {
			if c.fromFile {
				p = fmt.Sprintf("connection %q: %s", c.name, inFileTerms(p))
			}
			problems = append(problems, p)
		}
		cfgs[i] = cfg
	}
	if len(conns) > 1 {
		names, auths := make([]string, len(conns)), make([]auth.Config, len(conns))
		for i, c := range conns {
			names[i], auths[i] = c.name, cfgs[i].auth
		}
		problems = append(problems, sharedCredentials(names, auths)...)
	}
	if len(problems) > 0 {
		return errors.New("invalid configuration:\n  " + strings.Join(problems, "\n  "))
	}
	for _, c := range conns {
		log.Info("starting", slog.String("version", versionString()), slog.String("connection", c.name), slog.Any("settings", c.s.logValue()))
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var scimConns []scim.Connection
	for i, c := range conns {
		o, err := openConnection(ctx, c.name, cfgs[i], adapterOf[i], pacerOf[i], pcfg.db, log, reg)
		if err != nil {
			return err
		}
		defer o.closer()
		go o.svc.KeepAuditFor(ctx, cfgs[i].retention)
		scimConns = append(scimConns, scim.Connection{
			Name:    c.name,
			Vendor:  cfgs[i].target.DisplayName,
			Config:  scim.Config{BasePath: cfgs[i].basePath, PublicURL: cfgs[i].publicURL},
			Service: o.svc,
			Auth:    o.authn,
		})
		log.Info("connection", slog.String("connection", c.name), slog.String("target", cfgs[i].target.Name),
			slog.String("base_path", cfgs[i].basePath), slog.String("delete_mode", o.svc.DeleteMode()))
	}
	cfg := pcfg
	for _, c := range cfgs {
		cfg.retryBudget = max(cfg.retryBudget, c.retryBudget)
	}
	accessOut := newLineBuffer(logOut)
	defer accessOut.Close()
	h, err := scim.NewHandler(scim.Options{
		Connections: scimConns,
		Logger:      log,
		AccessLog:   newLogger(accessOut, pcfg.logLevel),
		Registry:    reg,
	})
	if err != nil {
		return err
	}

	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// Long enough for the retry budget plus a slow vendor answer, short enough to free a stuck connection.
		WriteTimeout:   cfg.retryBudget + 40*time.Second,
		IdleTimeout:    120 * time.Second,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("SCIM_BRIDGE_LISTEN: %w", err)
	}
	scheme := "http"
	if cfg.tlsCert != "" {
		cr, err := auth.NewCertReloader(cfg.tlsCert, cfg.tlsKey, log)
		if err != nil {
			ln.Close()
			return fmt.Errorf("SCIM_BRIDGE_TLS_CERT: %w", err)
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: cr.GetCertificate}
		ln = tls.NewListener(ln, srv.TLSConfig)
		scheme = "https"
	}
	log.Info("serving", slog.String("address", ln.Addr().String()), slog.String("scheme", scheme),
		slog.Int("connections", len(conns)))
	if ready != nil {
		ready(ln.Addr().String())
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	accessOut.Sync() // the access lines so far come before the shutdown's own lines
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	return nil
}

// openConnection opens one connection's store slice, provisioning service and authenticator.
func openConnection(ctx context.Context, name string, cfg config, adapter adapters.Adapter, pacer *pace.Pacer, db string,
	log *slog.Logger, reg *prometheus.Registry) (opened, error) {
	st, err := openStore(ctx, db, name)
	if err != nil {
		return opened{}, fmt.Errorf("SCIM_BRIDGE_DB: %w", err)
	}
	clog := log.With(slog.String("connection", name), slog.String("target", cfg.target.Name))
	ignored, err := scim.IgnoredAttributes(reg, name)
	if err != nil {
		st.Close()
		return opened{}, err
	}
	vendor, err := adapters.NewVendorMetrics(reg, name, cfg.target.Name)
	if err != nil {
		st.Close()
		return opened{}, err
	}
	// Instrumented sits under Retrying, so that it counts and times every attempt the vendor receives; Retrying
	// reports its retries and waits through OnRetry (see adapters.Instrumented).
	upstream := adapters.Retrying(adapters.Instrumented(adapter, vendor),
		adapters.RetryPolicy{Budget: cfg.retryBudget, Logger: clog, OnRetry: vendor.Retried, Paced: pacer != nil})
	if pacer != nil {
		if err := adapters.RegisterPacerMetrics(reg, name, cfg.target.Name, pacer); err != nil {
			st.Close()
			return opened{}, err
		}
	}
	opts := provision.Options{
		Target:      cfg.target.Name,
		Store:       st,
		Locker:      st,
		Adapter:     upstream,
		Logger:      clog,
		ListTTL:     cfg.listTTL,
		EmailFrom:   cfg.emailFrom,
		DeriveNames: cfg.deriveNames,
		Ignored:     ignored,
		GroupLinks:  cfg.groupLinks,
		GuardPolicy: cfg.guard,
	}
	if rules, err := provision.ParseGroupRules(cfg.groupRules, adapter.Attributes()); err == nil {
		opts.GroupRules = rules
	}
	if gs, ok := st.(store.GroupStore); ok && cfg.groupsOn {
		opts.Groups = gs
	}
	if al, ok := st.(store.AuditLog); ok {
		opts.Audit = al
	}
	if g, ok := st.(store.Guard); ok {
		opts.Guard = g
	}
	if lc, ok := st.(store.LinkCounter); ok {
		opts.Counter = lc
	}
	trips, held, err := guardMetrics(reg, name)
	if err != nil {
		st.Close()
		return opened{}, err
	}
	opts.Hooks = provision.Hooks{GuardTripped: trips.Inc, GuardHeld: held.Inc}
	svc, err := provision.New(opts)
	if err != nil {
		st.Close()
		return opened{}, err
	}
	authn, err := auth.New(cfg.auth, clog.With(slog.String("component", "auth")), nil)
	if err != nil {
		st.Close()
		return opened{}, fmt.Errorf("auth: %w", err)
	}
	return opened{name: name, cfg: cfg, svc: svc, authn: authn, closer: func() { authn.Close(); st.Close() }}, nil
}

// openAdapter validates one connection's settings and opens its adapter, paced by its vendor account's pacer;
// problems lists everything wrong, the group settings checked against what the adapter holds. The adapter and
// pacer are nil when the target is unknown.
func openAdapter(c connection, log *slog.Logger, pacers *pacers) (config, adapters.Adapter, *pace.Pacer, []string) {
	cfg, problems := c.s.validate()
	if cfg.target.Open == nil {
		return cfg, nil, nil, problems
	}
	pacer := pacers.forAccount(cfg.target, c.s.get, cfg.vendorRate)
	a, err := cfg.target.Open(c.s.get, adapters.Deps{
		Logger: log.With(slog.String("connection", c.name), slog.String("target", cfg.target.Name)),
		Pacer:  pacer,
	})
	if err != nil {
		problems = append(problems, err.Error())
	}
	if a != nil {
		problems = append(problems, groupProblems(&cfg, a)...)
	}
	return cfg, a, pacer, problems
}

// mentionsProcessSetting reports whether a problem is about a process setting, which every connection shares.
func mentionsProcessSetting(p string) bool {
	for env := range processSettings {
		if strings.Contains(p, env) {
			return true
		}
	}
	return false
}

// groupProblems checks the group settings against what the target holds; it parses the rules once the adapter
// says which attributes it has.
func groupProblems(cfg *config, a adapters.Adapter) []string {
	var ps []string
	if len(cfg.groupLinks) > 0 && !adapters.HasGroups(a) {
		ps = append(ps, "SCIM_BRIDGE_GROUP_LINKS: "+cfg.target.Name+" has no groups its API can add people to; use SCIM_BRIDGE_GROUP_RULES")
	}
	if _, err := provision.ParseGroupRules(cfg.groupRules, a.Attributes()); err != nil {
		ps = append(ps, err.Error())
	}
	return ps
}

// guardMetrics registers the guard's counters for one connection.
func guardMetrics(reg prometheus.Registerer, connection string) (trips, held prometheus.Counter, err error) {
	labels := prometheus.Labels{"connection": connection}
	trips = prometheus.NewCounter(prometheus.CounterOpts{Name: "scim_bridge_guard_trips_total", ConstLabels: labels,
		Help: "Times the mass-deprovisioning guard started holding deactivations and deletions."})
	held = prometheus.NewCounter(prometheus.CounterOpts{Name: "scim_bridge_guard_held_requests_total", ConstLabels: labels,
		Help: "Deactivations and deletions the guard answered 503 instead of applying."})
	for _, c := range []prometheus.Collector{trips, held} {
		if err := reg.Register(c); err != nil {
			return nil, nil, err
		}
	}
	return trips, held, nil
}
