package eval

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/result"
)

// Phase runs the eval step of a row with run-eval: true, after its throughput points and
// against the same server. The runner builds one from configs and calls Run; it then sets
// the manifest's status to eval_failed when Run errs or the verdict did not pass, and puts
// PhaseResult.Row into the manifest's eval field.
type Phase struct {
	Config     *EvalConfig // nil means the built-in runner
	Thresholds *Thresholds // nil means no minimum
	Exec       execx.Executor
	Now        func() time.Time
	HTTPClient *http.Client // built-in mode; nil builds one
}

// PhaseRequest is one row's eval.
type PhaseRequest struct {
	Task string // empty: gsm8k
	// BaseURL is the server as this agent reaches it (built-in mode); HarnessBaseURL as the
	// harness reaches it (inside the container, typically http://0.0.0.0:<port>), defaulting
	// to BaseURL.
	BaseURL, HarnessBaseURL string
	Model, APIKey           string
	Conc                    int
	NumFewshot              *int // nil: the task's (2 for gsm8k)
	Limit                   int
	Retries                 int // built-in mode: see Options.Retries
	Meta                    result.MetaEnv
	// ResultDir receives the artifacts (meta_env.json, results_*.json, samples_*.jsonl).
	ResultDir string
	// WorkDir, ContainerWorkDir and ExecPrefix: see HarnessOptions (harness mode only).
	WorkDir, ContainerWorkDir string
	ExecPrefix                []string
	// Exec runs the harness (install steps and command) where the engine runs, for
	// placement container; nil runs it with Phase.Exec (and ExecPrefix). WorkDir must then
	// be visible there as ContainerWorkDir (a directory under the mounted workspace).
	Exec execx.Executor
}

// PhaseResult is the eval's outcome.
type PhaseResult struct {
	Record  *Record
	Row     result.EvalRow
	Verdict Verdict
	Files   []string
	Rescore *RescoreReport
	// Warnings are non-fatal (install failures, scorer disagreements with the harness).
	Warnings []string
}

// Run performs the eval, writes its artifacts and checks the threshold. An error means the
// eval itself broke (the row is eval_failed with that message); a low score is not an
// error but a Verdict with Passed false.
func (p *Phase) Run(ctx context.Context, req PhaseRequest) (*PhaseResult, error) {
	if req.Task == "" {
		req.Task = TaskGSM8K
	}
	now := p.Now
	if now == nil {
		now = time.Now
	}
	var out PhaseResult
	var err error
	if p.Config == nil || p.Config.Mode == ModeBuiltin {
		err = p.runBuiltin(ctx, req, now, &out)
	} else {
		err = p.runHarness(ctx, req, &out)
	}
	if err != nil {
		return &out, err
	}
	out.Row = Row(req.Meta, out.Record)
	out.Verdict = p.Thresholds.Check(out.Row.Model, out.Row.Task, GatedScore(out.Row))
	out.Row.Threshold, out.Row.Passed = out.Verdict.MinPtr(), &out.Verdict.Passed
	return &out, nil
}

func (p *Phase) runBuiltin(ctx context.Context, req PhaseRequest, now func() time.Time, out *PhaseResult) error {
	nshot := defaultNumFewshot
	if req.NumFewshot != nil {
		nshot = *req.NumFewshot
	}
	opts := Options{BaseURL: req.BaseURL, Model: req.Model, APIKey: req.APIKey, Task: req.Task,
		NumFewshot: nshot, Limit: req.Limit, Concurrency: req.Conc, Retries: req.Retries, HTTPClient: p.HTTPClient}
	start := now()
	rec, err := Run(ctx, opts)
	if err != nil {
		return fmt.Errorf("built-in eval: %w", err)
	}
	opts.defaults()
	files, err := WriteArtifacts(req.ResultDir, req.Meta, rec, ArtifactInfo{
		BaseURL: req.BaseURL, Concurrency: opts.Concurrency, Limit: req.Limit, Gen: opts.Gen, Start: start, End: now(),
	})
	if err != nil {
		return fmt.Errorf("writing eval artifacts: %w", err)
	}
	out.Record, out.Files = rec, files
	if rec.Failed > 0 {
		out.Warnings = append(out.Warnings, fmt.Sprintf("%d of %d eval requests failed and count as wrong answers", rec.Failed, rec.N))
	}
	return nil
}

func (p *Phase) runHarness(ctx context.Context, req PhaseRequest, out *PhaseResult) error {
	runner := p.Exec
	if req.Exec != nil {
		runner = req.Exec
	}
	if runner == nil {
		return fmt.Errorf("harness mode needs a process runner")
	}
	if p.Config.Harness.Placement == PlacementContainer && req.Exec == nil && len(req.ExecPrefix) == 0 {
		out.Warnings = append(out.Warnings, "placement is container but the backend gave no way to run a command in the engine's container: running lm-eval next to it")
	}
	wd := req.WorkDir
	if wd == "" {
		wd = filepath.Join(req.ResultDir, "lm_eval_work")
	}
	hr, err := p.Config.RunHarness(ctx, runner, HarnessOptions{
		Task: req.Task, BaseURL: firstNonEmpty(req.HarnessBaseURL, req.BaseURL), Model: req.Model, APIKey: req.APIKey,
		Conc: req.Conc, NumFewshot: req.NumFewshot, Limit: req.Limit,
		WorkDir: wd, ContainerWorkDir: req.ContainerWorkDir, ExecPrefix: req.ExecPrefix, PassEnv: req.Exec != nil,
	})
	if hr != nil {
		out.Warnings = append(out.Warnings, hr.Warnings...)
	}
	if err != nil {
		return err
	}
	files, err := CopyHarnessArtifacts(req.ResultDir, req.Meta, hr)
	if err != nil {
		return fmt.Errorf("writing eval artifacts: %w", err)
	}
	out.Record, out.Files, out.Rescore = hr.Record, files, hr.Rescore
	out.Record.Source = filepath.Join(req.ResultDir, filepath.Base(hr.ResultsPath))
	if hr.Rescore != nil && len(hr.Rescore.Disagreements) > 0 {
		d := hr.Rescore.Disagreements[0]
		out.Warnings = append(out.Warnings, fmt.Sprintf(
			"the built-in scorer disagrees with the harness on %d of %d samples (first: doc %d %s: harness %q, built-in %q)",
			len(hr.Rescore.Disagreements), hr.Rescore.Checked, d.DocID, d.Filter, d.HarnessAnswer, d.OurAnswer))
	}
	return nil
}
