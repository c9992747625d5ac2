package matrix

import (
	"io"
	"slices"
	"strconv"

	"github.com/inferbench/inferbench/internal/config"
	"github.com/inferbench/inferbench/internal/pyjson"
)

// WriteJSON writes rows as one line of JSON followed by a newline, byte-identical to
// the reference's json.dumps: ", " and ": " separators, non-ASCII as lower-case \uXXXX
// escapes, keys in the reference's order for each kind of row (docs/generator.md#json).
// The rows are encoded and written in chunks, so a sweep of megabytes needs no buffer of
// its size.
func WriteJSON(w io.Writer, rows []Row) error {
	const chunk = 64 << 10
	b := make([]byte, 0, chunk+4096)
	b = append(b, '[')
	for i := range rows {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendRow(b, &rows[i])
		if len(b) >= chunk {
			if _, err := w.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	_, err := w.Write(append(b, ']', '\n'))
	return err
}

// AppendJSON appends the JSON array of rows (without a newline) to b.
func AppendJSON(b []byte, rows []Row) []byte {
	b = slices.Grow(b, sizeHint(rows)+3)
	b = append(b, '[')
	for i := range rows {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendRow(b, &rows[i])
	}
	return append(b, ']')
}

// sizeHint estimates the encoded size of rows from above, so the output is written
// into one buffer: a sweep is megabytes, and regrowing it costs more than encoding it.
func sizeHint(rows []Row) int {
	n := 0
	for i := range rows {
		r := &rows[i]
		n += 480 + len(r.Image) + len(r.Model) + len(r.ExpName) + len(r.Runner) + 8*len(r.ConcList)
		for _, w := range []*config.Worker{r.Prefill, r.Decode} {
			if w != nil {
				n += 200
				for _, s := range w.Settings {
					n += len(s) + 8
				}
			}
		}
	}
	return n
}

// obj writes a JSON object with the reference's separators.
type obj struct {
	b     []byte
	first bool
}

func (o *obj) key(k string) {
	if o.first {
		o.first = false
	} else {
		o.b = append(o.b, ", "...)
	}
	o.b = appendString(o.b, k)
	o.b = append(o.b, ": "...)
}

func (o *obj) str(k, v string)       { o.key(k); o.b = appendString(o.b, v) }
func (o *obj) int(k string, v int64) { o.key(k); o.b = strconv.AppendInt(o.b, v, 10) }
func (o *obj) bool(k string, v bool) { o.key(k); o.b = strconv.AppendBool(o.b, v) }

func appendRow(b []byte, r *Row) []byte {
	if r.Gen == config.Gen2026_08 {
		return appendRow0208(b, r)
	}
	o := obj{b: append(b, '{'), first: true}
	o.str("image", r.Image)
	o.str("model", r.Model)
	o.str("model-prefix", r.ModelPrefix)
	o.str("precision", r.Precision)
	o.str("framework", r.Framework)
	o.str("runner", r.Runner)
	o.int("isl", r.ISL)
	o.int("osl", r.OSL)
	switch {
	case r.Kind == MultiNode:
		o.str("spec-decoding", r.Spec)
		o.key("prefill")
		o.b = appendWorker(o.b, r.Prefill, r.Order == OrderRunnerModel)
		o.key("decode")
		o.b = appendWorker(o.b, r.Decode, r.Order == OrderRunnerModel)
		o.key("conc")
		o.b = appendInts(o.b, r.ConcList)
		o.int("max-model-len", r.MaxModelLen)
	case r.Order == OrderRunnerModel:
		o.int("tp", r.TP)
		o.int("ep", r.EP)
		o.bool("dp-attn", r.DPAttn)
		o.str("spec-decoding", r.Spec)
		o.int("conc", r.Conc)
		o.int("max-model-len", r.MaxModelLen)
	default:
		o.int("tp", r.TP)
		o.int("conc", r.Conc)
		o.int("max-model-len", r.MaxModelLen)
		o.int("ep", r.EP)
		o.bool("dp-attn", r.DPAttn)
		o.str("spec-decoding", r.Spec)
	}
	o.str("exp-name", r.ExpName)
	o.bool("disagg", r.Disagg)
	o.bool("run-eval", r.RunEval)
	return append(o.b, '}')
}

// appendRow0208 writes a 2026-08 row: the reference builds each kind of row in a fixed key
// order, then appends the component metadata and the eval fields as they are set.
func appendRow0208(b []byte, r *Row) []byte {
	o := obj{b: append(b, '{'), first: true}
	o.str("image", r.Image)
	o.str("model", r.Model)
	o.str("model-prefix", r.ModelPrefix)
	o.str("precision", r.Precision)
	o.str("framework", r.Framework)
	o.str("runner", r.Runner)
	agentic := r.Scenario == AgenticCoding
	switch {
	case agentic && r.Kind == SingleNode:
		o.topology(r)
		o.int("ep", r.EP)
		o.bool("dp-attn", r.DPAttn)
		o.str("spec-decoding", r.Spec)
		o.int("conc", r.Conc)
		o.agentic(r)
	case agentic:
		o.str("spec-decoding", r.Spec)
		o.workers(r)
		o.agentic(r)
	case r.Kind == MultiNode:
		o.int("isl", r.ISL)
		o.int("osl", r.OSL)
		o.str("spec-decoding", r.Spec)
		o.workers(r)
		o.int("max-model-len", r.MaxModelLen)
		o.str("exp-name", r.ExpName)
		o.bool("disagg", r.Disagg)
		o.bool("run-eval", r.RunEval)
	default:
		o.int("isl", r.ISL)
		o.int("osl", r.OSL)
		o.topology(r)
		o.int("conc", r.Conc)
		o.int("max-model-len", r.MaxModelLen)
		o.int("ep", r.EP)
		o.bool("dp-attn", r.DPAttn)
		o.str("spec-decoding", r.Spec)
		o.str("exp-name", r.ExpName)
		o.bool("disagg", r.Disagg)
		o.bool("run-eval", r.RunEval)
	}
	if agentic && r.KVOffloadBackend != nil {
		o.key("kv-offload-backend")
		o.b = appendComponent(o.b, r.KVOffloadBackend, false)
	}
	if r.Router != nil {
		o.key("router")
		o.b = appendComponent(o.b, r.Router, false)
	}
	if r.KVP2PTransfer != "" {
		o.str("kv-p2p-transfer", r.KVP2PTransfer)
	}
	if agentic && !r.NoRunEval {
		o.bool("run-eval", r.RunEval)
	}
	if r.EvalConc != 0 {
		o.int("eval-conc", r.EvalConc)
	}
	if r.EvalAllConcs {
		o.bool("eval-all-concs", true)
	}
	if r.EvalOnly {
		o.bool("eval-only", true)
	}
	return append(o.b, '}')
}

func (o *obj) topology(r *Row) {
	o.int("tp", r.TP)
	o.int("pp", r.PP)
	o.int("dcp-size", r.DCPSize)
	o.int("pcp-size", r.PCPSize)
}

func (o *obj) workers(r *Row) {
	o.key("prefill")
	o.b = appendWorker0208(o.b, r.Prefill)
	o.key("decode")
	o.b = appendWorker0208(o.b, r.Decode)
	o.key("conc")
	o.b = appendInts(o.b, r.ConcList)
}

// agentic writes the fields every agentic row has after its concurrency.
func (o *obj) agentic(r *Row) {
	o.str("kv-offloading", r.KVOffloading)
	o.int("total-cpu-dram-gb", r.TotalCPUDRAMGB)
	o.int("duration", r.Duration)
	o.str("exp-name", r.ExpName)
	if r.Kind == MultiNode {
		o.bool("disagg", r.Disagg)
	}
	o.str("scenario-type", "agentic-coding")
}

// workerKeys0208 are a 2026-08 worker block's keys: as written, then pp, dcp-size and
// pcp-size with their default 1 where not written.
func workerKeys0208(w *config.Worker) []string {
	keys := slices.Clone(w.Keys)
	for _, k := range []string{"pp", "dcp-size", "pcp-size"} {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

func appendWorker0208(b []byte, w *config.Worker) []byte {
	if w == nil {
		return append(b, "null"...)
	}
	o := obj{b: append(b, '{'), first: true}
	for _, k := range w.Keys {
		o.key(k)
		o.b = appendWorkerValue(o.b, w, k)
	}
	for _, k := range [...]string{"pp", "dcp-size", "pcp-size"} {
		if !slices.Contains(w.Keys, k) {
			o.key(k)
			o.b = appendWorkerValue(o.b, w, k)
		}
	}
	return append(o.b, '}')
}

func appendWorkerValue(b []byte, w *config.Worker, k string) []byte {
	switch k {
	case "num-worker":
		return strconv.AppendInt(b, w.NumWorker, 10)
	case "tp":
		return strconv.AppendInt(b, w.TP, 10)
	case "ep":
		return strconv.AppendInt(b, w.EP, 10)
	case "pp":
		return strconv.AppendInt(b, w.PP, 10)
	case "dcp-size":
		return strconv.AppendInt(b, w.DCPSize, 10)
	case "pcp-size":
		return strconv.AppendInt(b, w.PCPSize, 10)
	case "dp-attn":
		return strconv.AppendBool(b, w.DPAttn)
	case "hardware":
		if w.HardwareNull {
			return append(b, "null"...)
		}
		return appendString(b, w.Hardware)
	case "additional-settings":
		if w.SettingsMode == config.SettingsNull {
			return append(b, "null"...)
		}
		return appendStrings(b, w.Settings)
	}
	return append(b, "null"...)
}

// appendComponent writes router or kv-offload-backend metadata in its written key order,
// or sorted by key (sorted), for comparisons.
func appendComponent(b []byte, c *config.Component, sorted bool) []byte {
	keys := c.Keys
	if sorted {
		keys = slices.Sorted(slices.Values(keys))
	}
	o := obj{b: append(b, '{'), first: true}
	for _, k := range keys {
		switch {
		case k == "name":
			o.str(k, c.Name)
		case c.VersionNull:
			o.key(k)
			o.b = append(o.b, "null"...)
		default:
			o.str(k, c.Version)
		}
	}
	return append(o.b, '}')
}

// appendWorker writes a worker block verbatim (the keys as written, in YAML order) or rebuilt
// with all five keys and additional-settings defaulting to []
// (docs/generator.md#quirk-worker-blocks).
func appendWorker(b []byte, w *config.Worker, rebuilt bool) []byte {
	if w == nil {
		return append(b, "null"...)
	}
	keys := w.Keys
	if rebuilt {
		keys = []string{"num-worker", "tp", "ep", "dp-attn", "additional-settings"}
	}
	o := obj{b: append(b, '{'), first: true}
	for _, k := range keys {
		switch k {
		case "num-worker":
			o.int(k, w.NumWorker)
		case "tp":
			o.int(k, w.TP)
		case "ep":
			o.int(k, w.EP)
		case "dp-attn":
			o.bool(k, w.DPAttn)
		case "additional-settings":
			o.key(k)
			if w.SettingsMode == config.SettingsNull {
				o.b = append(o.b, "null"...)
			} else {
				o.b = appendStrings(o.b, w.Settings)
			}
		}
	}
	return append(o.b, '}')
}

func appendInts(b []byte, vs []int64) []byte {
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendInt(b, v, 10)
	}
	return append(b, ']')
}

func appendStrings(b []byte, vs []string) []byte {
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendString(b, v)
	}
	return append(b, ']')
}

// appendString writes s as Python's json.dumps does, as the reference's output is.
func appendString(b []byte, s string) []byte { return pyjson.AppendString(b, s) }

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// Shard splits rows into consecutive chunks of at most n rows (n >= 1). No rows give
// no shards (an empty, non-nil slice): a workflow that fans out over the shards must
// start no job at all rather than one job on an empty matrix, which GitHub rejects.
func Shard(rows []Row, n int) [][]Row {
	n = max(n, 1) // a non-positive n would never make progress
	shards := make([][]Row, 0, (len(rows)+n-1)/n)
	for len(rows) > 0 {
		k := min(n, len(rows))
		shards = append(shards, rows[:k:k])
		rows = rows[k:]
	}
	return shards
}
