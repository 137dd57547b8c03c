package driver

import (
	"math"
	"slices"
	"time"
)

// percentile returns the p-th percentile (0 ≤ p ≤ 1) of samples by the
// nearest-rank method: the smallest sample with at least p of all samples at
// or below it. With 200 samples p99 is the second largest.
func percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	rank := int(math.Ceil(p * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// ms converts a duration to fractional milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// median returns the median of v (the mean of the middle two for an even count).
func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// latencies collects request latencies of one run, safe for one goroutine.
type latencies []time.Duration

// p50 and p99 in milliseconds.
func (l latencies) p50() float64 { return ms(percentile(l, 0.50)) }
func (l latencies) p99() float64 { return ms(percentile(l, 0.99)) }
func (l latencies) max() float64 { return ms(percentile(l, 1)) }
