package inventory

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRepoInventoryLoads(t *testing.T) {
	t.Parallel()
	inv, err := LoadFile(filepath.Join("..", "..", "configs", "inventory.yaml"))
	require.NoError(t, err)
	f, err := inv.Family("b200-dgxc_1")
	require.NoError(t, err)
	assert.Equal(t, "docker", f.Backend, "b200-dgxc")
	assert.Equal(t, "nvidia", f.Vendor, "b200-dgxc")
	assert.Equal(t, "16g", f.Docker.ShmSize, "b200-dgxc")
	assert.Equal(t, "PCI_BUS_ID", f.Env["CUDA_DEVICE_ORDER"], "b200-dgxc")
	assert.Equal(t, "10.0", f.Env["TORCH_CUDA_ARCH_LIST"], "b200-dgxc")
	f, _ = inv.Family("mi355x-amds_3")
	require.NotNil(t, f, "mi355x-amds")
	assert.Equal(t, "slurm", f.Backend, "mi355x-amds")
	assert.Equal(t, "/var/lib/squash", f.SquashDir, "mi355x-amds")
	assert.Equal(t, 128, f.Slurm.CPUsPerTask, "mi355x-amds")
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "families:\n  a:\n    gpu: b200\n    vendor: nvidia\n    backend: docker\n    prot: 1\n", []string{"line 6: field prot not found"}},
		{"bad values collected", "families:\n  a:\n    gpu: ''\n    vendor: intel\n    backend: k8s\n    docker: {shm-size: lots}\n",
			[]string{"x.yaml:2:3: runner family \"a\": backend \"k8s\"", "vendor \"intel\"", "gpu (the SKU", "size \"lots\""}},
		{"slurm settings on docker", "families:\n  a: {gpu: b200, vendor: nvidia, backend: docker, squash-dir: /x}\n", []string{"slurm settings"}},
		{"relative mount", "families:\n  a: {gpu: b200, vendor: nvidia, backend: docker, mounts: [{host: rel, container: /c}]}\n", []string{"must be absolute"}},
		{"stray top-level key", "famlies: {}\nfamilies:\n  a: {gpu: b200, vendor: none, backend: local}\n", []string{"x.yaml:1:1: unknown top-level key \"famlies\""}},
		{"empty", "families: {}\n", []string{"no runner families"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.yaml))
			require.Error(t, err, "no error")
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w, "error %q does not mention %q", err, w)
			}
		})
	}
}

func TestFamilyLookup(t *testing.T) {
	t.Parallel()
	inv, err := Parse("x.yaml", []byte("families:\n  b200-nv: {gpu: b200, vendor: nvidia, backend: slurm}\n  b200-nv_1: {gpu: b200, vendor: nvidia, backend: slurm, port: 9000}\n"))
	require.NoError(t, err)
	for name, port := range map[string]int{"b200-nv_0": 0, "b200-nv_1": 9000, "b200-nv": 0} {
		f, err := inv.Family(name)
		assert.NoError(t, err, "%s", name)
		assert.Equal(t, port, f.Port, "%s", name)
	}
	_, err = inv.Family("h200-xx_0")
	assert.ErrorContains(t, err, `no family "h200-xx"`, "unknown family")
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"": 0, "16g": 16 << 30, "64m": 64 << 20, "512": 512, "1T": 1 << 40} {
		got, err := ParseSize(in)
		assert.NoError(t, err, "%q", in)
		assert.Equal(t, want, got, "%q", in)
	}
	for _, bad := range []string{"x", "-1g", "1.5g"} {
		_, err := ParseSize(bad)
		assert.Error(t, err, "%q accepted", bad)
	}
}
