package scim

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the SCIM request collectors. Labels hold the route pattern and status only: never a user name, an
// email, an id or a token.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scim_bridge_http_requests_total",
			Help: "SCIM and operational HTTP requests served, by connection (\"\" for /healthz, /readyz, /metrics), method, route pattern and status.",
		}, []string{"connection", "method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scim_bridge_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, upstream calls included.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"connection", "method", "route"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) observe(connection, method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(connection, method, route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(connection, method, route).Observe(d.Seconds())
}

// IgnoredAttributes registers scim_bridge_vendor_ignored_attribute_total and returns the provision.Options.Ignored
// hook that counts into it: one series per attribute path a vendor silently did not store. The label is a SCIM path
// from the adapter's configuration, never a value.
func IgnoredAttributes(reg prometheus.Registerer, connection string) (func(attribute string), error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name:        "scim_bridge_vendor_ignored_attribute_total",
		Help:        "Attributes the vendor accepted without storing them (read back differently from what was sent), by SCIM path.",
		ConstLabels: prometheus.Labels{"connection": connection},
	}, []string{"attribute"})
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	return func(attribute string) { c.WithLabelValues(attribute).Inc() }, nil
}
