package result

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Workers describes one side (prefill or decode) of a disaggregated multi-node deployment.
type Workers struct {
	TP          int  `json:"tp"`
	EP          int  `json:"ep"`
	NumWorkers  int  `json:"num_workers"`
	DPAttention bool `json:"dp_attention"`
	// 2026-08: pipeline and context parallel sizes, and the side's hardware label.
	PP       int    `json:"pp,omitempty"`
	DCPSize  int    `json:"dcp_size,omitempty"`
	PCPSize  int    `json:"pcp_size,omitempty"`
	Hardware string `json:"hardware,omitempty"`
}

// Component is name and version metadata of a runtime component (a router, a KV
// offload backend) as 2026-08 rows and agg records carry it.
type Component struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// Job is the configuration of one benchmark job: what process_result.py read from the
// environment, typed (docs/measurement.md#agg-record).
type Job struct {
	HW             string // RUNNER_TYPE, e.g. b200-trt
	Runner         string // RUNNER_NAME, e.g. b200-nv_0
	ResultFilename string
	Image          string
	Model          string
	ModelPrefix    string
	Framework      string
	Precision      string
	SpecDecoding   string
	Disagg         bool
	ISL, OSL       int
	// Single-node.
	TP, EP      int
	DPAttention bool
	// Multi-node: non-nil for disaggregated multi-node jobs.
	Multinode *Multinode

	// Gen0208 marks a job of a 2026-08 row: its record also carries the recipe
	// fingerprint, router, KV transfer engine and parallel sizes (PP, DCPSize, PCPSize
	// single-node; per side in Multinode), and per-GPU figures count tp × pp × pcp GPUs.
	Gen0208              bool
	PP, DCPSize, PCPSize int
	RecipeFingerprint    string
	Router               *Component
	KVP2PTransfer        string
}

// Multinode holds the worker layout of a multi-node job and the GPU count of each side.
type Multinode struct {
	Prefill     Workers `json:"prefill"`
	Decode      Workers `json:"decode"`
	PrefillGPUs int     `json:"prefill_gpus"`
	DecodeGPUs  int     `json:"decode_gpus"`
}

// GPUs is the number of GPUs the job's throughput is divided by.
func (j Job) GPUs() int {
	if j.Multinode != nil {
		return j.Multinode.PrefillGPUs + j.Multinode.DecodeGPUs
	}
	return j.TP * max(j.PP, 1) * max(j.PCPSize, 1)
}

// Value is one derived numeric field of an agg record.
type Value struct {
	Key   string
	Value float64
}

// Agg is the agg_<stem>.json record (docs/measurement.md#agg-record), field order as the reference emits it.
type Agg struct {
	HW           string
	Conc         int
	Image        string
	Model        string
	ModelPrefix  string
	Framework    string
	Precision    string
	SpecDecoding string
	Disagg       bool
	ISL, OSL     int
	IsMultinode  bool
	// Single-node.
	TP, EP      int
	DPAttention string // "true"/"false": a string in the reference format
	// Multi-node.
	Prefill, Decode             AggWorkers
	NumPrefillGPU, NumDecodeGPU int

	// 2026-08 records (Gen0208): see Job.
	Gen0208              bool
	PP, DCPSize, PCPSize int
	RecipeFingerprint    string
	Router               *Component
	KVP2PTransfer        string
	PrefillHW, DecodeHW  string

	TputPerGPU, OutputTputPerGPU, InputTputPerGPU float64
	// Stats are the derived latency fields (mean_ttft in seconds, mean_intvty, ...), in order.
	Stats []Value
	// Ext holds our additions; nil for a record written by the reference.
	Ext *AggExt
	// Power holds the power and energy fields, written last as the reference appends them;
	// nil when the point was not measured.
	Power *AggPower
}

// AggWorkers is Workers as the agg record spells it (dp attention as a string).
type AggWorkers struct {
	TP, EP, NumWorkers   int
	DPAttention          string
	PP, DCPSize, PCPSize int // 2026-08
}

// AggExt are the fields we add to the agg record.
type AggExt struct {
	SchemaVersion        string  `json:"schema_version"`
	Runner               string  `json:"runner,omitempty"`
	ResultFilename       string  `json:"result_filename,omitempty"`
	NumPrompts           int     `json:"num_prompts"`
	Completed            int     `json:"completed"`
	Failed               int     `json:"failed"`
	Duration             float64 `json:"duration"`
	RequestThroughput    float64 `json:"request_throughput"`
	OutputThroughput     float64 `json:"output_throughput"`
	TotalTokenThroughput float64 `json:"total_token_throughput"`
	ClientBehind         bool    `json:"client_behind"`
	ServerFingerprint    string  `json:"server_fingerprint,omitempty"`
	// ResultFingerprint is the key of the manifest's fingerprint (docs/plan.md).
	ResultFingerprint string `json:"result_fingerprint,omitempty"`
}

