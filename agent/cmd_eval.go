package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"time"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/eval"
	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/rowrun"
)

// cmdEval runs the built-in accuracy eval against an endpoint, or re-scores a harness's
// samples file with the built-in scorer.
func cmdEval(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("agent eval", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, `usage: agent eval --base-url URL --model NAME [flags]
       agent eval --rescore samples_gsm8k_<date>.jsonl

Runs gsm8k against an OpenAI-compatible chat endpoint without Python: a small gsm8k-style set
embedded in the agent, the 2-shot prompt and the strict-match / flexible-extract scoring of
lm-evaluation-harness. Writes meta_env.json, results_<date>.json and samples_gsm8k_<date>.jsonl
(the reference's eval artifact names) into --result-dir. The row's configuration for
meta_env.json comes from the reference's environment (FRAMEWORK, PRECISION, SPEC_DECODING, TP,
EP_SIZE, DP_ATTENTION, RUNNER_TYPE, ISL, OSL, RESULT_FILENAME).

--rescore re-scores a samples file written by lm-evaluation-harness and lists where the
built-in scorer and the harness disagree.

Exit status: 0 done (and at or above the threshold), 1 below the threshold or scorer
disagreement, 2 usage error, 3 the endpoint could not be reached, 4 other.

flags:`)
		fs.PrintDefaults()
	}
	opts := eval.Options{}
	fs.StringVar(&opts.BaseURL, "base-url", "", "server root, its /v1 base or the chat-completions URL")
	fs.StringVar(&opts.Model, "model", firstSet(e.getenv("MODEL_NAME"), e.getenv("MODEL")), "served model name (default $MODEL_NAME, else $MODEL)")
	fs.StringVar(&opts.Task, "task", firstSet(e.getenv("EVAL_TASK"), eval.TaskGSM8K), "eval task (default $EVAL_TASK, else gsm8k)")
	fs.IntVar(&opts.Limit, "limit", 0, "evaluate only the first N documents (0: all)")
	fs.IntVar(&opts.Concurrency, "concurrency", envInt(e.getenv, "CONC", 1), "requests in flight (default $CONC, else 1)")
	fs.IntVar(&opts.NumFewshot, "num-fewshot", envInt(e.getenv, "NUM_FEWSHOT", 2), "few-shot examples per question (default $NUM_FEWSHOT, else 2)")
	fs.IntVar(&opts.Gen.MaxTokens, "max-tokens", 8192, "max_tokens of each request")
	fs.DurationVar(&opts.RequestTimeout, "request-timeout", 600*time.Second, "bound on one request")
	retries := fs.Int("retries", 3, "retries of a request after a connection error or a 5xx answer")
	apiKey := fs.String("api-key-env", "OPENAI_API_KEY", "environment variable holding the API key (sent as a bearer token when set)")
	dir := fs.String("result-dir", firstSet(e.getenv("EVAL_RESULT_DIR"), "."), "directory for the eval artifacts (default $EVAL_RESULT_DIR, else .)")
	thresholds := fs.String("thresholds", "", "minimum scores file (configs/eval-thresholds.yaml); a score below its minimum exits 1")
	rescore := fs.String("rescore", "", "re-score this lm-eval samples file instead of running an eval")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "agent eval: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	if *rescore != "" {
		return rescoreSamples(e, *rescore)
	}
	opts.Gen.TopP = 1
	opts.Retries = *retries
	if *retries == 0 {
		opts.Retries = -1 // Options reads 0 as "the default"
	}
	opts.APIKey = e.getenv(*apiKey)
	if err := opts.Check(); err != nil {
		fmt.Fprintf(e.stderr, "agent eval: %v\n", err)
		return exitUsage
	}
	th, err := loadThresholds(*thresholds)
	if err != nil {
		fmt.Fprintf(e.stderr, "agent eval: thresholds:\n%v\n", err)
		return exitUsage
	}
	meta, err := eval.MetaFromEnv(e.getenv)
	if err != nil {
		fmt.Fprintf(e.stderr, "agent eval: %v\n", err)
		return exitUsage
	}
	meta.Model, meta.Conc = opts.Model, opts.Concurrency
	nshot := opts.NumFewshot
	ph := &eval.Phase{Thresholds: th}
	res, err := ph.Run(ctx, eval.PhaseRequest{
		Task: opts.Task, BaseURL: opts.BaseURL, Model: opts.Model, APIKey: opts.APIKey, Conc: opts.Concurrency,
		NumFewshot: &nshot, Limit: opts.Limit, Retries: opts.Retries, Meta: meta, ResultDir: *dir,
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "agent eval: %v\n", err)
		if ctx.Err() != nil {
			return exitInternal
		}
		return exitEngine
	}
	printOutcome(e.stdout, res)
	for _, w := range res.Warnings {
		fmt.Fprintf(e.stderr, "agent eval: warning: %s\n", w)
	}
	if !res.Verdict.Passed {
		fmt.Fprintf(e.stderr, "agent eval: %s\n", res.Verdict.Message)
		return exitBenchFail
	}
	return exitOK
}

