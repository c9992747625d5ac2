package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/testkit"
)

// BenchmarkFullSweepAnchor measures a full sweep (load, validate, expand, encode) over
// the reference's configs of each generation, in process. The whole-process comparison
// with the reference is BenchmarkFullSweepVsReference.
func BenchmarkFullSweepAnchor(b *testing.B) {
	for _, run := range []struct{ name, dir, kind string }{
		{"2026-02/single-node", "inferencex-2026-02-09", "--single-node"},
		{"2026-02/multi-node", "inferencex-2026-02-09", "--multi-node"},
		{"2026-08/all", "inferencex-2026-08-21", ""},
	} {
		kind := run.kind
		b.Run(run.name, func(b *testing.B) {
			dir := testkit.Shared(b, filepath.Join("anchor", run.dir))
			args := []string{"full-sweep", "--config-files", filepath.Join(dir, "nvidia-master.yaml"), filepath.Join(dir, "amd-master.yaml"),
				"--runner-config", filepath.Join(dir, "runners.yaml")}
			if kind != "" {
				args = append(args, kind)
			}
			e := env{nil, io.Discard, io.Discard, func(string) string { return "" }}
			require.Equal(b, exitOK, dispatch(context.Background(), e, args), "the anchor configs do not expand")
			b.ReportAllocs()
			for b.Loop() {
				dispatch(context.Background(), e, args)
			}
		})
	}
}

// BenchmarkFullSweepVsReference runs the whole 2026-08 sweep (1,820 rows, both kinds,
// evals marked) as a process, this generator and the reference's
// generate_sweep_configs.py alternately on the same copies of the reference's files, and
// reports the median time of each and their ratio. Startup counts: that is what a
// workflow step pays. It needs python3 with pydantic and PyYAML; each round takes about
// a second, so give it a count:
//
//	go test ./generator -run '^$' -bench FullSweepVsReference -benchtime 20x
func BenchmarkFullSweepVsReference(b *testing.B) {
	anchor := testkit.Shared(b, "anchor/inferencex-2026-08-21")
	ctx := context.Background()
	run := func(c execx.Cmd) (execx.Result, time.Duration) {
		start := time.Now()
		res, err := execx.OS{}.Run(ctx, c)
		took := time.Since(start)
		require.NoError(b, err)
		require.Equal(b, 0, res.ExitCode, "%s: %s", c.Name, res.Stderr)
		return res, took
	}
	if res, err := (execx.OS{}).Run(ctx, execx.Cmd{Name: "python3", Args: []string{"-c", "import pydantic, yaml"}}); err != nil || res.ExitCode != 0 {
		b.Skip("the reference needs python3 with pydantic and PyYAML")
	}
	work := b.TempDir()
	for _, f := range []string{"nvidia-master.yaml", "amd-master.yaml", "runners.yaml"} {
		data, err := os.ReadFile(filepath.Join(anchor, f))
		require.NoError(b, err)
		require.NoError(b, os.WriteFile(filepath.Join(work, f), data, 0o644))
	}
	gen := filepath.Join(b.TempDir(), "generator")
	run(execx.Cmd{Name: "go", Args: []string{"build", "-o", gen, "."}})

	args := []string{"full-sweep", "--config-files", "nvidia-master.yaml", "amd-master.yaml", "--runner-config", "runners.yaml"}
	ours := execx.Cmd{Name: gen, Args: args, Dir: work}
	ref := execx.Cmd{Name: "python3", Args: append([]string{filepath.Join(anchor, "utils", "matrix_logic", "generate_sweep_configs.py")}, args...),
		Dir: work, Env: append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")}
	// An untimed round warms the page cache and checks that both print the same rows.
	o, _ := run(ours)
	r, _ := run(ref)
	require.JSONEq(b, string(r.Stdout), string(o.Stdout), "the two generators disagree")

	var oursT, refT []time.Duration
	for b.Loop() {
		_, t := run(ours)
		oursT = append(oursT, t)
		_, t = run(ref)
		refT = append(refT, t)
	}
	median := func(ts []time.Duration) float64 {
		slices.Sort(ts)
		return float64(ts[len(ts)/2]) / float64(time.Millisecond)
	}
	mo, mr := median(oursT), median(refT)
	b.ReportMetric(mo, "ours-ms")
	b.ReportMetric(mr, "reference-ms")
	b.ReportMetric(mr/mo, "x-faster")
	b.ReportMetric(0, "ns/op") // a round is one run of each; its total says nothing
}
