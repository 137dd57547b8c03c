package driver

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

// TestChartIsWellFormedSVG parses the output as XML: a browser shows nothing
// for a malformed SVG.
func TestChartIsWellFormedSVG(t *testing.T) {
	for _, tc := range []struct {
		reason string
		c      chart
		want   []string
	}{
		{"log-log latency chart with whiskers", chart{Title: "p99 <latency> & scale", XLabel: "users", YLabel: "ms", LogX: true, LogY: true,
			Curves: []curve{{Name: "userName eq p99", Color: "#d62728", Points: []point{{1000, 1.2, 1, 1.5}, {10000, 1.4, 1.3, 2}, {100000, 3, 2.5, 4}}},
				{Name: "p50", Color: "#1f77b4", Dashed: true, Points: []point{{1000, 0.5, 0.5, 0.6}, {100000, 0, 0, 0}}}}},
			[]string{"&lt;latency&gt; &amp; scale", "100k", "stroke-dasharray", "<polyline"}},
		{"linear chart from zero", chart{Title: "memory", Curves: []curve{{Name: "heap", Color: "#000", Points: []point{{0, 40, 40, 40}, {100000, 400, 390, 410}}}}},
			[]string{">0<", "heap"}},
		{"no data says so", chart{Title: "empty", LogY: true}, []string{"no data"}},
	} {
		out := tc.c.svg()
		dec := xml.NewDecoder(strings.NewReader(out))
		for {
			_, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: not well-formed XML: %v\n%s", tc.reason, err, out)
			}
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q", tc.reason, w)
			}
		}
	}
}

func TestTicks(t *testing.T) {
	got := ticks(600, 160000, true)
	want := []float64{1000, 2000, 5000, 10000, 20000, 50000, 100000}
	if len(got) != len(want) {
		t.Fatalf("log ticks = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("log ticks = %v, want %v", got, want)
		}
	}
	if lin := ticks(0, 430, false); len(lin) < 4 || len(lin) > 8 || lin[0] != 0 {
		t.Errorf("linear ticks = %v", lin)
	}
}
