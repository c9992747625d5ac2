package runner

import (
	"context"
	"testing"

	"github.com/inferbench/inferbench/internal/execx"
)

func TestGPUInfo(t *testing.T) {
	nv := &execx.Fake{}
	nv.On([]string{"nvidia-smi"}, "NVIDIA B200, 570.124.06\nNVIDIA B200, 570.124.06\n", 0)
	if g := GPUInfo(context.Background(), nv); g == nil || g.Vendor != "nvidia" || g.Count != 2 || g.Model != "NVIDIA B200" || g.Driver != "570.124.06" {
		t.Errorf("nvidia: %+v", g)
	}
	amd := &execx.Fake{}
	amd.On([]string{"rocm-smi"}, `{"card0": {"Card Series": "AMD Instinct MI355X"}, "card1": {"Card Series": "AMD Instinct MI355X"}, "system": {}}`, 0)
	if g := GPUInfo(context.Background(), amd); g == nil || g.Vendor != "amd" || g.Count != 2 || g.Model != "AMD Instinct MI355X" {
		t.Errorf("amd: %+v", g)
	}
	if g := GPUInfo(context.Background(), &execx.Fake{}); g != nil {
		t.Errorf("no tools: %+v", g)
	}
}
