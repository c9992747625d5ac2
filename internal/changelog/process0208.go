package changelog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/inferbench/inferbench/internal/diag"
	"github.com/inferbench/inferbench/internal/pyjson"
)

// The 2026-08 changelog processing. Each entry may restrict its scenarios (scenario-type),
// ask for evals only or for every eval (all-evals), drop multi-node eval rows below a
// prefill ep (eval-min-prefill-ep), or be append-only: only the points its change adds to
// existing curves run, which is checked against the configs of the base revision.
// Throughput rows and eval rows are expanded separately (test-config --no-evals, and
// --evals-only [--all-evals]) and go to their own buckets; every throughput row gets the
// recipe-fingerprint that names its recipe independently of concurrency.

// EvalQuery is the eval selection of one expansion.
type EvalQuery int

const (
	NoEvals        EvalQuery = iota // throughput rows (--no-evals)
	OnlyEvals                       // eval rows (--evals-only)
	OnlyEvalsOfAll                  // every eval row (--evals-only --all-evals)
)

// Query is one expansion the 2026-08 processing asks for: test-config of Keys with
// Scenarios (nil: all) and Evals, over the configs of the head, or of the base revision
// when Base is set.
type Query struct {
	Keys      []string
	Scenarios []string
	Evals     EvalQuery
	Base      bool
}

// Options0208 turn on 2026-08 processing and inject what it needs.
type Options0208 struct {
	Expand Expander0208
	// Raw returns the merged master configs, key by key, as plain decoded YAML values, of
	// the head or the base revision; append-only entries compare them.
	Raw func(ctx context.Context, base bool) (map[string]any, error)
	// TrimConc keeps one concurrency per recipe; AllEvals and EvalsOnly apply to every
	// entry (the workflow's modifiers).
	TrimConc, AllEvals, EvalsOnly bool
}

// Expander0208 runs one Query.
type Expander0208 func(ctx context.Context, q Query) ([]json.RawMessage, error)

// Output0208 is the 2026-08 changelog result.
type Output0208 struct {
	SingleNode, MultiNode                                      Buckets
	Evals, AgenticEvals, MultinodeEvals, MultinodeAgenticEvals []json.RawMessage
	Metadata                                                   Metadata
}

// Len is the number of rows of every bucket.
func (o *Output0208) Len() int {
	return o.SingleNode.Len() + o.MultiNode.Len() + len(o.Evals) + len(o.AgenticEvals) + len(o.MultinodeEvals) + len(o.MultinodeAgenticEvals)
}

// Rows returns every row: single-node buckets, multi-node buckets, then the eval lists.
func (o *Output0208) Rows() []json.RawMessage {
	var rows []json.RawMessage
	for _, b := range []Buckets{o.SingleNode, o.MultiNode} {
		for _, name := range b.Names {
			rows = append(rows, b.Rows[name]...)
		}
	}
	for _, l := range [][]json.RawMessage{o.Evals, o.AgenticEvals, o.MultinodeEvals, o.MultinodeAgenticEvals} {
		rows = append(rows, l...)
	}
	return rows
}

