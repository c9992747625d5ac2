// Package inventory is the runner inventory: for each runner node family (the part of
// RUNNER_NAME before the first '_'), how servers start there: backend, GPU vendor and SKU,
// port, caches, mounts, container flags, Slurm partition. It replaces the per-launcher
// literals of the reference (and its ports keyed on the last character of a user name).
package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Inventory maps node families to how they launch servers.
type Inventory struct {
	Families map[string]*Family `yaml:"families"`
	// Extra catches other top-level keys: only x-* keys (holders of YAML anchors) are allowed.
	Extra map[string]yaml.Node `yaml:",inline"`
}

// Family is one runner node family.
type Family struct {
	// GPU is the SKU recipes match on (b200, h200, mi355x, cpu for the simulator).
	GPU string `yaml:"gpu"`
	// Vendor is nvidia, amd or none: how GPUs are handed to containers.
	Vendor string `yaml:"vendor"`
	// Backend is docker, slurm or local.
	Backend string `yaml:"backend"`
	// Port the server listens on; 0 picks a free port on the agent's machine.
	Port int `yaml:"port"`
	// GPUsPerNode is how many GPUs one node has (node counts of multi-node deployments);
	// default 8.
	GPUsPerNode int `yaml:"gpus-per-node"`
	// HFCache is the Hugging Face cache: host directory and where the server sees it.
	HFCache *Mount `yaml:"hf-cache"`
	// Workspace is where the run's output directory appears inside containers.
	Workspace string  `yaml:"workspace"`
	Mounts    []Mount `yaml:"mounts"`
	// Env is the node's engine environment: what the node's launcher hands every engine
	// (e.g. NCCL_GRAPH_REGISTER=0 where user-buffer registration made engines crash).
	Env map[string]string `yaml:"env"`
	// Sysctl are host kernel settings applied (with sudo -n sysctl -w) before the first
	// launch of a run, as the node's launcher did (kernel.numa_balancing: "0"). A failure
	// is reported and the run goes on.
	Sysctl map[string]string `yaml:"sysctl"`

	Docker    Docker    `yaml:"docker"`
	Slurm     Slurm     `yaml:"slurm"`
	Container Container `yaml:"container"`
	// NoContainer runs the server directly on the allocated node (an engine installed
	// there, or the agent's simulator) instead of in a pyxis container.
	NoContainer bool `yaml:"no-container"`
	// SquashDir caches enroot squash files (slurm + container images).
	SquashDir string `yaml:"squash-dir"`
	// ServerHost overrides how the agent reaches the server (default: 127.0.0.1 for docker
	// and local, the allocated node for slurm).
	ServerHost string `yaml:"server-host"`

	Name string `yaml:"-"`
	Line int    `yaml:"-"`
	Col  int    `yaml:"-"`
}

// NodeGPUs is GPUsPerNode with its default.
func (f *Family) NodeGPUs() int {
	if f.GPUsPerNode > 0 {
		return f.GPUsPerNode
	}
	return 8
}

// Mount is a bind mount. A scratch mount gets a fresh host directory for every launch,
// named Host followed by random characters (Host is then a prefix such as
// /mnt/vast/shm-), removed when the launch ends.
type Mount struct {
	Host      string `yaml:"host"`
	Container string `yaml:"container"`
	ReadOnly  bool   `yaml:"read-only"`
	Scratch   bool   `yaml:"scratch"`
}

// Docker holds docker-only flags.
type Docker struct {
	ShmSize     string   `yaml:"shm-size"`
	IPCHost     bool     `yaml:"ipc-host"`
	Privileged  bool     `yaml:"privileged"`
	CapAdd      []string `yaml:"cap-add"`
	SecurityOpt []string `yaml:"security-opt"`
	// Devices are host devices handed to the container besides the vendor's GPU devices.
	Devices []string         `yaml:"devices"`
	Ulimits map[string]int64 `yaml:"ulimits"`
	// Pull is missing (default), always or never.
	Pull string `yaml:"pull"`
}

// Slurm holds the allocation request.
type Slurm struct {
	Partition   string   `yaml:"partition"`
	Account     string   `yaml:"account"`
	Exclusive   bool     `yaml:"exclusive"`
	Time        string   `yaml:"time"`
	CPUsPerTask int      `yaml:"cpus-per-task"`
	Immediate   int      `yaml:"immediate"`
	ExtraArgs   []string `yaml:"extra-args"`
}

// Container holds pyxis flags.
type Container struct {
	MountHome bool `yaml:"mount-home"`
	RemapRoot bool `yaml:"remap-root"`
	Writable  bool `yaml:"writable"`
}

