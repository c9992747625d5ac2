package changelog

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// The 2026-08 reference validates every row against its schema and prints it from the
// schema: keys in the schema's order, defaults filled in, null and unset optional fields
// left out. field lists one schema: a key, and the JSON its absence stands for ("" when
// the key is simply left out).
type field struct{ key, def string }

var (
	singleSchema = []field{{"image", ""}, {"model", ""}, {"model-prefix", ""}, {"precision", ""}, {"framework", ""},
		{"spec-decoding", ""}, {"runner", ""}, {"isl", ""}, {"osl", ""}, {"tp", ""}, {"pp", ""}, {"dcp-size", ""},
		{"pcp-size", ""}, {"ep", ""}, {"dp-attn", ""}, {"conc", ""}, {"max-model-len", ""}, {"exp-name", ""},
		{"disagg", ""}, {"run-eval", ""}, {"eval-only", "false"}, {"router", ""}, {"recipe-fingerprint", ""}}
	multiSchema = []field{{"image", ""}, {"model", ""}, {"model-prefix", ""}, {"precision", ""}, {"framework", ""},
		{"spec-decoding", ""}, {"runner", ""}, {"isl", ""}, {"osl", ""}, {"prefill", ""}, {"decode", ""}, {"conc", ""},
		{"max-model-len", ""}, {"exp-name", ""}, {"disagg", ""}, {"run-eval", ""}, {"eval-only", "false"},
		{"eval-conc", ""}, {"eval-all-concs", "false"}, {"router", ""}, {"kv-p2p-transfer", ""}, {"recipe-fingerprint", ""}}
	agenticSingleSchema = []field{{"image", ""}, {"model", ""}, {"model-prefix", ""}, {"precision", ""}, {"framework", ""},
		{"runner", ""}, {"tp", ""}, {"pp", ""}, {"dcp-size", ""}, {"pcp-size", ""}, {"ep", ""}, {"dp-attn", ""},
		{"spec-decoding", `"none"`}, {"conc", ""}, {"kv-offloading", ""}, {"kv-offload-backend", ""}, {"router", ""},
		{"total-cpu-dram-gb", ""}, {"duration", ""}, {"exp-name", ""}, {"scenario-type", ""}, {"run-eval", ""},
		{"eval-only", ""}, {"recipe-fingerprint", ""}}
	agenticMultiSchema = []field{{"image", ""}, {"model", ""}, {"model-prefix", ""}, {"precision", ""}, {"framework", ""},
		{"spec-decoding", ""}, {"runner", ""}, {"prefill", ""}, {"decode", ""}, {"conc", ""}, {"kv-offloading", ""},
		{"kv-offload-backend", ""}, {"router", ""}, {"kv-p2p-transfer", ""}, {"total-cpu-dram-gb", ""}, {"duration", ""},
		{"exp-name", ""}, {"disagg", ""}, {"scenario-type", ""}, {"run-eval", ""}, {"eval-only", ""}, {"eval-conc", ""},
		{"recipe-fingerprint", ""}}
	workerSchema = []field{{"num-worker", ""}, {"tp", ""}, {"pp", "1"}, {"dcp-size", "1"}, {"pcp-size", "1"}, {"ep", ""},
		{"dp-attn", ""}, {"hardware", ""}, {"additional-settings", "[]"}}
	componentSchema = []field{{"name", ""}, {"version", ""}}
)

// dumpRow prints a generator row as the 2026-08 changelog output does; multi tells
// whether it is a multi-node row.
func dumpRow(r row) (json.RawMessage, bool, error) {
	multi := r.has("prefill")
	schema := singleSchema
	switch {
	case r.agentic() && multi:
		schema = agenticMultiSchema
	case r.agentic():
		schema = agenticSingleSchema
	case multi:
		schema = multiSchema
	}
	known := map[string]bool{}
	for _, f := range schema {
		known[f.key] = true
	}
	for _, f := range r {
		if !known[f.k] {
			return nil, false, fmt.Errorf("generator row has the key %q, which the 2026-08 row schema does not", f.k)
		}
	}
	b, err := dumpObject(r, schema)
	return b, multi, err
}

func dumpObject(r row, schema []field) (json.RawMessage, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	for _, f := range schema {
		v := r.get(f.key)
		switch {
		case v == nil && f.def == "":
			continue
		case v == nil:
			v = json.RawMessage(f.def)
		case string(v) == "null":
			continue
		}
		switch f.key {
		case "prefill", "decode", "router", "kv-offload-backend":
			sub, err := parseRow(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.key, err)
			}
			s := workerSchema
			if f.key == "router" || f.key == "kv-offload-backend" {
				s = componentSchema
			}
			if v, err = dumpObject(sub, s); err != nil {
				return nil, err
			}
		default:
			var c bytes.Buffer
			if err := json.Compact(&c, v); err != nil {
				return nil, err
			}
			v = c.Bytes()
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		writeJSON(&b, f.key)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
