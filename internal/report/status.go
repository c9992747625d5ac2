package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/inferbench/inferbench/internal/result"
)

// Status is one per-point status record (the agent's manifest_<stem>.json) with where it
// was read from.
type Status struct {
	result.Manifest
	Source string
}

// DefaultSKUs are the GPU SKUs of the reference's runners.yaml (calc_success_rate.py lists
// every one of them in run_stats.json, zeros included).
var DefaultSKUs = []string{"h100", "h200", "b200", "mi300x", "mi325x", "mi355x", "gb200", "b300", "gb300"}

func isStatusName(name string) bool {
	return strings.HasPrefix(name, "manifest_") && strings.HasSuffix(name, ".json")
}

func isStatusObject(obj map[string]json.RawMessage) bool {
	var v string
	_ = json.Unmarshal(obj["schema_version"], &v)
	return strings.HasPrefix(v, "inferbench.manifest/")
}

// DecodeStatus reads a manifest; one without a status or hardware cannot be counted and is
// an error rather than a silent miss.
func DecodeStatus(data []byte, source string) (Status, error) {
	var m result.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return Status{}, fmt.Errorf("status record: %w", err)
	}
	var missing []string
	if m.Status == "" {
		missing = append(missing, "status")
	}
	if m.HW == "" && m.SKU == "" {
		missing = append(missing, "hw")
	}
	if len(missing) > 0 {
		return Status{}, fmt.Errorf("partial status record: missing %s", strings.Join(missing, ", "))
	}
	return Status{Manifest: m, Source: source}, nil
}

// sku is the status record's GPU SKU, derived from the runner type when not written.
func (s Status) sku() string {
	if s.SKU != "" {
		return strings.ToLower(s.SKU)
	}
	return SKU(s.HW)
}

// RunStats counts, per GPU SKU, successes over attempts the way calc_success_rate.py does
// for workflow jobs, but from the agent's own status records: every record is an attempt,
// and StatusSuccess is the only success. skus are listed even with no attempts; SKUs seen
// in the records but not in skus are added.
func RunStats(statuses []Status, skus []string) result.RunStats {
	out := result.RunStats{}
	for _, s := range skus {
		out[strings.ToLower(s)] = result.SKUStats{}
	}
	for _, st := range statuses {
		k := st.sku()
		c := out[k]
		c.Total++
		if st.OK() {
			c.NSuccess++
		}
		out[k] = c
	}
	return out
}

// WriteRunStats writes run_stats.json: {"<sku>": {"n_success": n, "total": n}, ...}.
func WriteRunStats(w io.Writer, rs result.RunStats) error {
	b, err := json.MarshalIndent(rs, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteSuccessRate writes the per-SKU success rate as a markdown table (SKUs without
// attempts left out) followed by the failed points, so a reader sees what failed and why.
func WriteSuccessRate(w io.Writer, rs result.RunStats, statuses []Status) error {
	var b bytes.Buffer
	b.WriteString("## Success Rate\n\n")
	t := newTable("GPU", "Succeeded", "Attempted", "Rate").alignRight(1, 2, 3)
	skus := make([]string, 0, len(rs))
	for k, v := range rs {
		if v.Total > 0 {
			skus = append(skus, k)
		}
	}
	sort.Strings(skus)
	if len(skus) == 0 {
		b.WriteString("> No status records found (manifest_*.json); success rate unknown.\n\n")
		_, err := w.Write(b.Bytes())
		return err
	}
	for _, k := range skus {
		v := rs[k]
		t.add(strings.ToUpper(k), itoa(v.NSuccess), itoa(v.Total), fmt.Sprintf("%.1f%%", 100*float64(v.NSuccess)/float64(v.Total)))
	}
	t.write(&b)
	writeFailures(&b, statuses)
	_, err := w.Write(b.Bytes())
	return err
}

func writeFailures(b *bytes.Buffer, statuses []Status) {
	var failed []Status
	for _, s := range statuses {
		if !s.OK() {
			failed = append(failed, s)
		}
	}
	if len(failed) == 0 {
		b.WriteString("\n")
		return
	}
	sort.SliceStable(failed, func(i, j int) bool { return failed[i].ResultFilename < failed[j].ResultFilename })
	b.WriteString("\nFailed points:\n\n")
	for _, s := range failed {
		msg := s.Message
		if msg == "" {
			msg = "(no message)"
		}
		fmt.Fprintf(b, "- `%s`: %s: %s\n", orDefault(s.ResultFilename, s.Source), s.Status, firstLine(msg))
	}
	b.WriteString("\n")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
