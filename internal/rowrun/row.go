package rowrun

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/inferbench/inferbench/internal/limits"
	"github.com/inferbench/inferbench/internal/loadgen"
	"github.com/inferbench/inferbench/internal/result"
)

// Row is one matrix row, the only contract between the generator and the agent: a
// single-node row (top-level tp/ep/dp-attn) or a multi-node disaggregated row (prefill
// and decode worker blocks instead); docs/generator.md#rows. Conc may be one value
// or a list: consecutive points run against one server (one deployment for a multi-node row)
// when its rendered launch is the same.
type Row struct {
	Image        string `json:"image"`
	Model        string `json:"model"`
	ModelPrefix  string `json:"model-prefix"`
	Precision    string `json:"precision"`
	Framework    string `json:"framework"`
	Runner       string `json:"runner"`
	ISL          int    `json:"isl"`
	OSL          int    `json:"osl"`
	TP           int    `json:"tp"`
	Conc         Concs  `json:"conc"`
	MaxModelLen  int    `json:"max-model-len"`
	EP           int    `json:"ep"`
	DPAttn       bool   `json:"dp-attn"`
	SpecDecoding string `json:"spec-decoding"`
	ExpName      string `json:"exp-name"`
	Disagg       bool   `json:"disagg"`
	RunEval      bool   `json:"run-eval"`
	// Prefill and Decode are the worker layout of a multi-node row; nil for single-node.
	Prefill *Workers `json:"prefill,omitempty"`
	Decode  *Workers `json:"decode,omitempty"`

	// 2026-08 fields (docs/generator-generations.md). PP, DCPSize and PCPSize are the
	// pipeline, decode-context and prefill-context parallel sizes (1 in 2026-02 rows).
	PP                int               `json:"pp"`
	DCPSize           int               `json:"dcp-size"`
	PCPSize           int               `json:"pcp-size"`
	Router            *result.Component `json:"router,omitempty"`
	KVP2PTransfer     string            `json:"kv-p2p-transfer,omitempty"`
	RecipeFingerprint string            `json:"recipe-fingerprint,omitempty"`
	// EvalOnly, EvalConc and EvalAllConcs are the 2026-08 eval selection: parsed and
	// recorded; every selected row still runs its throughput points before its eval.
	EvalOnly     bool `json:"eval-only"`
	EvalConc     int  `json:"eval-conc,omitempty"`
	EvalAllConcs bool `json:"eval-all-concs"`
	// Agentic-coding rows (refused before anything starts: trace replay is planned).
	ScenarioType     string            `json:"scenario-type,omitempty"`
	KVOffloading     string            `json:"kv-offloading,omitempty"`
	KVOffloadBackend *result.Component `json:"kv-offload-backend,omitempty"`
	TotalCPUDRAMGB   int               `json:"total-cpu-dram-gb"`
	Duration         int               `json:"duration"`
	// Gen0208 is set for rows of the 2026-08 generator, whose result names and agg
	// records carry the parallel sizes (and the recipe fingerprint, router and KV transfer).
	Gen0208 bool `json:"-"`
}

// AgenticCoding is the scenario-type of rows that replay agentic coding traces.
const AgenticCoding = "agentic-coding"

// ErrTraceReplay refuses agentic-coding rows: their benchmark replays recorded agent
// traces for a fixed duration, which the agent's load generator does not do yet.
var ErrTraceReplay = errors.New("scenario-type agentic-coding: trace replay is not supported yet (planned); this agent runs fixed-seq-len rows only")

// Workers is one side of a disaggregated deployment (a worker block: docs/generator.md#rows).
type Workers struct {
	NumWorkers int  `json:"num-worker"`
	TP         int  `json:"tp"`
	EP         int  `json:"ep"`
	DPAttn     bool `json:"dp-attn"`
	// AdditionalSettings are K=V strings the reference exported verbatim to the launcher
	// (CONFIG_FILE, PREFILL_NODES, DECODE_MTP_SIZE, ...).
	AdditionalSettings []string `json:"additional-settings"`
	// 2026-08: the parallel sizes of each worker (1 when absent) and the hardware label of
	// the side when prefill and decode run on different hardware.
	PP       int    `json:"pp"`
	DCPSize  int    `json:"dcp-size"`
	PCPSize  int    `json:"pcp-size"`
	Hardware string `json:"hardware,omitempty"`
}

