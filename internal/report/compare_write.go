package report

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// Write renders the comparison as markdown: a verdict line, the regressions and
// improvements in detail, then every joined configuration with the change of each metric.
func (c Comparison) Write(out io.Writer) error {
	var b strings.Builder
	c.write(&b)
	_, err := io.WriteString(out, b.String())
	return err
}

func (c Comparison) write(w *strings.Builder) {
	fmt.Fprintf(w, "## Comparison\n\n%d configurations in both sets: %d with a regression, %d improved, %d within noise. Only in old: %d. Only in new: %d.\n\n",
		len(c.Rows), c.Regressions, c.Improvements, len(c.Rows)-c.Regressions-c.Improvements, len(c.OnlyOld), len(c.OnlyNew))
	fmt.Fprintf(w, "A change is flagged when it exceeds max(%.1f%%, the metric's floor) plus twice the relative spread of repeated runs on each side; floors: %s. "+
		"Tail percentiles are judged only with at least %d requests beyond them (p99: 1,000 requests); \"~\" marks a change over too few to judge.\n\n",
		c.Options.Threshold, c.floorsText(), MinTailSamples)
	c.writeFlagged(w, "### Regressions", Regression)
	c.writeFlagged(w, "### Improvements", Improvement)
	c.writeAll(w)
	writeKeyList(w, "### Only in old", c.OnlyOld)
	writeKeyList(w, "### Only in new", c.OnlyNew)
}

func (c Comparison) floorsText() string {
	var parts []string
	for _, m := range c.Metrics {
		if m.Floor > 0 {
			parts = append(parts, fmt.Sprintf("%s %.0f%%", m.Label, m.Floor))
		}
	}
	return strings.Join(parts, ", ")
}

// writeFlagged lists the configurations with a verdict v, one line each, naming every
// metric that moved and by how much against what was allowed.
func (c Comparison) writeFlagged(w *strings.Builder, heading string, v Verdict) {
	t := newTable("Configuration", "Metrics (old → new, change, allowed)")
	for _, r := range c.Rows {
		var parts []string
		for i, d := range r.Deltas {
			if d.Verdict != v {
				continue
			}
			m := c.Metrics[i]
			parts = append(parts, fmt.Sprintf("%s %s → %s %s (%s, ±%.1f%%)", m.Label, num(d.Old), num(d.New), m.Unit, pct(d.Change), d.Allowed))
		}
		if len(parts) > 0 {
			t.add(r.Key, strings.Join(parts, "; "))
		}
	}
	if len(t.rows) == 0 {
		return
	}
	w.WriteString(heading + "\n\n")
	t.write(w)
	w.WriteString("\n")
}

func (c Comparison) writeAll(w *strings.Builder) {
	if len(c.Rows) == 0 {
		return
	}
	head := []string{"Hardware", "Framework", "Precision", "Model", "ISL/OSL", "Parallelism", "Conc"}
	for _, m := range c.Metrics {
		head = append(head, m.Label)
	}
	t := newTable(head...).alignRight(numericFrom(6, len(head))...)
	for _, r := range c.Rows {
		x := r.Ref
		cells := []string{strings.ToUpper(x.HW), strings.ToUpper(x.Framework), strings.ToUpper(x.Precision),
			x.Prefix, fmt.Sprintf("%d/%d", x.ISL, x.OSL), x.Parallelism(), itoa(x.Conc)}
		for _, d := range r.Deltas {
			cells = append(cells, deltaCell(d))
		}
		t.add(cells...)
	}
	w.WriteString("### All configurations (change new vs old)\n\n")
	t.write(w)
	w.WriteString("\n")
}

func deltaCell(d MetricDelta) string {
	switch d.Verdict {
	case Missing:
		return "n/a"
	case Regression:
		return pct(d.Change) + " ✗"
	case Improvement:
		return pct(d.Change) + " ✓"
	case TooFew:
		return pct(d.Change) + " ~"
	}
	return pct(d.Change)
}

func writeKeyList(w *strings.Builder, heading string, keys []string) {
	if len(keys) == 0 {
		return
	}
	w.WriteString(heading + "\n\n")
	for _, k := range keys {
		fmt.Fprintf(w, "- %s\n", k)
	}
	w.WriteString("\n")
}

func pct(v float64) string { return fmt.Sprintf("%+.1f%%", v) }

// num prints a value with about four significant digits, which is what a reader compares.
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.1f", v)
	case a >= 10:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3f", v)
}
