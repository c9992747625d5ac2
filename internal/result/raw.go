package result

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Percentile is one requested percentile (P in 0..100) of a metric.
type Percentile struct {
	P     float64
	Value float64
}

// Stat is the summary of one metric over a run. Latency metrics are in milliseconds.
type Stat struct {
	Mean, Median, Std float64
	Percentiles       []Percentile
	// Max is written only for our additions (the reference has no max key).
	Max *float64
}

// Metric is a named Stat. Unit is "ms" for latencies (keys end in _ms) or "" otherwise.
type Metric struct {
	Name string
	Unit string
	Stat Stat
}

// LegacyMetrics are the metrics the reference client reports, in its order.
var LegacyMetrics = []string{"ttft", "tpot", "itl", "e2el"}

// Names of the metrics we add to the raw result.
const (
	MetricITLPerToken      = "itl_per_token"      // chunk gap spread over the chunk's tokens, ms
	MetricSendLag          = "send_lag"           // actual minus scheduled send time, ms
	MetricIntvtyPerRequest = "intvty_per_request" // 1000/TPOT of each request, tok/s/user
)

// Raw is the load generator's result for one concurrency point.
type Raw struct {
	Date                 string // YYYYMMDD-HHMMSS
	Backend              string
	ModelID              string
	TokenizerID          string
	BestOf               int
	NumPrompts           int
	RequestRate          float64 // math.Inf(1) is written as "inf"
	Burstiness           float64
	MaxConcurrency       int
	Duration             float64 // seconds
	Completed            int
	TotalInputTokens     int
	TotalOutputTokens    int
	RequestThroughput    float64
	RequestGoodput       *float64
	OutputThroughput     float64
	TotalTokenThroughput float64
	// Metrics holds the legacy latency metrics (ttft, tpot, itl, e2el) and our added ones,
	// in the order they are written.
	Metrics []Metric
	// Ext holds our scalar additions; nil for a file written by the reference client.
	Ext *RawExt
}

// RawExt are the fields we add after the reference keys.
type RawExt struct {
	SchemaVersion string `json:"schema_version"`
	AgentVersion  string `json:"agent_version,omitempty"`
	Endpoint      string `json:"endpoint,omitempty"`
	DatasetMode   string `json:"dataset_mode,omitempty"`
	// ChatTemplate: requests went through the server's chat template (the reference's
	// --use-chat-template); TemplateTokens is what it adds to every prompt.
	ChatTemplate   bool `json:"chat_template,omitempty"`
	TemplateTokens int  `json:"chat_template_tokens,omitempty"`
	// PromptEstimated counts text-prompt requests whose input length is the client's
	// estimate because the server reported none.
	PromptEstimated   int            `json:"prompt_tokens_estimated,omitempty"`
	InputLen          int            `json:"input_len,omitempty"`
	OutputLen         int            `json:"output_len,omitempty"`
	RandomRangeRatio  float64        `json:"random_range_ratio,omitempty"`
	IgnoreEOS         bool           `json:"ignore_eos"`
	NumWarmups        int            `json:"num_warmups"`
	Seed              int64          `json:"seed"`
	Failed            int            `json:"failed"`
	Errors            map[string]int `json:"errors,omitempty"` // error message -> count
	MissingUsage      int            `json:"missing_usage"`
	ShortOutputs      int            `json:"short_outputs"`
	PromptMismatches  int            `json:"prompt_token_mismatches"`
	ClientBehind      bool           `json:"client_behind"`
	ClientWarnings    []string       `json:"client_warnings,omitempty"`
	ClientCPUSeconds  float64        `json:"client_cpu_seconds,omitempty"`
	RequestsFile      string         `json:"requests_file,omitempty"`
	ServerFingerprint string         `json:"server_fingerprint,omitempty"`
	// The measured window in Unix seconds, so points can be lined up with server metrics.
	StartUnix float64 `json:"benchmark_start_time_unix,omitempty"`
	EndUnix   float64 `json:"benchmark_end_time_unix,omitempty"`
	// WarmupFailed counts warm-up requests that failed (they are not in Failed).
	WarmupFailed int `json:"warmup_failed"`
	// TokensSpread counts requests whose per-chunk token counts were estimated (no
	// per-chunk usage from the server), so their per-token ITL is an even spread.
	TokensSpread  int     `json:"tokens_spread"`
	ClientCPUUtil float64 `json:"client_cpu_util,omitempty"` // CPU seconds per wall second
	Canceled      bool    `json:"canceled"`
	// NotSent counts requests a cancellation kept from being sent (not in Failed).
	NotSent int `json:"not_sent,omitempty"`
	// Per-request lengths in dataset order (the reference's --save-detailed keys).
	InputLens  []int `json:"input_lens,omitempty"`
	OutputLens []int `json:"output_lens,omitempty"`
}

