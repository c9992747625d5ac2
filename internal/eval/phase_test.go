package eval

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/result"
)

func TestPhaseHarnessModeBelowThreshold(t *testing.T) {
	cfg := loadRepoEvalConfig(t)
	th, err := LoadThresholds(filepath.Join(configsDir, "eval-thresholds.yaml"))
	require.NoError(t, err)
	out := t.TempDir()
	ph := &Phase{Config: cfg, Thresholds: th, Exec: fakeHarness(t, 0, true)}
	res, err := ph.Run(context.Background(), PhaseRequest{
		BaseURL: "http://127.0.0.1:8888", Model: "acme/model-x", Conc: 64, ResultDir: out,
		Meta: result.MetaEnv{Framework: "vllm", Precision: "fp4", TP: 8, Conc: 64, EP: 1, Model: "acme/model-x", HW: "h100-cr"},
	})
	require.NoError(t, err)
	assert.False(t, res.Verdict.Passed, "verdict")
	assert.Contains(t, res.Verdict.Message, "score 0.6000 is below the minimum 0.8500")
	assert.False(t, *res.Row.Passed, "row")
	assert.Equal(t, 0.85, *res.Row.Threshold)
	assert.Equal(t, 0.8, *res.Row.EMFlexible)
	assert.Equal(t, filepath.Join(out, "results_2026-02-09T10-11-12.345678.json"), res.Row.Source)
	assert.Len(t, res.Files, 4)
	assert.NotNil(t, res.Rescore)
	require.Len(t, res.Warnings, 1)
	assert.Contains(t, res.Warnings[0], "next to it")
	_, err = (&Phase{Config: cfg}).Run(context.Background(), PhaseRequest{ResultDir: out})
	assert.Error(t, err, "harness mode without a runner gave no error")
}

func TestPhaseBuiltinMode(t *testing.T) {
	ds, _ := BuiltinDataset(TaskGSM8K)
	ts := httptest.NewServer(&scriptServer{answer: answerFrom(ds, func(int) bool { return false })})
	defer ts.Close()
	clock := time.Date(2026, 2, 9, 10, 11, 12, 345678000, time.UTC)
	out := t.TempDir()
	ph := &Phase{Now: func() time.Time { return clock }}
	res, err := ph.Run(context.Background(), PhaseRequest{BaseURL: ts.URL, Model: "m", Conc: 3, Limit: 5, ResultDir: out,
		Meta: result.MetaEnv{HW: "b200", TP: 1, EP: 1, Conc: 3, Model: "m"}})
	require.NoError(t, err)
	assert.True(t, res.Verdict.Passed, "no thresholds: verdict")
	assert.False(t, res.Verdict.HasMin, "no thresholds: verdict")
	require.NotNil(t, res.Row.Passed, "no thresholds")
	assert.True(t, *res.Row.Passed, "no thresholds: verdict")
	assert.Nil(t, res.Row.Threshold, "no thresholds")
	want := []string{MetaEnvFile, "results_2026-02-09T10-11-12.345678.json", "samples_gsm8k_2026-02-09T10-11-12.345678.jsonl"}
	for i, f := range res.Files {
		assert.Equal(t, want[i], filepath.Base(f))
	}
	// the results file reads back as the same record
	rf, err := ReadResults(res.Files[1])
	require.NoError(t, err)
	back, _ := rf.Record("gsm8k")
	assert.Equal(t, 5, back.N, "read")
	assert.Equal(t, float64(1), back.Strict.Value, "read")
	require.NotNil(t, back.Strict.Stderr, "read")
	assert.Equal(t, float64(0), *back.Strict.Stderr, "read")
	assert.Equal(t, BuiltinHarness, back.Harness, "read")
	assert.Equal(t, 2, back.NumFewshot, "read")
}
