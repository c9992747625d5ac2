package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/inferbench/inferbench/internal/eval"
	"github.com/inferbench/inferbench/internal/ghactions"
	"github.com/inferbench/inferbench/internal/report"
	"github.com/inferbench/inferbench/internal/result"
)

// cmdReport writes the self-contained HTML report of a sweep directory.
func cmdReport(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "report", "DIR [-o report.html]", "Write one self-contained HTML file with charts and tables for the results under DIR.")
	out := fs.String("o", "report.html", "output `file`")
	title := fs.String("title", "", "report title (default: \"Inference benchmark report\")")
	var input sweepInput
	input.register(fs)
	ls, code := input.load(e, fs, args)
	if code >= 0 {
		return code
	}
	sweep, recs, evals := ls.sweep, ls.records, ls.evals
	in := report.HTMLInput{
		Evals: evals,
		Title: *title, Generated: time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Records: recs, Statuses: sweep.Statuses, Problems: sweep.Problems,
		Summary: fmt.Sprintf("%d results from %s (%s)", len(recs), ls.dir, sweep.SummaryLine()),
	}
	if err := writeFileAtomic(*out, func(w io.Writer) error { return report.WriteHTML(w, in) }); err != nil {
		fmt.Fprintf(e.stderr, "agent report: %v\n", err)
		return exitInternal
	}
	abs, _ := filepath.Abs(*out)
	fmt.Fprintf(e.stdout, "report: %s (%d results)\n", abs, len(recs))
	return problemsExit(e, "report", sweep)
}

// ---- shared by collect, compare and report ------------------------------------------

func newFlagSet(e env, name, argsUsage, what string) *flag.FlagSet {
	fs := flag.NewFlagSet("agent "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: agent %s [flags] %s\n\n%s\n\nflags:\n", name, argsUsage, what)
		fs.PrintDefaults()
	}
	return fs
}

// parseDirArgs parses flags (which may also follow the positional arguments) and returns
// exactly n positional arguments, or an exit code >= 0.
func parseDirArgs(e env, fs *flag.FlagSet, args []string, n int) ([]string, int) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK
			}
			return nil, exitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != n {
		fmt.Fprintf(e.stderr, "%s: want %d directory argument(s), got %d\n", fs.Name(), n, len(pos))
		fs.Usage()
		return nil, exitUsage
	}
	return pos, -1
}

// csvFlag collects comma-separated values, repeatable: --hw b200,h200 --hw mi355x.
type csvFlag []string

func (c *csvFlag) String() string { return strings.Join(*c, ",") }

func (c *csvFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*c = append(*c, v)
		}
	}
	return nil
}

// filterFlags are the selections users used to write as jq filters.
type filterFlags struct {
	hw, fw, prec, prefix csvFlag
	isl, osl             int
	best                 bool
}

func (f *filterFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.hw, "hw", "keep only these runner types or GPU SKUs (comma-separated; b200 also matches b200-trt)")
	fs.Var(&f.fw, "framework", "keep only these frameworks (comma-separated)")
	fs.Var(&f.prec, "precision", "keep only these precisions (comma-separated)")
	fs.Var(&f.prefix, "model-prefix", "keep only these model prefixes, e.g. dsr1,gptoss")
	fs.IntVar(&f.isl, "isl", 0, "keep only this input sequence length")
	fs.IntVar(&f.osl, "osl", 0, "keep only this output sequence length")
	fs.BoolVar(&f.best, "best", false, "keep only the best configuration (highest throughput per GPU) per model, hardware, framework, precision, seq-len and concurrency")
}

func (f *filterFlags) filter() report.Filter {
	return report.Filter{HW: f.hw, Framework: f.fw, Precision: f.prec, ModelPrefix: f.prefix,
		ISL: f.isl, OSL: f.osl, Best: f.best}
}

// scanSweep reads a sweep directory and prints its problems; an exit code >= 0 means stop.
func scanSweep(e env, dir string) (*report.Sweep, int) {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		fmt.Fprintf(e.stderr, "agent: %s is not a readable directory: point it at the downloaded artifacts of a sweep\n", dir)
		return nil, exitUsage
	}
	sweep, err := report.Scan(os.DirFS(dir), ".")
	if err != nil {
		fmt.Fprintf(e.stderr, "agent: read %s: %v\n", dir, err)
		return nil, exitInternal
	}
	for _, p := range sweep.Problems {
		fmt.Fprintf(e.stderr, "warning: %s: %s\n", filepath.Join(dir, p.Path), p.Msg)
	}
	return sweep, -1
}

// evalThresholdsFlag registers --eval-thresholds on collect and report.
func evalThresholdsFlag(fs *flag.FlagSet) *string {
	return fs.String("eval-thresholds", "", "minimum eval scores (configs/eval-thresholds.yaml) to judge the eval rows by; "+
		"default: the verdict `agent run` wrote in each point's status record")
}

// loadEvalThresholds reads --eval-thresholds when given; an exit code >= 0 means stop.
func loadEvalThresholds(e env, path string) (*eval.Thresholds, int) {
	if path == "" {
		return nil, -1
	}
	th, err := eval.LoadThresholds(path)
	if err != nil {
		fmt.Fprintf(e.stderr, "agent: eval thresholds:\n%v\n", err)
		return nil, exitUsage
	}
	return th, -1
}

