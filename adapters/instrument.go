package adapters

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scim-bridge/scim-bridge/adapters/pace"
)

// Operation names, as they appear in the operation label of the vendor metrics (Retrying passes the same names to
// RetryPolicy.OnRetry).
const (
	opCreate = "create"
	opGet    = "get"
	opFind   = "find"
	opUpdate = "update"
	opList   = "list"
	opDelete = "delete"
)

// statusOK is the status label of a vendor call that succeeded; a failed one is labelled with its Kind's name
// (not_found, rate_limited, unavailable, ...).
const statusOK = "ok"

// VendorMetrics are the Prometheus collectors of one connection's vendor calls. Instrumented counts into them and
// their Retried method is the RetryPolicy.OnRetry hook; build one per connection with NewVendorMetrics.
//
// Every series is labelled by connection and target (constant), operation (create, get, find, update, list,
// delete) and, where it applies, status: "ok" or the Kind name of the failure. The Kind is used rather than the
// vendor's HTTP status class because it is the one vocabulary every adapter speaks and the one the IdP's answer is
// chosen from, and because it is exact where a class is not: a look-up that finds nobody is not_found although the
// vendor answered 200 with an empty listing, and a timeout has no HTTP status at all. Labels never hold an id, an
// e-mail, a value or a token.
type VendorMetrics struct {
	calls     *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	throttled *prometheus.CounterVec
	retries   *prometheus.CounterVec
	retryWait *prometheus.CounterVec
}

// NewVendorMetrics registers the scim_bridge_vendor_* call collectors for one connection to target on reg.
func NewVendorMetrics(reg prometheus.Registerer, connection, target string) (*VendorMetrics, error) {
	constant := prometheus.Labels{"connection": connection, "target": target}
	m := &VendorMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "scim_bridge_vendor_calls_total",
			Help:        "Vendor calls made (each attempt, retries included), by operation and outcome (ok or the failure kind).",
			ConstLabels: constant,
		}, []string{"operation", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:        "scim_bridge_vendor_call_duration_seconds",
			Help:        "Time one vendor call (one attempt, without retry waits) took, by operation and outcome.",
			ConstLabels: constant,
			Buckets:     []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"operation", "status"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "scim_bridge_vendor_throttled_total",
			Help:        "Vendor calls the vendor refused because of its rate limit, by operation.",
			ConstLabels: constant,
		}, []string{"operation"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "scim_bridge_vendor_retries_total",
			Help:        "Vendor calls tried again after a throttled or unavailable attempt, by operation and the failure that caused it.",
			ConstLabels: constant,
		}, []string{"operation", "status"}),
		retryWait: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "scim_bridge_vendor_retry_wait_seconds_total",
			Help:        "Time spent waiting before retrying vendor calls (backoff or the vendor's Retry-After), by operation and the failure that caused it.",
			ConstLabels: constant,
		}, []string{"operation", "status"}),
	}
	for _, c := range []prometheus.Collector{m.calls, m.duration, m.throttled, m.retries, m.retryWait} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Retried counts one retry Retrying makes after waiting wait, caused by a failure of the given kind; it is a
// RetryPolicy.OnRetry.
func (m *VendorMetrics) Retried(op string, kind Kind, wait time.Duration) {
	status := kind.String()
	m.retries.WithLabelValues(op, status).Inc()
	m.retryWait.WithLabelValues(op, status).Add(wait.Seconds())
}

func (m *VendorMetrics) observe(op string, start time.Time, err error) {
	status := statusOK
	if err != nil {
		kind := KindOf(err)
		status = kind.String()
		if kind == KindRateLimited {
			m.throttled.WithLabelValues(op).Inc()
		}
	}
	m.calls.WithLabelValues(op, status).Inc()
	m.duration.WithLabelValues(op, status).Observe(time.Since(start).Seconds())
}

