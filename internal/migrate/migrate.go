// Package migrate rewrites 2026-02 InferenceX config files into the 2026-08 schema:
// master configs get scenarios: {fixed-seq-len: <their seq-len-configs>} and the KV
// transfer engine 2026-08 requires of disaggregated entries; runner files get their
// runner types under labels:.
//
// Block-style files (all of InferenceX's) are rewritten line by line: only the lines that
// change are touched and everything else, comments, blank lines and quoting included,
// stays byte for byte; the moved blocks are indented by two spaces. Other layouts (flow
// style entries) are transformed as YAML trees and re-encoded by yaml.v3, which keeps
// comments and key order but not blank lines. Either way the result is validated as a
// 2026-08 file before it is returned.
package migrate

import (
	"bytes"
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/config"
	"github.com/inferbench/inferbench/internal/diag"
)

// Options tune a migration.
type Options struct {
	// KVP2PTransfer is the KV transfer engine written into disaggregated entries that
	// have none; "" uses DefaultKVP2PTransfer of the entry's framework.
	KVP2PTransfer string
}

// DefaultKVP2PTransfer is the KV transfer engine the 2026-08 reference's own configs use
// for most disaggregated entries of each framework. A 2026-02 file does not say which
// engine its deployments use, so a migrated entry gets this value and a note to check it.
var DefaultKVP2PTransfer = map[string]string{
	"dynamo-trt":    "nixl",
	"dynamo-sglang": "nixl",
	"dynamo-vllm":   "nixl",
	"llmd-vllm":     "nixl",
	"sglang-disagg": "mori",
	"atom-disagg":   "mooncake",
}

// File migrates one config file, recognised from its contents. It returns the 2026-08
// text, or nil and the problems. Warnings in diags are notes on values the migration had
// to choose.
func File(name string, data []byte, o Options) ([]byte, config.FileKind, diag.List) {
	kind, g, diags := config.Recognise(name, data)
	switch {
	case diags.HasErrors():
		return nil, kind, diags
	case kind == config.UnknownFile:
		diags.Add(name, 1, 1, "pass a master config (entries with seq-len-configs) or a runner file (runner types with node lists)",
			"'%s' is neither a master config nor a runner file with any entry to migrate", name)
		return nil, kind, diags
	case g == config.Gen2026_08:
		diags.Add(name, 1, 1, "nothing to do: it is already in the schema the generator reads as 2026-08",
			"'%s' is already a 2026-08 %s", name, kindName(kind))
		return nil, kind, diags
	case kind == config.RunnerFile:
		out, ds := Runners(name, data)
		return out, kind, ds
	}
	out, ds := Master(name, data, o)
	return out, kind, ds
}

func kindName(k config.FileKind) string {
	if k == config.RunnerFile {
		return "runner file"
	}
	return "master config"
}

// Master migrates a 2026-02 master config.
func Master(name string, data []byte, o Options) ([]byte, diag.List) {
	entries, diags := config.ParseMaster(name, data)
	if diags.HasErrors() {
		return nil, diags
	}
	if len(entries) > 0 && entries[0].Gen == config.Gen2026_08 {
		diags.Add(name, 1, 1, "nothing to do", "'%s' is already a 2026-08 master config", name)
		return nil, diags
	}
	engines := map[string]string{} // config key -> engine to add
	for _, e := range entries {
		if !e.Disagg {
			continue
		}
		engine := o.KVP2PTransfer
		if engine == "" {
			engine = DefaultKVP2PTransfer[e.Framework]
		}
		if engine == "" {
			diags.Add(name, e.Pos.Line, e.Pos.Col, "pass --kv-p2p-transfer ENGINE (e.g. nixl, mooncake, mori) to name it",
				"config entry '%s' is disaggregated and 2026-08 needs its KV transfer engine, which the 2026-02 file does not say and framework '%s' has no default for", e.Key, e.Framework)
			continue
		}
		engines[e.Key] = engine
		diags.Warn(name, e.Pos.Line, e.Pos.Col, "check it and change it if the deployment uses another engine",
			"config entry '%s': added kv-p2p-transfer: %s (2026-08 requires it of disaggregated entries; the 2026-02 file did not say)", e.Key, engine)
	}
	if diags.HasErrors() {
		return nil, diags
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		diags.Add(name, 0, 0, "check that the file is valid YAML", "cannot parse: %v", err)
		return nil, diags
	}
	out, ok := masterLines(data, doc.Content[0], engines)
	if !ok || !validMaster(name, out, len(entries)) {
		out = masterTree(&doc, engines)
	}
	if !validMaster(name, out, len(entries)) {
		_, ds := config.ParseMaster(name, out)
		diags.Add(name, 0, 0, "report this: the migration produced an invalid file", "migrated file does not validate as 2026-08: %v", ds)
		return nil, diags
	}
	return out, diags
}

