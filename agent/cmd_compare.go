package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/inferbench/inferbench/internal/report"
)

// cmdCompare joins two result sets on the configuration and flags regressions.
func cmdCompare(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "compare", "OLD NEW",
		"Compare two result sets (sweep directories) configuration by configuration: change of throughput per GPU,\n"+
			"interactivity and latencies; changes beyond the noise-aware threshold are flagged.")
	threshold := fs.Float64("threshold", 5, "smallest change in `percent` (in the bad direction) flagged as a regression; tail latencies have higher floors and repeated runs widen it by their spread")
	failOn := fs.Bool("fail-on-regression", false, "exit 1 when any configuration regressed (for gating a workflow)")
	var f filterFlags
	f.register(fs)
	dirs, code := parseDirArgs(e, fs, args, 2)
	if code >= 0 {
		return code
	}
	if *threshold < 0 {
		fmt.Fprintln(e.stderr, "agent compare: --threshold must be a percentage >= 0")
		return exitUsage
	}
	oldS, code := scanSweep(e, dirs[0])
	if code >= 0 {
		return code
	}
	newS, code := scanSweep(e, dirs[1])
	if code >= 0 {
		return code
	}
	flt := f.filter()
	c := report.Compare(flt.Apply(oldS.Records), flt.Apply(newS.Records), report.CompareOptions{Threshold: *threshold, AnyLayout: f.best})
	var md strings.Builder
	if err := c.Write(&md); err != nil {
		fmt.Fprintf(e.stderr, "agent compare: %v\n", err)
		return exitInternal
	}
	fmt.Fprint(e.stdout, md.String())
	if err := appendStepSummary(e, md.String()); err != nil {
		fmt.Fprintf(e.stderr, "agent compare: %v\n", err)
	}
	if len(c.Rows) == 0 {
		fmt.Fprintln(e.stderr, "agent compare: no configuration is in both sets; check the directories and filters")
		return exitUsage
	}
	if *failOn && c.Regressions > 0 {
		fmt.Fprintf(e.stderr, "agent compare: %d configuration(s) regressed beyond the threshold\n", c.Regressions)
		return exitBenchFail
	}
	code = problemsExit(e, "compare", oldS)
	return max(code, problemsExit(e, "compare", newS))
}