// Get returns a derived stat by key (e.g. "median_ttft", "p99_intvty").
func (a *Agg) Get(key string) (float64, bool) {
	for _, v := range a.Stats {
		if v.Key == key {
			return v.Value, true
		}
	}
	return 0, false
}

// GPUs is the GPU count of the record's configuration.
func (a *Agg) GPUs() int {
	if a.IsMultinode {
		return a.NumPrefillGPU + a.NumDecodeGPU
	}
	return a.TP * max(a.PP, 1) * max(a.PCPSize, 1)
}

// ErrNoGPUs is returned when a per-GPU figure would divide by zero.
var ErrNoGPUs = errors.New("GPU count is zero")

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// NewAgg converts a raw result into the agg record of process_result.py, with its
// arithmetic fixed: per-GPU denominators are checked, interactivity of a zero TPOT is 0
// instead of a crash, and std_intvty is the spread of per-request interactivity.
func NewAgg(raw *Raw, job Job) (*Agg, error) {
	if job.Disagg && job.Multinode == nil {
		return nil, errors.New("disaggregated mode requires a multi-node setup")
	}
	a := &Agg{
		HW: job.HW, Conc: raw.MaxConcurrency, Image: job.Image, Model: raw.ModelID,
		ModelPrefix: job.ModelPrefix, Framework: job.Framework, Precision: job.Precision,
		SpecDecoding: job.SpecDecoding, Disagg: job.Disagg, ISL: job.ISL, OSL: job.OSL,
		IsMultinode: job.Multinode != nil,
		Gen0208:     job.Gen0208, RecipeFingerprint: job.RecipeFingerprint, Router: job.Router, KVP2PTransfer: job.KVP2PTransfer,
	}
	t, o := raw.TotalTokenThroughput, raw.OutputThroughput
	if mn := job.Multinode; mn != nil {
		a.Prefill = aggWorkers(mn.Prefill)
		a.Decode = aggWorkers(mn.Decode)
		a.PrefillHW, a.DecodeHW = mn.Prefill.Hardware, mn.Decode.Hardware
		a.NumPrefillGPU, a.NumDecodeGPU = mn.PrefillGPUs, mn.DecodeGPUs
		if mn.PrefillGPUs <= 0 || mn.DecodeGPUs < 0 || (mn.DecodeGPUs == 0 && !job.Gen0208) {
			return nil, fmt.Errorf("%w: prefill GPUs %d, decode GPUs %d", ErrNoGPUs, mn.PrefillGPUs, mn.DecodeGPUs)
		}
		outGPUs := mn.DecodeGPUs
		if outGPUs == 0 {
			// An aggregated multi-node deployment (2026-08): the prefill workers decode too,
			// and the record shows no decode side, as the reference's does.
			outGPUs = mn.PrefillGPUs
			a.Decode = AggWorkers{DPAttention: a.Decode.DPAttention, NumWorkers: a.Decode.NumWorkers, PP: 1, DCPSize: 1, PCPSize: 1}
		}
		a.TputPerGPU = t / float64(mn.PrefillGPUs+mn.DecodeGPUs)
		a.OutputTputPerGPU = o / float64(outGPUs)
		a.InputTputPerGPU = (t - o) / float64(mn.PrefillGPUs)
	} else {
		a.TP, a.EP, a.DPAttention = job.TP, job.EP, boolString(job.DPAttention)
		a.PP, a.DCPSize, a.PCPSize = max(job.PP, 1), max(job.DCPSize, 1), max(job.PCPSize, 1)
		gpus := job.GPUs()
		if gpus <= 0 {
			return nil, fmt.Errorf("%w: tp %d", ErrNoGPUs, job.TP)
		}
		a.TputPerGPU = t / float64(gpus)
		a.OutputTputPerGPU = o / float64(gpus)
		a.InputTputPerGPU = (t - o) / float64(gpus)
	}
	a.Stats = derivedStats(raw)
	a.Ext = &AggExt{
		SchemaVersion: AggSchema, Runner: job.Runner, ResultFilename: job.ResultFilename,
		NumPrompts: raw.NumPrompts, Completed: raw.Completed, Duration: raw.Duration,
		RequestThroughput: raw.RequestThroughput, OutputThroughput: raw.OutputThroughput,
		TotalTokenThroughput: raw.TotalTokenThroughput,
	}
	if raw.Ext != nil {
		a.Ext.Failed = raw.Ext.Failed
		a.Ext.ClientBehind = raw.Ext.ClientBehind
		a.Ext.ServerFingerprint = raw.Ext.ServerFingerprint
	}
	return a, nil
}

