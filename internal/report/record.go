package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/inferbench/inferbench/internal/result"
)

// Record is one benchmark point: the typed view of an agg_*.json record
// (docs/measurement.md#agg-record). Raw keeps the file's bytes so agg_bmk.json reproduces each record exactly, field
// order and our additional fields included.
type Record struct {
	HW           string
	Conc         int
	Image        string
	Model        string
	Prefix       string // infmax_model_prefix
	Framework    string
	Precision    string
	SpecDecoding string
	Disagg       bool
	ISL, OSL     int
	Multinode    bool

	// Single-node parallelism.
	TP, EP      int
	DPAttention string

	// Multi-node parallelism.
	PrefillTP, PrefillEP, PrefillWorkers, PrefillGPUs int
	DecodeTP, DecodeEP, DecodeWorkers, DecodeGPUs     int
	PrefillDPAttention, DecodeDPAttention             string

	TputPerGPU, OutputTputPerGPU, InputTputPerGPU float64
	// Metrics holds every other numeric key of the record (latencies in seconds, *_intvty in
	// tokens/s/user), so new statistics flow through without code changes.
	Metrics map[string]float64

	Source string // path the record was read from, relative to the scanned directory
	Raw    json.RawMessage
}

// Metric returns a numeric key of the record and whether it was present.
func (r Record) Metric(name string) (float64, bool) {
	switch name {
	case "tput_per_gpu":
		return r.TputPerGPU, true
	case "output_tput_per_gpu":
		return r.OutputTputPerGPU, true
	case "input_tput_per_gpu":
		return r.InputTputPerGPU, true
	}
	v, ok := r.Metrics[name]
	return v, ok
}

// GPUs is the number of GPUs the point used.
func (r Record) GPUs() int {
	if r.Multinode {
		return r.PrefillGPUs + r.DecodeGPUs
	}
	return r.TP
}

// Parallelism describes the point's parallel layout in one short token, for labels.
func (r Record) Parallelism() string {
	if r.Multinode {
		return fmt.Sprintf("P%dx(tp%d,ep%d,dpa=%s) D%dx(tp%d,ep%d,dpa=%s)",
			r.PrefillWorkers, r.PrefillTP, r.PrefillEP, r.PrefillDPAttention,
			r.DecodeWorkers, r.DecodeTP, r.DecodeEP, r.DecodeDPAttention)
	}
	return fmt.Sprintf("tp%d-ep%d-dpa%s", r.TP, r.EP, r.DPAttention)
}

// requiredKeys are the keys summarize.py, the dashboard and our renderers read; a record
// without one of them is partial and reported rather than shown with zeros.
var requiredKeys = []string{
	"hw", "conc", "model", "infmax_model_prefix", "framework", "precision", "isl", "osl",
	"tput_per_gpu", "output_tput_per_gpu", "input_tput_per_gpu",
	"median_ttft", "median_tpot", "median_intvty", "median_e2el",
}

var singleNodeKeys = []string{"tp", "ep", "dp_attention"}

var multiNodeKeys = []string{
	"prefill_tp", "prefill_ep", "prefill_dp_attention", "prefill_num_workers",
	"decode_tp", "decode_ep", "decode_dp_attention", "decode_num_workers",
	"num_prefill_gpu", "num_decode_gpu",
}

// IsAggRecord reports whether a decoded JSON object looks like an agg record (as opposed
// to a raw client result, a manifest or an eval file): it names hardware and carries the
// per-GPU throughput or the multinode marker summarize.py keys on.
func IsAggRecord(obj map[string]json.RawMessage) bool {
	_, hw := obj["hw"]
	_, tput := obj["tput_per_gpu"]
	_, mn := obj["is_multinode"]
	return hw && (tput || mn)
}

// DecodeRecord reads one agg record. Every problem is reported in one error: missing keys,
// wrong types, non-finite numbers.
func DecodeRecord(data []byte, source string) (Record, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return Record{}, fmt.Errorf("not a JSON object: %w", err)
	}
	d := decoder{obj: obj}
	r := d.record()
	if len(d.errs) > 0 {
		return Record{}, fmt.Errorf("partial agg record: %s", strings.Join(d.errs, "; "))
	}
	r.Source = source
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return Record{}, err
	}
	r.Raw = buf.Bytes()
	return r, nil
}

// decoder collects the problems of one object while filling a Record.
type decoder struct {
	obj     map[string]json.RawMessage
	missing []string
	errs    []string
}

func (d *decoder) record() Record {
	var r Record
	r.HW = d.str("hw")
	r.Conc = d.int("conc")
	r.Image = d.optStr("image")
	r.Model = d.str("model")
	r.Prefix = d.str("infmax_model_prefix")
	r.Framework = d.str("framework")
	r.Precision = d.str("precision")
	r.SpecDecoding = d.optStr("spec_decoding")
	r.Disagg = d.optBool("disagg")
	r.ISL, r.OSL = d.int("isl"), d.int("osl")
	r.Multinode = d.optBool("is_multinode")
	if r.Multinode {
		d.multinode(&r)
	} else {
		r.TP, r.EP, r.DPAttention = d.int("tp"), d.int("ep"), d.boolStr("dp_attention")
	}
	r.TputPerGPU = d.num("tput_per_gpu")
	r.OutputTputPerGPU = d.num("output_tput_per_gpu")
	r.InputTputPerGPU = d.num("input_tput_per_gpu")
	r.Metrics = d.metrics()
	if len(d.missing) > 0 {
		sort.Strings(d.missing)
		d.errs = append([]string{"missing " + strings.Join(d.missing, ", ")}, d.errs...)
	}
	return r
}

