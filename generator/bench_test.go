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
	dir := filepath.Join("..", "..", "shared", "anchor", "inferencex-2026-02-09")
	for _, kind := range []string{"--single-node", "--multi-node"} {
		b.Run(kind[2:], func(b *testing.B) {
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
