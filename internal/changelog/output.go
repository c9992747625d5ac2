package changelog

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/inferbench/inferbench/internal/result"
)

// Output is the changelog result consumed by run-sweep (docs/generator.md#changelog-output).
type Output struct {
	SingleNode Buckets  `json:"single_node"`
	MultiNode  Buckets  `json:"multi_node"`
	Metadata   Metadata `json:"changelog_metadata"`
}

// Metadata describes what was processed.
type Metadata struct {
	BaseRef string  `json:"base_ref"`
	HeadRef string  `json:"head_ref"`
	Entries []Entry `json:"entries"`
}

// Buckets holds rows per sequence-length name, in order of first use.
type Buckets struct {
	Names []string
	Rows  map[string][]json.RawMessage
}

func (b *Buckets) add(name string, row json.RawMessage) {
	if b.Rows == nil {
		b.Rows = map[string][]json.RawMessage{}
	}
	if _, ok := b.Rows[name]; !ok {
		b.Names = append(b.Names, name)
	}
	b.Rows[name] = append(b.Rows[name], row)
}

// Len is the number of rows in all buckets.
func (b Buckets) Len() int {
	n := 0
	for _, rows := range b.Rows {
		n += len(rows)
	}
	return n
}

// MarshalJSON writes the buckets as an object whose keys keep their order of first use.
func (b Buckets) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, name := range b.Names {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(name)
		buf.Write(k)
		buf.WriteString(":[")
		for j, r := range b.Rows[name] {
			if j > 0 {
				buf.WriteByte(',')
			}
			buf.Write(r)
		}
		buf.WriteByte(']')
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// Encode renders o as one compact line of JSON followed by a newline, with non-ASCII
// characters raw and '<', '>', '&' unescaped (docs/generator.md#changelog-output).
func (o *Output) Encode() ([]byte, error) { return encodeLine(o) }

func encodeLine(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Single-node and multi-node rows in the changelog's canonical key order. Struct decoding
// also coerces the generator's row into the schema's types. Embedded structs encode their
// fields in place, so the shared head and tail keep the key order.
type singleRow struct {
	rowHead
	TP     int64 `json:"tp"`
	EP     int64 `json:"ep"`
	DPAttn bool  `json:"dp-attn"`
	Conc   int64 `json:"conc"`
	rowTail
}

type multiRow struct {
	rowHead
	Prefill worker  `json:"prefill"`
	Decode  worker  `json:"decode"`
	Conc    []int64 `json:"conc"`
	rowTail
}

// rowHead are the keys both kinds of row start with.
type rowHead struct {
	Image        string `json:"image"`
	Model        string `json:"model"`
	ModelPrefix  string `json:"model-prefix"`
	Precision    string `json:"precision"`
	Framework    string `json:"framework"`
	SpecDecoding string `json:"spec-decoding"`
	Runner       string `json:"runner"`
	ISL          int64  `json:"isl"`
	OSL          int64  `json:"osl"`
}

// rowTail are the keys both kinds of row end with.
type rowTail struct {
	MaxModelLen int64  `json:"max-model-len"`
	ExpName     string `json:"exp-name"`
	Disagg      bool   `json:"disagg"`
	RunEval     bool   `json:"run-eval"`
}

type worker struct {
	NumWorker int64 `json:"num-worker"`
	TP        int64 `json:"tp"`
	EP        int64 `json:"ep"`
	DPAttn    bool  `json:"dp-attn"`
	// AdditionalSettings is always written: [] when the config omitted it, null when the
	// config said null (docs/generator.md#quirk-worker-blocks).
	AdditionalSettings json.RawMessage `json:"additional-settings"`
}

// canonicalRow re-emits one generator row in canonical form and names its bucket.
func canonicalRow(raw json.RawMessage) (multi bool, bucket string, out json.RawMessage, err error) {
	var probe struct {
		Prefill json.RawMessage `json:"prefill"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return false, "", nil, fmt.Errorf("generator row is not a JSON object: %w", err)
	}
	multi = len(probe.Prefill) > 0 && string(probe.Prefill) != "null"
	var row any
	var isl, osl int64
	if multi {
		var r multiRow
		if err := json.Unmarshal(raw, &r); err != nil {
			return false, "", nil, fmt.Errorf("multi-node row does not fit the schema: %w", err)
		}
		for _, w := range []*worker{&r.Prefill, &r.Decode} {
			if err := w.normalize(); err != nil {
				return false, "", nil, err
			}
		}
		if r.Conc == nil {
			r.Conc = []int64{}
		}
		row, isl, osl = r, r.ISL, r.OSL
	} else {
		var r singleRow
		if err := json.Unmarshal(raw, &r); err != nil {
			return false, "", nil, fmt.Errorf("single-node row does not fit the schema: %w", err)
		}
		row, isl, osl = r, r.ISL, r.OSL
	}
	b, err := encodeLine(row)
	if err != nil {
		return false, "", nil, err
	}
	return multi, SeqLenName(isl, osl), bytes.TrimRight(b, "\n"), nil
}

func (w *worker) normalize() error {
	switch {
	case len(w.AdditionalSettings) == 0:
		w.AdditionalSettings = json.RawMessage("[]")
	case string(w.AdditionalSettings) == "null":
	default:
		var s []string
		if err := json.Unmarshal(w.AdditionalSettings, &s); err != nil {
			return fmt.Errorf("additional-settings must be a list of strings: %w", err)
		}
		b, _ := encodeLine(s)
		w.AdditionalSettings = bytes.TrimRight(b, "\n")
	}
	return nil
}

// SeqLenName names an (isl, osl) pair as the reference does: 1k1k, 1k8k, 8k1k, or
// "<isl>_<osl>".
func SeqLenName(isl, osl int64) string { return result.SeqLenName(int(isl), int(osl)) }

// StandardSeqLens are the bucket names run-sweep has jobs for
// (docs/generator.md#quirk-odd-buckets).
var StandardSeqLens = []string{"1k1k", "1k8k", "8k1k"}
