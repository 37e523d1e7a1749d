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
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/scim-bridge/scim-bridge/adapters"
	"github.com/scim-bridge/scim-bridge/scim"
	"github.com/scim-bridge/scim-bridge/scim/auth"
	"github.com/scim-bridge/scim-bridge/scim/provision"
	"github.com/scim-bridge/scim-bridge/scim/store/sqlstore"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, ready func(string)) error {
	s, err := loadSettings("serve", args, getenv, stderr, nil)
	if err != nil {
		return err
	}
	return start(ctx, s, stderr, ready)
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// start validates the settings, opens everything and serves until ctx ends.
func start(ctx context.Context, s *settings, logOut io.Writer, ready func(string)) error {
	cfg, problems := s.validate()
	log := newLogger(logOut, cfg.logLevel)
	var adapter adapters.Adapter
	if cfg.target.Open != nil {
		a, err := cfg.target.Open(s.get, adapters.Deps{Logger: log.With(slog.String("target", cfg.target.Name))})
		if err != nil {
			problems = append(problems, err.Error())
		}
		adapter = a
	}
	if len(problems) > 0 {
		return errors.New("invalid configuration:\n  " + strings.Join(problems, "\n  "))
	}
	log.Info("starting", slog.String("version", versionString()), slog.Any("settings", s.logValue()))

	st, err := sqlstore.Open(ctx, cfg.db, cfg.target.Name)
	if err != nil {
		return fmt.Errorf("SCIM_BRIDGE_DB: %w", err)
	}
	defer st.Close()

	tlog := log.With(slog.String("target", cfg.target.Name))
	svc, err := provision.New(provision.Options{
		Target:  cfg.target.Name,
		Store:   st,
		Locker:  st,
		Adapter: adapters.Retrying(adapter, adapters.RetryPolicy{Budget: cfg.retryBudget, Logger: tlog}),
		Logger:  tlog,
		ListTTL: cfg.listTTL,
	})
	if err != nil {
		return err
	}
	authn, err := auth.New(cfg.auth, log.With(slog.String("component", "auth")), nil)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	defer authn.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h, err := scim.NewHandler(scim.Options{
		Connections: []scim.Connection{{
			Name:    cfg.target.Name,
			Config:  scim.Config{BasePath: cfg.basePath, PublicURL: cfg.publicURL},
			Service: svc,
			Auth:    authn,
		}},
		Logger:   log,
		Registry: reg,
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
		slog.String("base_path", cfg.basePath), slog.String("target", cfg.target.Name),
		slog.String("delete_mode", svc.DeleteMode()))
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
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	return nil
}
