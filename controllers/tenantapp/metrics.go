package tenantapp

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"

	"github.com/scim-operator/scim-operator/internal/telemetry"
)

// Metrics are the Prometheus metrics of the TenantApp controller. Alerting on
// scim_tenantapp_database_up == 0 catches a database outage before users
// notice that deactivations are not applied.
type Metrics struct {
	up       *prometheus.GaugeVec
	errors   *prometheus.CounterVec
	fullSync prometheus.Histogram
	changed  *prometheus.CounterVec
	lag      *telemetry.ProjectionLag
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
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scim_tenantapp_database_errors_total",
			Help: "Passes of a TenantApp that failed in its database (unreachable, refused or timed out).",
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
	m.up = telemetry.Register(reg, m.up)
	m.errors = telemetry.Register(reg, m.errors)
	m.lag = telemetry.NewProjectionLag(reg)
	m.fullSync = telemetry.Register(reg, m.fullSync)
	m.changed = telemetry.Register(reg, m.changed)
	return m
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

// failedPass records a pass that failed in the database.
func (m *Metrics) failedPass(app types.NamespacedName) {
	if m == nil {
		return
	}
	m.errors.WithLabelValues(app.Namespace, app.Name).Inc()
}

// written records that a pass wrote rows reflecting sources the SCIM server
// last wrote at newest.
func (m *Metrics) written(app types.NamespacedName, newest time.Time) {
	if m == nil {
		return
	}
	m.lag.Applied(telemetry.ProjectionTenant, "tenantapp/"+app.String(), newest)
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
	m.errors.DeleteLabelValues(app.Namespace, app.Name)
	m.changed.DeleteLabelValues(app.Namespace, app.Name)
	m.lag.Forget("tenantapp/" + app.String())
}
