package config

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/limits"
)

// The 2026-08 parts of a master config: scenarios, agentic-coding search spaces, context
// and pipeline parallelism, router and KV transfer metadata, and the runner file's labels
// and hardware. The shared parts (seq-len configs, search-space entries, workers,
// concurrency) are decoded by the same code as the 2026-02 schema.

var (
	agenticFields = []string{"tp", "pp", "dcp-size", "pcp-size", "ep", "dp-attn", "spec-decoding", "prefill", "decode",
		"kv-offloading", "kv-offload-backend", "router", "kv-p2p-transfer", "conc-start", "conc-end", "conc-list"}
	kvOffloadValues = []string{"none", "dram"}
)

// clusterPrefix starts the runner label of every agentic config: its points must all run
// on one exact hardware fleet.
const clusterPrefix = "cluster:"

func (d *decoder) entry0208(e *Entry, got fieldList, multiKnown bool) {
	if x, ok := got.get("router"); ok {
		e.Router = d.component(x.val, "router", true)
	}
	if x, ok := got.get("kv-p2p-transfer"); ok {
		switch {
		case multiKnown && !e.Multinode:
			d.errf(x.keyNode, "", "remove it; a KV transfer engine connects the workers of a multi-node entry",
				"kv-p2p-transfer is only valid when multinode=true")
		case !isNull(x.val):
			e.KVP2PTransfer, _ = d.text(x.val, "kv-p2p-transfer")
		}
	}
	if x, ok := got.get("disagg"); ok && multiKnown && !e.Multinode && e.Disagg {
		d.errf(x.val, "disagg", "disaggregated serving needs multinode: true; write disagg: false or leave it out",
			"must be false for a single-node entry (multinode: false)")
	}
	x, ok := got.get("scenarios")
	if !ok {
		return
	}
	fields, _ := d.mapping(x.val, "scenarios", "scenarios", []string{"fixed-seq-len", "agentic-coding"})
	items := 0
	for _, f := range fields {
		if isNull(f.val) {
			continue
		}
		if f.val.Kind == yaml.SequenceNode {
			items += len(f.val.Content)
		}
		switch f.key {
		case "fixed-seq-len":
			e.SeqLens = d.seqLens(f, "scenarios.fixed-seq-len", e.Multinode, multiKnown)
		case "agentic-coding":
			e.Agentic = d.agentics(f, "scenarios.agentic-coding", e.Multinode, multiKnown)
			if len(f.val.Content) > 0 && e.Runner != "" && !strings.HasPrefix(e.Runner, clusterPrefix) {
				d.errf(got.of("runner").val, "runner", fmt.Sprintf("use a runner label '%s<name>' from the runner file", clusterPrefix),
					"Agentic master configs must use a '%s<name>' runner so every point runs on one exact hardware fleet.", clusterPrefix)
			}
		}
	}
	if d.bad {
		return
	}
	if items == 0 {
		d.errf(x.keyNode, "scenarios", "add 'fixed-seq-len:' or 'agentic-coding:' with at least one item",
			"At least one scenario type must be specified")
		return
	}
	d.componentScope(e, x.keyNode)
}

// componentScope requires router and kv-p2p-transfer metadata to be declared in one place
// per config, and disaggregated configs to name their KV transfer engine.
func (d *decoder) componentScope(e *Entry, at *yaml.Node) {
	var searches []*Search
	for i := range e.SeqLens {
		for j := range e.SeqLens[i].Search {
			searches = append(searches, &e.SeqLens[i].Search[j])
		}
	}
	for i := range e.Agentic {
		for j := range e.Agentic[i].Search {
			searches = append(searches, &e.Agentic[i].Search[j])
		}
	}
	anyRouter, anyTransfer, allTransfer := false, false, true
	for _, s := range searches {
		anyRouter = anyRouter || s.Router != nil
		anyTransfer = anyTransfer || s.KVP2PTransfer != ""
		allTransfer = allTransfer && s.KVP2PTransfer != ""
	}
	if e.Router != nil && anyRouter {
		d.errf(at, "", "keep the router either on the entry (one for all points) or on each search-space entry",
			"router must be declared either at the top level or in search-space entries, not both")
	}
	if e.KVP2PTransfer != "" && anyTransfer {
		d.errf(at, "", "keep kv-p2p-transfer either on the entry or on each search-space entry",
			"kv-p2p-transfer must be declared either at the top level or in search-space entries, not both")
	}
	if !e.Multinode && anyTransfer {
		d.errf(at, "", "remove kv-p2p-transfer from the search-space entries; a KV transfer engine connects the workers of a multi-node entry",
			"kv-p2p-transfer is only valid when multinode=true")
	}
	if e.Disagg && e.KVP2PTransfer == "" && (len(searches) == 0 || !allTransfer) {
		d.errf(at, "", "add 'kv-p2p-transfer: <engine>' (e.g. nixl) to the entry",
			"disagg=true requires kv-p2p-transfer at the top level or in every search-space entry")
	}
}

