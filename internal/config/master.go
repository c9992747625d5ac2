package config

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/diag"
	"github.com/inferbench/inferbench/internal/limits"
)

// schema is the set of fields each level of a master config may hold in one generation.
type schema struct {
	entry, entryRequired, single, multi, worker []string
}

var (
	schema0202 = schema{
		entry:         []string{"image", "model", "model-prefix", "precision", "framework", "runner", "multinode", "disagg", "seq-len-configs"},
		entryRequired: []string{"image", "model", "model-prefix", "precision", "framework", "runner", "multinode", "seq-len-configs"},
		single:        []string{"tp", "ep", "dp-attn", "spec-decoding", "conc-start", "conc-end", "conc-list"},
		multi:         []string{"spec-decoding", "prefill", "decode", "conc-start", "conc-end", "conc-list"},
		worker:        []string{"num-worker", "tp", "ep", "dp-attn", "additional-settings"},
	}
	schema0208 = schema{
		entry:         []string{"image", "model", "model-prefix", "precision", "framework", "runner", "multinode", "disagg", "router", "kv-p2p-transfer", "scenarios"},
		entryRequired: []string{"image", "model", "model-prefix", "precision", "framework", "runner", "multinode", "scenarios"},
		single:        []string{"tp", "pp", "dcp-size", "pcp-size", "ep", "dp-attn", "spec-decoding", "router", "conc-start", "conc-end", "conc-list"},
		multi:         []string{"spec-decoding", "prefill", "decode", "router", "kv-p2p-transfer", "conc-start", "conc-end", "conc-list"},
		worker:        []string{"num-worker", "tp", "pp", "dcp-size", "pcp-size", "ep", "dp-attn", "hardware", "additional-settings"},
	}
	seqLenFields = []string{"isl", "osl", "search-space"}
	// workerRequired are the worker fields both generations require.
	workerRequired = []string{"num-worker", "tp", "ep", "dp-attn"}
	specValues     = []string{"mtp", "draft_model", "none"}
	settingRE      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=\S*$`)
)

func schemaOf(g Generation) *schema {
	if g == Gen2026_08 {
		return &schema0208
	}
	return &schema0202
}

// keyPos is a top-level key and where it was written.
type keyPos struct {
	key  string
	file string
	pos  Pos
}

// LoadMaster reads the master configs in the given order, merges them and validates
// every entry. It returns nil and the problems when any file is missing or invalid.
// Files are parsed concurrently; the merge and the order of everything stay the same.
// The generation is recognised from the files; files of two generations are an error.
func LoadMaster(paths ...string) (*Master, diag.List) {
	m, _, _, diags := load(ReadFile, paths, "")
	return m, diags
}

// mergeMaster decodes the parsed master files with generation g and merges them.
func mergeMaster(paths []string, parsed []parsedFile, g Generation) (*Master, diag.List) {
	var diags diag.List
	var entries []*Entry
	first := map[string]keyPos{}
	loaded := map[string][]string{} // cleaned path -> its keys
	for i, path := range paths {
		if keys, twice := loaded[filepath.Clean(path)]; twice {
			if len(keys) > 0 {
				// The reference reports every key of a file listed twice as a duplicate;
				// say so once, pointing at the real mistake.
				diags.Add(path, 0, 0, "list each file only once in --config-files",
					"Duplicate configuration keys found in '%s': %s (the file is listed twice in --config-files)", path, strings.Join(sortedStrings(keys), ", "))
			}
			continue
		}
		p := &parsed[i]
		if s := p.stream; s != nil && s.gen != g {
			// Read in a generation that is not the command's: decode it again as one.
			p.stream, p.root = nil, parseRoot(path, p.data, &p.diags)
		}
		switch {
		case p.stream != nil:
			p.entries, p.keys = p.stream.entries, p.stream.keys
			p.diags = append(p.diags, p.stream.diags...)
		case p.root != nil:
			p.entries, p.keys = decodeMaster(path, p.root, g, &p.diags)
		}
		diags = append(diags, p.diags...)
		loaded[filepath.Clean(path)] = nil
		for _, k := range p.keys {
			loaded[filepath.Clean(path)] = append(loaded[filepath.Clean(path)], k.key)
			if prev, ok := first[k.key]; ok {
				diags.Add(path, k.pos.Line, k.pos.Col, "rename one of the two entries, or do not list the same file twice in --config-files",
					"Duplicate configuration keys found in '%s': %s (already defined at %s:%d:%d)", path, k.key, prev.file, prev.pos.Line, prev.pos.Col)
			}
		}
		for _, k := range p.keys {
			if _, ok := first[k.key]; !ok {
				first[k.key] = k
			}
		}
		entries = append(entries, p.entries...)
	}
	if diags.HasErrors() {
		return nil, diags
	}
	m := NewMaster(entries)
	m.Gen = g
	return m, diags
}

// parsedFile is the result of reading, parsing and decoding one master config.
type parsedFile struct {
	data    []byte
	root    *yaml.Node // nil when the file could not be read or parsed, or is empty
	stream  *streamed  // the file read entry by entry; then root is nil
	gen     Generation
	genPos  Pos  // the key that shows the generation
	known   bool // whether the file shows its generation at all
	entries []*Entry
	keys    []keyPos
	diags   diag.List
}

// parseFiles reads and parses each distinct path once, concurrently, and recognises
// each file's generation.
func parseFiles(read func(string) ([]byte, error), paths []string) []parsedFile {
	out := make([]parsedFile, len(paths))
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for i, path := range paths {
		if seen[filepath.Clean(path)] {
			continue
		}
		seen[filepath.Clean(path)] = true
		wg.Go(func() {
			p := &out[i]
			data, err := read(path)
			if err != nil {
				addReadError(&p.diags, path, "Input file", err)
				return
			}
			p.data = data
			if s := streamMaster(path, data); s != nil {
				p.stream = s
				p.gen, p.genPos, p.known = s.gen, s.genPos, true
				return
			}
			if p.root = parseRoot(path, data, &p.diags); p.root != nil {
				p.gen, p.genPos, p.known = masterGeneration(p.root)
			}
		})
	}
	wg.Wait()
	return out
}

// parseRoot parses a master config; nil when it does not parse. An empty file is a null.
func parseRoot(path string, data []byte, diags *diag.List) *yaml.Node {
	root, ok := parseMapping(path, data, diags)
	if !ok {
		return nil
	}
	if root == nil {
		root = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: 1, Column: 1}
	}
	return root
}

func addReadError(diags *diag.List, path, what string, err error) {
	if isTooLarge(err) {
		diags.Add(path, 0, 0, "check that the path names the right file; configs, runner files and changelogs are far smaller",
			"%s '%s' is not read: %v", what, path, err)
		return
	}
	if errors.Is(err, fs.ErrNotExist) {
		diags.Add(path, 0, 0, "check the path; relative paths are resolved from the working directory",
			"%s '%s' does not exist.", what, path)
		return
	}
	diags.Add(path, 0, 0, "check that the path names a readable file", "%s '%s' cannot be read: %v", what, path, err)
}

// ParseMaster decodes and validates one master config file held in memory, in the
// generation it shows. Problems that need several files (keys defined twice across
// files) are not checked.
func ParseMaster(name string, data []byte) ([]*Entry, diag.List) {
	var diags diag.List
	root, ok := parseDocument(name, data, &diags)
	if !ok {
		return nil, diags
	}
	if root == nil {
		root = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: 1, Column: 1}
	}
	g, _, _ := masterGeneration(root)
	es, _ := decodeMaster(name, root, g, &diags)
	if diags.HasErrors() {
		return nil, diags
	}
	return es, diags
}

// decodeMaster returns the valid entries and every top-level key with its position.
func decodeMaster(file string, root *yaml.Node, g Generation, diags *diag.List) ([]*Entry, []keyPos) {
	d := &decoder{file: file, diags: diags, gen: g, schema: schemaOf(g)}
	if resolve(root).Kind != yaml.MappingNode {
		line, col := root.Line, root.Column
		diags.Add(file, line, col, "write a mapping from config keys to config entries ('<model>-<precision>-<gpu>-<framework>:' lines)",
			"Config file '%s' must contain a dictionary", file)
		return nil, nil
	}
	fields, _ := d.mapping(root, "", "master config", nil)
	keys := make([]keyPos, 0, len(fields))
	for _, f := range fields {
		keys = append(keys, keyPos{f.key, file, posOf(f.keyNode)})
	}
	// Entries are independent: they are decoded concurrently, each with its own decoder,
	// and their results and problems are put back in file order.
	type decoded struct {
		e     *Entry
		diags diag.List
	}
	out := make([]decoded, len(fields))
	workers := min(runtime.GOMAXPROCS(0), len(fields))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(fields); i += workers {
				out[i].e, out[i].diags = decodeEntry(file, fields[i], g, nil)
			}
		})
	}
	wg.Wait()
	var entries []*Entry
	for _, r := range out {
		*diags = append(*diags, r.diags...)
		if r.e != nil {
			entries = append(entries, r.e)
		}
	}
	return entries, keys
}

// decodeEntry decodes the config entry of top-level field f in generation g; the entry is
// nil when it has problems. Most entries have none, so the first pass builds no message
// paths; an entry with messages is decoded again to render them. arena, when not nil,
// is where field lists are cut from.
func decodeEntry(file string, f field, g Generation, arena *[]field) (*Entry, diag.List) {
	var diags diag.List
	if strings.Contains(f.key, "*") {
		diags.Add(file, f.keyNode.Line, f.keyNode.Column, "rename the key without '*'; '*' is reserved for perf-changelog wildcards",
			"Wildcard '*' is not allowed in master config keys: '%s'", f.key)
		return nil, diags
	}
	quick := &decoder{file: file, diags: &diags, gen: g, schema: schemaOf(g), noPaths: true, arena: arena}
	if e := quick.entry(f); len(diags) == 0 {
		return e, nil
	}
	diags = nil
	d := &decoder{file: file, diags: &diags, gen: g, schema: schemaOf(g), arena: arena,
		prefix: fmt.Sprintf("Master config entry '%s' failed validation: ", f.key)}
	e := d.entry(f)
	d.retargetGeneration(0)
	return e, diags
}

// entry decodes one config entry; it returns nil when the entry has problems.
func (d *decoder) entry(f field) *Entry {
	d.bad = false
	e := &Entry{Key: f.key, File: d.file, Pos: posOf(f.keyNode), Gen: d.gen}
	fields, _ := d.mapping(f.val, "", "config entry", d.schema.entry)
	if fields == nil && resolve(f.val).Kind != yaml.MappingNode {
		return nil
	}
	got := fieldList(fields)
	strs := []struct {
		name string
		dst  *string
	}{{"image", &e.Image}, {"model", &e.Model}, {"model-prefix", &e.ModelPrefix}, {"precision", &e.Precision}, {"framework", &e.Framework}, {"runner", &e.Runner}}
	var missing []string
	for _, name := range d.schema.entryRequired {
		if _, ok := got.get(name); !ok {
			// An entry of the other generation gets one message, about that key.
			if name == "scenarios" && hasKey(resolve(f.val), "seq-len-configs") || name == "seq-len-configs" && hasKey(resolve(f.val), "scenarios") {
				continue
			}
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		d.errf(f.keyNode, "", fmt.Sprintf("add '%s: ...' to the entry; a single-node entry needs multinode: false", strings.Join(missing, ": ...', '")),
			"missing required field(s) '%s'", strings.Join(missing, "', '"))
	}
	for _, s := range strs {
		x, ok := got.get(s.name)
		if !ok {
			continue
		}
		*s.dst, _ = d.text(x.val, s.name)
		d.resultName(x.val, s.name, *s.dst)
		if s.name == "runner" {
			e.RunnerPos = posOf(x.val)
		}
	}
	multiKnown := false
	if x, ok := got.get("multinode"); ok {
		e.Multinode, multiKnown = d.boolean(x.val, "multinode")
	}
	if x, ok := got.get("disagg"); ok && (d.gen == Gen2026_08 || !isNull(x.val)) {
		e.Disagg, _ = d.boolean(x.val, "disagg")
	}
	if d.gen == Gen2026_08 {
		d.entry0208(e, got, multiKnown)
	} else if x, ok := got.get("seq-len-configs"); ok {
		e.SeqLens = d.seqLens(x, "seq-len-configs", e.Multinode, multiKnown)
	}
	if d.bad {
		return nil
	}
	return e
}

func (d *decoder) seqLens(f field, name string, multi, multiKnown bool) []SeqLen {
	items, ok := d.list(f.val, name)
	if !ok {
		return nil
	}
	if len(items) == 0 && d.gen != Gen2026_08 {
		d.errf(f.val, name, "add at least one item with isl, osl and search-space, or delete the entry",
			"cannot be an empty list")
	}
	out := make([]SeqLen, 0, len(items))
	for i, it := range items {
		path := d.index(name, i)
		fields, _ := d.mapping(it, path, "seq-len config", seqLenFields)
		sl := SeqLen{Pos: posOf(it)}
		got := fieldList(fields)
		for _, name := range []string{"isl", "osl"} {
			x, ok := got.get(name)
			if !ok {
				if it.Kind == yaml.MappingNode {
					d.errf(it, path, fmt.Sprintf("add '%s: <tokens>', e.g. %s: 1024", name, name), "missing required field '%s'", name)
				}
				continue
			}
			v, _ := d.bounded(x.val, d.join(path, name), 1, limits.MaxLen, "sequence lengths count tokens and must be positive", whyLen)
			if name == "isl" {
				sl.ISL = v
			} else {
				sl.OSL = v
			}
		}
		if x, ok := got.get("search-space"); ok {
			sl.Search = d.searchSpace(x.val, d.join(path, "search-space"), multi, multiKnown)
		} else if it.Kind == yaml.MappingNode {
			d.errf(it, path, "add 'search-space:' with at least one parallelism layout", "missing required field 'search-space'")
		}
		out = append(out, sl)
	}
	return out
}

func (d *decoder) searchSpace(n *yaml.Node, path string, multi, multiKnown bool) []Search {
	items, ok := d.list(n, path)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		if d.gen == Gen2026_08 {
			d.warnf(n, path, "add at least one search-space entry, or delete this scenario item", "is empty: it produces no rows")
		} else {
			d.errf(n, path, "add at least one search-space entry, or delete this seq-len config", "cannot be an empty list")
		}
	}
	out := make([]Search, 0, len(items))
	for i, it := range items {
		p := d.index(path, i)
		isMulti := multi
		if !multiKnown && it.Kind == yaml.MappingNode {
			isMulti = hasKey(it, "prefill") || hasKey(it, "decode")
		}
		out = append(out, d.search(it, p, isMulti))
	}
	return out
}

func hasKey(n *yaml.Node, key string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

func (d *decoder) search(n *yaml.Node, path string, multi bool) Search {
	s := Search{Pos: posOf(n), EP: 1, Spec: "none", PP: 1, DCPSize: 1, PCPSize: 1}
	allowed, what := d.schema.single, "single-node search-space entry"
	if multi {
		allowed, what = d.schema.multi, "multi-node search-space entry"
	}
	before := len(*d.diags)
	fields, _ := d.mapping(n, path, what, allowed)
	d.retargetUnknown(before, multi)
	got := fieldList(fields)
	bad := len(*d.diags) > before
	if multi {
		s.Prefill = d.worker(got, n, path, "prefill")
		s.Decode = d.worker(got, n, path, "decode")
	} else if x, ok := got.get("tp"); ok {
		s.TP, _ = d.bounded(x.val, d.join(path, "tp"), 1, limits.MaxParallel, "tensor parallelism is a GPU count: 1 or more", whyParallel)
	} else if n.Kind == yaml.MappingNode {
		d.errf(n, path, "add 'tp: <GPUs>' to the entry", "missing required field 'tp'")
	}
	if x, ok := got.get("ep"); ok && !isNull(x.val) {
		s.EP, _ = d.bounded(x.val, d.join(path, "ep"), 1, limits.MaxParallel, "expert parallelism is a GPU count: 1 or more (leave it out for 1)", whyParallel)
	}
	if x, ok := got.get("dp-attn"); ok && !isNull(x.val) {
		s.DPAttn, _ = d.boolean(x.val, d.join(path, "dp-attn"))
	}
	if x, ok := got.get("spec-decoding"); ok {
		s.Spec = d.spec(x.val, d.join(path, "spec-decoding"))
	}
	if d.gen == Gen2026_08 {
		d.search0208(&s, got, path, multi)
	}
	concOK := d.conc(&s, got, d.join(path, ""))
	if !bad && len(*d.diags) == before && concOK {
		d.concRule(&s, got, n, path)
	}
	return s
}

// retargetUnknown adds a schema hint to unknown-field messages that belong to the
// other kind of config (tp in a multi-node entry, prefill in a single-node one).
func (d *decoder) retargetUnknown(from int, multi bool) {
	for i := from; i < len(*d.diags); i++ {
		m := &(*d.diags)[i]
		switch {
		case multi && (strings.Contains(m.Message, "unknown field 'tp'") || strings.Contains(m.Message, "unknown field 'ep'") || strings.Contains(m.Message, "unknown field 'dp-attn'")):
			m.Hint = "multi-node entries set tp, ep and dp-attn inside their prefill and decode blocks"
		case !multi && (strings.Contains(m.Message, "unknown field 'prefill'") || strings.Contains(m.Message, "unknown field 'decode'")):
			m.Hint = "prefill/decode blocks need 'multinode: true' on the config entry"
		}
	}
}

func (d *decoder) spec(n *yaml.Node, path string) string {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && contains(specValues, n.Value) {
		return n.Value
	}
	d.errf(n, path, "use one of: mtp, draft_model, none (or leave the field out for none)",
		"must be one of mtp, draft_model, none; got %s", describe(n))
	return "none"
}

// conc decodes conc-start, conc-end and conc-list; it reports field-level problems and
// returns whether all of them were well-typed.
func (d *decoder) conc(s *Search, got fieldList, path string) bool {
	path = strings.TrimSuffix(path, ".")
	ok := true
	var hasStart, hasEnd bool
	if x, present := got.get("conc-start"); present && !isNull(x.val) {
		var good bool
		s.ConcStart, good = d.bounded(x.val, d.join(path, "conc-start"), 1, limits.MaxConcurrency, "concurrency is a number of requests in flight: 1 or more", whyConc)
		hasStart, ok = good, ok && good
	}
	if x, present := got.get("conc-end"); present && !isNull(x.val) {
		var good bool
		s.ConcEnd, good = d.bounded(x.val, d.join(path, "conc-end"), 1, limits.MaxConcurrency, "concurrency is a number of requests in flight: 1 or more", whyConc)
		hasEnd, ok = good, ok && good
	}
	s.HasRange = hasStart && hasEnd
	if x, present := got.get("conc-list"); present && !isNull(x.val) {
		items, good := d.list(x.val, d.join(path, "conc-list"))
		ok = ok && good
		if len(items) > limits.MaxPoints {
			d.errf(x.val, d.join(path, "conc-list"), fmt.Sprintf("split the list into several search-space entries of at most %d", limits.MaxPoints),
				"lists %d concurrencies; one job runs at most %d", len(items), limits.MaxPoints)
			ok = false
		}
		for i, it := range items {
			v, good := d.integer(it, d.index(d.join(path, "conc-list"), i))
			if !good {
				ok = false
				continue
			}
			if v <= 0 {
				d.errf(it, d.index(d.join(path, "conc-list"), i), fmt.Sprintf("remove %d; concurrency is a number of requests in flight", v),
					"Input 'conc-list' entries must be greater than 0.")
				ok = false
			} else if v > limits.MaxConcurrency {
				d.errf(it, d.index(d.join(path, "conc-list"), i), fmt.Sprintf("use at most %d: %s", limits.MaxConcurrency, whyConc),
					"must be at most %d, got %d", limits.MaxConcurrency, v)
				ok = false
			}
			s.ConcList = append(s.ConcList, v)
		}
	}
	return ok
}

// concRule applies the reference's either-a-list-or-a-range rule
// (docs/generator.md#concurrency-rule).
func (d *decoder) concRule(s *Search, got fieldList, n *yaml.Node, path string) {
	_, hasStart := got.get("conc-start")
	_, hasEnd := got.get("conc-end")
	listField, hasList := got.get("conc-list")
	switch {
	case s.HasRange && len(s.ConcList) > 0:
		d.errf(listField.keyNode, path, "delete either conc-list or conc-start/conc-end",
			"Cannot specify both 'conc-list' list and 'conc-start'/'conc-end'. Use either a list or a range, not both.")
	case s.HasRange:
		if s.ConcStart > s.ConcEnd {
			d.errf(got.of("conc-start").val, path, "swap the two values, or make conc-end at least conc-start",
				"'conc-start' (%d) must be <= 'conc-end' (%d).", s.ConcStart, s.ConcEnd)
		}
	case len(s.ConcList) > 0:
	case hasList && !isNull(listField.val):
		d.errf(listField.val, path, "list at least one concurrency, e.g. conc-list: [4, 8, 16]",
			"'conc-list' cannot be an empty list when no conc-start/conc-end range is given")
	case hasStart != hasEnd:
		missing := "conc-end"
		if hasEnd {
			missing = "conc-start"
		}
		d.errf(n, path, fmt.Sprintf("add '%s', or use conc-list instead", missing),
			"Must specify either 'conc-list' list or both 'conc-start' and 'conc-end'. ('%s' is missing)", missing)
	default:
		d.errf(n, path, "add conc-start and conc-end (a geometric range), or conc-list (explicit values)",
			"Must specify either 'conc-list' list or both 'conc-start' and 'conc-end'.")
	}
}

func (d *decoder) worker(got fieldList, parent *yaml.Node, path, role string) *Worker {
	x, ok := got.get(role)
	if !ok {
		if parent.Kind == yaml.MappingNode {
			d.errf(parent, path, fmt.Sprintf("add a '%s:' block with num-worker, tp, ep and dp-attn", role), "missing required field '%s'", role)
		}
		return nil
	}
	p := d.join(path, role)
	what := role + " block"
	if d.noPaths {
		what = "" // for messages only
	}
	fields, _ := d.mapping(x.val, p, what, d.schema.worker)
	w := &Worker{PP: 1, DCPSize: 1, PCPSize: 1}
	if len(fields) > 0 {
		w.Keys = make([]string, 0, len(fields))
	}
	for _, f := range fields {
		w.Keys = append(w.Keys, f.key)
		fp := d.join(p, f.key)
		switch f.key {
		case "num-worker":
			w.NumWorker, _ = d.bounded(f.val, fp, 0, limits.MaxParallel, "num-worker counts workers: 0 or more", whyParallel)
		case "tp":
			w.TP, _ = d.bounded(f.val, fp, 1, limits.MaxParallel, "tensor parallelism is a GPU count: 1 or more", whyParallel)
		case "ep":
			w.EP, _ = d.bounded(f.val, fp, 1, limits.MaxParallel, "expert parallelism is a GPU count: 1 or more", whyParallel)
		case "dp-attn":
			w.DPAttn, _ = d.boolean(f.val, fp)
		case "additional-settings":
			d.settings(w, f.val, fp)
		case "pp", "dcp-size", "pcp-size":
			d.parallelism(f.val, fp, f.key, &w.PP, &w.DCPSize, &w.PCPSize)
		case "hardware":
			if isNull(f.val) {
				w.HardwareNull = true
			} else {
				w.Hardware, _ = d.text(f.val, fp)
			}
		}
	}
	if d.gen == Gen2026_08 && w.TP > 0 && w.DCPSize > 0 && w.TP%w.DCPSize != 0 {
		d.errf(x.val, p, "make tp a multiple of dcp-size", "'tp' (%d) must be divisible by 'dcp-size' (%d)", w.TP, w.DCPSize)
	}
	if resolve(x.val).Kind == yaml.MappingNode {
		for _, name := range workerRequired {
			if _, seen := fieldList(fields).get(name); !seen {
				d.errf(x.val, p, fmt.Sprintf("add '%s: <value>' to the %s block", name, role), "missing required field '%s'", name)
			}
		}
	}
	return w
}

func (d *decoder) settings(w *Worker, n *yaml.Node, path string) {
	if isNull(n) {
		w.SettingsMode = SettingsNull
		return
	}
	items, ok := d.list(n, path)
	if !ok {
		return
	}
	w.SettingsMode = SettingsList
	w.Settings = make([]string, 0, len(items))
	for i, it := range items {
		p := d.index(path, i)
		if it.Kind != yaml.ScalarNode || it.ShortTag() != "!!str" {
			d.errf(it, p, "write each setting as a \"NAME=VALUE\" string", "must be a string, got %s", describe(it))
			continue
		}
		if !settingRE.MatchString(it.Value) {
			d.errf(it, p, "write NAME=VALUE with NAME of letters, digits and '_' and no spaces in VALUE; the multi-node job exports it unquoted",
				"'%s' is not a shell-safe NAME=VALUE setting", it.Value)
		}
		w.Settings = append(w.Settings, it.Value)
	}
}

// resultNameFields are the entry fields that become part of result file and artifact
// names (exp-name is model-prefix, numbers and fixed words).
var resultNameFields = []string{"model-prefix", "precision", "framework"}

// resultName refuses a value of a field in resultNameFields that is unsafe in a file name:
// "../../x" as a model-prefix would write results outside the agent's output directory.
func (d *decoder) resultName(n *yaml.Node, field, v string) {
	if v == "" || !contains(resultNameFields, field) {
		return
	}
	if p := limits.NameProblem(v); p != "" {
		d.errf(n, field, "use only letters, digits and . _ = - (not starting with a dot, no '..'): result files and artifacts are named after it",
			"%s %s", strconv.Quote(v), p)
	}
}

func sortedStrings(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
