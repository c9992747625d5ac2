package eval

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fixtures under testdata/lmeval are written by hand in the format of lm-evaluation-harness
// 0.4.x as pinned by InferenceX (commit b315ef3b): results_<date>.json and
// samples_<task>_<date>.jsonl under <output_path>/<model_sanitized>/.

const fixtureDir = "testdata/lmeval/model-x"

func TestParseResultsGSM8K(t *testing.T) {
	t.Parallel()
	rf, err := ReadResults(filepath.Join(fixtureDir, "results_2026-02-09T10-11-12.345678.json"))
	require.NoError(t, err)
	rec, err := rf.Record("gsm8k")
	require.NoError(t, err)
	checkMeasure(t, "strict", rec.Strict, 0.6, 0.24494897427831783)
	checkMeasure(t, "flexible", rec.Flexible, 0.8, 0.19999999999999998)
	assert.Nil(t, rec.Accuracy, "accuracy")
	assert.Equal(t, 5, rec.N)
	assert.Equal(t, 1319, rec.NOriginal)
	assert.Equal(t, 2, rec.NumFewshot)
	assert.Equal(t, "acme/model-x", rec.Model)
	assert.Equal(t, "0.4.9.1", rec.Harness)
	assert.Equal(t, "exact_match", rec.Metric)
	v, name, se := rec.Score()
	require.NotNil(t, v, "score")
	assert.Equal(t, 0.6, *v, "score")
	assert.Equal(t, "em_strict", name, "score")
	assert.NotNil(t, se, "score")
	_, err = rf.Record("mmlu")
	assert.Error(t, err, "a task that is not in the file gave no error")
}

func TestParseResultsMixedTasks(t *testing.T) {
	t.Parallel()
	rf, err := ReadResults("testdata/lmeval/mixed/results_2026-02-10T08-00-00.000001.json")
	require.NoError(t, err)
	got := rf.Tasks()
	require.Len(t, got, 3, "tasks")
	require.Equal(t, "gsm8k", got[0], "tasks")
	require.Equal(t, "gpqa_diamond_cot_n_shot", got[1], "tasks")
	require.Equal(t, "arc_easy", got[2], "tasks")
	// one document: the harness writes "N/A" for the stderr.
	gsm, _ := rf.Record("gsm8k")
	require.NotNil(t, gsm.Strict, "gsm8k")
	assert.Equal(t, float64(1), gsm.Strict.Value, "gsm8k")
	assert.Nil(t, gsm.Strict.Stderr, "gsm8k")
	assert.Equal(t, 1, gsm.N, "gsm8k")
	// gpqa has only extract_abcd: flexible, no strict, no accuracy, so no score.
	gpqa, _ := rf.Record("gpqa_diamond_cot_n_shot")
	checkMeasure(t, "gpqa flexible", gpqa.Flexible, 0.25, 0.0309)
	assert.Nil(t, gpqa.Strict)
	assert.Nil(t, gpqa.Accuracy)
	v, _, _ := gpqa.Score()
	assert.Nil(t, v, "gpqa score")
	assert.Equal(t, "acme/from-metadata", gpqa.Model, "gpqa model")
	// no filters: acc/acc_stderr become accuracy and the score.
	arc, _ := rf.Record("arc_easy")
	checkMeasure(t, "arc accuracy", arc.Accuracy, 0.75, 0.0125)
	v, name, _ := arc.Score()
	require.NotNil(t, v, "arc score")
	assert.Equal(t, 0.75, *v, "arc score")
	assert.Equal(t, "accuracy", name, "arc score")
}

func TestParseResultsRejectsGarbage(t *testing.T) {
	t.Parallel()
	for name, data := range map[string]string{
		"not json":   "{",
		"no results": `{"lm_eval_version": "0.4.9"}`,
		"array":      `[1,2]`,
	} {
		_, err := ParseResults(name, []byte(data))
		assert.Error(t, err, "%s: no error", name)
	}
}

func TestParseSamplesAndRescore(t *testing.T) {
	t.Parallel()
	lines, err := ReadSamples(filepath.Join(fixtureDir, "samples_gsm8k_2026-02-09T10-11-12.345678.jsonl"))
	require.NoError(t, err)
	require.Len(t, lines, 10, "%d lines, want 10 (5 documents x 2 filters)", len(lines))
	first := lines[0]
	assert.Equal(t, 0, first.DocID, "first line")
	assert.Equal(t, FilterStrict, first.Filter, "first line")
	assert.Equal(t, "18", first.Filtered(), "first line")
	require.NotNil(t, first.ExactMatch, "first line")
	assert.Equal(t, float64(1), *first.ExactMatch, "first line")
	rep := Rescore(lines)
	assert.Equal(t, 10, rep.Checked, "rescore")
	assert.Empty(t, rep.Disagreements, "rescore")
	// the re-scored aggregate equals what the harness wrote into the results file.
	checkMeasure(t, "rescored strict", rep.Strict, 0.6, 0.24494897427831783)
	checkMeasure(t, "rescored flexible", rep.Flexible, 0.8, 0.19999999999999998)

	merged := SamplesFromHarness(lines)
	require.Len(t, merged, 5, "%d merged samples, want 5", len(merged))
	m := merged[4]
	assert.Equal(t, invalidAnswer, m.Strict, "doc 4 merged")
	assert.False(t, m.StrictOK, "doc 4 merged %+v", m)
	assert.Equal(t, "$20", m.Flexible, "doc 4 merged")
	assert.True(t, m.FlexibleOK, "doc 4 merged %+v", m)
	assert.Equal(t, "20", m.Doc.TargetNumber(), "doc 4 merged")
	assert.NotEmpty(t, m.Prompt, "doc 4 prompt/response not carried")
	assert.Equal(t, "The answer is #### $20", m.Response, "doc 4 prompt/response not carried")
}

func TestRescoreFlagsDisagreement(t *testing.T) {
	t.Parallel()
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
	require.Equal(t, 2, rep.Checked)
	require.Len(t, rep.Disagreements, 1)
	d := rep.Disagreements[0]
	assert.Equal(t, FilterFlexible, d.Filter, "disagreement")
	assert.Equal(t, "8", d.OurAnswer, "disagreement")
	assert.False(t, d.OurMatch, "disagreement %+v", d)
	assert.True(t, d.HarnessMatch, "disagreement %+v", d)
}

func TestParseSamplesCollectsBadLines(t *testing.T) {
	t.Parallel()
	_, err := ParseSamples("s.jsonl", []byte("{\"doc_id\": 1}\nnot json\n\n{\"doc_id\": \"x\"}\n"))
	require.Error(t, err, "no error")
	for _, want := range []string{"s.jsonl:2", "s.jsonl:4"} {
		assert.True(t, contains(err.Error(), want), "error %q does not name %s", err, want)
	}
}

func checkMeasure(t *testing.T, what string, m *Measure, v, se float64) {
	t.Helper()
	if !assert.NotNil(t, m, "%s: missing", what) {
		return
	}
	assert.InDelta(t, v, m.Value, 1e-12, "%s", what)
	require.NotNil(t, m.Stderr, "%s", what)
	assert.InDelta(t, se, *m.Stderr, 1e-12, "%s", what)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
