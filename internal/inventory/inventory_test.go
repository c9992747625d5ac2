package inventory

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestRepoInventoryLoads(t *testing.T) {
	inv, err := LoadFile(filepath.Join("..", "..", "configs", "inventory.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := inv.Family("b200-dgxc_1")
	if err != nil {
		t.Fatal(err)
	}
	if f.Backend != "docker" || f.Vendor != "nvidia" || f.Docker.ShmSize != "16g" || f.Env["CUDA_DEVICE_ORDER"] != "PCI_BUS_ID" || f.Env["TORCH_CUDA_ARCH_LIST"] != "10.0" {
		t.Errorf("b200-dgxc = %+v", f)
	}
	if f, _ := inv.Family("mi355x-amds_3"); f == nil || f.Backend != "slurm" || f.SquashDir != "/var/lib/squash" || f.Slurm.CPUsPerTask != 128 {
		t.Errorf("mi355x-amds = %+v", f)
	}
}

func TestParseErrors(t *testing.T) {
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
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestFamilyLookup(t *testing.T) {
	inv, err := Parse("x.yaml", []byte("families:\n  b200-nv: {gpu: b200, vendor: nvidia, backend: slurm}\n  b200-nv_1: {gpu: b200, vendor: nvidia, backend: slurm, port: 9000}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for name, port := range map[string]int{"b200-nv_0": 0, "b200-nv_1": 9000, "b200-nv": 0} {
		f, err := inv.Family(name)
		if err != nil || f.Port != port {
			t.Errorf("%s: %+v %v", name, f, err)
		}
	}
	if _, err := inv.Family("h200-xx_0"); err == nil || !strings.Contains(err.Error(), `no family "h200-xx"`) {
		t.Errorf("unknown family: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "16g": 16 << 30, "64m": 64 << 20, "512": 512, "1T": 1 << 40} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("%q = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"x", "-1g", "1.5g"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
