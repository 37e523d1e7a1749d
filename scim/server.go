package scim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

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
	Name string // e.g. "trainual"; used in logs and metrics
	// Vendor is the target's display name in error details ("Thought Industries"), from adapters/targets.
	// Empty: the target's name.
	Vendor  string
	Config  Config
	Service *provision.Service
	Auth    *auth.Authenticator
}

// Options configure the whole HTTP handler.
type Options struct {
	Connections []Connection
	Logger      *slog.Logger
	// AccessLog receives the one line per request (message "request"); nil: Logger. A process gives it a
	// buffered writer (cmd/scim-bridge/accesslog.go); every other line goes to Logger at once.
	AccessLog *slog.Logger
	// Registry receives the request metrics and is served on /metrics. Nil: no metrics.
	Registry *prometheus.Registry
}

// conn is a Connection ready to serve.
type conn struct {
	Connection
	vendor    string
	log       *slog.Logger
	cfg       Config
	discovery http.Handler // the library's /Schemas and /ResourceTypes
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
		if m, err = newMetrics(o.Registry); err != nil {
			return nil, fmt.Errorf("scim: metrics: %w", err)
		}
	}
	r := chi.NewRouter()
	var conns []*conn
	access := o.AccessLog
	if access == nil {
		access = o.Logger
	}
	r.Use(observe(o.Logger, access, m, func(path string) string {
		// Every request asks: compare in place rather than lower-case copies.
		for _, c := range conns {
			b := c.cfg.BasePath
			if len(path) >= len(b) && strings.EqualFold(path[:len(b)], b) && (len(path) == len(b) || path[len(b)] == '/') {
				return c.Name
			}
		}
		return ""
	}))
	r.NotFound(refused(problemNoEndpoint))
	r.MethodNotAllowed(refused(problemMethod))

	seen := map[string]bool{}
	for _, c := range o.Connections {
		if c.Service == nil || c.Auth == nil {
			return nil, fmt.Errorf("scim: connection %q needs a Service and an Auth", c.Name)
		}
		cc := &conn{Connection: c, vendor: c.Vendor, cfg: c.Config.withDefaults(),
			log: o.Logger.With(slog.String("connection", c.Name))}
		if cc.vendor == "" {
			cc.vendor = c.Service.Target()
		}
		if seen[strings.ToLower(cc.cfg.BasePath)] {
			return nil, fmt.Errorf("scim: two connections share the base path %s", cc.cfg.BasePath)
		}
		seen[strings.ToLower(cc.cfg.BasePath)] = true
		d, err := cc.libraryServer()
		if err != nil {
			return nil, err
		}
		cc.discovery = d
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
		// One vendor down must not take the other connections out of the load balancer: the process is ready
		// while at least one connection is, and the answer names the degraded ones.
		var degraded []string
		for _, c := range conns {
			if err := c.Service.Ready(ctx); err != nil {
				c.log.LogAttrs(ctx, slog.LevelWarn, "not ready", slog.String("error", err.Error()))
				degraded = append(degraded, c.Name)
			}
		}
		writeReadiness(w, len(conns), degraded)
	})
	if o.Registry != nil {
		r.Handle("/metrics", promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{}))
	}
	// RFC 6749 §4.4 token endpoint: each connection has its own at <base path>/oauth/token; /oauth/token sends a
	// request to the connection whose client id it carries (client ids are unique across connections).
	auths := make([]*auth.Authenticator, 0, len(conns))
	for _, c := range conns {
		if th := c.Auth.TokenHandler(); th != nil {
			r.Handle(c.cfg.BasePath+"/oauth/token", th)
		}
		auths = append(auths, c.Auth)
	}
	if th := auth.TokenRouter(auths...); th != nil {
		r.Handle("/oauth/token", th)
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

// routes is the SCIM API of one connection. Every /Users route is ours (users.go, search.go); the library
// answers only the discovery of its schemas (discovery.go).
func (c *conn) routes(r chi.Router) {
	r.Use(c.Auth.Middleware)
	r.Use(c.limitBody)
	r.Use(func(next http.Handler) http.Handler {
		// The audit trail records who asked: the credential's name (never the secret) and the request id.
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			a := provision.Actor{RequestID: requestIDFrom(req.Context())}
			if p, ok := auth.PrincipalFrom(req.Context()); ok {
				a.Credential = p.String()
			}
			next.ServeHTTP(w, req.WithContext(provision.ContextWithActor(req.Context(), a)))
		})
	})
	r.NotFound(refused(problemNoEndpoint))
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		// RFC 9110 §15.5.6: a 405 lists the methods the resource does support.
		path := req.URL.Path
		if rc := chi.RouteContext(req.Context()); rc != nil && rc.RoutePath != "" {
			path = rc.RoutePath
		}
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if r.Match(chi.NewRouteContext(), m, path) {
				allow = append(allow, m)
			}
		}
		allowOnly(allow...)(w, req)
	})

	r.Get("/ServiceProviderConfig", c.serviceProviderConfig)
	r.Get("/Schemas", c.discovery.ServeHTTP)
	r.Get("/Schemas/{id}", c.discovery.ServeHTTP)
	r.Get("/ResourceTypes", c.discovery.ServeHTTP)
	r.Get("/ResourceTypes/{id}", c.discovery.ServeHTTP)
	r.Post("/Bulk", refused(problemBulk))
	r.HandleFunc("/Me", refused(problemMe))

	r.Get("/Users", c.listUsers)
	r.Post("/Users", c.createUser)
	r.Post("/Users/.search", c.searchUsers)
	// Without these, chi would take GET /Users/.search for GET /Users/{id} with the id ".search".
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		r.Method(m, "/Users/.search", allowOnly(http.MethodPost))
	}
	r.Get("/Users/{id}", c.getUser)
	r.Put("/Users/{id}", c.replaceUser)
	r.Patch("/Users/{id}", c.patchUser)
	r.Delete("/Users/{id}", c.deleteUser)

	if c.Service.GroupsEnabled() {
		r.Get("/Groups", c.listGroups)
		r.Post("/Groups", c.createGroup)
		r.Get("/Groups/{id}", c.getGroup)
		r.Put("/Groups/{id}", c.replaceGroup)
		r.Patch("/Groups/{id}", c.patchGroup)
		r.Delete("/Groups/{id}", c.deleteGroup)
	}
}

// allowOnly answers 405 naming the methods the endpoint supports.
func allowOnly(methods ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", strings.Join(methods, ", "))
		refused(problemMethod)(w, r)
	}
}
