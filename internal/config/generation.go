package config

import (
	"fmt"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/diag"
)

// masterGeneration recognises the generation of a parsed master config from its first
// entry that says: one with scenarios is 2026-08, one with seq-len-configs 2026-02.
// known is false when no entry says (an empty or malformed file).
func masterGeneration(root *yaml.Node) (g Generation, at Pos, known bool) {
	root = resolve(root)
	if root.Kind != yaml.MappingNode {
		return Gen2026_02, Pos{}, false
	}
	for i := 1; i < len(root.Content); i += 2 {
		if g, at, known := entryGeneration(root.Content[i]); known {
			return g, at, true
		}
	}
	return Gen2026_02, Pos{}, false
}

// entryGeneration is the generation one entry shows by its keys, if any.
func entryGeneration(v *yaml.Node) (g Generation, at Pos, known bool) {
	v = resolve(v)
	if v.Kind != yaml.MappingNode {
		return Gen2026_02, Pos{}, false
	}
	for j := 0; j+1 < len(v.Content); j += 2 {
		switch k := v.Content[j]; k.Value {
		case "scenarios":
			return Gen2026_08, posOf(k), true
		case "seq-len-configs":
			return Gen2026_02, posOf(k), true
		}
	}
	return Gen2026_02, Pos{}, false
}

// runnerGeneration recognises the generation of a parsed runner file: top-level labels or
// hardware mappings are 2026-08; runner types with node lists at the top level 2026-02.
// A 2026-02 runner type may be called "labels", but its value is then a list.
func runnerGeneration(root *yaml.Node) (g Generation, at Pos, known bool) {
	root = resolve(root)
	if root.Kind != yaml.MappingNode || len(root.Content) == 0 {
		return Gen2026_02, Pos{}, false
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], resolve(root.Content[i+1])
		if (k.Value == "labels" || k.Value == "hardware") && v.Kind == yaml.MappingNode {
			return Gen2026_08, posOf(k), true
		}
	}
	for i := 1; i < len(root.Content); i += 2 {
		if resolve(root.Content[i]).Kind == yaml.SequenceNode {
			return Gen2026_02, posOf(root.Content[i-1]), true
		}
	}
	return Gen2026_02, Pos{}, false
}

// Load reads the master configs (merged in the given order) and the runner file of one
// command, recognises their generation from their contents and validates them in it.
// Files of two generations are refused with one positioned error per file that differs
// from the first, instead of hundreds of schema errors. With runnerPath "" only the
// master configs are read. Either result is nil when its files have errors. The
// generation is returned even then (2026-02 when no file shows one), so that callers can
// apply the command-line rules of that generation.
func Load(paths []string, runnerPath string) (*Master, *Runners, Generation, diag.List) {
	return load(ReadFile, paths, runnerPath)
}

// LoadWith is Load with the files read by read (for example from a git revision).
func LoadWith(read func(path string) ([]byte, error), paths []string, runnerPath string) (*Master, *Runners, Generation, diag.List) {
	return load(read, paths, runnerPath)
}

// parsedRunners is a runner file read and parsed, with its generation.
type parsedRunners struct {
	root   *yaml.Node
	gen    Generation
	genPos Pos
	known  bool
	diags  diag.List
}

func parseRunnerFile(read func(string) ([]byte, error), path string) parsedRunners {
	var p parsedRunners
	data, err := read(path)
	if err != nil {
		addReadError(&p.diags, path, "Runner config file", err)
		return p
	}
	root := fastParse(data)
	ok := true
	if root == nil {
		root, ok = parseDocument(path, data, &p.diags)
	}
	if !ok {
		return p
	}
	if root == nil {
		root = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: 1, Column: 1}
	}
	p.root = root
	p.gen, p.genPos, p.known = runnerGeneration(root)
	return p
}