// collectEvals reads the eval sets under dir (internal/eval does the reference's
// selection, docs/evals.md#collection) and keeps the rows the filter selects; sets that cannot be read become
// problems of the sweep. Rows not judged by th take the verdict (threshold, passed) the
// run recorded in the status record of their point, so agg_eval_all.json says which evals
// failed without the thresholds file at hand.
func collectEvals(e env, dir string, sweep *report.Sweep, flt report.Filter, th *eval.Thresholds) []result.EvalRow {
	rows, err := eval.Collect(dir, th)
	if err != nil {
		// One line per eval set that could not be read; the other sets still give rows.
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(e.stderr, "warning: eval: %s\n", line)
			sweep.Problems = append(sweep.Problems, report.Problem{Path: "eval", Msg: line})
		}
	}
	verdicts := evalVerdicts(sweep.Statuses)
	for i, r := range rows {
		if r.Passed != nil {
			continue
		}
		if v := verdictFor(verdicts, filepath.Base(filepath.Dir(r.Source))); v != nil {
			rows[i].Threshold, rows[i].Passed = v.Threshold, v.Passed
		}
	}
	return slices.DeleteFunc(rows, func(r result.EvalRow) bool {
		prefix, isl, osl := evalWorkload(filepath.Dir(r.Source))
		return !flt.MatchEval(r.HW, r.Framework, r.Precision, prefix, isl, osl)
	})
}

// evalVerdicts maps result stems to the eval row of their latest status record.
func evalVerdicts(statuses []report.Status) map[string]report.Status {
	out := map[string]report.Status{}
	for _, st := range statuses {
		if st.Eval == nil || st.ResultFilename == "" {
			continue
		}
		if prev, ok := out[st.ResultFilename]; !ok || st.Started.After(prev.Started) {
			out[st.ResultFilename] = st
		}
	}
	return out
}

// verdictFor finds the status of an eval set directory, named eval_<exp>_<stem> by the
// reference's upload step.
func verdictFor(verdicts map[string]report.Status, set string) *result.EvalRow {
	if !strings.HasPrefix(set, "eval_") {
		return nil
	}
	for stem, st := range verdicts {
		if strings.HasSuffix(set, "_"+stem) {
			return st.Eval
		}
	}
	return nil
}

// evalWorkload is the model prefix (from the set's directory name, eval_<prefix>_<seq>_...)
// and the sequence lengths (from its meta_env.json) of an eval set; zero values when unknown.
func evalWorkload(set string) (prefix string, isl, osl int) {
	name := strings.TrimPrefix(filepath.Base(set), "eval_")
	if i := strings.IndexByte(name, '_'); i > 0 && name != filepath.Base(set) {
		prefix = name[:i]
	}
	b, err := os.ReadFile(filepath.Join(set, eval.MetaEnvFile))
	if err != nil {
		return prefix, 0, 0
	}
	var m result.MetaEnv
	if json.Unmarshal(b, &m) == nil {
		isl, _ = strconv.Atoi(m.ISL)
		osl, _ = strconv.Atoi(m.OSL)
	}
	return prefix, isl, osl
}

// problemsExit turns unreadable files into a failing exit status (after all outputs are
// written), so a workflow notices a sweep that lost results.
func problemsExit(e env, cmd string, s *report.Sweep) int {
	if len(s.Problems) == 0 {
		return exitOK
	}
	fmt.Fprintf(e.stderr, "agent %s: %d file(s) could not be read (listed above); the outputs leave them out\n", cmd, len(s.Problems))
	return exitBenchFail
}

// writeFileAtomic writes through a temporary file in the same directory, so a reader never
// sees half a report.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// appendStepSummary adds markdown to the job's step summary when $GITHUB_STEP_SUMMARY is
// set, and does nothing otherwise.
func appendStepSummary(e env, md string) error {
	return ghactions.New(e.getenv, e.stderr).AddStepSummary(md)
}

// sweepInput is what collect and report read: one sweep directory, narrowed by the filter
// flags, with eval rows judged against the thresholds flag.
type sweepInput struct {
	filter     filterFlags
	thresholds *string
}

func (s *sweepInput) register(fs *flag.FlagSet) {
	s.filter.register(fs)
	s.thresholds = evalThresholdsFlag(fs)
}

// loadedSweep is a filtered sweep: its records, eval rows and status records.
type loadedSweep struct {
	dir     string
	sweep   *report.Sweep // Statuses already filtered
	records []report.Record
	evals   []result.EvalRow
}

// load parses the one DIR argument and reads it; code is an exit status, or -1 to go on.
func (s *sweepInput) load(e env, fs *flag.FlagSet, args []string) (ls *loadedSweep, code int) {
	dir, code := parseDirArgs(e, fs, args, 1)
	if code >= 0 {
		return nil, code
	}
	th, code := loadEvalThresholds(e, *s.thresholds)
	if code >= 0 {
		return nil, code
	}
	sweep, code := scanSweep(e, dir[0])
	if code >= 0 {
		return nil, code
	}
	flt := s.filter.filter()
	ls = &loadedSweep{dir: dir[0], sweep: sweep, records: flt.Apply(sweep.Records)}
	ls.evals = collectEvals(e, dir[0], sweep, flt, th)
	sweep.Statuses = flt.Statuses(sweep.Statuses)
	return ls, -1
}
