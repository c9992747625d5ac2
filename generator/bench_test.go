package main

import (
	"context"
	"io"
	"path/filepath"
	"testing"
)

// BenchmarkFullSweepAnchor measures a full sweep (load, validate, expand, encode) over
// the reference's configs, in process. The reference takes about 0.5 s per run; the
// whole process (see README) must stay under 25 ms.
func BenchmarkFullSweepAnchor(b *testing.B) {
	for _, run := range []struct{ name, dir, kind string }{
		{"2026-02/single-node", "inferencex-2026-02-09", "--single-node"},
		{"2026-02/multi-node", "inferencex-2026-02-09", "--multi-node"},
		{"2026-08/all", "inferencex-2026-08-21", "--no-evals"},
	} {
		dir := filepath.Join("..", "..", "shared", "anchor", run.dir)
		kind := run.kind
		b.Run(run.name, func(b *testing.B) {
			args := []string{"full-sweep", kind, "--config-files", filepath.Join(dir, "nvidia-master.yaml"), filepath.Join(dir, "amd-master.yaml"),
				"--runner-config", filepath.Join(dir, "runners.yaml")}
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