func validMaster(name string, out []byte, n int) bool {
	es, ds := config.ParseMaster(name, out)
	return out != nil && !ds.HasErrors() && len(es) == n && (n == 0 || es[0].Gen == config.Gen2026_08)
}

// Runners migrates a 2026-02 runner file.
func Runners(name string, data []byte) ([]byte, diag.List) {
	r, diags := config.ParseRunners(name, data)
	if diags.HasErrors() {
		return nil, diags
	}
	if r.Gen == config.Gen2026_08 {
		diags.Add(name, 1, 1, "nothing to do", "'%s' is already a 2026-08 runner file", name)
		return nil, diags
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		diags.Add(name, 0, 0, "check that the file is valid YAML", "cannot parse: %v", err)
		return nil, diags
	}
	valid := func(out []byte) bool {
		m, ds := config.ParseRunners(name, out)
		return out != nil && !ds.HasErrors() && m.Gen == config.Gen2026_08 && slices.Equal(m.Names(), r.Names())
	}
	out, ok := runnerLines(data, doc.Content[0])
	if !ok || !valid(out) {
		root := doc.Content[0]
		doc.Content[0] = &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{scalar("labels"), root}}
		out = encode(&doc)
	}
	if !valid(out) {
		diags.Add(name, 0, 0, "report this: the migration produced an invalid file", "migrated runner file does not validate as 2026-08")
		return nil, diags
	}
	return out, diags
}

// lines is a file cut into lines (without their newlines) with edits recorded per line.
type lines struct {
	text    [][]byte
	trailNL bool
	indent  []bool     // line gets two more spaces
	replace [][]byte   // non-nil: the line is replaced by this text
	after   [][][]byte // lines inserted after the line
	before  [][][]byte // lines inserted before the line
}

func newLines(data []byte) *lines {
	t := bytes.Split(data, []byte("\n"))
	l := &lines{text: t, trailNL: len(data) > 0 && data[len(data)-1] == '\n'}
	if l.trailNL {
		l.text = t[:len(t)-1]
	}
	n := len(l.text)
	l.indent, l.replace, l.after, l.before = make([]bool, n), make([][]byte, n), make([][][]byte, n), make([][][]byte, n)
	return l
}

func (l *lines) render() []byte {
	var b bytes.Buffer
	for i, t := range l.text {
		for _, x := range l.before[i] {
			b.Write(x)
			b.WriteByte('\n')
		}
		switch {
		case l.replace[i] != nil:
			b.Write(l.replace[i])
		case l.indent[i] && len(bytes.TrimSpace(t)) > 0:
			b.WriteString("  ")
			b.Write(t)
		default:
			b.Write(t)
		}
		if i < len(l.text)-1 || l.trailNL || len(l.after[i]) > 0 {
			b.WriteByte('\n')
		}
		for j, x := range l.after[i] {
			b.Write(x)
			if i < len(l.text)-1 || l.trailNL || j < len(l.after[i])-1 {
				b.WriteByte('\n')
			}
		}
	}
	return b.Bytes()
}

func indentOf(t []byte) int { return len(t) - len(bytes.TrimLeft(t, " ")) }

// blockEnd is the last line (0-based) of the block that starts below line key (0-based)
// and ends before line next: trailing blank lines and comments indented no deeper than
// the key belong to what follows.
func (l *lines) blockEnd(key, next, keyIndent int) int {
	end := next - 1
	for end > key {
		t := l.text[end]
		trimmed := bytes.TrimSpace(t)
		if len(trimmed) == 0 || (trimmed[0] == '#' && indentOf(t) <= keyIndent) {
			end--
			continue
		}
		break
	}
	return end
}