func printOutcome(w io.Writer, res *eval.PhaseResult) {
	r := res.Row
	fmt.Fprintf(w, "%s: em_strict %s, em_flexible %s, n=%d", r.Task, fmtScore(r.EMStrict, r.EMStrictSE), fmtScore(r.EMFlexible, r.EMFlexibleSE), res.Record.N)
	if res.Record.Failed > 0 {
		fmt.Fprintf(w, " (%d requests failed)", res.Record.Failed)
	}
	fmt.Fprintln(w)
	if res.Verdict.HasMin {
		fmt.Fprintln(w, res.Verdict.Message)
	}
	for _, f := range res.Files {
		fmt.Fprintf(w, "wrote %s\n", f)
	}
}

func fmtScore(v, se *float64) string {
	if v == nil {
		return "n/a"
	}
	if se == nil {
		return strconv.FormatFloat(*v, 'f', 4, 64)
	}
	return fmt.Sprintf("%.4f ±%.4f", *v, *se)
}

func rescoreSamples(e env, path string) int {
	lines, err := eval.ReadSamples(path)
	if err != nil {
		fmt.Fprintf(e.stderr, "agent eval: %v\n", err)
		return exitUsage
	}
	rep := eval.Rescore(lines)
	fmt.Fprintf(e.stdout, "re-scored %d sample lines: strict %s, flexible %s, %d disagreements\n",
		rep.Checked, measureString(rep.Strict), measureString(rep.Flexible), len(rep.Disagreements))
	for _, d := range rep.Disagreements {
		fmt.Fprintf(e.stdout, "doc %d %s: harness %q (match %t), built-in %q (match %t)\n",
			d.DocID, d.Filter, d.HarnessAnswer, d.HarnessMatch, d.OurAnswer, d.OurMatch)
	}
	if len(rep.Disagreements) > 0 {
		return exitBenchFail
	}
	return exitOK
}

func measureString(m *eval.Measure) string {
	if m == nil {
		return "n/a"
	}
	return fmtScore(&m.Value, m.Stderr)
}

func loadThresholds(path string) (*eval.Thresholds, error) {
	if path == "" {
		return nil, nil
	}
	return eval.LoadThresholds(path)
}

func envInt(getenv func(string) string, name string, def int) int {
	if n, err := strconv.Atoi(getenv(name)); err == nil {
		return n
	}
	return def
}

