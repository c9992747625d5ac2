package eval

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// The fixtures under testdata/lmeval are written by hand in the format of lm-evaluation-harness
// 0.4.x as pinned by InferenceX (commit b315ef3b): results_<date>.json and
// samples_<task>_<date>.jsonl under <output_path>/<model_sanitized>/.

const fixtureDir = "testdata/lmeval/model-x"

func TestParseResultsGSM8K(t *testing.T) {
	rf, err := ReadResults(filepath.Join(fixtureDir, "results_2026-02-09T10-11-12.345678.json"))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := rf.Record("gsm8k")
	if err != nil {
		t.Fatal(err)
	}
	checkMeasure(t, "strict", rec.Strict, 0.6, 0.24494897427831783)
	checkMeasure(t, "flexible", rec.Flexible, 0.8, 0.19999999999999998)
	if rec.Accuracy != nil {
		t.Errorf("accuracy = %+v, want none for a filtered task", rec.Accuracy)
	}
	if rec.N != 5 || rec.NOriginal != 1319 || rec.NumFewshot != 2 {
		t.Errorf("n=%d original=%d fewshot=%d, want 5 1319 2", rec.N, rec.NOriginal, rec.NumFewshot)
	}
	if rec.Model != "acme/model-x" || rec.Harness != "0.4.9.1" || rec.Metric != "exact_match" {
		t.Errorf("model=%q harness=%q metric=%q", rec.Model, rec.Harness, rec.Metric)
	}
	v, name, se := rec.Score()
	if v == nil || *v != 0.6 || name != "em_strict" || se == nil {
		t.Errorf("score = %v %q %v, want 0.6 em_strict with stderr", v, name, se)
	}
	if _, err := rf.Record("mmlu"); err == nil {
		t.Error("a task that is not in the file gave no error")
	}
}

func TestParseResultsMixedTasks(t *testing.T) {
	rf, err := ReadResults("testdata/lmeval/mixed/results_2026-02-10T08-00-00.000001.json")
	if err != nil {
		t.Fatal(err)
	}
	if got := rf.Tasks(); len(got) != 3 || got[0] != "gsm8k" || got[1] != "gpqa_diamond_cot_n_shot" || got[2] != "arc_easy" {
		t.Fatalf("tasks %v, want file order gsm8k gpqa_diamond_cot_n_shot arc_easy", got)
	}
	// one document: the harness writes "N/A" for the stderr.
	gsm, _ := rf.Record("gsm8k")
	if gsm.Strict == nil || gsm.Strict.Value != 1 || gsm.Strict.Stderr != nil || gsm.N != 1 {
		t.Errorf("gsm8k strict %+v n=%d, want 1 with no stderr, n=1", gsm.Strict, gsm.N)
	}
	// gpqa has only extract_abcd: flexible, no strict, no accuracy, so no score.
	gpqa, _ := rf.Record("gpqa_diamond_cot_n_shot")
	checkMeasure(t, "gpqa flexible", gpqa.Flexible, 0.25, 0.0309)
	if gpqa.Strict != nil || gpqa.Accuracy != nil {
		t.Errorf("gpqa strict %+v accuracy %+v, want none", gpqa.Strict, gpqa.Accuracy)
	}
	if v, _, _ := gpqa.Score(); v != nil {
		t.Errorf("gpqa score %v, want null", *v)
	}
	if gpqa.Model != "acme/from-metadata" {
		t.Errorf("gpqa model %q, want configs metadata model when model_name is empty", gpqa.Model)
	}
	// no filters: acc/acc_stderr become accuracy and the score.
	arc, _ := rf.Record("arc_easy")
	checkMeasure(t, "arc accuracy", arc.Accuracy, 0.75, 0.0125)
	if v, name, _ := arc.Score(); v == nil || *v != 0.75 || name != "accuracy" {
		t.Errorf("arc score %v %q, want 0.75 accuracy", v, name)
	}
}

func TestParseResultsRejectsGarbage(t *testing.T) {
	for name, data := range map[string]string{
		"not json":   "{",
		"no results": `{"lm_eval_version": "0.4.9"}`,
		"array":      `[1,2]`,
	} {
		if _, err := ParseResults(name, []byte(data)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseSamplesAndRescore(t *testing.T) {
	lines, err := ReadSamples(filepath.Join(fixtureDir, "samples_gsm8k_2026-02-09T10-11-12.345678.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 10 {
		t.Fatalf("%d lines, want 10 (5 documents x 2 filters)", len(lines))
	}
	first := lines[0]
	if first.DocID != 0 || first.Filter != FilterStrict || first.Filtered() != "18" || first.ExactMatch == nil || *first.ExactMatch != 1 {
		t.Errorf("first line %+v", first)
	}
	rep := Rescore(lines)
	if rep.Checked != 10 || len(rep.Disagreements) != 0 {
		t.Errorf("rescore checked %d with disagreements %+v, want 10 and none", rep.Checked, rep.Disagreements)
	}
	// the re-scored aggregate equals what the harness wrote into the results file.
	checkMeasure(t, "rescored strict", rep.Strict, 0.6, 0.24494897427831783)
	checkMeasure(t, "rescored flexible", rep.Flexible, 0.8, 0.19999999999999998)

	merged := SamplesFromHarness(lines)
	if len(merged) != 5 {
		t.Fatalf("%d merged samples, want 5", len(merged))
	}
	m := merged[4]
	if m.Strict != invalidAnswer || m.StrictOK || m.Flexible != "$20" || !m.FlexibleOK || m.Doc.TargetNumber() != "20" {
		t.Errorf("doc 4 merged %+v", m)
	}
	if m.Prompt == "" || m.Response != "The answer is #### $20" {
		t.Errorf("doc 4 prompt/response not carried: %q / %q", m.Prompt, m.Response)
	}
}

func TestRescoreFlagsDisagreement(t *testing.T) {
	one := 1.0
	lines := []HarnessSample{{
		DocID: 3, Target: "#### 7", Resps: [][]string{{"so #### 7"}},
		FilteredResps: []string{"7"}, Filter: FilterStrict, ExactMatch: &one,
	}, {
		DocID: 3, Target: "#### 7", Resps: [][]string{{"so #### 7 and 8"}},
		FilteredResps: []string{"7"}, Filter: FilterFlexible, ExactMatch: &one,
	}, {
		DocID: 3, Filter: "none", Resps: [][]string{{"x"}},
	}}
	rep := Rescore(lines)
	if rep.Checked != 2 || len(rep.Disagreements) != 1 {
		t.Fatalf("checked %d, disagreements %+v; want 2 and one", rep.Checked, rep.Disagreements)
	}
	d := rep.Disagreements[0]
	if d.Filter != FilterFlexible || d.OurAnswer != "8" || d.OurMatch || !d.HarnessMatch {
		t.Errorf("disagreement %+v", d)
	}
}

func TestParseSamplesCollectsBadLines(t *testing.T) {
	_, err := ParseSamples("s.jsonl", []byte("{\"doc_id\": 1}\nnot json\n\n{\"doc_id\": \"x\"}\n"))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"s.jsonl:2", "s.jsonl:4"} {
		if !contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func checkMeasure(t *testing.T, what string, m *Measure, v, se float64) {
	t.Helper()
	if m == nil {
		t.Errorf("%s: missing", what)
		return
	}
	if math.Abs(m.Value-v) > 1e-12 || m.Stderr == nil || math.Abs(*m.Stderr-se) > 1e-12 {
		t.Errorf("%s = %v ± %v, want %v ± %v", what, m.Value, m.Stderr, v, se)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
