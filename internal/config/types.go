package config

import "math/big"

// Pos is a 1-based position in a YAML file.
type Pos struct{ Line, Col int }

// Generation is the InferenceX schema generation a file is written in. The zero value is
// 2026-02, so values built in code without one keep the original behaviour.
type Generation int

const (
	// Gen2026_02: entries carry seq-len-configs; runners.yaml maps runner types to nodes.
	Gen2026_02 Generation = iota
	// Gen2026_08: entries carry scenarios (fixed-seq-len, agentic-coding); runners.yaml
	// has labels and hardware.
	Gen2026_08
)

func (g Generation) String() string {
	if g == Gen2026_08 {
		return "2026-08"
	}
	return "2026-02"
}

// Master is the merged, validated set of master config entries.
type Master struct {
	Entries []*Entry // merged order: file order, then key order within a file
	Gen     Generation
	byKey   map[string]*Entry
}

// Lookup returns the entry for key, or nil.
func (m *Master) Lookup(key string) *Entry { return m.byKey[key] }

// Keys returns every config key in merged order.
func (m *Master) Keys() []string {
	keys := make([]string, len(m.Entries))
	for i, e := range m.Entries {
		keys[i] = e.Key
	}
	return keys
}

// NewMaster builds a Master from entries whose keys are unique (tests, tools).
func NewMaster(entries []*Entry) *Master {
	m := &Master{Entries: entries, byKey: make(map[string]*Entry, len(entries))}
	if len(entries) > 0 {
		m.Gen = entries[0].Gen
	}
	for _, e := range entries {
		m.byKey[e.Key] = e
	}
	return m
}

// Entry is one config entry (the mapping under a config key).
type Entry struct {
	Key         string
	File        string
	Pos         Pos // of the key
	Image       string
	Model       string
	ModelPrefix string
	Precision   string
	Framework   string
	Runner      string
	RunnerPos   Pos
	Multinode   bool
	Disagg      bool
	// SeqLens are seq-len-configs (2026-02) or scenarios.fixed-seq-len (2026-08).
	SeqLens []SeqLen
	Gen     Generation

	// 2026-08 only.
	Router        *Component // top-level router; nil when not given
	KVP2PTransfer string     // top-level kv-p2p-transfer; "" when not given
	Agentic       []Agentic  // scenarios.agentic-coding
}

// Component is name/version metadata of an optional runtime component (router,
// kv-offload-backend), kept as written so rows can repeat it verbatim.
type Component struct {
	Name    string
	Version string
	// Keys are the keys in the order written; VersionNull is set for "version: null".
	Keys        []string
	VersionNull bool
}

// Agentic is one element of scenarios.agentic-coding.
type Agentic struct {
	Pos Pos
	// DRAMUtilization is dram-utilization as the exact decimal the KV offload budget is
	// scaled by; nil when absent.
	DRAMUtilization *big.Rat
	Search          []Search
}

// SeqLen is one element of seq-len-configs.
type SeqLen struct {
	ISL, OSL int64
	Search   []Search
	Pos      Pos
}

// Search is one search-space entry. Single-node entries use TP, EP, DPAttn;
// multi-node entries use Prefill and Decode.
type Search struct {
	Pos    Pos
	TP     int64
	EP     int64 // 1 when absent or null
	DPAttn bool
	Spec   string // "mtp", "draft_model" or "none" (the default)

	// HasRange is true when both conc-start and conc-end are given.
	HasRange  bool
	ConcStart int64
	ConcEnd   int64
	// ConcList is nil when conc-list is absent, null or empty
	// (docs/generator.md#quirk-empty-conc-list).
	ConcList []int64

	Prefill *Worker
	Decode  *Worker

	// 2026-08 only. PP, DCPSize and PCPSize are 1 when absent.
	PP, DCPSize, PCPSize int64
	Router               *Component
	KVP2PTransfer        string
	// Agentic entries: KVOffloading is "none" or "dram" ("" when absent, which multi-node
	// agentic entries read as "none"); KVOffloadBackend is nil when absent.
	KVOffloading     string
	KVOffloadBackend *Component
}

// SettingsMode tells how additional-settings was written in a worker block.
type SettingsMode int

const (
	SettingsAbsent SettingsMode = iota // key not written
	SettingsNull                       // written as null (or with no value)
	SettingsList                       // written as a list, possibly empty
)

// Worker is a prefill or decode block of a multi-node search-space entry.
type Worker struct {
	NumWorker    int64
	TP           int64
	EP           int64
	DPAttn       bool
	Settings     []string
	SettingsMode SettingsMode
	// Keys is the order in which the fields were written, for verbatim output
	// (docs/generator.md#quirk-worker-blocks). It holds only the keys written.
	Keys []string

	// 2026-08 only. PP, DCPSize and PCPSize are 1 when absent; Hardware is "" when absent
	// and HardwareNull is set for "hardware: null".
	PP, DCPSize, PCPSize int64
	Hardware             string
	HardwareNull         bool
}

// Runners is a validated runners.yaml. In a 2026-08 file the runner types are the
// labels and Hardware holds the hardware section.
type Runners struct {
	File     string
	Gen      Generation
	Types    []RunnerType // file order
	Hardware []Hardware   // file order (2026-08)
	byName   map[string]*RunnerType
}

// Hardware is the facts of one runner label that agentic KV offload budgets need.
type Hardware struct {
	Label               string
	AvailableCPUDRAMMiB int64
	GPUsPerNode         int64
	Pos                 Pos
}

// HardwareOf returns the hardware entry of a label, or nil.
func (r *Runners) HardwareOf(label string) *Hardware {
	for i := range r.Hardware {
		if r.Hardware[i].Label == label {
			return &r.Hardware[i]
		}
	}
	return nil
}

// RunnerType is one runner type and its node names.
type RunnerType struct {
	Name  string
	Nodes []string
	Pos   Pos
}

// Nodes returns the node names of runner type name, and whether the type exists.
func (r *Runners) Nodes(name string) ([]string, bool) {
	t, ok := r.byName[name]
	if !ok {
		return nil, false
	}
	return t.Nodes, true
}

// Has reports whether name is a runner type.
func (r *Runners) Has(name string) bool { _, ok := r.byName[name]; return ok }

// Names returns the runner types in file order.
func (r *Runners) Names() []string {
	names := make([]string, len(r.Types))
	for i, t := range r.Types {
		names[i] = t.Name
	}
	return names
}

// NewRunners builds a Runners from types whose names are unique (tests, tools).
func NewRunners(file string, types []RunnerType) *Runners {
	r := &Runners{File: file, Types: types, byName: make(map[string]*RunnerType, len(types))}
	for i := range r.Types {
		r.byName[r.Types[i].Name] = &r.Types[i]
	}
	return r
}
