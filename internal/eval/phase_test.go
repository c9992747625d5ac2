package eval

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inferbench/inferbench/internal/result"
)

func TestPhaseHarnessModeBelowThreshold(t *testing.T) {
	cfg := loadRepoEvalConfig(t)
	th, err := LoadThresholds(filepath.Join(configsDir, "eval-thresholds.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	ph := &Phase{Config: cfg, Thresholds: th, Runner: fakeHarness(t, 0, true)}
	res, err := ph.Run(context.Background(), PhaseRequest{
		BaseURL: "http://127.0.0.1:8888", Model: "acme/model-x", Conc: 64, ResultDir: out,
		Meta: result.MetaEnv{Framework: "vllm", Precision: "fp4", TP: 8, Conc: 64, EP: 1, Model: "acme/model-x", HW: "h100-cr"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict.Passed || !strings.Contains(res.Verdict.Message, "score 0.6000 is below the minimum 0.8500") {
		t.Errorf("verdict %+v", res.Verdict)
	}
	if *res.Row.Passed || *res.Row.Threshold != 0.85 || *res.Row.EMFlexible != 0.8 || res.Row.Source != filepath.Join(out, "results_2026-02-09T10-11-12.345678.json") {
		t.Errorf("row %+v", res.Row)
	}
	if len(res.Files) != 4 || res.Rescore == nil || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "next to it") {
		t.Errorf("files %v rescore %+v warnings %v", res.Files, res.Rescore, res.Warnings)
	}
	if _, err := (&Phase{Config: cfg}).Run(context.Background(), PhaseRequest{ResultDir: out}); err == nil {
		t.Error("harness mode without a runner gave no error")
	}
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
	if err != nil {
		t.Fatal(err)
	}
	if !res.Verdict.Passed || res.Verdict.HasMin || res.Row.Passed == nil || !*res.Row.Passed || res.Row.Threshold != nil {
		t.Errorf("no thresholds: verdict %+v row %+v", res.Verdict, res.Row)
	}
	want := []string{MetaEnvFile, "results_2026-02-09T10-11-12.345678.json", "samples_gsm8k_2026-02-09T10-11-12.345678.jsonl"}
	for i, f := range res.Files {
		if filepath.Base(f) != want[i] {
			t.Errorf("file %d = %s, want %s", i, f, want[i])
		}
	}
	// the results file reads back as the same record
	rf, err := ReadResults(res.Files[1])
	if err != nil {
		t.Fatal(err)
	}
	back, _ := rf.Record("gsm8k")
	if back.N != 5 || back.Strict.Value != 1 || back.Strict.Stderr == nil || *back.Strict.Stderr != 0 || back.Harness != BuiltinHarness || back.NumFewshot != 2 {
		t.Errorf("read back %+v", back)
	}
}