// Metric returns the named metric.
func (r *Raw) Metric(name string) (Stat, bool) {
	for _, m := range r.Metrics {
		if m.Name == name {
			return m.Stat, true
		}
	}
	return Stat{}, false
}

// FailureRate is failed / (completed + failed), 0 when nothing ran.
func (r *Raw) FailureRate() float64 {
	if r.Ext == nil {
		return 0
	}
	total := r.Completed + r.Ext.Failed
	if total == 0 {
		return 0
	}
	return float64(r.Ext.Failed) / float64(total)
}

// PercentileLabel formats P as the reference does: 99 -> "99", 99.9 -> "99.9".
func PercentileLabel(p float64) string {
	if p == math.Trunc(p) {
		return strconv.FormatInt(int64(p), 10)
	}
	return strconv.FormatFloat(p, 'f', -1, 64)
}

func isLegacy(name string) bool {
	for _, n := range LegacyMetrics {
		if n == name {
			return true
		}
	}
	return false
}

func metricKey(stat, name, unit string) string {
	k := stat + "_" + name
	if unit != "" {
		k += "_" + unit
	}
	return k
}

func (o *object) addMetric(m Metric) {
	o.add(metricKey("mean", m.Name, m.Unit), m.Stat.Mean)
	o.add(metricKey("median", m.Name, m.Unit), m.Stat.Median)
	o.add(metricKey("std", m.Name, m.Unit), m.Stat.Std)
	for _, p := range m.Stat.Percentiles {
		o.add(metricKey("p"+PercentileLabel(p.P), m.Name, m.Unit), p.Value)
	}
	if m.Stat.Max != nil {
		o.add(metricKey("max", m.Name, m.Unit), *m.Stat.Max)
	}
}

// MarshalJSON writes the reference keys in the reference order, then our additions.
func (r Raw) MarshalJSON() ([]byte, error) {
	var o object
	o.add("date", r.Date)
	o.add("backend", r.Backend)
	o.add("model_id", r.ModelID)
	o.add("tokenizer_id", r.TokenizerID)
	o.add("best_of", r.BestOf)
	o.add("num_prompts", r.NumPrompts)
	if math.IsInf(r.RequestRate, 1) {
		o.add("request_rate", "inf")
	} else {
		o.add("request_rate", r.RequestRate)
	}
	o.add("burstiness", r.Burstiness)
	o.add("max_concurrency", r.MaxConcurrency)
	o.add("duration", r.Duration)
	o.add("completed", r.Completed)
	o.add("total_input_tokens", r.TotalInputTokens)
	o.add("total_output_tokens", r.TotalOutputTokens)
	o.add("request_throughput", r.RequestThroughput)
	if r.RequestGoodput == nil {
		o.add("request_goodput:", nil)
	} else {
		o.add("request_goodput:", *r.RequestGoodput)
	}
	o.add("output_throughput", r.OutputThroughput)
	o.add("total_token_throughput", r.TotalTokenThroughput)
	for _, m := range r.Metrics {
		if isLegacy(m.Name) {
			o.addMetric(m)
		}
	}
	if r.Ext != nil {
		ext := *r.Ext
		if ext.SchemaVersion == "" {
			ext.SchemaVersion = RawSchema
		}
		fields, err := structFields(ext)
		if err != nil {
			return nil, err
		}
		for _, f := range fields {
			o.add(f.Key, f.Value)
		}
	}
	for _, m := range r.Metrics {
		if !isLegacy(m.Name) {
			o.addMetric(m)
		}
	}
	return o.bytes()
}

// structFields encodes v and returns its fields in declaration order.
func structFields(v any) ([]field, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return decodeOrdered(b)
}

var metricKeyRE = regexp.MustCompile(`^(mean|median|std|max|p[0-9]+(?:\.[0-9]+)?)_(.+?)(?:_(ms))?$`)

