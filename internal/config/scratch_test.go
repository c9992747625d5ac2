package config

import (
	"testing"
)

func BenchmarkScratchLoad(b *testing.B) {
	d := "../../../shared/anchor/inferencex-2026-08-21/"
	for b.Loop() {
		Load([]string{d + "nvidia-master.yaml", d + "amd-master.yaml"}, d+"runners.yaml")
	}
}
