package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/inferbench/inferbench/internal/rowrun"
)

// Shape is how a matrix was written, so that the matrix a plan emits has the same one.
type Shape int

const (
	// ShapeArray is a JSON array of rows (full-sweep, test-config, runner-model-sweep).
	ShapeArray Shape = iota
	// ShapeShards is --max-jobs output: {"shard_count", "shard_index", "shards"}.
	ShapeShards
	// ShapeChangelog is the changelog subcommand's standard output: single_node and
	// multi_node buckets by sequence length, in 2026-08 also lists of eval rows (evals,
	// agentic_evals, multinode_evals, multinode_agentic_evals), plus changelog_metadata.
	// A plan emits it as shards, the shape the sweep workflows take, rows in the order of
	// the generator's matrix output.
	ShapeChangelog
)

// Matrix is the rows of one or more generator outputs, in order.
type Matrix struct {
	Shape Shape
	// MaxShard is the largest shard of a sharded input, the size the emitted shards keep.
	MaxShard int
	Rows     []Input
}

// Input is one matrix row as written, and as the agent reads it.
type Input struct {
	// Where says where the row was read ("matrix.json shard 1 row 4").
	Where string
	Obj   Object
	Row   rowrun.Row
	// Err is why the agent could not read the row; such a row is passed through unplanned.
	Err error
}

// ReadMatrix reads the generator's JSON in any of its shapes. name labels errors.
func ReadMatrix(name string, data []byte) (*Matrix, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("%s: empty: want the generator's JSON (an array of rows, its --max-jobs shards or the changelog output)", name)
	}
	m := &Matrix{}
	switch data[0] {
	case '[':
		rows, err := decodeRows(name, data)
		if err != nil {
			return nil, err
		}
		m.add(name, "", rows)
	case '{':
		top, err := decodeObject(data)
		if err != nil {
			return nil, jsonError(name, data, err)
		}
		switch {
		case top.Has("shards"):
			m.Shape = ShapeShards
			var shards []json.RawMessage
			if err := json.Unmarshal(top.Get("shards"), &shards); err != nil {
				return nil, fmt.Errorf("%s: shards: want an array of arrays of rows: %v", name, err)
			}
			for i, s := range shards {
				rows, err := decodeRows(fmt.Sprintf("%s shard %d", name, i), s)
				if err != nil {
					return nil, err
				}
				m.MaxShard = max(m.MaxShard, len(rows))
				m.add(name, fmt.Sprintf(" shard %d", i), rows)
			}
		case top.Has("single_node") || top.Has("multi_node"):
			m.Shape = ShapeChangelog
			for _, kind := range []string{"single_node", "multi_node"} {
				if !top.Has(kind) {
					continue
				}
				buckets, err := decodeObject(top.Get(kind))
				if err != nil {
					return nil, fmt.Errorf("%s: %s: want an object of row arrays by sequence length: %v", name, kind, err)
				}
				for _, b := range buckets {
					rows, err := decodeRows(fmt.Sprintf("%s %s %s", name, kind, b.Key), b.Value)
					if err != nil {
						return nil, err
					}
					m.add(name, " "+kind+" "+b.Key, rows)
				}
			}
			for _, list := range changelogEvalLists {
				if !top.Has(list) {
					continue
				}
				rows, err := decodeRows(name+" "+list, top.Get(list))
				if err != nil {
					return nil, err
				}
				m.add(name, " "+list, rows)
			}
		default:
			return nil, fmt.Errorf("%s: a JSON object without shards, single_node or multi_node: want the generator's JSON (an array of rows, its --max-jobs shards or the changelog output)", name)
		}
	default:
		return nil, fmt.Errorf("%s: not JSON: want the generator's JSON (an array of rows, its --max-jobs shards or the changelog output)", name)
	}
	return m, nil
}

// changelogEvalLists are the 2026-08 changelog output's lists of eval rows, in the order
// the generator's matrix output appends them (docs/generator-generations.md).
var changelogEvalLists = []string{"evals", "agentic_evals", "multinode_evals", "multinode_agentic_evals"}