func aggWorkers(w Workers) AggWorkers {
	return AggWorkers{TP: w.TP, EP: w.EP, NumWorkers: w.NumWorkers, DPAttention: boolString(w.DPAttention),
		PP: max(w.PP, 1), DCPSize: max(w.DCPSize, 1), PCPSize: max(w.PCPSize, 1)}
}

// interactivity converts a TPOT in ms to tokens/s/user; a zero TPOT has none.
func interactivity(tpotMS float64) float64 {
	if tpotMS <= 0 {
		return 0
	}
	return 1000 / tpotMS
}

func statValues(m Metric) []Value {
	var out []Value
	add := func(stat string, v float64) {
		out = append(out, Value{Key: stat + "_" + m.Name, Value: v})
	}
	add("mean", m.Stat.Mean)
	add("median", m.Stat.Median)
	add("std", m.Stat.Std)
	for _, p := range m.Stat.Percentiles {
		add("p"+PercentileLabel(p.P), p.Value)
	}
	if m.Stat.Max != nil {
		add("max", *m.Stat.Max)
	}
	return out
}

// derivedStats mirrors process_result.py's loop over the client keys: every _ms key in
// seconds, and after each tpot key its interactivity.
func derivedStats(raw *Raw) []Value {
	perReq, hasPerReq := raw.Metric(MetricIntvtyPerRequest)
	var out []Value
	for _, m := range raw.Metrics {
		if m.Unit != "ms" {
			continue
		}
		for _, v := range statValues(m) {
			out = append(out, Value{Key: v.Key, Value: v.Value / 1000})
			if m.Name != "tpot" {
				continue
			}
			key := strings.Replace(v.Key, "tpot", "intvty", 1)
			iv := interactivity(v.Value)
			if strings.HasPrefix(v.Key, "std_") {
				// 1000/std_tpot means nothing; use the spread of per-request interactivity.
				iv = 0
				if hasPerReq {
					iv = perReq.Std
				}
			}
			out = append(out, Value{Key: key, Value: iv})
		}
	}
	for _, m := range raw.Metrics {
		if m.Unit == "" && m.Name == MetricIntvtyPerRequest {
			out = append(out, statValues(m)...)
		}
	}
	return out
}

// MarshalJSON writes the record in the reference's field order, then our additions.
func (a Agg) MarshalJSON() ([]byte, error) {
	var o object
	o.add("hw", a.HW)
	o.add("conc", a.Conc)
	o.add("image", a.Image)
	o.add("model", a.Model)
	o.add("infmax_model_prefix", a.ModelPrefix)
	o.add("framework", a.Framework)
	o.add("precision", a.Precision)
	o.add("spec_decoding", a.SpecDecoding)
	o.add("disagg", a.Disagg)
	v := a.Gen0208
	if v {
		o.add("recipe_fingerprint", a.RecipeFingerprint)
	}
	o.add("isl", a.ISL)
	o.add("osl", a.OSL)
	if v && a.Router != nil {
		o.add("router", a.Router)
	}
	if v && a.KVP2PTransfer != "" {
		o.add("kv_p2p_transfer", a.KVP2PTransfer)
	}
	o.add("is_multinode", a.IsMultinode)
	if a.IsMultinode {
		for _, s := range []struct {
			name string
			w    AggWorkers
		}{{"prefill", a.Prefill}, {"decode", a.Decode}} {
			o.add(s.name+"_tp", s.w.TP)
			if v {
				o.add(s.name+"_pp", s.w.PP)
				o.add(s.name+"_dcp_size", s.w.DCPSize)
				o.add(s.name+"_pcp_size", s.w.PCPSize)
			}
			o.add(s.name+"_ep", s.w.EP)
			o.add(s.name+"_dp_attention", s.w.DPAttention)
			o.add(s.name+"_num_workers", s.w.NumWorkers)
		}
		o.add("num_prefill_gpu", a.NumPrefillGPU)
		o.add("num_decode_gpu", a.NumDecodeGPU)
	} else {
		o.add("tp", a.TP)
		if v {
			o.add("pp", a.PP)
			o.add("dcp_size", a.DCPSize)
			o.add("pcp_size", a.PCPSize)
		}
		o.add("ep", a.EP)
		o.add("dp_attention", a.DPAttention)
	}
	o.add("tput_per_gpu", a.TputPerGPU)
	o.add("output_tput_per_gpu", a.OutputTputPerGPU)
	o.add("input_tput_per_gpu", a.InputTputPerGPU)
	if v && a.IsMultinode && a.PrefillHW != "" {
		o.add("prefill_hw", a.PrefillHW)
		o.add("decode_hw", a.DecodeHW)
	}
	for _, v := range a.Stats {
		o.add(v.Key, v.Value)
	}
	if a.Ext != nil {
		fields, err := structFields(*a.Ext)
		if err != nil {
			return nil, err
		}
		for _, f := range fields {
			o.add(f.Key, f.Value)
		}
	}
	if a.Power != nil {
		fields, err := a.Power.fields()
		if err != nil {
			return nil, err
		}
		for _, f := range fields {
			o.add(f.k, f.v)
		}
	}
	return o.bytes()
}

