package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/inferbench/inferbench/internal/eval"
	"github.com/inferbench/inferbench/internal/report"
	"github.com/inferbench/inferbench/internal/result"
)

// cmdCollect aggregates a sweep's artifacts into the reference's files and prints the
// summary tables.
func cmdCollect(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "collect", "DIR",
		"Read every result under DIR (downloaded artifacts, one directory per artifact) and write\n"+
			"agg_<name>.json, agg_eval_<eval-name>.json and run_stats.json; print the summary tables\n"+
			"(also to $GITHUB_STEP_SUMMARY when set). Unreadable or partial files are listed and make the exit status 1.")
	outDir := fs.String("o", ".", "output `directory`")
	name := fs.String("name", "bmk", "agg_<name>.json is the benchmark aggregate")
	evalName := fs.String("eval-name", "all", "agg_eval_<name>.json is the eval aggregate")
	skus := fs.String("skus", strings.Join(report.DefaultSKUs, ","), "GPU SKUs listed in run_stats.json even without attempts")
	quiet := fs.Bool("q", false, "do not print the summary tables to stdout")
	var in sweepInput
	in.register(fs)
	ls, code := in.load(e, fs, args)
	if code >= 0 {
		return code
	}
	sweep, recs, evals := ls.sweep, ls.records, ls.evals
	stats := report.RunStats(sweep.Statuses, splitList(*skus))

	outputs := []struct {
		file  string
		write func(io.Writer) error
	}{
		{"agg_" + *name + ".json", func(w io.Writer) error { return report.WriteAggJSON(w, recs) }},
		{"agg_eval_" + *evalName + ".json", func(w io.Writer) error { return writeEvalRows(w, evals) }},
		{"run_stats.json", func(w io.Writer) error { return report.WriteRunStats(w, stats) }},
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		fmt.Fprintf(e.stderr, "agent collect: %v\n", err)
		return exitInternal
	}
	for _, o := range outputs {
		if err := writeFileAtomic(filepath.Join(*outDir, o.file), o.write); err != nil {
			fmt.Fprintf(e.stderr, "agent collect: %v\n", err)
			return exitInternal
		}
	}
	md, err := summaryMarkdown(recs, evals, stats, sweep)
	if err != nil {
		fmt.Fprintf(e.stderr, "agent collect: %v\n", err)
		return exitInternal
	}
	if !*quiet {
		fmt.Fprint(e.stdout, md)
	}
	if err := appendStepSummary(e, md); err != nil {
		fmt.Fprintf(e.stderr, "agent collect: %v\n", err)
	}
	fmt.Fprintf(e.stderr, "collect: %s; wrote %s (%d results), %s (%d eval rows), run_stats.json to %s\n",
		sweep.SummaryLine(), outputs[0].file, len(recs), outputs[1].file, len(evals), *outDir)
	return problemsExit(e, "collect", sweep)
}

func summaryMarkdown(recs []report.Record, evals []result.EvalRow, stats result.RunStats, sweep *report.Sweep) (string, error) {
	var b strings.Builder
	for _, write := range []func() error{
		func() error { return report.WriteMarkdown(&b, recs) },
		func() error { _, err := io.WriteString(&b, eval.SummaryMarkdown(evals)+"\n"); return err },
		func() error { return report.WriteSuccessRate(&b, stats, sweep.Statuses) },
	} {
		if err := write(); err != nil {
			return "", err
		}
	}
	reusedMarkdown(&b, sweep.Statuses)
	if len(sweep.Problems) > 0 {
		b.WriteString("## Files that could not be read\n\n")
		for _, p := range sweep.Problems {
			fmt.Fprintf(&b, "- `%s`: %s\n", p.Path, p.Msg)
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}

// reusedMarkdown says which results were reused from earlier runs instead of run (agent plan
// --reuse), by the run that measured them.
func reusedMarkdown(b *strings.Builder, statuses []report.Status) {
	bySource := map[string]int{}
	var sources []string
	for _, st := range statuses {
		if st.Reused == nil {
			continue
		}
		if bySource[st.Reused.Source] == 0 {
			sources = append(sources, st.Reused.Source)
		}
		bySource[st.Reused.Source]++
	}
	if len(sources) == 0 {
		return
	}
	sort.Strings(sources)
	b.WriteString("## Reused results\n\nNot run in this sweep: an earlier run measured them with the same fingerprint (provenance in each manifest).\n\n")
	for _, src := range sources {
		fmt.Fprintf(b, "- %d from %s\n", bySource[src], src)
	}
	b.WriteString("\n")
}

func splitList(s string) []string {
	var c csvFlag
	_ = c.Set(s)
	return c
}

func writeEvalRows(w io.Writer, rows []result.EvalRow) error {
	b, err := eval.MarshalRows(rows)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
