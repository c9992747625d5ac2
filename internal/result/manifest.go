package result

import "time"

// Status of a point or job, as written in the manifest. Success rates count StatusSuccess.
type Status string

const (
	StatusSuccess      Status = "success"
	StatusBenchFailed  Status = "bench_failed"  // the load ran but did not meet its bar
	StatusEngineFailed Status = "engine_failed" // the engine did not start, died or hung
	StatusEvalFailed   Status = "eval_failed"   // accuracy below its threshold, or the eval broke
	StatusPowerInvalid Status = "power_invalid" // power was required and its telemetry did not validate
	StatusCancelled    Status = "cancelled"     // SIGINT/SIGTERM or a timeout
	StatusError        Status = "error"         // anything else (I/O, backend misbehaviour)
)

// Phase is one timed step of a run (pull, start, ready, load, eval, stop).
type Phase struct {
	Name    string    `json:"name"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Seconds float64   `json:"seconds"`
	Status  string    `json:"status"`
	Message string    `json:"message,omitempty"`
}

// GPUInfo is what nvidia-smi or rocm-smi said about the node, when present.
type GPUInfo struct {
	Vendor string `json:"vendor,omitempty"`
	Model  string `json:"model,omitempty"`
	Count  int    `json:"count"`
	Driver string `json:"driver,omitempty"`
}

// Manifest is the record the agent writes for every point it attempted, success or not,
// as manifest_<stem>.json. It is the per-job status record the success rate is computed from.
type Manifest struct {
	SchemaVersion  string   `json:"schema_version"`
	ResultFilename string   `json:"result_filename"`
	Status         Status   `json:"status"`
	StopReason     string   `json:"stop_reason,omitempty"`
	Message        string   `json:"message,omitempty"`
	LogTail        []string `json:"log_tail,omitempty"`

	HW           string `json:"hw"`     // runner type (RUNNER_TYPE)
	SKU          string `json:"sku"`    // GPU SKU of the runner type
	Runner       string `json:"runner"` // runner node (RUNNER_NAME)
	Model        string `json:"model"`
	ModelPrefix  string `json:"model_prefix"`
	Framework    string `json:"framework"`
	Precision    string `json:"precision"`
	SpecDecoding string `json:"spec_decoding"`
	ISL          int    `json:"isl"`
	OSL          int    `json:"osl"`
	TP           int    `json:"tp"`
	EP           int    `json:"ep"`
	DPAttention  bool   `json:"dp_attention"`
	Conc         int    `json:"conc"`
	RunEval      bool   `json:"run_eval,omitempty"`
	Disagg       bool   `json:"disagg,omitempty"`
	// Multinode is the worker layout of a multi-node point (TP, EP and DPAttention are then 0).
	Multinode *Multinode `json:"multinode,omitempty"`

	Backend           string    `json:"backend,omitempty"` // docker, slurm, local
	Image             string    `json:"image,omitempty"`
	ImageDigest       string    `json:"image_digest,omitempty"`
	EngineVersion     string    `json:"engine_version,omitempty"`
	ServerFingerprint string    `json:"server_fingerprint,omitempty"`
	ServerReused      bool      `json:"server_reused"`
	GPU               *GPUInfo  `json:"gpu,omitempty"`
	AgentVersion      string    `json:"agent_version,omitempty"`
	Started           time.Time `json:"started"`
	Finished          time.Time `json:"finished"`
	Phases            []Phase   `json:"phases,omitempty"`
	Files             []string  `json:"files,omitempty"`
	Eval              *EvalRow  `json:"eval,omitempty"`
	// Fingerprint is what determines the point's numbers (docs/plan.md); nil in records
	// written before fingerprints existed, which are never reused.
	Fingerprint *Fingerprint `json:"fingerprint,omitempty"`
	// Reused is set on the copy a sweep collected instead of running the point: where the
	// result was measured. The times and phases above are the original run's.
	Reused *Provenance `json:"reused,omitempty"`
}

// OK reports whether the point counts as a success.
func (m *Manifest) OK() bool { return m.Status == StatusSuccess }

// RunStats is run_stats.json: per GPU SKU, successes over attempts (docs/measurement.md#success-rate).
type RunStats map[string]SKUStats

// SKUStats counts one SKU's jobs.
type SKUStats struct {
	NSuccess int `json:"n_success"`
	Total    int `json:"total"`
}