// UnmarshalJSON reads an agg record written by us or by the reference.
func (a *Agg) UnmarshalJSON(data []byte) error {
	fields, err := decodeOrdered(data)
	if err != nil {
		return err
	}
	*a = Agg{}
	extKeys := map[string]bool{}
	if fs, err := structFields(AggExt{}); err == nil {
		for _, f := range fs {
			extKeys[f.Key] = true
		}
	}
	extKeys["runner"], extKeys["result_filename"], extKeys["server_fingerprint"] = true, true, true
	extKeys["result_fingerprint"] = true
	ext := map[string]json.RawMessage{}
	power := map[string]json.RawMessage{}
	powerKeys := map[string]bool{}
	for _, k := range PowerKeys {
		powerKeys[k] = true
	}
	targets := map[string]any{
		"hw": &a.HW, "conc": &a.Conc, "image": &a.Image, "model": &a.Model,
		"infmax_model_prefix": &a.ModelPrefix, "framework": &a.Framework, "precision": &a.Precision,
		"spec_decoding": &a.SpecDecoding, "disagg": &a.Disagg, "isl": &a.ISL, "osl": &a.OSL,
		"is_multinode": &a.IsMultinode, "tp": &a.TP, "ep": &a.EP, "dp_attention": &a.DPAttention,
		"prefill_tp": &a.Prefill.TP, "prefill_ep": &a.Prefill.EP, "prefill_dp_attention": &a.Prefill.DPAttention,
		"prefill_num_workers": &a.Prefill.NumWorkers, "decode_tp": &a.Decode.TP, "decode_ep": &a.Decode.EP,
		"decode_dp_attention": &a.Decode.DPAttention, "decode_num_workers": &a.Decode.NumWorkers,
		"num_prefill_gpu": &a.NumPrefillGPU, "num_decode_gpu": &a.NumDecodeGPU,
		"tput_per_gpu": &a.TputPerGPU, "output_tput_per_gpu": &a.OutputTputPerGPU,
		"input_tput_per_gpu": &a.InputTputPerGPU,
		"recipe_fingerprint": &a.RecipeFingerprint, "router": &a.Router, "kv_p2p_transfer": &a.KVP2PTransfer,
		"pp": &a.PP, "dcp_size": &a.DCPSize, "pcp_size": &a.PCPSize,
		"prefill_pp": &a.Prefill.PP, "prefill_dcp_size": &a.Prefill.DCPSize, "prefill_pcp_size": &a.Prefill.PCPSize,
		"decode_pp": &a.Decode.PP, "decode_dcp_size": &a.Decode.DCPSize, "decode_pcp_size": &a.Decode.PCPSize,
		"prefill_hw": &a.PrefillHW, "decode_hw": &a.DecodeHW,
	}
	for _, f := range fields {
		if f.Key == "recipe_fingerprint" || f.Key == "pp" || f.Key == "prefill_pp" {
			a.Gen0208 = true
		}
		switch {
		case targets[f.Key] != nil:
			if err := unmarshalLoose(f.Value, targets[f.Key]); err != nil {
				return fmt.Errorf("agg key %q: %w", f.Key, err)
			}
		case extKeys[f.Key]:
			ext[f.Key] = f.Value
		case powerKeys[f.Key]:
			power[f.Key] = f.Value
		default:
			var v *float64
			if err := json.Unmarshal(f.Value, &v); err != nil {
				return fmt.Errorf("agg key %q: not a number: %w", f.Key, err)
			}
			if v != nil {
				a.Stats = append(a.Stats, Value{Key: f.Key, Value: *v})
			}
		}
	}
	if a.Power, err = decodePower(power); err != nil {
		return err
	}
	if len(ext) > 0 {
		b, _ := json.Marshal(ext)
		a.Ext = &AggExt{}
		if err := json.Unmarshal(b, a.Ext); err != nil {
			return fmt.Errorf("agg additions: %w", err)
		}
	}
	return nil
}

// unmarshalLoose accepts the reference's stringly-typed booleans for string targets
// (dp_attention may be true or "true" depending on who wrote the file).
func unmarshalLoose(raw json.RawMessage, target any) error {
	if s, ok := target.(*string); ok {
		var b bool
		if json.Unmarshal(raw, &b) == nil {
			*s = boolString(b)
			return nil
		}
		return json.Unmarshal(raw, s)
	}
	if i, ok := target.(*int); ok {
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil {
			return err
		}
		*i = int(f)
		return nil
	}
	return json.Unmarshal(raw, target)
}