// Encode renders the output as the 2026-08 reference does: one compact line, keys in its
// schema's order.
func (o *Output0208) Encode() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"single_node":`)
	sn, _ := o.SingleNode.MarshalJSON()
	b.Write(sn)
	b.WriteString(`,"multi_node":`)
	mn, _ := o.MultiNode.MarshalJSON()
	b.Write(mn)
	for _, l := range []struct {
		name string
		rows []json.RawMessage
	}{{"evals", o.Evals}, {"agentic_evals", o.AgenticEvals}, {"multinode_evals", o.MultinodeEvals}, {"multinode_agentic_evals", o.MultinodeAgenticEvals}} {
		fmt.Fprintf(&b, `,"%s":[`, l.name)
		for i, r := range l.rows {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(r)
		}
		b.WriteByte(']')
	}
	b.WriteString(`,"changelog_metadata":`)
	b.Write(o.MetadataJSON())
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// MetadataJSON is the changelog_metadata object.
func (o *Output0208) MetadataJSON() []byte {
	var b bytes.Buffer
	b.WriteString(`{"base_ref":`)
	writeJSON(&b, o.Metadata.BaseRef)
	b.WriteString(`,"head_ref":`)
	writeJSON(&b, o.Metadata.HeadRef)
	b.WriteString(`,"entries":[`)
	for i, e := range o.Metadata.Entries {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(entryJSON0208(e))
	}
	b.WriteString("]}")
	return b.Bytes()
}

func writeJSON(b *bytes.Buffer, v any) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	b.Truncate(b.Len() - 1) // Encode's newline
}

// entryJSON0208 is a changelog entry as the 2026-08 metadata shows it: every field, with
// the optional ones only when set.
func entryJSON0208(e Entry) []byte {
	var b bytes.Buffer
	b.WriteString(`{"config-keys":`)
	writeJSON(&b, nonNil(e.ConfigKeys))
	b.WriteString(`,"description":`)
	writeJSON(&b, nonNil(e.Description))
	b.WriteString(`,"pr-link":`)
	writeJSON(&b, e.PRLink)
	fmt.Fprintf(&b, `,"evals-only":%t,"all-evals":%t,"append-only":%t`, e.EvalsOnly, e.AllEvals, e.AppendOnly)
	if e.EvalMinPrefillEP != nil {
		fmt.Fprintf(&b, `,"eval-min-prefill-ep":%d`, *e.EvalMinPrefillEP)
	}
	if e.ScenarioType != nil {
		b.WriteString(`,"scenario-type":`)
		writeJSON(&b, e.ScenarioType)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Process0208 runs the 2026-08 pipeline on the entries added between the refs.
func Process0208(ctx context.Context, req Request) (*Output0208, error) {
	entries, err := addedEntries(ctx, req.Git, req.BaseRef, req.HeadRef, req.File, true)
	if err != nil {
		return nil, err
	}
	return Expand0208(ctx, req, entries)
}

// Expand0208 resolves and expands 2026-08 entries (req.V0208 must be set). With a nil
// Expand it only resolves and checks them.
func Expand0208(ctx context.Context, req Request, entries []Entry) (*Output0208, error) {
	o := req.V0208
	var diags diag.List
	appendOnly := 0
	for _, e := range entries {
		if e.AppendOnly {
			appendOnly++
		}
	}
	if appendOnly > 0 && appendOnly < len(entries) {
		for _, e := range entries {
			if !e.AppendOnly {
				diags.Add(req.File, e.Line, e.Col, "put the append-only entries and the others in separate pull requests",
					"append-only entries cannot share a sweep with regular changelog entries")
				break
			}
		}
	}
	if appendOnly > 0 && (o.AllEvals || o.EvalsOnly) {
		diags.Add(req.File, entries[0].Line, entries[0].Col, "run append-only entries without the all-evals or evals-only modifiers",
			"append-only sweeps cannot use all-evals or evals-only modifiers")
	}
	resolved, err := resolveAll(req, entries, diags)
	if err != nil {
		return nil, err
	}
	out := &Output0208{Metadata: Metadata{BaseRef: req.BaseRef, HeadRef: req.HeadRef, Entries: entries}}
	if out.Metadata.Entries == nil {
		out.Metadata.Entries = []Entry{}
	}
	if o.Expand == nil {
		return out, nil
	}
	if appendOnly > 0 {
		if err := checkAppendScope(ctx, o, entries, resolved); err != nil {
			return nil, err
		}
	}
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	// Entries that expand every eval go first, so their wider eval rows win for a
	// config several entries name.
	sort.SliceStable(order, func(a, b int) bool { return entries[order[a]].AllEvals && !entries[order[b]].AllEvals })
	benchSeen, evalSeen := map[string]map[string]bool{}, map[string]map[string]bool{}
	var bench, evals []json.RawMessage
	for _, i := range order {
		e := entries[i]
		scenarios := e.ScenarioType
		if scenarios == nil {
			scenarios = scenarioTypes
		}
		if !(o.EvalsOnly || e.EvalsOnly || e.AllEvals) {
			for _, g := range unseen(resolved[i], scenarios, benchSeen) {
				q := Query{Keys: g.keys, Evals: NoEvals}
				if !slices.Equal(g.scenarios, scenarioTypes) {
					q.Scenarios = g.scenarios
				}
				rows, err := o.Expand(ctx, q)
				if err != nil {
					return nil, fmt.Errorf("expanding the entry at %s:%d: %w", req.File, e.Line, err)
				}
				if e.AppendOnly {
					q.Base = true
					base, err := o.Expand(ctx, q)
					if err != nil {
						return nil, fmt.Errorf("expanding the entry at %s:%d on the base revision: %w", req.File, e.Line, err)
					}
					if rows, err = appendOnlyDelta(base, rows); err != nil {
						return nil, fmt.Errorf("entry at %s:%d: %w", req.File, e.Line, err)
					}
				}
				bench = append(bench, rows...)
			}
		}
		if e.AppendOnly {
			continue
		}
		for _, g := range unseen(resolved[i], scenarios, evalSeen) {
			q := Query{Keys: g.keys, Scenarios: g.scenarios, Evals: OnlyEvals}
			if o.AllEvals || e.AllEvals {
				q.Evals = OnlyEvalsOfAll
			}
			rows, err := o.Expand(ctx, q)
			if err != nil {
				return nil, fmt.Errorf("expanding the evals of the entry at %s:%d: %w", req.File, e.Line, err)
			}
			evals = append(evals, dropBelowPrefillEP(rows, e.EvalMinPrefillEP)...)
		}
	}
	if o.TrimConc {
		bench = trimConc(bench)
	}
	for _, raw := range bench {
		r, err := parseRow(raw)
		if err != nil {
			return nil, err
		}
		fp, err := recipeFingerprint(r)
		if err != nil {
			return nil, err
		}
		r = r.set("recipe-fingerprint", json.RawMessage(`"`+fp+`"`))
		dumped, multi, err := dumpRow(r)
		if err != nil {
			return nil, err
		}
		bucket := "agentic"
		if !r.agentic() {
			bucket = seqLenName0208(r)
		}
		if multi {
			out.MultiNode.add(bucket, dumped)
		} else {
			out.SingleNode.add(bucket, dumped)
		}
	}
	for _, raw := range evals {
		r, err := parseRow(raw)
		if err != nil {
			return nil, err
		}
		dumped, multi, err := dumpRow(r)
		if err != nil {
			return nil, err
		}
		switch {
		case multi && r.agentic():
			out.MultinodeAgenticEvals = append(out.MultinodeAgenticEvals, dumped)
		case multi:
			out.MultinodeEvals = append(out.MultinodeEvals, dumped)
		case r.agentic():
			out.AgenticEvals = append(out.AgenticEvals, dumped)
		default:
			out.Evals = append(out.Evals, dumped)
		}
	}
	for _, l := range []*[]json.RawMessage{&out.Evals, &out.AgenticEvals, &out.MultinodeEvals, &out.MultinodeAgenticEvals} {
		if *l == nil {
			*l = []json.RawMessage{}
		}
	}
	return out, nil
}

// seqLenName0208 names a row's bucket as 2026-08 does: only 1k1k and 8k1k have names.
func seqLenName0208(r row) string {
	var isl, osl int64
	_ = json.Unmarshal(r.get("isl"), &isl)
	_ = json.Unmarshal(r.get("osl"), &osl)
	if isl == 1024 && osl == 8192 {
		return "1024_8192"
	}
	return SeqLenName(isl, osl)
}

type group struct {
	scenarios []string
	keys      []string
}

// unseen groups the keys by the scenarios of the entry not yet expanded for them, in
// scenario order, and marks those as expanded.
func unseen(keys, scenarios []string, seen map[string]map[string]bool) []group {
	var groups []group
	for _, k := range keys {
		if seen[k] == nil {
			seen[k] = map[string]bool{}
		}
		var fresh []string
		for _, s := range scenarioTypes {
			if slices.Contains(scenarios, s) && !seen[k][s] {
				fresh = append(fresh, s)
				seen[k][s] = true
			}
		}
		if fresh == nil {
			continue
		}
		i := slices.IndexFunc(groups, func(g group) bool { return slices.Equal(g.scenarios, fresh) })
		if i < 0 {
			groups = append(groups, group{scenarios: fresh})
			i = len(groups) - 1
		}
		groups[i].keys = append(groups[i].keys, k)
	}
	return groups
}

// dropBelowPrefillEP removes multi-node eval rows whose prefill ep is below min.
func dropBelowPrefillEP(rows []json.RawMessage, min *int64) []json.RawMessage {
	if min == nil {
		return rows
	}
	var out []json.RawMessage
	for _, raw := range rows {
		var probe struct {
			Prefill *struct {
				EP *int64 `json:"ep"`
			} `json:"prefill"`
		}
		if err := json.Unmarshal(raw, &probe); err == nil && probe.Prefill != nil {
			ep := int64(1)
			if probe.Prefill.EP != nil {
				ep = *probe.Prefill.EP
			}
			if ep < *min {
				continue
			}
		}
		out = append(out, raw)
	}
	return out
}

// row is a generator row with its keys in order.
type row []struct {
	k string
	v json.RawMessage
}

func parseRow(raw json.RawMessage) (row, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("generator row is not a JSON object")
	}
	var r row
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("generator row: %w", err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("generator row: %w", err)
		}
		r = append(r, struct {
			k string
			v json.RawMessage
		}{k.(string), v})
	}
	return r, nil
}

func (r row) get(k string) json.RawMessage {
	for _, f := range r {
		if f.k == k {
			return f.v
		}
	}
	return nil
}

func (r row) has(k string) bool {
	v := r.get(k)
	return v != nil && string(v) != "null"
}

func (r row) set(k string, v json.RawMessage) row {
	for i := range r {
		if r[i].k == k {
			out := slices.Clone(r)
			out[i].v = v
			return out
		}
	}
	return append(slices.Clone(r), struct {
		k string
		v json.RawMessage
	}{k, v})
}

func (r row) agentic() bool { return string(r.get("scenario-type")) == `"agentic-coding"` }

func (r row) json() json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range r {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSON(&b, f.k)
		b.WriteByte(':')
		b.Write(f.v)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// sorted is the row without the given keys as Python's json.dumps(sort_keys=True) writes
// it: the canonical form recipe identities are compared and hashed in.
func (r row) sorted(except ...string) ([]byte, error) {
	var kept row
	for _, f := range r {
		if !slices.Contains(except, f.k) {
			kept = append(kept, f)
		}
	}
	return pyjson.AppendSorted(nil, kept.json())
}

// recipeFingerprint is the SHA-256 of the row's canonical form without its concurrency,
// exp-name and fingerprint: the same recipe at any concurrency has the same one.
func recipeFingerprint(r row) (string, error) {
	b, err := r.sorted("conc", "exp-name", "recipe-fingerprint")
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

func concsOf(r row) ([]int64, bool, error) {
	v := r.get("conc")
	var one int64
	if err := json.Unmarshal(v, &one); err == nil {
		return []int64{one}, false, nil
	}
	var many []int64
	if err := json.Unmarshal(v, &many); err != nil || len(many) == 0 {
		return nil, false, fmt.Errorf("append-only matrix entry has invalid concurrency value: %s", v)
	}
	return many, true, nil
}

// trimConc keeps the lowest concurrency of each recipe: single-node rows that differ only
// in conc (and exp-name) keep the first lowest; multi-node rows keep their lowest value.
func trimConc(rows []json.RawMessage) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(rows))
	groups := map[string][]int{}
	var order []string
	conc := map[int]int64{}
	for _, raw := range rows {
		r, err := parseRow(raw)
		if err != nil {
			out = append(out, raw)
			continue
		}
		cs, list, err := concsOf(r)
		if err != nil {
			out = append(out, raw)
			continue
		}
		if r.has("prefill") {
			if list && len(cs) > 1 {
				raw = r.set("conc", []byte(fmt.Sprintf("[%d]", slices.Min(cs)))).json()
			}
			out = append(out, raw)
			continue
		}
		k, _ := r.sorted("conc", "exp-name")
		key := string(k)
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], len(out))
		conc[len(out)] = cs[0]
		out = append(out, raw)
	}
	drop := map[int]bool{}
	for _, key := range order {
		idx := groups[key]
		keep := idx[0]
		for _, i := range idx[1:] {
			if conc[i] < conc[keep] {
				keep = i
			}
		}
		for _, i := range idx {
			drop[i] = i != keep
		}
	}
	kept := out[:0:0]
	for i, raw := range out {
		if !drop[i] {
			kept = append(kept, raw)
		}
	}
	return kept
}

// appendOnlyDelta returns the points head adds to base and refuses any change to an
// existing point: every base curve (a row without conc, exp-name and fingerprint) and
// each of its concurrencies must still be there, and the added points must extend a
// curve of the base whose image they share.
func appendOnlyDelta(base, head []json.RawMessage) ([]json.RawMessage, error) {
	type curves struct {
		order []string
		concs map[string]map[int64]bool
	}
	collect := func(raws []json.RawMessage) ([]row, curves, error) {
		c := curves{concs: map[string]map[int64]bool{}}
		var rows []row
		for _, raw := range raws {
			r, err := parseRow(raw)
			if err != nil {
				return nil, c, err
			}
			cs, _, err := concsOf(r)
			if err != nil {
				return nil, c, err
			}
			k, err := r.sorted("conc", "exp-name", "recipe-fingerprint")
			if err != nil {
				return nil, c, err
			}
			key := string(k)
			if c.concs[key] == nil {
				c.concs[key] = map[int64]bool{}
				c.order = append(c.order, key)
			}
			for _, v := range cs {
				c.concs[key][v] = true
			}
			rows = append(rows, r)
		}
		return rows, c, nil
	}
	baseRows, b, err := collect(base)
	if err != nil {
		return nil, err
	}
	headRows, h, err := collect(head)
	if err != nil {
		return nil, err
	}
	if len(b.order) == 0 {
		return nil, errors.New("append-only requires an existing curve in the base revision")
	}
	for _, key := range b.order {
		if h.concs[key] == nil {
			return nil, errors.New("append-only may not remove or modify existing generated recipes")
		}
	}
	for _, key := range b.order {
		var removed []int64
		for v := range b.concs[key] {
			if !h.concs[key][v] {
				removed = append(removed, v)
			}
		}
		if removed != nil {
			slices.Sort(removed)
			return nil, fmt.Errorf("append-only may not remove existing concurrency points: %s", pyList(removed))
		}
	}
	var delta []row
	emitted := map[string]map[int64]bool{}
	for _, r := range headRows {
		k, _ := r.sorted("conc", "exp-name", "recipe-fingerprint")
		key := string(k)
		if emitted[key] == nil {
			emitted[key] = map[int64]bool{}
		}
		added := func(v int64) bool { return !b.concs[key][v] && !emitted[key][v] }
		cs, list, _ := concsOf(r)
		if !list {
			if added(cs[0]) {
				delta = append(delta, r)
				emitted[key][cs[0]] = true
			}
			continue
		}
		var fresh []int64
		for _, v := range cs {
			if added(v) {
				fresh = append(fresh, v)
				emitted[key][v] = true
			}
		}
		if fresh != nil {
			delta = append(delta, r.set("conc", []byte(pyListJSON(fresh))))
		}
	}
	if delta == nil {
		return nil, errors.New("append-only did not add any generated points")
	}
	images := map[string]map[string]bool{}
	for _, r := range baseRows {
		s := visualSeries(r)
		if images[s] == nil {
			images[s] = map[string]bool{}
		}
		images[s][string(r.get("image"))] = true
	}
	var out []json.RawMessage
	for _, r := range delta {
		img := r.get("image")
		if !r.has("image") || len(images[visualSeries(r)]) != 1 || !images[visualSeries(r)][string(img)] {
			return nil, errors.New("append-only additions must belong to an existing visual curve with one unchanged non-null image")
		}
		out = append(out, r.json())
	}
	return out, nil
}

// visualSeries identifies the published curve a row belongs to.
func visualSeries(r row) string {
	agentic := r.agentic()
	str := func(k, def string) string {
		var s string
		if v := r.get(k); v != nil && json.Unmarshal(v, &s) == nil {
			return s
		}
		return def
	}
	offload := "on"
	if k := str("kv-offloading", "none"); k == "" || k == "none" {
		offload = "off"
	}
	hw := func(side string) string {
		var w struct {
			Hardware *string `json:"hardware"`
		}
		if v := r.get(side); v != nil && json.Unmarshal(v, &w) == nil && w.Hardware != nil {
			return *w.Hardware
		}
		return "\x00"
	}
	var disagg bool
	_ = json.Unmarshal(r.get("disagg"), &disagg)
	parts := []string{str("model", "\x00"), str("model-prefix", "\x00"), str("precision", "\x00"), str("framework", "\x00"), str("runner", "\x00"), fmt.Sprint(disagg)}
	if agentic {
		parts = append(parts, "agentic_traces", "\x00", "\x00", offload, "")
	} else {
		parts = append(parts, "single_turn", string(r.get("isl")), string(r.get("osl")), offload, str("spec-decoding", "none"))
	}
	parts = append(parts, hw("prefill"), hw("decode"))
	return strings.Join(parts, "\x01")
}

func pyList(v []int64) string { return strings.ReplaceAll(pyListJSON(v), ",", ", ") }

func pyListJSON(v []int64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// checkAppendScope refuses append-only changes outside what the entries select: configs
// they do not name must be unchanged, and within a named config only its selected
// scenarios may change (config-wide fields only when every scenario is selected).
func checkAppendScope(ctx context.Context, o *Options0208, entries []Entry, resolved [][]string) error {
	if o.Raw == nil {
		return nil
	}
	var selected []string
	allowed := map[string]map[string]bool{}
	for i, e := range entries {
		scenarios := e.ScenarioType
		if scenarios == nil {
			scenarios = scenarioTypes
		}
		for _, k := range resolved[i] {
			if allowed[k] == nil {
				allowed[k] = map[string]bool{}
				selected = append(selected, k)
			}
			for _, s := range scenarios {
				allowed[k][s] = true
			}
		}
	}
	head, err := o.Raw(ctx, false)
	if err != nil {
		return err
	}
	base, err := o.Raw(ctx, true)
	if err != nil {
		return err
	}
	var missing []string
	for _, k := range selected {
		if _, ok := base[k]; !ok {
			missing = append(missing, k)
		}
	}
	if missing != nil {
		return fmt.Errorf("append-only requires every selected config to exist in the base revision; missing: %s", pyStrings(missing))
	}
	var unrelated []string
	for _, m := range []map[string]any{base, head} {
		for k := range m {
			if allowed[k] == nil && !reflect.DeepEqual(base[k], head[k]) && !slices.Contains(unrelated, k) {
				unrelated = append(unrelated, k)
			}
		}
	}
	if unrelated != nil {
		return fmt.Errorf("append-only PR changed configs not selected by its changelog entry: %s", pyStrings(unrelated))
	}
	for _, k := range selected {
		b, _ := base[k].(map[string]any)
		h, _ := head[k].(map[string]any)
		bs, _ := b["scenarios"].(map[string]any)
		hs, _ := h["scenarios"].(map[string]any)
		if !sameKeys(bs, hs) {
			return fmt.Errorf("append-only added or removed a scenario in config '%s'", k)
		}
		unselected := false
		for s := range bs {
			unselected = unselected || !allowed[k][s]
		}
		if unselected && !reflect.DeepEqual(without(b, "scenarios"), without(h, "scenarios")) {
			return fmt.Errorf("append-only changed config-wide fields that can affect scenarios outside its changelog scope: '%s'", k)
		}
		for _, s := range scenarioTypes {
			if _, ok := bs[s]; ok && !allowed[k][s] && !reflect.DeepEqual(bs[s], hs[s]) {
				return fmt.Errorf("append-only changed a scenario outside its changelog scope: '%s' / '%s'", k, s)
			}
		}
	}
	return nil
}

func sameKeys(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

func without(m map[string]any, key string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

func pyStrings(s []string) string {
	s = slices.Clone(s)
	slices.Sort(s)
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = "'" + x + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}
