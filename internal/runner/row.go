package runner

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/inferbench/inferbench/internal/result"
)

// Row is one single-node matrix row (generator.md §5.1), the only contract between the
// generator and the agent. Conc may be one value or a list: consecutive points run against
// one server when its rendered launch is the same.
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
}

// Concs is a concurrency or a list of them.
type Concs []int

// UnmarshalJSON accepts 4 or [4, 8].
func (c *Concs) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var l []int
		if err := json.Unmarshal(b, &l); err != nil {
			return fmt.Errorf("conc: want an integer or a list of integers: %v", err)
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

// ParseRow decodes a row; unknown keys are rejected (a multi-node row, with prefill and
// decode blocks, is not something `agent run` can serve yet).
func ParseRow(b []byte) (Row, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return Row{}, fmt.Errorf("matrix row is not a JSON object: %v", err)
	}
	if _, ok := probe["prefill"]; ok {
		return Row{}, errors.New("multi-node rows (prefill/decode) are not supported by `agent run`; they run through their cluster's orchestrator")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	r := Row{EP: 1, SpecDecoding: "none"}
	if err := dec.Decode(&r); err != nil {
		return Row{}, fmt.Errorf("matrix row: %v", err)
	}
	return r, r.Validate()
}

// RowFromEnv builds a row from the reference's environment contract (spec §1.4).
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
	if c, err := ParseConcs(getenv("CONC")); err != nil {
		errs = append(errs, err)
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

// Validate reports every problem of the row at once and fills the derived defaults the
// generator would have set (max-model-len = isl+osl+200, exp-name = <prefix>_<seqlen>).
func (r *Row) Validate() error {
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf(f, a...)) }
	for k, v := range map[string]string{"model": r.Model, "model-prefix": r.ModelPrefix, "precision": r.Precision, "framework": r.Framework} {
		if strings.TrimSpace(v) == "" {
			bad("%s is empty", k)
		}
	}
	if r.ISL < 1 || r.OSL < 1 {
		bad("isl %d and osl %d must be positive", r.ISL, r.OSL)
	}
	if r.TP < 1 {
		bad("tp %d must be positive", r.TP)
	}
	if r.EP < 1 {
		bad("ep %d must be positive", r.EP)
	}
	if len(r.Conc) == 0 {
		bad("conc is missing")
	}
	for _, c := range r.Conc {
		if c < 1 {
			bad("conc %d must be positive", c)
		}
	}
	if r.Disagg {
		bad("disagg rows need a multi-node setup; `agent run` serves single-node rows")
	}
	switch r.SpecDecoding {
	case "none", "mtp", "draft_model":
	default:
		bad("spec-decoding %q: want none, mtp or draft_model", r.SpecDecoding)
	}
	if r.MaxModelLen == 0 && r.ISL > 0 {
		r.MaxModelLen = r.ISL + r.OSL + 200
	}
	if r.ExpName == "" && r.ModelPrefix != "" {
		r.ExpName = r.ModelPrefix + "_" + result.SeqLenName(r.ISL, r.OSL)
	}
	return errors.Join(errs...)
}

// Stem is the RESULT_FILENAME of one point. When the workflow handed one in, a single-point
// run uses it verbatim and a multi-point run swaps its conc<...> part; otherwise it is built
// with the reference's grammar (spec §1.2).
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
	return result.SingleNodeStem(r.ExpName, r.Precision, r.Framework, r.TP, r.EP, r.DPAttn, r.Disagg, r.SpecDecoding, conc, runnerName)
}