// search0208 decodes the 2026-08 fields of a fixed-seq-len search-space entry.
func (d *decoder) search0208(s *Search, got fieldList, path string, multi bool) {
	for _, k := range []string{"pp", "dcp-size", "pcp-size"} {
		if x, ok := got.get(k); ok {
			d.parallelism(x.val, d.join(path, k), k, &s.PP, &s.DCPSize, &s.PCPSize)
		}
	}
	if x, ok := got.get("router"); ok {
		s.Router = d.component(x.val, d.join(path, "router"), true)
	}
	if x, ok := got.get("kv-p2p-transfer"); ok && !isNull(x.val) {
		s.KVP2PTransfer, _ = d.text(x.val, d.join(path, "kv-p2p-transfer"))
	}
	if !multi {
		d.divisible(s.TP, s.DCPSize, got, path)
	}
	d.hardwarePair(s, got, path)
}

func (d *decoder) divisible(tp, dcp int64, got fieldList, path string) {
	if tp > 0 && dcp > 0 && tp%dcp != 0 {
		d.errf(got.of("dcp-size").val, path, "make tp a multiple of dcp-size",
			"'tp' (%d) must be divisible by 'dcp-size' (%d)", tp, dcp)
	}
}

func (d *decoder) hardwarePair(s *Search, got fieldList, path string) {
	if s.Prefill == nil || s.Decode == nil {
		return
	}
	if (s.Prefill.Hardware != "") != (s.Decode.Hardware != "") {
		d.errf(got.of("prefill").keyNode, path, "give both workers a hardware label, or neither",
			"'hardware' must be specified for both 'prefill' and 'decode', or neither")
	}
}

// parallelism decodes pp, dcp-size or pcp-size (positive integers) into its destination.
func (d *decoder) parallelism(n *yaml.Node, path, key string, pp, dcp, pcp *int64) {
	v, ok := d.bounded(n, path, 1, limits.MaxParallel, fmt.Sprintf("%s is a parallel degree: 1 or more (leave it out for 1)", key), whyParallel)
	if !ok {
		return
	}
	switch key {
	case "pp":
		*pp = v
	case "dcp-size":
		*dcp = v
	case "pcp-size":
		*pcp = v
	}
}

// component decodes router or kv-offload-backend metadata: a name and (for a router
// always) a version that is the component's own, not the image's.
func (d *decoder) component(n *yaml.Node, path string, needVersion bool) *Component {
	if isNull(n) {
		return nil
	}
	fields, ok := d.mapping(n, path, "component metadata", []string{"name", "version"})
	if !ok && resolve(n).Kind != yaml.MappingNode {
		return nil
	}
	c := &Component{}
	seen := map[string]bool{}
	for _, f := range fields {
		seen[f.key] = true
		c.Keys = append(c.Keys, f.key)
		switch {
		case f.key == "name":
			c.Name, _ = d.text(f.val, d.join(path, "name"))
		case isNull(f.val) && !needVersion:
			c.VersionNull = true
		default:
			c.Version, _ = d.text(f.val, d.join(path, "version"))
			if strings.HasPrefix(c.Version, "image:") {
				d.errf(f.val, d.join(path, "version"), "give the component's own release, package version or commit",
					"component version must be a release, package version, or source commit, not an image reference")
			}
		}
	}
	for _, k := range []string{"name", "version"} {
		if !seen[k] && (k == "name" || needVersion) {
			d.errf(n, path, fmt.Sprintf("add '%s: ...'", k), "missing required field '%s'", k)
		}
	}
	return c
}

