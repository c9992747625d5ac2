package config

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/diag"
)

// LoadRunners reads and validates a runner file in the generation it shows: a 2026-02
// mapping from runner type to a non-empty list of node names, or a 2026-08 file with
// labels (the same mapping) and hardware.
func LoadRunners(path string) (*Runners, diag.List) {
	p := parseRunnerFile(ReadFile, path)
	if p.root == nil {
		return nil, p.diags
	}
	r, diags := decodeRunners(path, p.root, p.gen)
	return r, append(p.diags, diags...)
}

// ParseRunners decodes and validates a runner file held in memory.
func ParseRunners(name string, data []byte) (*Runners, diag.List) {
	var diags diag.List
	root, ok := parseDocument(name, data, &diags)
	if !ok {
		return nil, diags
	}
	if root == nil {
		root = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: 1, Column: 1}
	}
	g, _, _ := runnerGeneration(root)
	return decodeRunners(name, root, g)
}

func decodeRunners(name string, root *yaml.Node, g Generation) (*Runners, diag.List) {
	var diags diag.List
	if resolve(root).Kind != yaml.MappingNode {
		hint := "write one 'runner-type:' key per type with a list of node names under it"
		if g == Gen2026_08 {
			hint = "write 'labels:' with one label per runner type and its node names, and optionally 'hardware:'"
		}
		diags.Add(name, root.Line, root.Column, hint, "Runner config file '%s' must contain a mapping", name)
		return nil, diags
	}
	d := &decoder{file: name, diags: &diags, gen: g}
	var types []RunnerType
	var hw []Hardware
	if g == Gen2026_08 {
		types, hw = d.runners0208(root)
	} else {
		fields, _ := d.mapping(root, "", "runner config", nil)
		types = make([]RunnerType, 0, len(fields))
		for _, f := range fields {
			if t, ok := d.runnerType(f); ok {
				types = append(types, t)
			}
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	r := NewRunners(name, types)
	r.Gen, r.Hardware = g, hw
	return r, diags
}

func (d *decoder) runnerType(f field) (RunnerType, bool) {
	t := RunnerType{Name: f.key, Pos: posOf(f.keyNode)}
	if f.val.Kind != yaml.SequenceNode {
		d.errf(f.val, "", "list the node names under the type, one '- name' per line",
			"Runner config entry '%s' must be a list, got %s", f.key, pythonType(f.val))
		return t, false
	}
	ok := true
	if len(f.val.Content) == 0 {
		d.errf(f.val, "", "list at least one node name, or delete the runner type",
			"Runner config entry '%s' cannot be an empty list", f.key)
		return t, false
	}
	seen := map[string]int{}
	for _, raw := range f.val.Content {
		n := resolve(raw)
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" || n.Value == "" {
			d.errf(n, "", "write each node name as text, e.g. - 'h100-cw_0'",
				"Runner config entry '%s' must contain only strings (got %s)", f.key, describe(n))
			ok = false
			continue
		}
		if line, dup := seen[n.Value]; dup {
			d.errf(n, "", "remove the repeated name; it would run every job twice on that node",
				"Runner config entry '%s' lists node '%s' twice (first at line %d)", f.key, n.Value, line)
			ok = false
			continue
		}
		seen[n.Value] = n.Line
		t.Nodes = append(t.Nodes, n.Value)
	}
	return t, ok
}

// pythonType names a node's type the way the reference's message does.
func pythonType(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "dict"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "NoneType"
		case "!!int":
			return "int"
		case "!!float":
			return "float"
		case "!!bool":
			return "bool"
		}
		return "str"
	}
	return fmt.Sprint(n.ShortTag())
}

// Lint reports problems that span the master configs and the runner file. They are warnings:
// the reference accepts them (docs/generator.md#quirk-unknown-runner), so sweeps keep working.
func Lint(m *Master, r *Runners) diag.List { return lint(m, r, diag.Warning) }

// LintStrict reports what Lint does, as errors. It is for the PR gate (generator
// validate), where a runner type missing from the runner file is a mistake to fix
// before merging rather than a config to tolerate.
func LintStrict(m *Master, r *Runners) diag.List { return lint(m, r, diag.Error) }

func lint(m *Master, r *Runners, sev diag.Severity) diag.List {
	var diags diag.List
	for _, e := range m.Entries {
		if r.Has(e.Runner) {
			continue
		}
		hint := fmt.Sprintf("add '%s' to %s, or --runner-type and --runner-node-filter cannot select this entry", e.Runner, r.File)
		if sev == diag.Error {
			hint = fmt.Sprintf("add '%s' to %s or use one of its runner types (%s)", e.Runner, r.File, strings.Join(r.Names(), ", "))
		}
		diags.Append(diag.Diagnostic{File: e.File, Line: e.RunnerPos.Line, Col: e.RunnerPos.Col, Severity: sev, Hint: hint,
			Message: fmt.Sprintf("config entry '%s' uses runner '%s', which is not a runner type in %s", e.Key, e.Runner, r.File)})
	}
	return diags
}