// LoadFile reads and validates an inventory file.
func LoadFile(path string) (*Inventory, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// Parse decodes and validates an inventory; all problems are reported with file:line:col.
func Parse(name string, b []byte) (*Inventory, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var inv Inventory
	if err := dec.Decode(&inv); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			var errs []error
			for _, m := range te.Errors {
				errs = append(errs, fmt.Errorf("%s: %s", name, m))
			}
			return nil, errors.Join(errs...)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var root yaml.Node
	_ = yaml.Unmarshal(b, &root)
	positions(&root, &inv)
	var errs []error
	if len(root.Content) > 0 {
		top := root.Content[0].Content
		for i := 0; i+1 < len(top); i += 2 {
			if k := top[i]; k.Value != "families" && !strings.HasPrefix(k.Value, "x-") {
				errs = append(errs, fmt.Errorf("%s:%d:%d: unknown top-level key %q (want families, or x-* for shared anchors)", name, k.Line, k.Column, k.Value))
			}
		}
	}
	for _, k := range inv.names() {
		f := inv.Families[k]
		f.Name = k
		for _, e := range f.validate() {
			errs = append(errs, fmt.Errorf("%s:%d:%d: runner family %q: %s", name, f.Line, f.Col, k, e))
		}
	}
	if len(inv.Families) == 0 {
		errs = append(errs, fmt.Errorf("%s: no runner families under 'families:'", name))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &inv, nil
}

func positions(root *yaml.Node, inv *Inventory) {
	if len(root.Content) == 0 {
		return
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != "families" {
			continue
		}
		fm := m.Content[i+1]
		for j := 0; j+1 < len(fm.Content); j += 2 {
			if f := inv.Families[fm.Content[j].Value]; f != nil {
				f.Line, f.Col = fm.Content[j].Line, fm.Content[j].Column
			}
		}
	}
}

func (inv *Inventory) names() []string {
	ks := make([]string, 0, len(inv.Families))
	for k := range inv.Families {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

var (
	envKeyRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	sysctlKeyRE = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)+$`)
)

func (f *Family) validate() []string {
	var p []string
	if f == nil {
		return []string{"empty entry"}
	}
	switch f.Backend {
	case "docker", "slurm", "local":
	default:
		p = append(p, fmt.Sprintf("backend %q: want docker, slurm or local", f.Backend))
	}
	switch f.Vendor {
	case "nvidia", "amd", "none":
	default:
		p = append(p, fmt.Sprintf("vendor %q: want nvidia, amd or none", f.Vendor))
	}
	if f.GPU == "" {
		p = append(p, "gpu (the SKU recipes match on) is required")
	}
	if f.GPUsPerNode < 0 {
		p = append(p, fmt.Sprintf("gpus-per-node %d must not be negative", f.GPUsPerNode))
	}
	if f.Port < 0 || f.Port > 65535 {
		p = append(p, fmt.Sprintf("port %d out of range", f.Port))
	}
	if _, err := ParseSize(f.Docker.ShmSize); err != nil {
		p = append(p, err.Error())
	}
	switch f.Docker.Pull {
	case "", "missing", "always", "never":
	default:
		p = append(p, fmt.Sprintf("docker.pull %q: want missing, always or never", f.Docker.Pull))
	}
	for k := range f.Env {
		if !envKeyRE.MatchString(k) {
			p = append(p, fmt.Sprintf("env key %q is not a valid variable name", k))
		}
	}
	for _, m := range append(f.Mounts, derefMount(f.HFCache)...) {
		if !strings.HasPrefix(m.Host, "/") || !strings.HasPrefix(m.Container, "/") {
			p = append(p, fmt.Sprintf("mount %s:%s: both paths must be absolute", m.Host, m.Container))
		}
	}
	for _, d := range f.Docker.Devices {
		if !strings.HasPrefix(d, "/dev/") {
			p = append(p, fmt.Sprintf("docker.devices %q: want a device path under /dev/", d))
		}
	}
	for k, v := range f.Sysctl {
		if !sysctlKeyRE.MatchString(k) || strings.ContainsAny(v, " \t\n") {
			p = append(p, fmt.Sprintf("sysctl %s=%q: want a dotted kernel parameter and a value without spaces", k, v))
		}
	}
	if f.Backend != "slurm" && (f.Slurm.Partition != "" || f.SquashDir != "") {
		p = append(p, "slurm settings (slurm, squash-dir) on a non-slurm family")
	}
	return p
}

func derefMount(m *Mount) []Mount {
	if m == nil {
		return nil
	}
	return []Mount{*m}
}

// ParseSize reads sizes like 16g, 512m, 1073741824; empty is 0.
func ParseSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	mult := int64(1)
	num := strings.ToLower(s)
	for suf, m := range map[string]int64{"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40} {
		if strings.HasSuffix(num, suf) {
			mult, num = m, strings.TrimSuffix(num, suf)
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: want a number with an optional k/m/g/t suffix", s)
	}
	return n * mult, nil
}

// Family returns the entry for a runner node: an exact match of the name, else its family
// (the part before the first '_', as the reference picks launch_<family>.sh).
func (inv *Inventory) Family(runnerName string) (*Family, error) {
	if f, ok := inv.Families[runnerName]; ok {
		return f, nil
	}
	fam, _, _ := strings.Cut(runnerName, "_")
	if f, ok := inv.Families[fam]; ok {
		return f, nil
	}
	return nil, fmt.Errorf("runner %q: no family %q in the runner inventory (known: %s); add it to configs/inventory.yaml",
		runnerName, fam, strings.Join(inv.names(), ", "))
}
