package telemetry

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestProjectionLagObservesOnlyNewSources(t *testing.T) {
	reg := prometheus.NewRegistry()
	lag := NewProjectionLag(reg)
	count := func() int {
		n, err := testutil.GatherAndCount(reg, "scim_projection_lag_seconds")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	samples := func() uint64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var n uint64
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				n += m.GetHistogram().GetSampleCount()
			}
		}
		return n
	}
	old := time.Now().Add(-48 * time.Hour)
	lag.Applied(ProjectionRBAC, "b1", old)
	if samples() != 0 {
		t.Fatalf("the first write after start observed a lag (its sources may be days old)")
	}
	recent := time.Now().Add(-100 * time.Millisecond)
	lag.Applied(ProjectionRBAC, "b1", recent)
	if got := samples(); got != 1 {
		t.Fatalf("a write of a newer source: %d samples, want 1", got)
	}
	lag.Applied(ProjectionRBAC, "b1", recent)
	lag.Applied(ProjectionRBAC, "b1", old)
	lag.Applied(ProjectionRBAC, "b1", time.Time{})
	if got := samples(); got != 1 {
		t.Fatalf("repeated, older or unknown sources: %d samples, want still 1", got)
	}
	lag.Forget("b1")
	lag.Applied(ProjectionRBAC, "b1", time.Now())
	if got := samples(); got != 1 {
		t.Fatalf("after Forget the next write is a new baseline: %d samples, want 1", got)
	}
	if count() != 1 {
		t.Fatalf("want one series (projection=rbac), got %d", count())
	}
	// A second recorder on the same registry shares the series.
	NewProjectionLag(reg).hist.WithLabelValues(ProjectionTenant).Observe(1)
	if count() != 2 {
		t.Fatalf("want two series after a second recorder observed the tenant projection, got %d", count())
	}
}