// Instrumented wraps a so that every call made through it is counted and timed in m. The result implements
// Deleter exactly when a does. A nil m returns a unchanged.
//
// It belongs beneath Retrying, around the raw adapter:
//
//	Retrying(Instrumented(raw, m), RetryPolicy{OnRetry: m.Retried, ...})
//
// so that it sees each attempt Retrying makes, not the operation as a whole: calls_total counts what the vendor
// really received (and bills against its rate limit), each 429 the vendor sent is one throttled call even when the
// retry that followed succeeded, the latency histogram holds vendor round trips rather than round trips plus
// backoff, and the look-up Retrying makes before repeating an ambiguous create shows as the find it is. What only
// Retrying knows (that it tries again, and how long it waited) reaches m through RetryPolicy.OnRetry. The
// time the IdP waits for the whole operation is already scim_bridge_http_request_duration_seconds.
//
// One call is one adapter method: an adapter that needs a read before its write (or a confirming read after it)
// makes several HTTP requests inside one call.
func Instrumented(a Adapter, m *VendorMetrics) Adapter {
	if m == nil {
		return a
	}
	in := &instrumented{next: a, m: m}
	if d, ok := a.(Deleter); ok {
		return &instrumentedDeleter{instrumented: in, del: d}
	}
	return in
}

type instrumented struct {
	next Adapter
	m    *VendorMetrics
}

type instrumentedDeleter struct {
	*instrumented
	del Deleter
}

func (in *instrumentedDeleter) Delete(ctx context.Context, id string) error {
	start := time.Now()
	err := in.del.Delete(ctx, id)
	in.m.observe(opDelete, start, err)
	return err
}

func (in *instrumented) Create(ctx context.Context, u User) (User, error) {
	start := time.Now()
	out, err := in.next.Create(ctx, u)
	in.m.observe(opCreate, start, err)
	return out, err
}

func (in *instrumented) Get(ctx context.Context, id string) (User, error) {
	start := time.Now()
	out, err := in.next.Get(ctx, id)
	in.m.observe(opGet, start, err)
	return out, err
}

func (in *instrumented) FindByEmail(ctx context.Context, email string) (User, error) {
	start := time.Now()
	out, err := in.next.FindByEmail(ctx, email)
	in.m.observe(opFind, start, err)
	return out, err
}

func (in *instrumented) Update(ctx context.Context, id string, ch Change) (User, error) {
	start := time.Now()
	out, err := in.next.Update(ctx, id, ch)
	in.m.observe(opUpdate, start, err)
	return out, err
}

func (in *instrumented) List(ctx context.Context, p PageRequest) (Page, error) {
	start := time.Now()
	out, err := in.next.List(ctx, p)
	in.m.observe(opList, start, err)
	return out, err
}

// Attributes implements Adapter: instrumenting adds no attribute and makes no vendor call.
func (in *instrumented) Attributes() []string { return in.next.Attributes() }

// RegisterPacerMetrics exports the state of the pacer one connection's vendor calls go through: its pace
// (scim_bridge_vendor_pace_calls_per_second, 0 when calls are not paced), the time calls waited for their turn and
// how many were refused because their turn came after the retry budget. Connections that share a vendor account
// share its pacer, so each shows the same values under its own connection label.
func RegisterPacerMetrics(reg prometheus.Registerer, connection, target string, p *pace.Pacer) error {
	constant := prometheus.Labels{"connection": connection, "target": target}
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "scim_bridge_vendor_pace_calls_per_second",
			Help:        "The pace vendor calls are held to, learned from the vendor's 429s or capped by SCIM_BRIDGE_UPSTREAM_RATE; 0 when calls are not paced.",
			ConstLabels: constant,
		}, p.Rate),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "scim_bridge_vendor_pace_wait_seconds_total",
			Help:        "Time vendor calls spent waiting for their turn under the vendor's rate limit.",
			ConstLabels: constant,
		}, func() float64 { w, _ := p.Stats(); return w.Seconds() }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "scim_bridge_vendor_pace_refused_total",
			Help:        "Vendor calls not sent because their turn came after the retry budget (the IdP got 429 with Retry-After).",
			ConstLabels: constant,
		}, func() float64 { _, n := p.Stats(); return float64(n) }),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
