package driver

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
)

// chart is a line chart of a few curves against the number of users,
// rendered as a standalone SVG without any plotting library.
type chart struct {
	Title, XLabel, YLabel string
	LogX, LogY            bool
	Curves                []curve
}

// curve is one line; each point carries its run-to-run range as a whisker.
type curve struct {
	Name   string
	Color  string
	Dashed bool
	Points []point
}

type point struct{ X, Y, Lo, Hi float64 }

// Plot geometry, in SVG user units.
const (
	svgW, svgH                          = 820, 480
	padLeft, padRight, padTop, padBelow = 80, 230, 48, 56
)

// axis maps data values to pixels, linearly or by log10.
type axis struct {
	log        bool
	lo, hi     float64
	from, till float64 // pixel range
}

func (a axis) pos(v float64) float64 {
	f := func(x float64) float64 { return x }
	if a.log {
		f = math.Log10
	}
	span := f(a.hi) - f(a.lo)
	if span == 0 {
		return (a.from + a.till) / 2
	}
	return a.from + (f(v)-f(a.lo))/span*(a.till-a.from)
}

// svg renders the chart. Points with non-positive values are skipped on a log axis.
func (c chart) svg() string {
	var xs, ys []float64
	for _, cu := range c.Curves {
		for _, p := range cu.Points {
			if c.plottable(p) {
				xs = append(xs, p.X)
				ys = append(ys, p.Lo, p.Y, p.Hi)
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", svgW, svgH, svgW, svgH)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", padLeft, esc(c.Title))
	if len(xs) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d">no data</text>`+"\n</svg>\n", padLeft, svgH/2)
		return b.String()
	}
	x := axis{log: c.LogX, lo: slices.Min(xs), hi: slices.Max(xs), from: padLeft, till: svgW - padRight}
	y := axis{log: c.LogY, lo: slices.Min(ys), hi: slices.Max(ys), from: svgH - padBelow, till: padTop}
	x.lo, x.hi = widen(x.lo, x.hi, c.LogX, false)
	y.lo, y.hi = widen(y.lo, y.hi, c.LogY, !c.LogY)
	c.frame(&b, x, y)
	for i, cu := range c.Curves {
		c.line(&b, x, y, cu)
		ly := padTop + 16 + i*20
		dash := ""
		if cu.Dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`+"\n", svgW-padRight+16, ly, svgW-padRight+44, ly, cu.Color, dash)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", svgW-padRight+50, ly+4, esc(cu.Name))
	}
	note := padTop + 16 + len(c.Curves)*20 + 8
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555">points: median of runs</text>`+"\n", svgW-padRight+16, note)
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555">whiskers: min–max of runs</text>`+"\n", svgW-padRight+16, note+16)
	b.WriteString("</svg>\n")
	return b.String()
}

func (c chart) plottable(p point) bool {
	finite := !math.IsNaN(p.Y) && !math.IsInf(p.Y, 0)
	return finite && (!c.LogX || p.X > 0) && (!c.LogY || (p.Y > 0 && p.Lo > 0))
}

// widen pads a data range so lines do not touch the frame; a linear axis
// may be anchored at zero.
func widen(lo, hi float64, log, fromZero bool) (float64, float64) {
	if log {
		return lo / 1.6, hi * 1.6
	}
	if fromZero && lo >= 0 {
		lo = 0
	}
	if hi == lo {
		hi = lo + 1
	}
	return lo, hi + (hi-lo)*0.08
}

// frame draws the axes, grid lines and tick labels.
func (c chart) frame(b *strings.Builder, x, y axis) {
	fmt.Fprintf(b, `<g stroke="#ccc">`+"\n")
	for _, t := range ticks(y.lo, y.hi, y.log) {
		py := y.pos(t)
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`+"\n", padLeft, py, svgW-padRight, py)
	}
	for _, t := range ticks(x.lo, x.hi, x.log) {
		px := x.pos(t)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>`+"\n", px, padTop, px, svgH-padBelow)
	}
	b.WriteString("</g>\n")
	for _, t := range ticks(y.lo, y.hi, y.log) {
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", padLeft-6, y.pos(t)+4, tickLabel(t))
	}
	for _, t := range ticks(x.lo, x.hi, x.log) {
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x.pos(t), svgH-padBelow+16, tickLabel(t))
	}
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", padLeft, padTop, svgW-padLeft-padRight, svgH-padTop-padBelow)
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", (padLeft+svgW-padRight)/2, svgH-12, esc(c.XLabel))
	fmt.Fprintf(b, `<text transform="translate(18 %d) rotate(-90)" text-anchor="middle">%s</text>`+"\n", (padTop+svgH-padBelow)/2, esc(c.YLabel))
}

// line draws one curve with its whiskers and point markers.
func (c chart) line(b *strings.Builder, x, y axis, cu curve) {
	var pts []string
	for _, p := range cu.Points {
		if !c.plottable(p) {
			continue
		}
		px, py := x.pos(p.X), y.pos(p.Y)
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", px, py))
		lo, hi := y.pos(p.Lo), y.pos(p.Hi)
		fmt.Fprintf(b, `<path d="M%.1f %.1fV%.1fM%.1f %.1fh8M%.1f %.1fh8" stroke="%s" fill="none"/>`+"\n", px, lo, hi, px-4, lo, px-4, hi, cu.Color)
		fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", px, py, cu.Color)
	}
	dash := ""
	if cu.Dashed {
		dash = ` stroke-dasharray="6 4"`
	}
	fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), cu.Color, dash)
}

// ticks returns grid values: 1-2-5 steps per decade on a log axis, about six
// round steps on a linear one.
func ticks(lo, hi float64, log bool) []float64 {
	var out []float64
	if log {
		for d := math.Pow(10, math.Floor(math.Log10(lo))); d <= hi; d *= 10 {
			for _, m := range []float64{1, 2, 5} {
				if v := d * m; v >= lo && v <= hi {
					out = append(out, v)
				}
			}
		}
		return out
	}
	step := math.Pow(10, math.Floor(math.Log10((hi-lo)/5)))
	for _, m := range []float64{1, 2, 5, 10} {
		if (hi-lo)/(step*m) <= 7 {
			step *= m
			break
		}
	}
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		out = append(out, v)
	}
	return out
}

// tickLabel prints 1000 as 1k and 0.5 as 0.5.
func tickLabel(v float64) string {
	switch {
	case v >= 1e6 && math.Mod(v, 1e6) == 0:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e3 && math.Mod(v, 1e3) == 0:
		return fmt.Sprintf("%gk", v/1e3)
	default:
		return fmt.Sprintf("%g", math.Round(v*1000)/1000)
	}
}

func esc(s string) string { return html.EscapeString(s) }