// gpus is the GPUs one worker uses: tp × pp × pcp.
func (w *Workers) gpus() int { return w.TP * max(w.PP, 1) * max(w.PCPSize, 1) }

// GPUs is the GPU count of a single-node row: tp × pp × pcp.
func (r *Row) GPUs() int { return r.TP * max(r.PP, 1) * max(r.PCPSize, 1) }

// Multinode reports whether the row describes a multi-node disaggregated deployment.
func (r *Row) Multinode() bool { return r.Prefill != nil || r.Decode != nil }

// Settings merges both sides' additional settings (decode wins on a repeated key) in order
// of first appearance.
func (r *Row) Settings() []Setting {
	var out []Setting
	idx := map[string]int{}
	for _, w := range []*Workers{r.Prefill, r.Decode} {
		if w == nil {
			continue
		}
		for _, kv := range w.AdditionalSettings {
			k, v, _ := strings.Cut(kv, "=")
			if i, ok := idx[k]; ok {
				out[i].Value = v
				continue
			}
			idx[k] = len(out)
			out = append(out, Setting{Key: k, Value: v})
		}
	}
	return out
}

// Setting is one additional setting.
type Setting struct{ Key, Value string }

// setting returns an additional setting's value, or "".
func (r *Row) setting(key string) string {
	for _, s := range r.Settings() {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}

// PrefillGPUs is the prefill side's GPU count: num-worker × tp, unless the row's
// additional settings say otherwise (PREFILL_GPUS).
func (r *Row) PrefillGPUs() int { return r.sideGPUs(r.Prefill, "PREFILL_GPUS") }

// DecodeGPUs is the decode side's GPU count: num-worker × tp, or DECODE_GPUS.
func (r *Row) DecodeGPUs() int { return r.sideGPUs(r.Decode, "DECODE_GPUS") }

func (r *Row) sideGPUs(w *Workers, key string) int {
	if n, err := strconv.Atoi(r.setting(key)); err == nil && n > 0 {
		return n
	}
	if w == nil {
		return 0
	}
	return w.NumWorkers * w.gpus()
}

// result converts a side for the result naming, manifest and agg record; the 2026-08
// fields only for a 2026-08 row, so 2026-02 records stay as they were.
func (w *Workers) result(gen0208 bool) result.Workers {
	if w == nil {
		return result.Workers{}
	}
	out := result.Workers{TP: w.TP, EP: w.EP, NumWorkers: w.NumWorkers, DPAttention: w.DPAttn}
	if gen0208 {
		out.PP, out.DCPSize, out.PCPSize, out.Hardware = max(w.PP, 1), max(w.DCPSize, 1), max(w.PCPSize, 1), w.Hardware
	}
	return out
}

// Concs is a concurrency or a list of them.
type Concs []int

// UnmarshalJSON accepts 4 or [4, 8].
func (c *Concs) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var l []int
		if err := json.Unmarshal(b, &l); err != nil {
			return fmt.Errorf("conc: want an integer or a list of integers: %w", err)
		}
		*c = l
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("conc: want an integer or a list of integers, got %s", b)
	}
	*c = Concs{n}
	return nil
}

// ParseConcs reads CONC as the workflows pass it: "64", "4 8 16", "4,8", "4x8" or "[4, 8]".
func ParseConcs(s string) (Concs, error) {
	f := strings.FieldsFunc(strings.Trim(strings.TrimSpace(s), "[]"), func(r rune) bool {
		return r == ' ' || r == ',' || r == 'x' || r == '\t'
	})
	if len(f) == 0 {
		return nil, errors.New("CONC is empty")
	}
	var out Concs
	for _, x := range f {
		n, err := strconv.Atoi(x)
		if err != nil {
			return nil, fmt.Errorf("CONC %q: %q is not an integer", s, x)
		}
		out = append(out, n)
	}
	return out, nil
}