func (d *decoder) multinode(r *Record) {
	r.PrefillTP, r.PrefillEP = d.int("prefill_tp"), d.int("prefill_ep")
	r.PrefillDPAttention = d.boolStr("prefill_dp_attention")
	r.PrefillWorkers = d.int("prefill_num_workers")
	r.DecodeTP, r.DecodeEP = d.int("decode_tp"), d.int("decode_ep")
	r.DecodeDPAttention = d.boolStr("decode_dp_attention")
	r.DecodeWorkers = d.int("decode_num_workers")
	r.PrefillGPUs, r.DecodeGPUs = d.int("num_prefill_gpu"), d.int("num_decode_gpu")
}

// isMetricKey tells the statistic keys (mean_ttft, p99_e2el, p99.9_itl, ...) from labels.
func isMetricKey(k string) bool {
	for _, p := range []string{"mean_", "median_", "std_"} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return len(k) > 1 && k[0] == 'p' && k[1] >= '0' && k[1] <= '9'
}

// metrics keeps the derived latency and interactivity keys (every key with a statistic
// prefix); labels and per-GPU throughputs live in their own fields.
func (d *decoder) metrics() map[string]float64 {
	m := map[string]float64{}
	for k, raw := range d.obj {
		if !isMetricKey(k) {
			continue
		}
		if string(raw) == "null" { // a statistic the run could not compute: absent, not 0
			continue
		}
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil {
			d.errs = append(d.errs, fmt.Sprintf("%s: want a number, got %s", k, short(raw)))
			continue
		}
		m[k] = f
	}
	d.power(m)
	for _, k := range requiredKeys {
		if isMetricKey(k) {
			if _, ok := d.obj[k]; !ok {
				d.missing = append(d.missing, k)
			}
		}
	}
	return m
}

// power adds the power and energy fields (avg_power_w, joules_per_output_token, ...) to the
// metrics when the record says they are valid: a record with power_valid 0 publishes none,
// and one without the key (written before power was measured) has none to publish.
func (d *decoder) power(m map[string]float64) {
	valid, ok := d.obj["power_valid"]
	if !ok {
		return
	}
	var v float64
	if err := json.Unmarshal(valid, &v); err != nil {
		d.errs = append(d.errs, fmt.Sprintf("power_valid: want 0 or 1, got %s", short(valid)))
		return
	}
	m["power_valid"] = v
	if v == 0 {
		return
	}
	for _, k := range result.PowerKeys[2:] {
		raw, ok := d.obj[k]
		if !ok || string(raw) == "null" {
			continue
		}
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil {
			d.errs = append(d.errs, fmt.Sprintf("%s: want a number, got %s", k, short(raw)))
			continue
		}
		m[k] = f
	}
}

func (d *decoder) raw(k string, required bool) (json.RawMessage, bool) {
	v, ok := d.obj[k]
	if !ok {
		if required {
			d.missing = append(d.missing, k)
		}
		return nil, false
	}
	return v, true
}

func (d *decoder) str(k string) string {
	v, ok := d.raw(k, true)
	if !ok {
		return ""
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		d.errs = append(d.errs, fmt.Sprintf("%s: want a string, got %s", k, short(v)))
	}
	return s
}

func (d *decoder) optStr(k string) string {
	if _, ok := d.obj[k]; !ok {
		return ""
	}
	return d.str(k)
}

// int accepts a JSON number with an integral value, or a string holding one (env-derived
// fields are strings in some reference files).
func (d *decoder) int(k string) int {
	v, ok := d.raw(k, true)
	if !ok {
		return 0
	}
	var f float64
	if err := json.Unmarshal(v, &f); err == nil && f == math.Trunc(f) {
		return int(f)
	}
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			return n
		}
	}
	d.errs = append(d.errs, fmt.Sprintf("%s: want an integer, got %s", k, short(v)))
	return 0
}

func (d *decoder) num(k string) float64 {
	v, ok := d.raw(k, true)
	if !ok {
		return 0
	}
	var f float64
	if err := json.Unmarshal(v, &f); err != nil || string(v) == "null" {
		d.errs = append(d.errs, fmt.Sprintf("%s: want a number, got %s", k, short(v)))
	}
	return f
}

// optBool reads a JSON bool or the strings "true"/"false" (any case); absent is false,
// as in process_result.py.
func (d *decoder) optBool(k string) bool {
	if _, ok := d.obj[k]; !ok {
		return false
	}
	return d.boolStr(k) == "true"
}

// boolStr normalises the reference's string booleans ("true"/"false") and JSON bools to
// "true"/"false".
func (d *decoder) boolStr(k string) string {
	v, ok := d.raw(k, true)
	if !ok {
		return ""
	}
	var b bool
	if err := json.Unmarshal(v, &b); err == nil {
		return strconv.FormatBool(b)
	}
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			return "true"
		case "false", "":
			return "false"
		}
	}
	d.errs = append(d.errs, fmt.Sprintf("%s: want true or false, got %s", k, short(v)))
	return ""
}

func short(raw json.RawMessage) string {
	s := string(raw)
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}
