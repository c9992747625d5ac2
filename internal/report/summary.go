package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// compareSingle is summarize.py's single-node sort order.
func compareSingle(a, b Record) int {
	return cmp.Or(
		cmp.Compare(a.Prefix, b.Prefix), cmp.Compare(a.HW, b.HW),
		cmp.Compare(a.Framework, b.Framework), cmp.Compare(a.Precision, b.Precision),
		cmp.Compare(a.ISL, b.ISL), cmp.Compare(a.OSL, b.OSL),
		cmp.Compare(a.TP, b.TP), cmp.Compare(a.EP, b.EP),
		cmp.Compare(a.DPAttention, b.DPAttention), cmp.Compare(a.SpecDecoding, b.SpecDecoding),
		cmp.Compare(a.Conc, b.Conc), cmp.Compare(a.Source, b.Source))
}

// compareMulti is summarize.py's multi-node sort order.
func compareMulti(a, b Record) int {
	return cmp.Or(
		cmp.Compare(a.Prefix, b.Prefix), cmp.Compare(a.HW, b.HW),
		cmp.Compare(a.Framework, b.Framework), cmp.Compare(a.Precision, b.Precision),
		cmp.Compare(a.ISL, b.ISL), cmp.Compare(a.OSL, b.OSL),
		cmp.Compare(a.PrefillTP, b.PrefillTP), cmp.Compare(a.PrefillEP, b.PrefillEP),
		cmp.Compare(a.DecodeTP, b.DecodeTP), cmp.Compare(a.DecodeEP, b.DecodeEP),
		cmp.Compare(a.Conc, b.Conc), cmp.Compare(a.Source, b.Source))
}

// workload is one (model, seq-len) section of the summary.
type workload struct {
	Prefix   string
	ISL, OSL int
}

func (w workload) title() string {
	return fmt.Sprintf("%s · %s (ISL %d / OSL %d)", w.Prefix, SeqLen(w.ISL, w.OSL), w.ISL, w.OSL)
}

// byWorkload splits sorted records into sections by model prefix and sequence lengths,
// keeping the order of first appearance (which the sort makes model-major).
func byWorkload(rs []Record) ([]workload, map[workload][]Record) {
	var order []workload
	groups := map[workload][]Record{}
	for _, r := range rs {
		w := workload{r.Prefix, r.ISL, r.OSL}
		if _, ok := groups[w]; !ok {
			order = append(order, w)
		}
		groups[w] = append(groups[w], r)
	}
	slices.SortStableFunc(order, func(a, b workload) int {
		return cmp.Or(cmp.Compare(a.Prefix, b.Prefix), cmp.Compare(a.ISL, b.ISL), cmp.Compare(a.OSL, b.OSL))
	})
	return order, groups
}