// ParseRow decodes a single-node or multi-node row; unknown keys are rejected, so no field
// of the generator's schema is silently dropped.
func ParseRow(b []byte) (Row, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return Row{}, fmt.Errorf("matrix row is not a JSON object: %w", err)
	}
	if s, ok := probe["scenario-type"]; ok && string(bytes.TrimSpace(s)) == `"`+AgenticCoding+`"` {
		return Row{}, ErrTraceReplay
	}
	if err := noDuplicateKeys(b); err != nil {
		return Row{}, fmt.Errorf("matrix row: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	r := Row{EP: 1, SpecDecoding: "none", PP: 1, DCPSize: 1, PCPSize: 1}
	if err := dec.Decode(&r); err != nil {
		return Row{}, fmt.Errorf("matrix row: %w", err)
	}
	for _, k := range []string{"pp", "dcp-size", "pcp-size", "router", "kv-p2p-transfer", "recipe-fingerprint", "eval-only", "scenario-type"} {
		_, r.Gen0208 = probe[k]
		if r.Gen0208 {
			break
		}
	}
	if r.Multinode() {
		// A multi-node row has no top-level tp/ep; the single-node default must not leak.
		if _, ok := probe["ep"]; !ok {
			r.EP = 0
		}
		for side, w := range map[string]*Workers{"prefill": r.Prefill, "decode": r.Decode} {
			var keys map[string]json.RawMessage
			if w == nil || json.Unmarshal(probe[side], &keys) != nil {
				continue
			}
			for k, dst := range map[string]*int{"pp": &w.PP, "dcp-size": &w.DCPSize, "pcp-size": &w.PCPSize} {
				if _, given := keys[k]; given {
					r.Gen0208 = true
				} else {
					*dst = 1
				}
			}
		}
	}
	return r, r.Validate()
}

// noDuplicateKeys rejects an object that names a key twice at any depth: encoding/json
// would silently keep the last value, so which of two concs or images ran would depend on
// the order of a hand-written row.
func noDuplicateKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	var walk func(path string) error
	walk = func(path string) error {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k := kt.(string)
				if seen[k] {
					where := ""
					if path != "" {
						where = " in " + path
					}
					return fmt.Errorf("key %q appears twice%s: give each field once", k, where)
				}
				seen[k] = true
				if err := walk(strings.TrimPrefix(path+"."+k, ".")); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(path); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	return walk("")
}

// RowFromEnv builds a row from the reference's environment contract
// (docs/architecture.md#row-from-environment).
func RowFromEnv(getenv func(string) string) (Row, error) {
	var errs []error
	num := func(k string, def int) int {
		v := strings.TrimSpace(getenv(k))
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q is not an integer", k, v))
		}
		return n
	}
	flag := func(k string) bool { return strings.EqualFold(strings.TrimSpace(getenv(k)), "true") }
	r := Row{
		Image: getenv("IMAGE"), Model: getenv("MODEL"), ModelPrefix: getenv("MODEL_PREFIX"),
		Precision: getenv("PRECISION"), Framework: getenv("FRAMEWORK"), Runner: getenv("RUNNER_TYPE"),
		ISL: num("ISL", 0), OSL: num("OSL", 0), TP: num("TP", 0), EP: num("EP_SIZE", 1),
		MaxModelLen: num("MAX_MODEL_LEN", 0), DPAttn: flag("DP_ATTENTION"),
		SpecDecoding: getenv("SPEC_DECODING"), ExpName: getenv("EXP_NAME"),
		Disagg: flag("DISAGG"), RunEval: flag("RUN_EVAL"),
	}
	if strings.TrimSpace(getenv("SCENARIO_TYPE")) == AgenticCoding || strings.TrimSpace(getenv("IS_AGENTIC")) == "1" {
		return Row{}, ErrTraceReplay
	}
	r.PP, r.DCPSize, r.PCPSize = num("PP_SIZE", 1), num("DCP_SIZE", 1), num("PCP_SIZE", 1)
	r.KVP2PTransfer, r.RecipeFingerprint = strings.TrimSpace(getenv("KV_P2P_TRANSFER")), strings.TrimSpace(getenv("RECIPE_FINGERPRINT"))
	r.EvalOnly = flag("EVAL_ONLY")
	if js := strings.TrimSpace(getenv("ROUTER_METADATA")); js != "" && js != "null" {
		r.Router = &result.Component{}
		if err := json.Unmarshal([]byte(js), r.Router); err != nil || r.Router.Name == "" || r.Router.Version == "" {
			errs = append(errs, fmt.Errorf("ROUTER_METADATA=%q: want {\"name\": ..., \"version\": ...}", js))
		}
	}
	for _, k := range []string{"PP_SIZE", "DCP_SIZE", "PCP_SIZE", "ROUTER_METADATA", "KV_P2P_TRANSFER", "RECIPE_FINGERPRINT", "PREFILL_PP_SIZE", "DECODE_PP_SIZE"} {
		r.Gen0208 = r.Gen0208 || getenv(k) != ""
	}
	concVar := "CONC"
	if isMultinodeEnv(getenv) {
		r.TP, r.EP, r.DPAttn = 0, 0, false
		r.Prefill, r.Decode = workersFromEnv(getenv, "PREFILL", num, flag, &errs), workersFromEnv(getenv, "DECODE", num, flag, &errs)
		if strings.TrimSpace(getenv("CONC_LIST")) != "" {
			concVar = "CONC_LIST"
		}
	}
	if c, err := ParseConcs(getenv(concVar)); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", concVar, err))
	} else {
		r.Conc = c
	}
	if r.SpecDecoding == "" {
		r.SpecDecoding = "none"
	}
	// The reference picks scripts by ${EXP_NAME%%_*}; MODEL_PREFIX may be absent there.
	if r.ModelPrefix == "" {
		r.ModelPrefix, _, _ = strings.Cut(r.ExpName, "_")
	}
	if err := errors.Join(errs...); err != nil {
		return r, err
	}
	return r, r.Validate()
}

