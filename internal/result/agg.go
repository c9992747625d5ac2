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
}

// Multinode holds the worker layout of a multi-node job and the GPU count of each side.
type Multinode struct {
	Prefill     Workers `json:"prefill"`
	Decode      Workers `json:"decode"`
	PrefillGPUs int     `json:"prefill_gpus"`
	DecodeGPUs  int     `json:"decode_gpus"`
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
	TP, EP, NumWorkers int
	DPAttention        string
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
	return a.TP
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
	}
	t, o := raw.TotalTokenThroughput, raw.OutputThroughput
	if mn := job.Multinode; mn != nil {
		a.Prefill = AggWorkers{mn.Prefill.TP, mn.Prefill.EP, mn.Prefill.NumWorkers, boolString(mn.Prefill.DPAttention)}
		a.Decode = AggWorkers{mn.Decode.TP, mn.Decode.EP, mn.Decode.NumWorkers, boolString(mn.Decode.DPAttention)}
		a.NumPrefillGPU, a.NumDecodeGPU = mn.PrefillGPUs, mn.DecodeGPUs
		if mn.PrefillGPUs <= 0 || mn.DecodeGPUs <= 0 {
			return nil, fmt.Errorf("%w: prefill GPUs %d, decode GPUs %d", ErrNoGPUs, mn.PrefillGPUs, mn.DecodeGPUs)
		}
		a.TputPerGPU = t / float64(mn.PrefillGPUs+mn.DecodeGPUs)
		a.OutputTputPerGPU = o / float64(mn.DecodeGPUs)
		a.InputTputPerGPU = (t - o) / float64(mn.PrefillGPUs)
	} else {
		a.TP, a.EP, a.DPAttention = job.TP, job.EP, boolString(job.DPAttention)
		if job.TP <= 0 {
			return nil, fmt.Errorf("%w: tp %d", ErrNoGPUs, job.TP)
		}
		a.TputPerGPU = t / float64(job.TP)
		a.OutputTputPerGPU = o / float64(job.TP)
		a.InputTputPerGPU = (t - o) / float64(job.TP)
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
	o.add("isl", a.ISL)
	o.add("osl", a.OSL)
	o.add("is_multinode", a.IsMultinode)
	if a.IsMultinode {
		o.add("prefill_tp", a.Prefill.TP)
		o.add("prefill_ep", a.Prefill.EP)
		o.add("prefill_dp_attention", a.Prefill.DPAttention)
		o.add("prefill_num_workers", a.Prefill.NumWorkers)
		o.add("decode_tp", a.Decode.TP)
		o.add("decode_ep", a.Decode.EP)
		o.add("decode_dp_attention", a.Decode.DPAttention)
		o.add("decode_num_workers", a.Decode.NumWorkers)
		o.add("num_prefill_gpu", a.NumPrefillGPU)
		o.add("num_decode_gpu", a.NumDecodeGPU)
	} else {
		o.add("tp", a.TP)
		o.add("ep", a.EP)
		o.add("dp_attention", a.DPAttention)
	}
	o.add("tput_per_gpu", a.TputPerGPU)
	o.add("output_tput_per_gpu", a.OutputTputPerGPU)
	o.add("input_tput_per_gpu", a.InputTputPerGPU)
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
	}
	for _, f := range fields {
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