func (d *decoder) agentics(f field, path string, multi, multiKnown bool) []Agentic {
	items, ok := d.list(f.val, path)
	if !ok {
		return nil
	}
	out := make([]Agentic, 0, len(items))
	for i, it := range items {
		p := d.index(path, i)
		fields, _ := d.mapping(it, p, "agentic-coding scenario", []string{"search-space", "dram-utilization"})
		a := Agentic{Pos: posOf(it)}
		got := fieldList(fields)
		if x, ok := got.get("dram-utilization"); ok && !isNull(x.val) {
			a.DRAMUtilization = d.fraction(x.val, d.join(p, "dram-utilization"))
		}
		x, ok := got.get("search-space")
		if !ok {
			if it.Kind == yaml.MappingNode {
				d.errf(it, p, "add 'search-space:' with at least one entry", "missing required field 'search-space'")
			}
			out = append(out, a)
			continue
		}
		sp := d.join(p, "search-space")
		entries, ok := d.list(x.val, sp)
		if ok && len(entries) == 0 {
			d.warnf(x.val, sp, "add at least one search-space entry, or delete this scenario item", "is empty: it produces no rows")
		}
		dram := false
		for j, n := range entries {
			s := d.agenticSearch(n, d.index(sp, j), multi, multiKnown)
			dram = dram || s.KVOffloading == "dram"
			a.Search = append(a.Search, s)
		}
		if _, given := got.get("dram-utilization"); dram && !given {
			d.errf(it, p, "add 'dram-utilization: <fraction>' (e.g. 0.9): the DRAM offload budget is that share of the runner's CPU DRAM",
				"kv-offloading='dram' requires dram-utilization with runner hardware metadata")
		}
		out = append(out, a)
	}
	return out
}

// agenticSearch decodes one agentic-coding search-space entry: a single-node topology
// (tp, pp, dcp-size, pcp-size) or prefill and decode workers, with KV offload settings.
func (d *decoder) agenticSearch(n *yaml.Node, path string, multi, multiKnown bool) Search {
	s := Search{Pos: posOf(n), EP: 1, Spec: "none", PP: 1, DCPSize: 1, PCPSize: 1}
	before := len(*d.diags)
	fields, _ := d.mapping(n, path, "agentic-coding search-space entry", agenticFields)
	got := fieldList(fields)
	given := func(k string) bool { x, ok := got.get(k); return ok && !isNull(x.val) }
	hasTP, hasP, hasD := given("tp"), given("prefill"), given("decode")
	valid := hasP && hasD
	if hasTP {
		valid = !hasP && !hasD
	}
	isMulti := !hasTP
	switch {
	case n.Kind != yaml.MappingNode:
		return s
	case !valid:
		d.errf(n, path, "write tp (single-node) or both prefill and decode blocks (multi-node), not both",
			"Agentic search-space entries must specify either tp or both prefill and decode")
		return s
	case multiKnown && isMulti != multi:
		if multi {
			d.errf(got.of("tp").keyNode, path, "describe the deployment with prefill and decode blocks, as the config is multinode: true",
				"a multi-node config's agentic search-space entries need prefill and decode workers, not tp")
		} else {
			d.errf(got.of("prefill").keyNode, path, "prefill/decode blocks need 'multinode: true' on the config entry; write tp for a single-node one",
				"a single-node config's agentic search-space entries need tp, not prefill and decode workers")
		}
		return s
	}
	if isMulti {
		s.Prefill = d.worker(got, n, path, "prefill")
		s.Decode = d.worker(got, n, path, "decode")
		var explicit []string
		for _, k := range []string{"pp", "dcp-size", "pcp-size"} {
			if _, ok := got.get(k); ok {
				explicit = append(explicit, "'"+k+"'")
			}
		}
		if explicit != nil {
			d.errf(n, path, "set pp, dcp-size and pcp-size inside the prefill and decode blocks",
				"Multinode agentic search-space entries cannot specify %s", strings.Join(explicit, ", "))
		}
		d.hardwarePair(&s, got, path)
	} else {
		s.TP, _ = d.bounded(got.of("tp").val, d.join(path, "tp"), 1, limits.MaxParallel, "tensor parallelism is a GPU count: 1 or more", whyParallel)
		for _, k := range []string{"pp", "dcp-size", "pcp-size"} {
			if x, ok := got.get(k); ok {
				d.parallelism(x.val, d.join(path, k), k, &s.PP, &s.DCPSize, &s.PCPSize)
			}
		}
		d.divisible(s.TP, s.DCPSize, got, path)
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
	if x, ok := got.get("router"); ok {
		s.Router = d.component(x.val, d.join(path, "router"), true)
	}
	if x, ok := got.get("kv-p2p-transfer"); ok && !isNull(x.val) {
		s.KVP2PTransfer, _ = d.text(x.val, d.join(path, "kv-p2p-transfer"))
	}
	d.kvOffload(&s, got, n, path, isMulti)
	bad := len(*d.diags) > before
	concOK := d.conc(&s, got, path)
	if !bad && len(*d.diags) == before && concOK {
		d.concRule(&s, got, n, path)
	}
	return s
}

func (d *decoder) kvOffload(s *Search, got fieldList, n *yaml.Node, path string, multi bool) {
	if x, ok := got.get("kv-offloading"); ok && !isNull(x.val) {
		if x.val.Kind == yaml.ScalarNode && x.val.ShortTag() == "!!str" && contains(kvOffloadValues, x.val.Value) {
			s.KVOffloading = x.val.Value
		} else {
			d.errf(x.val, d.join(path, "kv-offloading"), "use none or dram", "must be one of none, dram; got %s", describe(x.val))
			return
		}
	}
	if x, ok := got.get("kv-offload-backend"); ok {
		s.KVOffloadBackend = d.component(x.val, d.join(path, "kv-offload-backend"), false)
	}
	switch {
	case s.KVOffloading == "" && s.KVOffloadBackend != nil:
		d.errf(got.of("kv-offload-backend").keyNode, path, "add 'kv-offloading: dram', or remove the backend",
			"kv-offload-backend requires kv-offloading")
	case s.KVOffloading == "none" && s.KVOffloadBackend != nil:
		d.errf(got.of("kv-offload-backend").keyNode, path, "remove the backend, or offload (kv-offloading: dram)",
			"kv-offload-backend can only be set when kv-offloading is not 'none'")
	case s.KVOffloading != "" && s.KVOffloading != "none" && s.KVOffloadBackend == nil:
		d.errf(got.of("kv-offloading").val, path, "add 'kv-offload-backend: {name: <backend>}'",
			"kv-offload-backend is required when kv-offloading is '%s'", s.KVOffloading)
	case s.KVOffloading == "" && !multi:
		d.errf(n, path, "add 'kv-offloading: none' or 'kv-offloading: dram'",
			"Single-node agentic search-space entries must specify kv-offloading")
	}
}

// fraction decodes dram-utilization: a number in (0, 1], kept as the exact decimal the
// reference reads (Python's shortest repr of the float, or the integer).
func (d *decoder) fraction(n *yaml.Node, path string) *big.Rat {
	hint := "write a fraction of the CPU DRAM above 0 and at most 1, e.g. 0.9"
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!float" && n.ShortTag() != "!!int") {
		d.errf(n, path, hint, "must be a number, got %s", describe(n))
		return nil
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
	if err != nil || !(f > 0 && f <= 1) {
		d.errf(n, path, hint, "must be greater than 0 and at most 1, got %s", n.Value)
		return nil
	}
	text := strconv.FormatFloat(f, 'g', -1, 64)
	if n.ShortTag() == "!!int" {
		text = "1"
	}
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		d.errf(n, path, hint, "cannot read %s as a number", n.Value)
		return nil
	}
	return r
}