// isMultinodeEnv tells the multi-node contract (docs/architecture.md#row-from-environment) from the single-node one.
func isMultinodeEnv(getenv func(string) string) bool {
	return strings.EqualFold(getenv("IS_MULTINODE"), "true") || getenv("PREFILL_TP") != "" || getenv("CONC_LIST") != ""
}

// knownSettings are the additional-settings keys the master configs use
// (docs/architecture.md#row-from-environment); the
// workflow exports them as plain variables, so without the JSON arrays they are read back
// from the environment by name.
var knownSettings = []string{"CONFIG_FILE", "PREFILL_NODES", "DECODE_NODES", "DECODE_MTP_SIZE",
	"PREFILL_MAX_NUM_TOKENS", "PREFILL_MAX_BATCH_SIZE", "DECODE_MAX_NUM_TOKENS", "DECODE_MAX_BATCH_SIZE",
	"DECODE_GPU_MEM_FRACTION", "PREFILL_GPUS", "DECODE_GPUS"}

// workersFromEnv reads <SIDE>_NUM_WORKERS, _TP, _EP, _DP_ATTN and the side's additional
// settings: <SIDE>_ADDITIONAL_SETTINGS as a JSON array of "K=V" when the workflow passes
// it, else the known keys found in the environment (attached to the prefill side).
func workersFromEnv(getenv func(string) string, side string, num func(string, int) int, flag func(string) bool, errs *[]error) *Workers {
	w := &Workers{NumWorkers: num(side+"_NUM_WORKERS", 0), TP: num(side+"_TP", 0), EP: num(side+"_EP", 1), DPAttn: flag(side + "_DP_ATTN"),
		PP: num(side+"_PP_SIZE", 1), DCPSize: num(side+"_DCP_SIZE", 1), PCPSize: num(side+"_PCP_SIZE", 1),
		Hardware: strings.TrimSpace(getenv(side + "_HARDWARE"))}
	if js := strings.TrimSpace(getenv(side + "_ADDITIONAL_SETTINGS")); js != "" {
		if err := json.Unmarshal([]byte(js), &w.AdditionalSettings); err != nil {
			*errs = append(*errs, fmt.Errorf("%s_ADDITIONAL_SETTINGS: want a JSON array of \"K=V\" strings: %w", side, err))
		}
		return w
	}
	if side == "PREFILL" && getenv("DECODE_ADDITIONAL_SETTINGS") == "" {
		for _, k := range knownSettings {
			if v := getenv(k); v != "" {
				w.AdditionalSettings = append(w.AdditionalSettings, k+"="+v)
			}
		}
	}
	return w
}

