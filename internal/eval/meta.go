package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/inferbench/inferbench/internal/result"
)

// MetaFromEnv builds meta_env.json from the job's environment as append_lm_eval_summary does
// (docs/evals.md#artifacts): FRAMEWORK and PRECISION, else the tokens before "_tp" in RESULT_FILENAME;
// TP defaults to 1; DP_ATTENTION is true only for "true"; the model is MODEL_NAME, else
// MODEL; hw is RUNNER_TYPE, else "unknown"; ISL and OSL stay strings. Unlike the shell
// original, a non-numeric TP/EP_SIZE/CONC is an error instead of invalid JSON.
func MetaFromEnv(getenv func(string) string) (result.MetaEnv, error) {
	m := result.MetaEnv{
		Framework:    getenv("FRAMEWORK"),
		Precision:    getenv("PRECISION"),
		SpecDecoding: getenv("SPEC_DECODING"),
		DPAttention:  getenv("DP_ATTENTION") == "true",
		Model:        firstNonEmpty(getenv("MODEL_NAME"), getenv("MODEL")),
		HW:           firstNonEmpty(getenv("RUNNER_TYPE"), "unknown"),
		ISL:          getenv("ISL"),
		OSL:          getenv("OSL"),
	}
	fw, prec := frameworkFromStem(getenv("RESULT_FILENAME"))
	m.Framework = firstNonEmpty(m.Framework, fw)
	m.Precision = firstNonEmpty(m.Precision, prec)
	var errs []error
	m.TP = envInt(getenv, "TP", 1, &errs)
	m.EP = envInt(getenv, "EP_SIZE", 1, &errs)
	m.Conc = envInt(getenv, "CONC", 0, &errs)
	return m, errors.Join(errs...)
}

func envInt(getenv func(string) string, name string, def int, errs *[]error) int {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s=%q is not a whole number", name, v))
		return def
	}
	return n
}

// frameworkFromStem reads "<exp>_<prec>_<fw>_tp8-..." as the reference's shell does.
func frameworkFromStem(stem string) (framework, precision string) {
	parts := strings.Split(stem, "_")
	for i, p := range parts {
		if i >= 2 && strings.HasPrefix(p, "tp") && len(p) > 2 && p[2] >= '0' && p[2] <= '9' {
			return parts[i-1], parts[i-2]
		}
	}
	return "", ""
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// readMeta decodes meta_env.json leniently: the reference writes it by shell interpolation,
// so numbers may arrive as strings and booleans as "true"/"false".
func readMeta(path string) (result.MetaEnv, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return result.MetaEnv{}, err
	}
	var raw map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return result.MetaEnv{}, fmt.Errorf("%s: not JSON: %w", path, err)
	}
	str := func(k string) string {
		switch v := raw[k].(type) {
		case string:
			return v
		case json.Number:
			return v.String()
		case bool:
			return strconv.FormatBool(v)
		}
		return ""
	}
	num := func(k string, def int) int {
		if n, err := strconv.Atoi(strings.TrimSpace(str(k))); err == nil {
			return n
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(str(k)), 64); err == nil {
			return int(f)
		}
		return def
	}
	return result.MetaEnv{
		Framework: str("framework"), Precision: str("precision"), SpecDecoding: str("spec_decoding"),
		TP: num("tp", 1), Conc: num("conc", 0), EP: num("ep", 1),
		DPAttention: strings.EqualFold(str("dp_attention"), "true"),
		Model:       str("model"), HW: str("hw"), ISL: str("isl"), OSL: str("osl"),
	}, nil
}