var rawScalarKeys = map[string]bool{
	"date": true, "backend": true, "model_id": true, "tokenizer_id": true, "best_of": true,
	"num_prompts": true, "request_rate": true, "burstiness": true, "max_concurrency": true,
	"duration": true, "completed": true, "total_input_tokens": true, "total_output_tokens": true,
	"request_throughput": true, "request_goodput:": true, "output_throughput": true,
	"total_token_throughput": true,
}

// UnmarshalJSON reads a raw result written by us or by the reference client.
func (r *Raw) UnmarshalJSON(data []byte) error {
	fields, err := decodeOrdered(data)
	if err != nil {
		return err
	}
	*r = Raw{}
	ext := map[string]json.RawMessage{}
	index := map[string]int{}
	for _, f := range fields {
		if rawScalarKeys[f.Key] {
			if err := r.setScalar(f.Key, f.Value); err != nil {
				return fmt.Errorf("result key %q: %w", f.Key, err)
			}
			continue
		}
		if m := metricKeyRE.FindStringSubmatch(f.Key); m != nil && !isExtScalar(f.Key) {
			var v *float64
			if err := json.Unmarshal(f.Value, &v); err != nil {
				return fmt.Errorf("result key %q: %w", f.Key, err)
			}
			val := 0.0
			if v != nil {
				val = *v
			}
			i, ok := index[m[2]]
			if !ok {
				i = len(r.Metrics)
				index[m[2]] = i
				r.Metrics = append(r.Metrics, Metric{Name: m[2], Unit: m[3]})
			}
			setStat(&r.Metrics[i].Stat, m[1], val)
			continue
		}
		ext[f.Key] = f.Value
	}
	if len(ext) > 0 {
		b, _ := json.Marshal(ext)
		r.Ext = &RawExt{}
		if err := json.Unmarshal(b, r.Ext); err != nil {
			return fmt.Errorf("result additions: %w", err)
		}
	}
	return nil
}

var extScalarKeys = func() map[string]bool {
	fields, _ := structFields(RawExt{})
	m := map[string]bool{}
	for _, f := range fields {
		m[f.Key] = true
	}
	for _, k := range []string{"agent_version", "endpoint", "dataset_mode", "input_len", "output_len",
		"random_range_ratio", "errors", "client_warnings", "client_cpu_seconds", "requests_file", "server_fingerprint",
		"benchmark_start_time_unix", "benchmark_end_time_unix", "client_cpu_util", "input_lens", "output_lens"} {
		m[k] = true
	}
	return m
}()

func isExtScalar(k string) bool { return extScalarKeys[k] }

func setStat(s *Stat, stat string, v float64) {
	switch stat {
	case "mean":
		s.Mean = v
	case "median":
		s.Median = v
	case "std":
		s.Std = v
	case "max":
		s.Max = &v
	default:
		p, _ := strconv.ParseFloat(strings.TrimPrefix(stat, "p"), 64)
		s.Percentiles = append(s.Percentiles, Percentile{P: p, Value: v})
	}
}

func (r *Raw) setScalar(k string, v json.RawMessage) error {
	if k == "request_rate" {
		var s string
		if json.Unmarshal(v, &s) == nil {
			if s == "inf" {
				r.RequestRate = math.Inf(1)
				return nil
			}
			f, err := strconv.ParseFloat(s, 64)
			r.RequestRate = f
			return err
		}
		return json.Unmarshal(v, &r.RequestRate)
	}
	targets := map[string]any{
		"date": &r.Date, "backend": &r.Backend, "model_id": &r.ModelID, "tokenizer_id": &r.TokenizerID,
		"best_of": &r.BestOf, "num_prompts": &r.NumPrompts, "burstiness": &r.Burstiness,
		"max_concurrency": &r.MaxConcurrency, "duration": &r.Duration, "completed": &r.Completed,
		"total_input_tokens": &r.TotalInputTokens, "total_output_tokens": &r.TotalOutputTokens,
		"request_throughput": &r.RequestThroughput, "request_goodput:": &r.RequestGoodput,
		"output_throughput": &r.OutputThroughput, "total_token_throughput": &r.TotalTokenThroughput,
	}
	return json.Unmarshal(v, targets[k])
}
