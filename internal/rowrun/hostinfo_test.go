package rowrun

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/execx"
)

func TestGPUInfo(t *testing.T) {
	t.Parallel()
	nv := &execx.Fake{}
	nv.On([]string{"nvidia-smi"}, "NVIDIA B200, 570.124.06\nNVIDIA B200, 570.124.06\n", 0)
	g := GPUInfo(context.Background(), nv)
	require.NotNil(t, g)
	assert.Equal(t, "nvidia", g.Vendor)
	assert.Equal(t, 2, g.Count)
	assert.Equal(t, "NVIDIA B200", g.Model)
	assert.Equal(t, "570.124.06", g.Driver)
	amd := &execx.Fake{}
	amd.On([]string{"rocm-smi"}, `{"card0": {"Card Series": "AMD Instinct MI355X"}, "card1": {"Card Series": "AMD Instinct MI355X"}, "system": {}}`, 0)
	g = GPUInfo(context.Background(), amd)
	require.NotNil(t, g)
	assert.Equal(t, "amd", g.Vendor)
	assert.Equal(t, 2, g.Count)
	assert.Equal(t, "AMD Instinct MI355X", g.Model)
	assert.Nil(t, GPUInfo(context.Background(), &execx.Fake{}), "no tools")
}
