package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/inferbench/inferbench/internal/result"
)

var (
	//go:embed assets/report.html.tmpl
	pageTmpl string
	//go:embed assets/report.css
	pageCSS string
	//go:embed assets/report.js
	pageJS string

	page = template.Must(template.New("report").Parse(pageTmpl))
)

// HTMLInput is what the HTML report shows.
type HTMLInput struct {
	Title     string
	Generated string // a timestamp chosen by the caller (kept out of here for golden tests)
	Records   []Record
	Statuses  []Status
	Problems  []Problem
	Evals     []result.EvalRow
	Summary   string // one line under the title
}

type evalRow struct {
	result.EvalRow
	ScoreText, StrictText, FlexText, N string
}

func evalRows(rows []result.EvalRow) []evalRow {
	out := make([]evalRow, 0, len(rows))
	for _, r := range rows {
		n := ""
		if r.NEff != nil {
			n = itoa(*r.NEff)
		}
		out = append(out, evalRow{r, pctSE(r.Score, r.ScoreSE), pctSE(r.EMStrict, r.EMStrictSE), pctSE(r.EMFlexible, r.EMFlexibleSE), n})
	}
	return out
}

// pctSE formats a fraction as "93.41% ±0.68%", or "" when absent.
func pctSE(v, se *float64) string {
	if v == nil {
		return ""
	}
	s := fmt.Sprintf("%.2f%%", 100*(*v))
	if se != nil {
		s += fmt.Sprintf(" ±%.2f%%", 100*(*se))
	}
	return s
}

type successRow struct {
	SKU       string
	OK, Total int
	Rate      string
}

// WriteHTML writes one self-contained HTML file: styles, script and data inline, nothing
// fetched at view time. The charts are drawn by the embedded script from a compact,
// column-indexed copy of the records, which keeps 5,000 results well under a megabyte.
func WriteHTML(w io.Writer, in HTMLInput) error {
	data, err := chartData(in.Records)
	if err != nil {
		return err
	}
	title := in.Title
	if title == "" {
		title = "Inference benchmark report"
	}
	var buf bytes.Buffer
	err = page.Execute(&buf, map[string]any{
		"Title":       title,
		"Generated":   in.Generated,
		"Summary":     in.Summary,
		"CSS":         template.CSS(pageCSS),
		"JS":          template.JS(pageJS),
		"Data":        template.JS(data),
		"SuccessRows": successRows(RunStats(in.Statuses, nil)),
		"Failures":    failureLines(in.Statuses),
		"Problems":    in.Problems,
		"Evals":       evalRows(in.Evals),
	})
	if err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

func successRows(rs result.RunStats) []successRow {
	var out []successRow
	for k, v := range rs {
		if v.Total == 0 {
			continue
		}
		out = append(out, successRow{strings.ToUpper(k), v.NSuccess, v.Total,
			fmt.Sprintf("%.1f%%", 100*float64(v.NSuccess)/float64(v.Total))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SKU < out[j].SKU })
	return out
}

func failureLines(statuses []Status) []string {
	var out []string
	for _, s := range statuses {
		if !s.OK() {
			out = append(out, fmt.Sprintf("%s: %s: %s", orDefault(s.ResultFilename, s.Source), s.Status, firstLine(orDefault(s.Message, "(no message)"))))
		}
	}
	sort.Strings(out)
	return out
}

// chartCols is the column layout of the embedded rows; the first eight are indexes into
// the dimension tables (dictionary encoding keeps repeated labels out of every row).
var chartCols = []string{"hw", "fw", "prec", "model", "seq", "par", "spec", "served",
	"isl", "osl", "conc", "gpus", "tput", "otput", "itput", "ttft", "tpot", "intvty", "e2el", "ttft99", "pw", "jout"}

const nDims = 8

type dictionary struct {
	index  map[string]int
	values []string
}

func (d *dictionary) id(s string) int {
	if i, ok := d.index[s]; ok {
		return i
	}
	d.index[s] = len(d.values)
	d.values = append(d.values, s)
	return d.index[s]
}

func chartData(rs []Record) ([]byte, error) {
	dicts := make([]*dictionary, nDims)
	for i := range dicts {
		dicts[i] = &dictionary{index: map[string]int{}}
	}
	rows := make([][]any, 0, len(rs))
	for _, r := range rs {
		labels := []string{r.HW, r.Framework, r.Precision, r.Prefix, SeqLen(r.ISL, r.OSL),
			r.Parallelism(), orDefault(r.SpecDecoding, "none"), r.Model}
		row := make([]any, 0, len(chartCols))
		for i, l := range labels {
			row = append(row, dicts[i].id(l))
		}
		row = append(row, r.ISL, r.OSL, r.Conc, r.GPUs(),
			round5(r.TputPerGPU), round5(r.OutputTputPerGPU), round5(r.InputTputPerGPU),
			metric(r, "median_ttft", 1000), metric(r, "median_tpot", 1000),
			metric(r, "median_intvty", 1), metric(r, "median_e2el", 1), metric(r, "p99_ttft", 1000),
			metric(r, "avg_power_w", 1), metric(r, "joules_per_output_token", 1))
		rows = append(rows, row)
	}
	dims := map[string][]string{}
	for i, d := range dicts {
		dims[chartCols[i]] = d.values
	}
	return json.Marshal(map[string]any{"cols": chartCols, "dims": dims, "rows": rows})
}

// metric is a record value scaled for display, rounded, or nil (JSON null) when absent.
func metric(r Record, key string, scale float64) any {
	v, ok := r.Metric(key)
	if !ok {
		return nil
	}
	return round5(v * scale)
}

// round5 keeps five significant digits (more than a chart or table shows) so the embedded
// numbers stay short; non-finite values become null.
func round5(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 5, 64), 64)
	return f
}
