package driver

import (
	"math"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(100-i) * time.Millisecond // unsorted on purpose
	}
	for _, tc := range []struct {
		reason  string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{"no samples gives zero", nil, 0.5, 0},
		{"one sample is every percentile", []time.Duration{7}, 0.99, 7},
		{"p50 of 1..100 is the 50th", hundred, 0.50, 50 * time.Millisecond},
		{"p99 of 1..100 is the 99th", hundred, 0.99, 99 * time.Millisecond},
		{"p100 is the maximum", hundred, 1, 100 * time.Millisecond},
		{"p0 is the minimum", hundred, 0, time.Millisecond},
	} {
		if got := percentile(tc.samples, tc.p); got != tc.want {
			t.Errorf("%s: percentile(%v) = %v, want %v", tc.reason, tc.p, got, tc.want)
		}
	}
	if hundred[0] != 100*time.Millisecond {
		t.Errorf("percentile sorted its input in place")
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		reason string
		v      []float64
		want   float64
	}{
		{"odd count takes the middle", []float64{3, 1, 2}, 2},
		{"even count averages the middle two", []float64{4, 1, 3, 2}, 2.5},
		{"one value", []float64{9}, 9},
	} {
		if got := median(tc.v); got != tc.want {
			t.Errorf("%s: median(%v) = %v, want %v", tc.reason, tc.v, got, tc.want)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Errorf("median of nothing is not NaN")
	}
}

func TestSizesFor(t *testing.T) {
	full := SizesFor(1)
	if full.SyncUsers != 10_000 || full.SyncGroups != 200 || full.Memberships() != 50_000 || full.BigUsers() != 100_000 ||
		full.GroupBatch != 1000 || full.DeprovSamples != 200 {
		t.Errorf("full sizes are not bench/README.md's: %+v", full)
	}
	small := SizesFor(0.02)
	if small.SyncUsers != 200 || small.BigUsers() != 2000 || small.GroupBatch != 20 {
		t.Errorf("scale 0.02 sizes: %+v", small)
	}
	if tiny := SizesFor(0.0001); tiny.SyncUsers < 100 || tiny.DeprovSamples < 30 {
		t.Errorf("floors not applied: %+v", tiny)
	}
}
