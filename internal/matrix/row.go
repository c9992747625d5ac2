package matrix

import "github.com/inferbench/inferbench/internal/config"

// Kind is the kind of a row.
type Kind int

const (
	SingleNode Kind = iota // row has tp, ep, dp-attn and one conc
	MultiNode              // row has prefill, decode and a conc list
)

// KeyOrder selects the reference's key order for a row (docs/generator.md#rows).
type KeyOrder int

const (
	// OrderSweep is key order A (full-sweep, test-config); for multi-node rows the
	// worker blocks are emitted verbatim (YAML key order, only the keys written).
	OrderSweep KeyOrder = iota
	// OrderRunnerModel is key order B (runner-model-sweep); multi-node worker blocks are
	// rebuilt with all five keys and additional-settings defaulting to [].
	OrderRunnerModel
)

// Scenario is the benchmark scenario of a row (2026-08; every 2026-02 row is fixed).
type Scenario int

const (
	FixedSeqLen   Scenario = iota // random prompts of a fixed isl/osl
	AgenticCoding                 // agentic-coding trace replay
)

// Row is one matrix job.
type Row struct {
	Kind     Kind
	Order    KeyOrder
	Gen      config.Generation // which reference's key order and fields the row has
	Scenario Scenario

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

	// 2026-08 fields. PP, DCPSize and PCPSize are 1 unless the config says otherwise;
	// Router and KVOffloadBackend are nil and KVP2PTransfer is "" when absent.
	PP, DCPSize, PCPSize int64
	Router               *config.Component
	KVP2PTransfer        string
	KVOffloading         string // agentic rows: "none" or "dram"
	KVOffloadBackend     *config.Component
	TotalCPUDRAMGB       int64 // agentic rows: the CPU DRAM KV offload budget
	Duration             int64 // agentic rows: seconds of trace replay
	// NoRunEval leaves run-eval out: agentic rows carry it only once evals were selected.
	NoRunEval    bool
	EvalConc     int64 // multi-node eval rows: the concurrency the eval runs at; 0 absent
	EvalAllConcs bool  // multi-node --all-evals rows: the eval runs at every concurrency
	EvalOnly     bool  // 2026-08 --evals-only/--all-evals rows

	// Key is the config key the row came from (not serialized).
	Key string
}
