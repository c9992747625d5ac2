package main

import (
	"context"
	"io"
	"path/filepath"
	"testing"
)

// BenchmarkFullSweepAnchor measures a full sweep (load, validate, expand, encode) over
// the reference's configs of each generation, in process: the 2026-02 sweeps the
// reference takes about 0.5 s for, and the whole 2026-08 sweep (1,820 rows, both kinds,
// evals marked) it takes about a second for. The whole-process comparison with the
// reference is in docs/generator-generations.md#speed.
func BenchmarkFullSweepAnchor(b *testing.B) {
	for _, run := range []struct{ name, dir, kind string }{
		{"2026-02/single-node", "inferencex-2026-02-09", "--single-node"},
		{"2026-02/multi-node", "inferencex-2026-02-09", "--multi-node"},
		{"2026-08/all", "inferencex-2026-08-21", ""},
	} {
		dir := filepath.Join("..", "..", "shared", "anchor", run.dir)
		kind := run.kind
		b.Run(run.name, func(b *testing.B) {
			args := []string{"full-sweep", "--config-files", filepath.Join(dir, "nvidia-master.yaml"), filepath.Join(dir, "amd-master.yaml"),
				"--runner-config", filepath.Join(dir, "runners.yaml")}
			if kind != "" {
				args = append(args, kind)
			}
			e := env{nil, io.Discard, io.Discard, func(string) string { return "" }}
			if code := dispatch(context.Background(), e, args); code != exitOK {
				b.Skipf("anchor configs not usable (exit %d); is ../shared present?", code)
			}
			b.ReportAllocs()
			for b.Loop() {
				dispatch(context.Background(), e, args)
			}
		})
	}
}
