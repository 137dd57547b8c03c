package deprovision

import (
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/telemetry"
)

// Metrics are the guard's Prometheus series, one per endpoint: a hold waits
// for a person (docs/monitoring.md alerts on it), so it must be visible
// outside the endpoint's status too.
type Metrics struct {
	held    *prometheus.GaugeVec
	pending *prometheus.GaugeVec
}

// NewMetrics registers the guard's series on reg (usually controller-runtime's
// metrics.Registry); a second registration shares the first.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	return &Metrics{
		held: telemetry.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scim_deprovisioning_held",
			Help: "1 while the deprovisioning guard holds the revocations of the endpoint (namespace/name) until a person approves, else 0.",
		}, []string{"endpoint"})),
		pending: telemetry.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scim_deprovisioning_pending_revocations",
			Help: "Revocations the deprovisioning guard holds for the endpoint (namespace/name), waiting for approval.",
		}, []string{"endpoint"})),
	}
}

// observe records the guard's state of obj as last written.
func (m *Metrics) observe(obj *scimv1.ScimEndpoint) {
	if m == nil {
		return
	}
	key := types.NamespacedName{Namespace: obj.Namespace, Name: obj.Name}.String()
	held := 0.0
	if obj.RevocationsHeld() {
		held = 1
	}
	m.held.WithLabelValues(key).Set(held)
	m.pending.WithLabelValues(key).Set(float64(pendingOf(&obj.Status.Deprovisioning)))
}

// forget drops the series of an endpoint that is gone.
func (m *Metrics) forget(ep types.NamespacedName) {
	if m == nil {
		return
	}
	m.held.DeleteLabelValues(ep.String())
	m.pending.DeleteLabelValues(ep.String())
}
