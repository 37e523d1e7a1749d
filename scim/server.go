package scim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	elimity "github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/scim-bridge/scim-bridge/scim/auth"
	"github.com/scim-bridge/scim-bridge/scim/provision"
)

// Config is the SCIM side of one connection.
type Config struct {
	// BasePath is where the SCIM API is served, e.g. /scim/v2.
	BasePath string
	// MaxBodyBytes bounds request bodies; larger ones get 413. Default 1 MiB.
	MaxBodyBytes int64
	// MaxResults caps count on list requests (and is advertised in /ServiceProviderConfig). Default 200.
	MaxResults int
	// PublicURL is the absolute URL of BasePath as the IdP reaches it (behind a proxy), used in meta.location and
	// Location. Empty: derived from each request's Host and X-Forwarded-Proto.
	PublicURL string
}

func (c Config) withDefaults() Config {
	if c.BasePath == "" {
		c.BasePath = "/scim/v2"
	}
	c.BasePath = "/" + strings.Trim(c.BasePath, "/")
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.MaxResults <= 0 {
		c.MaxResults = 200
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	return c
}

// Connection is one target served by the process: its SCIM settings, its provisioning service and its inbound
// auth. Everything per connection lives here, so a process can serve several side by side.
type Connection struct {
	Name    string // e.g. "trainual"; used in logs and metrics
	Config  Config
	Service *provision.Service
	Auth    *auth.Authenticator
}

// Options configure the whole HTTP handler.
type Options struct {
	Connections []Connection
	Logger      *slog.Logger
	// Registry receives the request metrics and is served on /metrics. Nil: no metrics.
	Registry *prometheus.Registry
}

// conn is a Connection ready to serve.
type conn struct {
	Connection
	target string
	log    *slog.Logger
	cfg    Config
	lib    http.Handler
}

// NewHandler builds the process's HTTP handler: /healthz, /readyz, /metrics, /oauth/token and each connection's
// SCIM API.
func NewHandler(o Options) (http.Handler, error) {
	if len(o.Connections) == 0 {
		return nil, errors.New("scim: no connection")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	var m *metrics
	if o.Registry != nil {
		var err error
		if m, err = newMetrics(o.Registry, o.Connections[0].Name); err != nil {
			return nil, fmt.Errorf("scim: metrics: %w", err)
		}
	}
	r := chi.NewRouter()
	r.Use(observe(o.Logger, m))
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, apiError{Status: http.StatusNotFound, Detail: "Specified endpoint does not exist."})
	})
	r.MethodNotAllowed(methodNotAllowed)

	conns := make([]*conn, 0, len(o.Connections))
	seen := map[string]bool{}
	for _, c := range o.Connections {
		if c.Service == nil || c.Auth == nil {
			return nil, fmt.Errorf("scim: connection %q needs a Service and an Auth", c.Name)
		}
		cc := &conn{Connection: c, target: c.Service.Target(), cfg: c.Config.withDefaults(),
			log: o.Logger.With(slog.String("connection", c.Name))}
		if seen[strings.ToLower(cc.cfg.BasePath)] {
			return nil, fmt.Errorf("scim: two connections share the base path %s", cc.cfg.BasePath)
		}
		seen[strings.ToLower(cc.cfg.BasePath)] = true
		lib, err := cc.library()
		if err != nil {
			return nil, err
		}
		cc.lib = lib
		conns = append(conns, cc)
		r.Route(cc.cfg.BasePath, cc.routes)
	}

	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	r.Get("/readyz", func(w http.ResponseWriter, req *http.Request) {
		ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		for _, c := range conns {
			if err := c.Service.Ready(ctx); err != nil {
				c.log.LogAttrs(ctx, slog.LevelWarn, "not ready", slog.String("error", err.Error()))
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = fmt.Fprintf(w, "%s: not ready\n", c.Name)
				return
			}
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	if o.Registry != nil {
		r.Handle("/metrics", promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{}))
	}
	// RFC 6749 §4.4 token endpoint. One per process: with several connections, each has its own at
	// <base path>/oauth/token as well.
	tokenServed := false
	for _, c := range conns {
		if th := c.Auth.TokenHandler(); th != nil {
			r.Handle(c.cfg.BasePath+"/oauth/token", th)
			if !tokenServed {
				r.Handle("/oauth/token", th)
				tokenServed = true
			}
		}
	}

	bases := make([]string, 0, len(conns))
	for _, c := range conns {
		bases = append(bases, c.cfg.BasePath)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		for _, b := range bases {
			if p := canonicalPath(b, req.URL.Path); p != req.URL.Path {
				req.URL.Path, req.URL.RawPath = p, ""
				break
			}
		}
		r.ServeHTTP(w, req)
	}), nil
}

func methodNotAllowed(w http.ResponseWriter, _ *http.Request) {
	writeError(w, apiError{Status: http.StatusMethodNotAllowed, Detail: "The method is not supported on this endpoint."})
}

func notImplemented(detail string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, apiError{Status: http.StatusNotImplemented, Detail: detail})
	}
}

func (c *conn) routes(r chi.Router) {
	r.Use(c.Auth.Middleware)
	r.Use(limitBody(c.cfg.MaxBodyBytes))
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, apiError{Status: http.StatusNotFound, Detail: "Specified endpoint does not exist."})
	})
	r.MethodNotAllowed(methodNotAllowed)

	r.Get("/ServiceProviderConfig", c.serviceProviderConfig)
	r.Get("/Schemas", c.lib.ServeHTTP)
	r.Get("/Schemas/{id}", c.lib.ServeHTTP)
	r.Get("/ResourceTypes", c.lib.ServeHTTP)
	r.Get("/ResourceTypes/{id}", c.lib.ServeHTTP)
	r.Post("/Bulk", notImplemented("Bulk operations are not supported (see /ServiceProviderConfig)."))
	r.HandleFunc("/Me", notImplemented("The /Me endpoint is not supported."))
	r.Post("/Users/.search", c.search)
	r.Get("/Users", c.lib.ServeHTTP)
	r.Post("/Users", c.lib.ServeHTTP)
	r.Get("/Users/{id}", c.lib.ServeHTTP)
	r.Put("/Users/{id}", c.lib.ServeHTTP)
	r.Patch("/Users/{id}", c.lib.ServeHTTP)
	r.Delete("/Users/{id}", c.lib.ServeHTTP)
}

// library builds the elimity server for this connection, wrapped in our pre- and post-processing.
func (c *conn) library() (http.Handler, error) {
	srv, err := elimity.NewServer(&elimity.ServerArgs{
		ServiceProviderConfig: &elimity.ServiceProviderConfig{
			MaxResults:       c.cfg.MaxResults,
			SupportFiltering: true,
			SupportPatch:     true,
		},
		ResourceTypes: []elimity.ResourceType{{
			ID:          optional.NewString("User"),
			Name:        "User",
			Description: optional.NewString("User Account"),
			Endpoint:    "/Users",
			Schema:      schema.CoreUserSchema(),
			SchemaExtensions: []elimity.SchemaExtension{
				{Schema: schema.ExtensionEnterpriseUser()},
			},
			Handler: &users{c: c},
		}},
	}, elimity.WithLogger(libLogger{c.log}))
	if err != nil {
		return nil, fmt.Errorf("scim: %w", err)
	}
	return http.StripPrefix(c.cfg.BasePath, c.wrap(srv)), nil
}

// libLogger adapts slog to the library's one-method logger.
type libLogger struct{ l *slog.Logger }

func (l libLogger) Error(args ...any) {
	l.l.Error("scim library", slog.String("detail", fmt.Sprint(args...)))
}