// runners0208 decodes a 2026-08 runner file: labels (runner type -> node names) and
// hardware (label -> available CPU DRAM and GPUs per node).
func (d *decoder) runners0208(root *yaml.Node) ([]RunnerType, []Hardware) {
	d.prefix = "Runner config failed validation: "
	fields, _ := d.mapping(root, "", "runner config", []string{"labels", "hardware"})
	got := fieldList(fields)
	var types []RunnerType
	if x, ok := got.get("labels"); !ok || resolve(x.val).Kind != yaml.MappingNode {
		at := root
		if ok {
			at = x.val
		}
		d.prefix = ""
		d.errf(at, "", "write 'labels:' with one runner label per line and its node names as a list under it",
			"Runner config must define a labels mapping")
	} else {
		d.prefix = ""
		lf, _ := d.mapping(x.val, "labels", "labels", nil)
		for _, f := range lf {
			if t, ok := d.runnerType(f); ok {
				types = append(types, t)
			}
		}
	}
	d.prefix = "Runner config failed validation: "
	var hw []Hardware
	if x, ok := got.get("hardware"); ok {
		hf, _ := d.mapping(x.val, "hardware", "hardware", nil)
		d.groups = true
		for _, f := range hf {
			p := d.join("hardware", f.key)
			wf, _ := d.mapping(f.val, p, "hardware entry", []string{"available-cpu-dram-mib", "gpus-per-node"})
			h := Hardware{Label: f.key, Pos: posOf(f.keyNode)}
			seen := map[string]bool{}
			for _, w := range wf {
				seen[w.key] = true
				if w.key == "gpus-per-node" {
					h.GPUsPerNode, _ = d.atLeast(w.val, d.join(p, w.key), 1, "the number of GPUs in one node: 1 or more")
				} else {
					h.AvailableCPUDRAMMiB, _ = d.atLeast(w.val, d.join(p, w.key), 1, "the CPU DRAM available to the engine, in MiB: 1 or more")
				}
			}
			if resolve(f.val).Kind == yaml.MappingNode {
				for _, k := range []string{"available-cpu-dram-mib", "gpus-per-node"} {
					if !seen[k] {
						d.errf(f.val, p, fmt.Sprintf("add '%s: <number>'", k), "missing required field '%s'", k)
					}
				}
			}
			hw = append(hw, h)
		}
		d.groups = false
	}
	d.prefix = ""
	return types, hw
}
