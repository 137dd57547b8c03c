package tenantapp

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
)

// Metrics are the Prometheus metrics of the TenantApp controller. Alerting on
// scim_tenantapp_database_up == 0 catches a database outage before users
// notice that deactivations are not applied.
type Metrics struct {
	up       *prometheus.GaugeVec
	fullSync prometheus.Histogram
	changed  *prometheus.CounterVec
}

// NewMetrics registers the controller's metrics on reg (usually
// controller-runtime's metrics.Registry). Registering twice, as tests running
// several operators in one process do, shares the first registration.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scim_tenantapp_database_up",
			Help: "Whether the TenantApp's database answered the last pass (1) or not (0).",
		}, []string{"namespace", "name"}),
		fullSync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "scim_tenantapp_full_sync_duration_seconds",
			Help:    "Duration of full passes (desired state plus FullSync) of TenantApps.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}),
		changed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scim_tenantapp_full_sync_rows_changed_total",
			Help: "Rows full passes inserted, updated or deleted; growth after the first pass means drift was corrected.",
		}, []string{"namespace", "name"}),
	}
	m.up = register(reg, m.up)
	m.fullSync = register(reg, m.fullSync)
	m.changed = register(reg, m.changed)
	return m
}

// register registers c, or returns the collector already registered under its name.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var already prometheus.AlreadyRegisteredError
		if errors.As(err, &already) {
			if existing, ok := already.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

// reachable records whether app's database answered.
func (m *Metrics) reachable(app types.NamespacedName, up bool) {
	if m == nil {
		return
	}
	v := 0.0
	if up {
		v = 1
	}
	m.up.WithLabelValues(app.Namespace, app.Name).Set(v)
}

// fullSyncDone records a full pass.
func (m *Metrics) fullSyncDone(app types.NamespacedName, took time.Duration, changed int) {
	if m == nil {
		return
	}
	m.fullSync.Observe(took.Seconds())
	m.changed.WithLabelValues(app.Namespace, app.Name).Add(float64(changed))
}

// forget drops a deleted TenantApp's series.
func (m *Metrics) forget(app types.NamespacedName) {
	if m == nil {
		return
	}
	m.up.DeleteLabelValues(app.Namespace, app.Name)
	m.changed.DeleteLabelValues(app.Namespace, app.Name)
}