// Validate reports every problem of the row at once and fills the derived defaults the
// generator would have set (max-model-len = isl+osl+200, exp-name = <prefix>_<seqlen>).
func (r *Row) Validate() error {
	if !r.Gen0208 {
		// Rows built in code or read as 2026-02 rows have no parallel sizes: 1.
		r.PP, r.DCPSize, r.PCPSize = max(r.PP, 1), max(r.DCPSize, 1), max(r.PCPSize, 1)
		for _, w := range []*Workers{r.Prefill, r.Decode} {
			if w != nil {
				w.PP, w.DCPSize, w.PCPSize = max(w.PP, 1), max(w.DCPSize, 1), max(w.PCPSize, 1)
			}
		}
	}
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf(f, a...)) }
	for k, v := range map[string]string{"model": r.Model, "model-prefix": r.ModelPrefix, "precision": r.Precision, "framework": r.Framework} {
		if strings.TrimSpace(v) == "" {
			bad("%s is empty", k)
		}
	}
	if r.ISL < 1 || r.OSL < 1 {
		bad("isl %d and osl %d must be positive", r.ISL, r.OSL)
	} else if r.ISL > loadgen.MaxLen || r.OSL > loadgen.MaxLen {
		bad("isl %d and osl %d must be at most %d tokens", r.ISL, r.OSL, loadgen.MaxLen)
	}
	if r.MaxModelLen < 0 || r.MaxModelLen > MaxModelLen {
		bad("max-model-len %d must be within [0, %d]", r.MaxModelLen, MaxModelLen)
	}
	for k, v := range map[string]string{"exp-name": r.ExpName, "model-prefix": r.ModelPrefix, "precision": r.Precision, "framework": r.Framework} {
		if i := strings.IndexFunc(v, func(c rune) bool { return !result.NameChar(c) }); i >= 0 {
			bad("%s %q has %q at byte %d: result files and artifacts are named after it, so only letters, digits and . _ = - may appear", k, v, v[i:i+1], i)
		}
	}
	if r.Multinode() {
		errs = append(errs, r.validateWorkers()...)
	} else {
		for _, f := range []struct {
			name string
			v    int
		}{{"tp", r.TP}, {"ep", r.EP}} {
			if f.v < 1 {
				bad("%s %d must be positive", f.name, f.v)
			} else if f.v > MaxParallel {
				bad("%s %d is more than %d", f.name, f.v, MaxParallel)
			}
		}
		if r.PP < 1 || r.DCPSize < 1 || r.PCPSize < 1 {
			bad("pp %d, dcp-size %d and pcp-size %d must be positive", r.PP, r.DCPSize, r.PCPSize)
		}
	}
	if len(r.Conc) == 0 {
		bad("conc is missing")
	}
	if len(r.Conc) > MaxPoints {
		bad("conc lists %d points; at most %d run in one job", len(r.Conc), MaxPoints)
	}
	seen := map[int]bool{}
	for _, c := range r.Conc {
		if c < 1 {
			bad("conc %d must be positive", c)
		} else if c > loadgen.MaxConcurrency {
			bad("conc %d is more than %d, the most requests the agent keeps in flight", c, loadgen.MaxConcurrency)
		}
		if seen[c] {
			bad("conc %d appears twice: each point writes files named after its conc", c)
		}
		seen[c] = true
	}
	if r.Disagg && !r.Multinode() {
		bad("disagg is true but the row has no prefill/decode worker blocks: disaggregated serving needs a multi-node row")
	}
	if r.Router != nil && (r.Router.Name == "" || r.Router.Version == "") {
		bad("router %+v: want a name and a version", *r.Router)
	}
	switch r.SpecDecoding {
	case "none", "mtp", "draft_model":
	default:
		bad("spec-decoding %q: want none, mtp or draft_model", r.SpecDecoding)
	}
	if r.MaxModelLen == 0 && r.ISL > 0 {
		r.MaxModelLen = r.ISL + r.OSL + 200
		if r.Gen0208 {
			r.MaxModelLen = r.ISL + r.OSL + 256
		}
	}
	if r.ExpName == "" && r.ModelPrefix != "" {
		r.ExpName = r.ModelPrefix + "_" + result.SeqLenName(r.ISL, r.OSL)
	}
	return errors.Join(errs...)
}

// Limits of a row beyond which it cannot be a real deployment and would only exhaust the
// host (the load's own limits are loadgen's: concurrency, lengths, prompts).
const (
	MaxModelLen = limits.MaxModelLen
	MaxParallel = limits.MaxParallel // tp, ep, workers per side
	MaxPoints   = limits.MaxPoints   // concurrencies of one row
)

var settingKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validateWorkers checks a multi-node row's worker blocks.
func (r *Row) validateWorkers() []error {
	var errs []error
	if r.TP != 0 || r.EP != 0 || r.DPAttn {
		errs = append(errs, fmt.Errorf("tp %d, ep %d, dp-attn %t: a multi-node row has no top-level tp, ep or dp-attn (they are per side, in prefill and decode)", r.TP, r.EP, r.DPAttn))
	}
	for _, s := range []struct {
		name string
		w    *Workers
	}{{"prefill", r.Prefill}, {"decode", r.Decode}} {
		if s.w == nil {
			errs = append(errs, fmt.Errorf("%s block is missing: a multi-node row needs both prefill and decode", s.name))
			continue
		}
		// A decode side without workers (2026-08) leaves the prefill workers to serve the
		// whole request.
		minWorkers := 1
		if s.name == "decode" {
			minWorkers = 0
		}
		if s.w.NumWorkers < minWorkers || s.w.TP < 1 || s.w.EP < 1 {
			errs = append(errs, fmt.Errorf("%s: num-worker %d, tp %d and ep %d must be positive", s.name, s.w.NumWorkers, s.w.TP, s.w.EP))
		} else if s.w.NumWorkers > MaxParallel || s.w.TP > MaxParallel || s.w.EP > MaxParallel {
			errs = append(errs, fmt.Errorf("%s: num-worker %d, tp %d and ep %d must be at most %d", s.name, s.w.NumWorkers, s.w.TP, s.w.EP, MaxParallel))
		}
		if s.w.PP < 1 || s.w.DCPSize < 1 || s.w.PCPSize < 1 {
			errs = append(errs, fmt.Errorf("%s: pp %d, dcp-size %d and pcp-size %d must be positive", s.name, s.w.PP, s.w.DCPSize, s.w.PCPSize))
		}
		for _, kv := range s.w.AdditionalSettings {
			if k, _, ok := strings.Cut(kv, "="); !ok || !settingKeyRE.MatchString(k) {
				errs = append(errs, fmt.Errorf("%s: additional setting %q: want KEY=value", s.name, kv))
			}
		}
	}
	return errs
}

// PointStem is the file stem of one point. Single-node: Stem. Multi-node: the job's
// RESULT_FILENAME (given, or built with result.MultiNodeStem over the whole conc list)
// followed by the per-point suffix the reference's multi-node template parses
// (_conc<C>_gpus_<G>_ctx_<P>_gen_<D>, docs/architecture.md#result-files), so each concurrency has its own files.
func (r *Row) PointStem(given, runnerName string, conc int) string {
	if !r.Multinode() {
		return r.Stem(given, runnerName, conc)
	}
	base := given
	switch {
	case base != "":
	case r.Gen0208:
		base = result.MultiNodeStem0208(r.ExpName, r.Precision, r.Framework, r.Prefill.result(r.Gen0208), r.Decode.result(r.Gen0208),
			r.Disagg, r.SpecDecoding, r.Conc, runnerName, r.RecipeFingerprint)
	default:
		base = result.MultiNodeStem(r.ExpName, r.Precision, r.Framework, r.Prefill.result(r.Gen0208), r.Decode.result(r.Gen0208),
			r.Disagg, r.SpecDecoding, r.Conc, runnerName)
	}
	p, d := r.PrefillGPUs(), r.DecodeGPUs()
	return fmt.Sprintf("%s_conc%d_gpus_%d_ctx_%d_gen_%d", base, conc, p+d, p, d)
}

// Stem is the RESULT_FILENAME of one point. When the workflow handed one in, a single-point
// run uses it verbatim and a multi-point run swaps its conc<...> part; otherwise it is built
// with the reference's grammar (docs/architecture.md#result-files).
func (r *Row) Stem(given, runnerName string, conc int) string {
	if given != "" {
		if len(r.Conc) == 1 {
			return given
		}
		parts := strings.Split(given, "_")
		for i, p := range parts {
			if strings.HasPrefix(p, "conc") {
				parts[i] = "conc" + strconv.Itoa(conc)
				return strings.Join(parts, "_")
			}
		}
		return given + "_conc" + strconv.Itoa(conc)
	}
	if r.Gen0208 {
		return result.SingleNodeStem0208(r.ExpName, r.Precision, r.Framework, r.TP, r.PP, r.DCPSize, r.PCPSize, r.EP, r.DPAttn,
			r.Disagg, r.SpecDecoding, conc, runnerName, r.RecipeFingerprint)
	}
	return result.SingleNodeStem(r.ExpName, r.Precision, r.Framework, r.TP, r.EP, r.DPAttn, r.Disagg, r.SpecDecoding, conc, runnerName)
}