func firstSet(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// rowEvaluator adapts eval.Phase to rowrun.Evaluator: `agent run` hands it the running
// server after the throughput points of a row with run-eval. The artifacts go to
// <out>/eval_<exp>_<stem>/, the reference's artifact name, so a downloaded tree of artifacts
// is what `agent collect` (eval.Collect) reads. A score below its threshold returns the row
// and an error, which marks the point eval_failed.
type rowEvaluator struct {
	phase  *eval.Phase
	apiKey string
	log    io.Writer // warnings (install failures, scorer disagreements)
}

// newRowEvaluator loads configs/eval-harness.yaml and configs/eval-thresholds.yaml.
// mode overrides the file's mode when set ("builtin" on runners without Python).
func newRowEvaluator(configPath, thresholdsPath, mode string, exec execx.Executor, getenv func(string) string, log io.Writer) (*rowEvaluator, error) {
	cfg, err := eval.LoadEvalConfig(configPath)
	if err != nil {
		return nil, err
	}
	if mode != "" {
		cfg.Mode = mode
	}
	th, err := loadThresholds(thresholdsPath)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = io.Discard
	}
	return &rowEvaluator{phase: &eval.Phase{Config: cfg, Thresholds: th, Exec: exec}, apiKey: getenv("OPENAI_API_KEY"), log: log}, nil
}

var _ rowrun.Evaluator = (*rowEvaluator)(nil)

// inContainer reports whether the recipe asks for the harness inside the engine's container.
func (r *rowEvaluator) inContainer() bool {
	c := r.phase.Config
	return c != nil && c.Mode == eval.ModeHarness && c.Harness.Placement == eval.PlacementContainer
}

// execFunc adapts the engine backend's Exec to the eval package's.
func execFunc(ex func(context.Context, []string, []string) (engine.ExecResult, error)) eval.ExecFunc {
	return func(ctx context.Context, argv, env []string) ([]byte, []byte, int, error) {
		res, err := ex(ctx, argv, env)
		return res.Stdout, res.Stderr, res.ExitCode, err
	}
}

// Eval implements rowrun.Evaluator.
func (r *rowEvaluator) Eval(ctx context.Context, t rowrun.EvalTarget) (*result.EvalRow, error) {
	meta := result.MetaEnv{
		Framework: t.Row.Framework, Precision: t.Row.Precision, SpecDecoding: t.Row.SpecDecoding,
		TP: t.Row.TP, Conc: t.Conc, EP: t.Row.EP, DPAttention: t.Row.DPAttn, Model: t.Model,
		HW: firstSet(t.HW, t.Row.Runner, "unknown"), ISL: strconv.Itoa(t.Row.ISL), OSL: strconv.Itoa(t.Row.OSL),
	}
	dir := filepath.Join(t.OutDir, result.EvalArtifact(t.Row.ExpName, t.Stem))
	work, err := os.MkdirTemp(t.OutDir, "eval_work-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	req := eval.PhaseRequest{
		BaseURL: t.BaseURL, Model: t.Model, APIKey: r.apiKey, Conc: t.Conc, Meta: meta,
		ResultDir: dir, WorkDir: work,
	}
	if r.inContainer() && t.Exec != nil {
		// The work directory (task file, launcher, harness output) is under OutDir, which
		// the backend mounts where the engine runs: the harness writes there, we read here.
		rel, err := filepath.Rel(t.OutDir, work)
		if err != nil {
			return nil, err
		}
		if t.ExecOutDir != "" {
			req.ContainerWorkDir = path.Join(t.ExecOutDir, filepath.ToSlash(rel))
		} else if req.ContainerWorkDir, err = filepath.Abs(work); err != nil {
			// the command's working directory is the server's, not ours: no relative paths
			return nil, err
		}
		req.Exec = execFunc(t.Exec)
		fmt.Fprintf(r.log, "eval: running the harness inside the engine's environment (work dir %s there)\n", firstSet(req.ContainerWorkDir, work))
	}
	res, err := r.phase.Run(ctx, req)
	if res != nil {
		for _, w := range res.Warnings {
			fmt.Fprintf(r.log, "eval: warning: %s\n", w)
		}
	}
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(r.log, "eval: %s\n", res.Verdict.Message)
	if !res.Verdict.Passed {
		return &res.Row, errors.New(res.Verdict.Message)
	}
	return &res.Row, nil
}
