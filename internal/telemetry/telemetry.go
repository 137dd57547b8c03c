// Package telemetry holds what the SCIM server and the projections share
// about Prometheus: registration that tolerates several operators in one
// process (as in tests), and the projection-lag histogram, which measures how
// long after a SCIM write its effect reached a RoleBinding or a tenant table.
package telemetry

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c on reg, or returns the collector already registered
// under the same name, so that several operators in one process share series.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
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

// Projections, the values of the projection label.
const (
	ProjectionRBAC   = "rbac"
	ProjectionTenant = "tenant"
)

// ProjectionLag records, per projection, the time from the newest SCIM write
// among a projection's sources to the moment the projection applied it.
type ProjectionLag struct {
	hist *prometheus.HistogramVec
	mu   sync.Mutex
	seen map[string]time.Time // per projected object: the newest source write already observed
}

// NewProjectionLag registers scim_projection_lag_seconds on reg.
func NewProjectionLag(reg prometheus.Registerer) *ProjectionLag {
	return &ProjectionLag{
		hist: Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scim_projection_lag_seconds",
			Help:    "Time from a SCIM write to its projection into RoleBindings (rbac) or tenant tables (tenant).",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"projection"})),
		seen: map[string]time.Time{},
	}
}

// Applied is called after a projection wrote the state of its sources, the
// newest of which the SCIM server wrote at source. key identifies the
// projected object (a binding, a TenantApp). A write whose sources are no
// newer than those of the last one observed for key is not a lag (it
// repairs drift or repeats after an error), and the first write after the
// process started only sets the baseline: its sources may be days old.
func (p *ProjectionLag) Applied(projection, key string, source time.Time) {
	if p == nil || source.IsZero() {
		return
	}
	p.mu.Lock()
	last, known := p.seen[key]
	if known && !source.After(last) {
		p.mu.Unlock()
		return
	}
	p.seen[key] = source
	p.mu.Unlock()
	if known {
		p.hist.WithLabelValues(projection).Observe(max(time.Since(source), 0).Seconds())
	}
}

// Forget drops what was recorded for a projected object that is gone.
func (p *ProjectionLag) Forget(key string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	delete(p.seen, key)
	p.mu.Unlock()
}
