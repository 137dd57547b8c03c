//go:build !linux

package driver

// The benchmark measures memory and CPU through Linux's /proc and getrusage;
// elsewhere those figures read zero.

func residentBytes() (rss, peak uint64)          { return 0, 0 }
func cpuSeconds() float64                        { return 0 }
func loadAverage() string                        { return "unknown" }
func descendantCPU(...string) map[string]float64 { return map[string]float64{} }