// Append adds the rows of o after m's, as when one plan covers a single-node and a
// multi-node matrix.
func (m *Matrix) Append(o *Matrix) {
	if len(m.Rows) == 0 {
		m.Shape = o.Shape
	}
	m.MaxShard = max(m.MaxShard, o.MaxShard)
	m.Rows = append(m.Rows, o.Rows...)
}

func (m *Matrix) add(name, part string, rows []Object) {
	for i, obj := range rows {
		in := Input{Where: fmt.Sprintf("%s%s row %d", name, part, i+1), Obj: obj}
		b, _ := obj.MarshalJSON()
		in.Row, in.Err = rowrun.ParseRow(b)
		m.Rows = append(m.Rows, in)
	}
}

func decodeRows(name string, data []byte) ([]Object, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return nil, jsonError(name, data, err)
	}
	out := make([]Object, 0, len(raws))
	for i, r := range raws {
		obj, err := decodeObject(r)
		if err != nil {
			return nil, fmt.Errorf("%s: row %d is not a JSON object: %v", name, i+1, err)
		}
		out = append(out, obj)
	}
	return out, nil
}

// jsonError says where data stops being valid JSON, as line:col.
func jsonError(name string, data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off := min(int(se.Offset), len(data))
		line := 1 + bytes.Count(data[:off], []byte("\n"))
		col := off - bytes.LastIndexByte(data[:off], '\n')
		return fmt.Errorf("%s:%d:%d: %v: is it the generator's complete output?", name, line, col, err)
	}
	return fmt.Errorf("%s: %v: want the generator's JSON", name, err)
}

// Field is one key of a JSON object with its value as written.
type Field struct {
	Key   string
	Value json.RawMessage
}

// Object is a JSON object that keeps its key order, so a row the plan emits reads like the
// generator's.
type Object []Field

func decodeObject(data []byte) (Object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("want a JSON object, got %v", tok)
	}
	var out Object
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = out.With(k.(string), v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the object")
	}
	return out, nil
}

// Has reports whether the object has key.
func (o Object) Has(key string) bool { return o.Get(key) != nil }

// Get returns the value of key, or nil.
func (o Object) Get(key string) json.RawMessage {
	for _, f := range o {
		if f.Key == key {
			return f.Value
		}
	}
	return nil
}

// With returns a copy with key set to v: in place when present, else appended.
func (o Object) With(key string, v json.RawMessage) Object {
	out := append(Object(nil), o...)
	for i := range out {
		if out[i].Key == key {
			out[i].Value = v
			return out
		}
	}
	return append(out, Field{key, v})
}

// Without returns a copy without key.
func (o Object) Without(key string) Object {
	var out Object
	for _, f := range o {
		if f.Key != key {
			out = append(out, f)
		}
	}
	return out
}

// MarshalJSON writes the fields in order, compactly.
func (o Object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.Key)
		b.Write(k)
		b.WriteByte(':')
		if err := json.Compact(&b, f.Value); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Key, err)
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// key is the object without conc, as a string: rows with equal keys differ only in their
// concurrency.
func (o Object) key() string {
	b, _ := o.Without("conc").MarshalJSON()
	return string(b)
}

// describe is a row in a few words, for tables: exp-name precision framework runner and
// the parallelism.
func describe(r rowrun.Row) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s %s", r.ExpName, r.Precision, r.Framework, r.Runner)
	if r.Multinode() {
		fmt.Fprintf(&b, " P %dx tp%d ep%d D %dx tp%d ep%d", r.Prefill.NumWorkers, r.Prefill.TP, r.Prefill.EP,
			r.Decode.NumWorkers, r.Decode.TP, r.Decode.EP)
	} else {
		fmt.Fprintf(&b, " tp%d ep%d", r.TP, r.EP)
		if r.DPAttn {
			b.WriteString(" dpa")
		}
	}
	if r.SpecDecoding != "" && r.SpecDecoding != "none" {
		b.WriteString(" " + r.SpecDecoding)
	}
	return b.String()
}
