package matrix

import "github.com/inferbench/inferbench/internal/config"

// Kind is the kind of a row.
type Kind int

const (
	SingleNode Kind = iota // row has tp, ep, dp-attn and one conc
	MultiNode              // row has prefill, decode and a conc list
)

// KeyOrder selects the reference's key order for a row (spec §5.1, §5.2).
type KeyOrder int

const (
	// OrderSweep is key order A (full-sweep, test-config); for multi-node rows the
	// worker blocks are emitted verbatim (YAML key order, only the keys written).
	OrderSweep KeyOrder = iota
	// OrderRunnerModel is key order B (runner-model-sweep); multi-node worker blocks are
	// rebuilt with all five keys and additional-settings defaulting to [].
	OrderRunnerModel
)

// Row is one matrix job.
type Row struct {
	Kind  Kind
	Order KeyOrder

	Image       string
	Model       string
	ModelPrefix string
	Precision   string
	Framework   string
	Runner      string // runner type, or a node name after node expansion
	ISL, OSL    int64

	// single-node
	TP     int64
	EP     int64
	DPAttn bool
	Conc   int64

	// multi-node
	Prefill  *config.Worker
	Decode   *config.Worker
	ConcList []int64

	Spec        string
	MaxModelLen int64
	ExpName     string
	Disagg      bool
	RunEval     bool

	// Key is the config key the row came from (not serialized).
	Key string
}