// masterLines rewrites a block-style master config line by line. ok is false when the
// file has a layout this cannot handle.
func masterLines(data []byte, root *yaml.Node, engines map[string]string) ([]byte, bool) {
	if root.Kind != yaml.MappingNode || root.Style&yaml.FlowStyle != 0 || bytes.Contains(data, []byte("\r")) {
		return nil, false
	}
	l := newLines(data)
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, entry := root.Content[i], root.Content[i+1]
		if entry.Kind != yaml.MappingNode || entry.Style&yaml.FlowStyle != 0 {
			return nil, false
		}
		next := len(l.text) // 0-based line after the entry
		if i+2 < len(root.Content) {
			next = root.Content[i+2].Line - 1
			for next > 0 && len(bytes.TrimSpace(l.text[next-1])) > 0 && bytes.TrimSpace(l.text[next-1])[0] == '#' {
				next--
			}
		}
		for j := 0; j+1 < len(entry.Content); j += 2 {
			k, v := entry.Content[j], entry.Content[j+1]
			line := k.Line - 1
			t := l.text[line]
			col := k.Column - 1
			if col != indentOf(t) || !bytes.HasPrefix(t[col:], []byte(k.Value+":")) {
				return nil, false
			}
			switch k.Value {
			case "seq-len-configs":
				if v.Kind != yaml.SequenceNode || v.Style&yaml.FlowStyle != 0 || v.Line <= k.Line {
					return nil, false
				}
				rest := t[col+len("seq-len-configs:"):]
				l.replace[line] = fmt.Appendf(nil, "%sscenarios:%s", t[:col], rest)
				l.after[line] = append(l.after[line], fmt.Appendf(nil, "%s  fixed-seq-len:", t[:col]))
				sibling := next
				if j+2 < len(entry.Content) {
					sibling = entry.Content[j+2].Line - 1
				}
				for x := line + 1; x <= l.blockEnd(line, sibling, col); x++ {
					l.indent[x] = true
				}
			case "disagg":
				if isNull(v) {
					rest := ""
					if c := v.LineComment; c != "" {
						rest = " " + c
					}
					l.replace[line] = fmt.Appendf(nil, "%sdisagg: false%s", t[:col], rest)
				}
				if engine, ok := engines[key.Value]; ok {
					l.after[line] = append(l.after[line], fmt.Appendf(nil, "%skv-p2p-transfer: %s  # %s", t[:col], engine, addedNote))
				}
			}
		}
	}
	return l.render(), true
}

const addedNote = "added by generator migrate: the 2026-02 file did not name the KV transfer engine; check it"

// runnerLines moves the runner types of a block-style runner file under labels:.
func runnerLines(data []byte, root *yaml.Node) ([]byte, bool) {
	if root.Kind != yaml.MappingNode || root.Style&yaml.FlowStyle != 0 || len(root.Content) == 0 || bytes.Contains(data, []byte("\r")) {
		return nil, false
	}
	l := newLines(data)
	first := root.Content[0].Line - 1
	if root.Content[0].Column != 1 {
		return nil, false
	}
	l.before[first] = append(l.before[first], []byte("labels:"))
	for x := first; x < len(l.text); x++ {
		l.indent[x] = true
	}
	return l.render(), true
}

// masterTree is the fallback: the same changes on the YAML tree, re-encoded.
func masterTree(doc *yaml.Node, engines map[string]string) []byte {
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, entry := root.Content[i], root.Content[i+1]
		if entry.Kind != yaml.MappingNode {
			continue
		}
		var content []*yaml.Node
		for j := 0; j+1 < len(entry.Content); j += 2 {
			k, v := entry.Content[j], entry.Content[j+1]
			switch k.Value {
			case "seq-len-configs":
				k.Value = "scenarios"
				v = &yaml.Node{Kind: yaml.MappingNode, Style: v.Style & yaml.FlowStyle, Content: []*yaml.Node{scalar("fixed-seq-len"), v}}
			case "disagg":
				if isNull(v) {
					v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "false", LineComment: v.LineComment}
				}
			}
			content = append(content, k, v)
			if engine, ok := engines[key.Value]; ok && k.Value == "disagg" {
				ek := scalar("kv-p2p-transfer")
				ev := scalar(engine)
				ev.LineComment = "# " + addedNote
				content = append(content, ek, ev)
			}
		}
		entry.Content = content
	}
	return encode(doc)
}

func encode(doc *yaml.Node) []byte {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil
	}
	if err := enc.Close(); err != nil {
		return nil
	}
	return b.Bytes()
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}