// WriteMarkdown writes the summary tables as summarize.py does (same columns, units and
// 4-decimal numbers), with one table per model and sequence-length pair, rows grouped by
// hardware. It writes nothing but a note when there are no records.
func WriteMarkdown(w io.Writer, rs []Record) error {
	var single, multi []Record
	for _, r := range rs {
		if r.Multinode {
			multi = append(multi, r)
		} else {
			single = append(single, r)
		}
	}
	var b strings.Builder
	if len(rs) == 0 {
		b.WriteString("> No benchmark results found to summarize.\n")
	}
	writeSection(&b, "## Single-Node Results", single, compareSingle, singleTable)
	writeSection(&b, "## Multi-Node Results", multi, compareMulti, multiTable)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeSection(b *strings.Builder, heading string, rs []Record, order func(a, b Record) int, build func([]Record) *table) {
	if len(rs) == 0 {
		return
	}
	rs = slices.Clone(rs)
	slices.SortStableFunc(rs, order)
	fmt.Fprintf(b, "%s\n\nTTFT, TPOT, interactivity and E2EL are medians over the requests of each point; throughput is tokens/s per GPU.", heading)
	if hasPower(rs) {
		b.WriteString(" Power is the mean board power per GPU over the benchmark window; energy is all GPUs' over it, per output token (n/a: power not measured or not valid).")
	}
	b.WriteString("\n\n")
	names, groups := byWorkload(rs)
	for _, wl := range names {
		fmt.Fprintf(b, "### %s\n\n", wl.title())
		t := build(groups[wl])
		if hasPower(groups[wl]) {
			addPowerColumns(t, groups[wl])
		}
		t.write(b)
		b.WriteString("\n")
	}
}

// hasPower reports whether any record carries valid power fields; tables of sweeps that did
// not measure power keep their columns.
func hasPower(rs []Record) bool {
	for _, r := range rs {
		if _, ok := r.Metric("avg_power_w"); ok {
			return true
		}
	}
	return false
}

// addPowerColumns appends power per GPU and energy per output token to a table whose rows
// are rs, in order.
func addPowerColumns(t *table, rs []Record) {
	t.header = append(t.header, "Power per GPU (W)", "Energy (J/output tok)")
	t.right = append(t.right, true, true)
	for i, r := range rs {
		t.rows[i] = append(t.rows[i], metricOr(r, "avg_power_w", 1), metricOr(r, "joules_per_output_token", 1))
	}
}

func metricOr(r Record, k string, scale float64) string {
	v, ok := r.Metric(k)
	if !ok {
		return "n/a"
	}
	return f4(v * scale)
}

var leadingCols = []string{"Model", "Served Model", "Hardware", "Framework", "Precision", "ISL", "OSL"}

var metricCols = []string{"Conc", "TTFT (ms)", "TPOT (ms)", "Interactivity (tok/s/user)",
	"E2EL (s)", "TPUT per GPU", "Output TPUT per GPU", "Input TPUT per GPU"}

func singleTable(rs []Record) *table {
	t := newTable(slices.Concat(leadingCols, []string{"TP", "EP", "DP Attention"}, metricCols)...)
	t.alignRight(numericFrom(5, len(t.header))...)
	for _, r := range rs {
		t.add(slices.Concat(leadingCells(r), []string{itoa(r.TP), itoa(r.EP), r.DPAttention}, metricCells(r))...)
	}
	return t
}

func multiTable(rs []Record) *table {
	par := []string{"Prefill TP", "Prefill EP", "Prefill DP Attn", "Prefill Workers", "Prefill GPUs",
		"Decode TP", "Decode EP", "Decode DP Attn", "Decode Workers", "Decode GPUs"}
	t := newTable(slices.Concat(leadingCols, par, metricCols)...)
	t.alignRight(numericFrom(5, len(t.header))...)
	for _, r := range rs {
		cells := []string{itoa(r.PrefillTP), itoa(r.PrefillEP), r.PrefillDPAttention, itoa(r.PrefillWorkers),
			itoa(r.PrefillGPUs), itoa(r.DecodeTP), itoa(r.DecodeEP), r.DecodeDPAttention,
			itoa(r.DecodeWorkers), itoa(r.DecodeGPUs)}
		t.add(slices.Concat(leadingCells(r), cells, metricCells(r))...)
	}
	return t
}

// numericFrom lists the right-aligned columns: everything from ISL on (the DP-attention
// flags included, which keeps the code simple and reads fine).
func numericFrom(first, n int) []int {
	var cols []int
	for i := first; i < n; i++ {
		cols = append(cols, i)
	}
	return cols
}

func leadingCells(r Record) []string {
	return []string{r.Prefix, r.Model, strings.ToUpper(r.HW), strings.ToUpper(r.Framework),
		strings.ToUpper(r.Precision), itoa(r.ISL), itoa(r.OSL)}
}

func metricCells(r Record) []string {
	m := func(k string, scale float64) string {
		v, ok := r.Metric(k)
		if !ok {
			return "n/a"
		}
		return f4(v * scale)
	}
	return []string{itoa(r.Conc), m("median_ttft", 1000), m("median_tpot", 1000), m("median_intvty", 1),
		m("median_e2el", 1), f4(r.TputPerGPU), f4(r.OutputTputPerGPU), f4(r.InputTputPerGPU)}
}

func itoa(n int) string { return strconv.Itoa(n) }

func f4(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
