package config

// Pos is a 1-based position in a YAML file.
type Pos struct{ Line, Col int }

// Master is the merged, validated set of master config entries.
type Master struct {
	Entries []*Entry // merged order: file order, then key order within a file
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
	SeqLens     []SeqLen
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
	// ConcList is nil when conc-list is absent, null or empty (spec Q-12).
	ConcList []int64

	Prefill *Worker
	Decode  *Worker
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
	// (spec Q-2). It holds only the keys written.
	Keys []string
}

// Runners is a validated runners.yaml.
type Runners struct {
	File   string
	Types  []RunnerType // file order
	byName map[string]*RunnerType
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