func load(read func(string) ([]byte, error), paths []string, runnerPath string) (*Master, *Runners, Generation, diag.List) {
	read = capped(read)
	var rp parsedRunners
	var wg sync.WaitGroup
	if runnerPath != "" {
		wg.Go(func() { rp = parseRunnerFile(read, runnerPath) })
	}
	parsed := parseFiles(read, paths)
	wg.Wait()

	type shown struct {
		file, what, why string
		gen             Generation
		pos             Pos
	}
	var files []shown
	for i := range parsed {
		if p := parsed[i]; p.known {
			files = append(files, shown{paths[i], "master config", genReason(p.gen, true), p.gen, p.genPos})
		}
	}
	if rp.known {
		files = append(files, shown{runnerPath, "runner file", genReason(rp.gen, false), rp.gen, rp.genPos})
	}
	g := Gen2026_02
	var diags diag.List
	if len(files) > 0 {
		first := files[0]
		g = first.gen
		for _, f := range files[1:] {
			if f.gen == g {
				continue
			}
			diags.Add(f.file, f.pos.Line, f.pos.Col,
				"use files of one generation: convert the 2026-02 ones with 'generator migrate' (docs/generator-generations.md)",
				"'%s' is a %s %s (%s) but '%s' is a %s %s (%s): the files of one command must be of one generation",
				f.file, f.gen, f.what, f.why, first.file, first.gen, first.what, first.why)
		}
	}
	if diags.HasErrors() {
		for i := range parsed {
			diags = append(diags, parsed[i].diags...)
		}
		return nil, nil, g, append(diags, rp.diags...)
	}
	m, md := mergeMaster(paths, parsed, g)
	diags = append(diags, md...)
	if runnerPath == "" {
		return m, nil, g, diags
	}
	diags = append(diags, rp.diags...)
	if rp.root == nil {
		return m, nil, g, diags
	}
	r, rd := decodeRunners(runnerPath, rp.root, g)
	return m, r, g, append(diags, rd...)
}

func genReason(g Generation, master bool) string {
	switch {
	case master && g == Gen2026_08:
		return "its entries have 'scenarios:'"
	case master:
		return "its entries have 'seq-len-configs:'"
	case g == Gen2026_08:
		return "it has 'labels:'/'hardware:'"
	}
	return "runner types at the top level"
}

// retargetGeneration gives unknown-field messages about the other generation's top-level
// entry keys a hint that says so.
func (d *decoder) retargetGeneration(from int) {
	for i := from; i < len(*d.diags); i++ {
		m := &(*d.diags)[i]
		switch {
		case d.gen == Gen2026_08 && containsAny(m.Message, "unknown field 'seq-len-configs'"):
			m.Hint = "this entry is written in the 2026-02 schema but the files are 2026-08: move its seq-len-configs under 'scenarios: fixed-seq-len:' (generator migrate does it)"
		case d.gen == Gen2026_02 && containsAny(m.Message, "unknown field 'scenarios'", "unknown field 'router'", "unknown field 'kv-p2p-transfer'"):
			m.Hint = fmt.Sprintf("this key belongs to the 2026-08 schema but the files are 2026-02; %s", m.Hint)
		}
	}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// FileKind tells the two kinds of config file apart.
type FileKind int

const (
	UnknownFile FileKind = iota
	MasterFile           // master config: config key -> entry
	RunnerFile           // runner file: runner types (labels) -> nodes
)

// Recognise parses a config file and says which kind it is and in which generation it is
// written, from its contents alone. kind is UnknownFile when the file says neither (it is
// empty or has no entry that shows); diags has its syntax errors.
func Recognise(name string, data []byte) (kind FileKind, g Generation, diags diag.List) {
	root, ok := parseDocument(name, data, &diags)
	if !ok || root == nil {
		return UnknownFile, Gen2026_02, diags
	}
	if g, _, known := masterGeneration(root); known {
		return MasterFile, g, diags
	}
	if g, _, known := runnerGeneration(root); known {
		return RunnerFile, g, diags
	}
	return UnknownFile, Gen2026_02, diags
}
