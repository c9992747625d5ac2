package eval

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/inferbench/inferbench/internal/result"
)

// Collect reads every eval set under root and returns the rows of agg_eval_all.json, as
// collect_eval_results.py does (docs/evals.md#collection): an eval set is a directory holding meta_env.json
// (root itself, when it is one, or an immediate sub-directory: the reference misses the flat
// single-artifact case, a later fix includes it); its lm-eval file is the newest *.json other
// than meta_env.json that has a top-level lm_eval_version; there is one row per task. Sets
// that cannot be read are reported in the error and skipped, the others still give rows.
// With thresholds, rows carry their minimum and whether they passed.
func Collect(root string, th *Thresholds) ([]result.EvalRow, error) {
	dirs, err := evalSets(root)
	if err != nil {
		return nil, err
	}
	var rows []result.EvalRow
	var errs []error
	for _, dir := range dirs {
		r, err := collectSet(dir, th)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rows = append(rows, r...)
	}
	SortRows(rows)
	return rows, errors.Join(errs...)
}

func evalSets(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("reading eval results: %w", err)
	}
	var dirs []string
	if fileExists(filepath.Join(root, MetaEnvFile)) {
		dirs = append(dirs, root)
	}
	for _, e := range entries {
		d := filepath.Join(root, e.Name())
		if e.IsDir() && fileExists(filepath.Join(d, MetaEnvFile)) {
			dirs = append(dirs, d)
		}
	}
	return dirs, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func collectSet(dir string, th *Thresholds) ([]result.EvalRow, error) {
	meta, err := readMeta(filepath.Join(dir, MetaEnvFile))
	if err != nil {
		return nil, err
	}
	path, err := newestLMEvalJSON(dir)
	if err != nil {
		return nil, err
	}
	rf, err := ReadResults(path)
	if err != nil {
		return nil, err
	}
	var rows []result.EvalRow
	for _, task := range rf.Tasks() {
		rec, err := rf.Record(task)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		rec.Source = path
		row := Row(meta, rec)
		if th != nil {
			v := th.Check(row.Model, row.Task, GatedScore(row))
			row.Threshold, row.Passed = v.MinPtr(), &v.Passed
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// newestLMEvalJSON picks the set's lm-eval results: newest modification time first, the
// name breaking ties so the choice is deterministic.
func newestLMEvalJSON(dir string) (string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return "", err
	}
	type cand struct {
		path string
		mod  int64
	}
	var cands []cand
	for _, m := range matches {
		if filepath.Base(m) == MetaEnvFile || !hasLMEvalVersion(m) {
			continue
		}
		st, err := os.Stat(m)
		if err != nil {
			continue
		}
		cands = append(cands, cand{m, st.ModTime().UnixNano()})
	}
	if len(cands) == 0 {
		return "", fmt.Errorf("%s: has %s but no lm-eval results (*.json with lm_eval_version)", dir, MetaEnvFile)
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].mod != cands[j].mod {
			return cands[i].mod > cands[j].mod
		}
		return cands[i].path > cands[j].path
	})
	return cands[0].path, nil
}

func hasLMEvalVersion(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(b, &top) != nil {
		return false
	}
	_, ok := top["lm_eval_version"]
	return ok
}

// Row is the agg_eval_all.json row of one task's record under the row configuration meta.
func Row(meta result.MetaEnv, rec *Record) result.EvalRow {
	row := result.EvalRow{
		Model:        firstNonEmpty(rec.Model, meta.Model),
		HW:           strings.ToUpper(meta.HW),
		Framework:    strings.ToLower(meta.Framework),
		Precision:    strings.ToLower(meta.Precision),
		SpecDecoding: meta.SpecDecoding,
		TP:           meta.TP, EP: meta.EP, Conc: meta.Conc,
		DPAttention: strconv.FormatBool(meta.DPAttention),
		Task:        rec.Task,
		NEff:        ptr(rec.N),
		Source:      rec.Source,
	}
	if rec.Strict != nil {
		row.EMStrict, row.EMStrictSE = ptr(rec.Strict.Value), rec.Strict.Stderr
	}
	if rec.Flexible != nil {
		row.EMFlexible, row.EMFlexibleSE = ptr(rec.Flexible.Value), rec.Flexible.Stderr
	}
	if v, name, se := rec.Score(); v != nil {
		row.Score, row.ScoreName, row.ScoreSE = v, &name, se
	}
	return row
}

// SortRows orders rows by (hw, framework, precision, spec_decoding, tp, ep, conc), keeping
// the collection order among equals as Python's stable sort does.
func SortRows(rows []result.EvalRow) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		switch {
		case a.HW != b.HW:
			return a.HW < b.HW
		case a.Framework != b.Framework:
			return a.Framework < b.Framework
		case a.Precision != b.Precision:
			return a.Precision < b.Precision
		case a.SpecDecoding != b.SpecDecoding:
			return a.SpecDecoding < b.SpecDecoding
		case a.TP != b.TP:
			return a.TP < b.TP
		case a.EP != b.EP:
			return a.EP < b.EP
		}
		return a.Conc < b.Conc
	})
}

// MarshalRows is agg_eval_<name>.json: the rows as a JSON array, indented by 2.
func MarshalRows(rows []result.EvalRow) ([]byte, error) {
	if rows == nil {
		rows = []result.EvalRow{}
	}
	return encodeIndent(rows)
}

// SummaryMarkdown is the "## Eval Summary" table of the step summary.
func SummaryMarkdown(rows []result.EvalRow) string {
	var b strings.Builder
	b.WriteString("## Eval Summary\n\n")
	if len(rows) == 0 {
		b.WriteString("> No eval results found to summarize.\n")
		return b.String()
	}
	b.WriteString("| Model | Hardware | Framework | Precision | Spec Decode | TP | EP | Conc | DP Attention | Task | Score | EM Strict | EM Flexible | N (eff) |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		n := ""
		if r.NEff != nil {
			n = strconv.Itoa(*r.NEff)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d | %d | %d | %s | %s | %s | %s | %s | %s |\n",
			r.Model, r.HW, r.Framework, r.Precision, r.SpecDecoding, r.TP, r.EP, r.Conc, r.DPAttention, r.Task,
			pct(r.Score, r.ScoreSE), pct(r.EMStrict, r.EMStrictSE), pct(r.EMFlexible, r.EMFlexibleSE), n)
	}
	return b.String()
}

func pct(v, se *float64) string {
	if v == nil {
		return ""
	}
	s := fmt.Sprintf("%.2f%%", *v*100)
	if se != nil {
		s += fmt.Sprintf(" ±%.2f%%", *se*100)
	}
	return s
}
