package inventory

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/config"
	"github.com/inferbench/inferbench/internal/testkit"
)

// launcher is what the reference's node launcher (launch_<family>.sh) gave the engine:
// container options, Slurm and pyxis flags, mounts and engine environment.
type launcher struct {
	backend   string
	docker    Docker
	sysctl    map[string]string
	slurm     Slurm
	container Container
	scratch   []string // container paths of per-launch scratch mounts
	env       map[string]string
}

var nvidiaDocker = Docker{ShmSize: "16g", IPCHost: true, Privileged: true, Ulimits: map[string]int64{"memlock": -1, "stack": 67108864}}
var amdDocker = Docker{ShmSize: "16g", IPCHost: true, Privileged: true, CapAdd: []string{"CAP_SYS_ADMIN", "SYS_PTRACE"},
	SecurityOpt: []string{"seccomp=unconfined"}, Devices: []string{"/dev/mem"}}
var pycache = map[string]string{"PYTHONPYCACHEPREFIX": "/tmp/pycache/"}

// referenceLaunchers are the single-node launchers of the reference, per family.
var referenceLaunchers = map[string]launcher{
	"b200-dgxc": {backend: "docker", docker: nvidiaDocker,
		env: map[string]string{"NCCL_GRAPH_REGISTER": "0", "TORCH_CUDA_ARCH_LIST": "10.0", "CUDA_DEVICE_ORDER": "PCI_BUS_ID", "PYTHONPYCACHEPREFIX": "/tmp/pycache/"}},
	"h100-cr": {backend: "docker", docker: nvidiaDocker,
		env: map[string]string{"TORCH_CUDA_ARCH_LIST": "9.0", "CUDA_DEVICE_ORDER": "PCI_BUS_ID", "PYTHONPYCACHEPREFIX": "/tmp/pycache/"}},
	"mi300x-amd": {backend: "docker", docker: amdDocker, sysctl: map[string]string{"kernel.numa_balancing": "0"}, env: pycache},
	"mi300x-cr":  {backend: "docker", docker: amdDocker, sysctl: map[string]string{"kernel.numa_balancing": "0"}, env: pycache},
	"b200-nv": {backend: "slurm", slurm: Slurm{Partition: "dgx-b200", Exclusive: true, Time: "180"},
		container: Container{RemapRoot: true, Writable: true}},
	"b200-nb": {backend: "slurm", slurm: Slurm{Partition: "main", Exclusive: true, Time: "180"},
		container: Container{RemapRoot: true, Writable: true}, env: map[string]string{"UCX_NET_DEVICES": "eth0"}},
	"h100-cw": {backend: "slurm", slurm: Slurm{Partition: "h100", Exclusive: true, Time: "180"},
		container: Container{MountHome: true}, scratch: []string{"/dev/shm/sagemaker_sessions"}},
	"h200-cw": {backend: "slurm", slurm: Slurm{Partition: "h200", Exclusive: true, Time: "180"},
		container: Container{MountHome: true}, scratch: []string{"/dev/shm/sagemaker_sessions"}},
	"h200-nb": {backend: "slurm", slurm: Slurm{Partition: "main", Exclusive: true, Time: "180"},
		container: Container{MountHome: true, RemapRoot: true, Writable: true}},
	"h200-nv": {backend: "slurm", slurm: Slurm{Partition: "dgx-h200", Exclusive: true, Time: "180"},
		container: Container{MountHome: true, RemapRoot: true, Writable: true}},
	"mi300x-amds": {backend: "slurm", slurm: Slurm{Partition: "compute", Time: "180", CPUsPerTask: 256},
		container: Container{MountHome: true, RemapRoot: true, Writable: true}},
	"mi325x-amd": {backend: "slurm", slurm: Slurm{Partition: "compute", Time: "180", CPUsPerTask: 256},
		container: Container{MountHome: true, RemapRoot: true, Writable: true}},
	"mi355x-amds": {backend: "slurm", slurm: Slurm{Partition: "compute", Time: "180", CPUsPerTask: 128},
		container: Container{MountHome: true, Writable: true}},
}

// multinodeFamilies launch whole disaggregated deployments; their launchers are not
// single-node ones.
var multinodeFamilies = []string{"b300-nv", "gb200-nv", "gb300-nv", "b200-dgxc-slurm", "h100-dgxc-slurm", "h200-nb-slurm", "h200-dgxc-slurm"}

func TestFamiliesReproduceTheReferenceLaunchers(t *testing.T) {
	t.Parallel()
	root := testkit.RepoRoot(t)
	inv, err := LoadFile(filepath.Join(root, "configs", "inventory.yaml"))
	require.NoError(t, err)
	for name, want := range referenceLaunchers {
		f := inv.Families[name]
		require.NotNil(t, f, "family %s", name)
		assert.Equal(t, want.backend, f.Backend, name)
		if want.backend == "docker" {
			assert.Equal(t, want.docker, f.Docker, "%s: container options", name)
		}
		assert.Equal(t, want.sysctl, nilIfEmpty(f.Sysctl), "%s: host settings", name)
		assert.Equal(t, want.slurm, f.Slurm, "%s: allocation", name)
		assert.Equal(t, want.container, f.Container, "%s: pyxis flags", name)
		assert.Equal(t, want.env, nilIfEmpty(f.Env), "%s: engine environment", name)
		var scratch []string
		for _, m := range f.Mounts {
			if m.Scratch {
				scratch = append(scratch, m.Container)
			}
		}
		assert.Equal(t, want.scratch, scratch, "%s: scratch mounts", name)
	}
	// Every node of our runners.yaml is covered.
	runners, diags := config.LoadRunners(filepath.Join(root, "configs", "runners.yaml"))
	require.False(t, diags.HasErrors(), "%v", diags)
	for _, typ := range runners.Names() {
		nodes, _ := runners.Nodes(typ)
		for _, n := range nodes {
			f, err := inv.Family(n)
			require.NoError(t, err)
			_, known := referenceLaunchers[f.Name]
			assert.True(t, known || contains(multinodeFamilies, f.Name), "node %s (family %s) has no reference launcher to check against", n, f.Name)
		}
	}
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
