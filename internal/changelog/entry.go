package changelog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/diag"
)

// Entry is one element of perf-changelog.yaml. Field order is the canonical JSON order of
// changelog_metadata.entries.
type Entry struct {
	ConfigKeys  []string `json:"config-keys"`
	Description []string `json:"description"`
	PRLink      string   `json:"pr-link"`
	EvalsOnly   bool     `json:"evals-only"`

	// 2026-08 fields (only with 2026-08 configs): all-evals expands the eval selection,
	// append-only runs only the points the change adds, eval-min-prefill-ep drops
	// multi-node eval rows below that prefill ep, scenario-type restricts the scenarios.
	AllEvals         bool     `json:"-"`
	AppendOnly       bool     `json:"-"`
	EvalMinPrefillEP *int64   `json:"-"`
	ScenarioType     []string `json:"-"`

	// Line and Col locate the entry in the changelog file (1-based).
	Line, Col int `json:"-"`
	// KeyPos locates each element of ConfigKeys.
	KeyPos []Pos `json:"-"`
}

// Pos is a 1-based line and column in the changelog file.
type Pos struct{ Line, Col int }

// Source is YAML text cut out of the changelog file, with the file line that each of its
// lines came from (Lines[i] is the file line of text line i+1). A nil Lines means the text
// is the whole file.
type Source struct {
	File  string
	Text  string
	Lines []int
	// Gen0208 accepts the fields of 2026-08 changelogs (their configs are 2026-08).
	Gen0208 bool
}

func (s Source) fileLine(textLine int) int {
	if s.Lines == nil || textLine <= 0 {
		return textLine
	}
	if textLine > len(s.Lines) {
		if len(s.Lines) == 0 {
			return 0
		}
		return s.Lines[len(s.Lines)-1]
	}
	return s.Lines[textLine-1]
}

func (s Source) pos(n *yaml.Node) (int, int) { return s.fileLine(n.Line), n.Column }

// ErrNoEntries is returned when the text holds no YAML value at all (only blank lines or
// comments).
var ErrNoEntries = errors.New("no YAML entries")

var (
	requiredFields = []string{"config-keys", "description", "pr-link"}
	optional0208   = []string{"all-evals", "append-only", "eval-min-prefill-ep", "scenario-type"}
	scenarioTypes  = []string{"fixed-seq-len", "agentic-coding"}
)

const (
	fieldsHint     = "an entry has config-keys (list), description (list), pr-link (string) and optionally evals-only (true/false)"
	fieldsHint0208 = fieldsHint + ", all-evals, append-only (true/false), eval-min-prefill-ep (1 or more) and scenario-type (list of fixed-seq-len, agentic-coding)"
)

// ParseEntries decodes a YAML list of changelog entries, checking each against the schema
// (docs/generator.md#changelog-entries, with strict YAML 1.2 types). It returns the entries
// that are valid and one diagnostic per problem, positioned in the changelog file.
func ParseEntries(src Source) ([]Entry, diag.List, error) {
	var diags diag.List
	dec := yaml.NewDecoder(bytes.NewReader([]byte(src.Text)))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, ErrNoEntries
		}
		line, col, msg := diag.YAMLSyntaxPos(err, []byte(src.Text), func(b []byte) error {
			var n yaml.Node
			return yaml.Unmarshal(b, &n)
		})
		diags.Add(src.File, src.fileLine(line), col, "fix the YAML syntax", "invalid YAML: %s", msg)
		return nil, diags, nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		l, c := src.pos(&extra)
		diags.Add(src.File, l, c, "keep the changelog a single YAML document", "unexpected second YAML document (---)")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, nil, ErrNoEntries
		}
		root = root.Content[0]
	}
	if isNull(root) {
		return nil, nil, ErrNoEntries
	}
	if root.Kind != yaml.SequenceNode {
		l, c := src.pos(root)
		diags.Add(src.File, l, c, "each entry starts with '- config-keys:'", "the changelog must be a YAML list of entries, found %s", kindName(root))
		return nil, diags, nil
	}
	var entries []Entry
	for _, n := range root.Content {
		e, ds := parseEntry(src, n)
		diags = append(diags, ds...)
		if len(ds) == 0 {
			entries = append(entries, e)
		}
	}
	return entries, diags, nil
}

func parseEntry(src Source, n *yaml.Node) (Entry, diag.List) {
	var diags diag.List
	e := Entry{}
	e.Line, e.Col = src.pos(n)
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		diags.Add(src.File, e.Line, e.Col, fieldsHint, "changelog entry must be a mapping, found %s", kindName(n))
		return e, diags
	}
	seen := map[string]bool{}
	var unknown []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		kl, kc := src.pos(k)
		name := k.Value
		if seen[name] {
			diags.Add(src.File, kl, kc, "keep one of them", "duplicate field '%s' in changelog entry", name)
			continue
		}
		seen[name] = true
		switch name {
		case "config-keys":
			var pos []Pos
			e.ConfigKeys, pos = stringList(src, name, v, &diags)
			e.KeyPos = pos
		case "description":
			e.Description, _ = stringList(src, name, v, &diags)
		case "pr-link":
			if s, ok := str(v); ok {
				e.PRLink = s
			} else {
				vl, vc := src.pos(v)
				diags.Add(src.File, vl, vc, "quote it if needed: pr-link: \"https://github.com/...\"", "'pr-link' must be a string, found %s", kindName(v))
			}
		case "evals-only":
			e.EvalsOnly = boolField(src, name, v, &diags)
		case "all-evals", "append-only", "eval-min-prefill-ep", "scenario-type":
			if !src.Gen0208 {
				unknown = append(unknown, k)
				continue
			}
			parse0208(src, &e, name, v, &diags)
		default:
			unknown = append(unknown, k)
		}
	}
	// A misspelt field is one mistake, not two: name the field it probably meant instead
	// of also reporting that field as missing.
	allowed := append(slices.Clone(requiredFields), "evals-only")
	hint0 := fieldsHint
	if src.Gen0208 {
		allowed, hint0 = append(allowed, optional0208...), fieldsHint0208
	}
	for _, k := range unknown {
		kl, kc := src.pos(k)
		hint := hint0
		if !src.Gen0208 && slices.Contains(optional0208, k.Value) {
			hint = "this field belongs to 2026-08 changelogs, whose configs are 2026-08: migrate the configs (generator migrate) or remove it"
		}
		for _, f := range allowed {
			if !seen[f] && levenshtein(k.Value, f) <= 2 {
				seen[f] = true
				hint = fmt.Sprintf("did you mean '%s'?", f)
				break
			}
		}
		diags.Add(src.File, kl, kc, hint, "unknown field '%s' in changelog entry", k.Value)
	}
	for _, f := range requiredFields {
		if !seen[f] {
			diags.Add(src.File, e.Line, e.Col, hint0, "changelog entry lacks the required field '%s'", f)
		}
	}
	if e.AppendOnly && (e.EvalsOnly || e.AllEvals || e.EvalMinPrefillEP != nil) {
		diags.Add(src.File, e.Line, e.Col, "an append-only entry runs only the throughput points it adds; put eval requests in an entry of their own",
			"append-only cannot be combined with eval selection fields")
	}
	return e, diags
}

func boolField(src Source, name string, v *yaml.Node, diags *diag.List) bool {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!bool" && (v.Value == "true" || v.Value == "false") {
		return v.Value == "true"
	}
	vl, vc := src.pos(v)
	diags.Add(src.File, vl, vc, fmt.Sprintf("write %s: true or %s: false", name, name), "'%s' must be true or false, found %s", name, kindName(v))
	return false
}

// parse0208 decodes the fields 2026-08 added to changelog entries.
func parse0208(src Source, e *Entry, name string, v *yaml.Node, diags *diag.List) {
	vl, vc := src.pos(v)
	switch name {
	case "all-evals":
		e.AllEvals = boolField(src, name, v, diags)
	case "append-only":
		e.AppendOnly = boolField(src, name, v, diags)
	case "eval-min-prefill-ep":
		if isNull(v) {
			return
		}
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if v.Kind != yaml.ScalarNode || v.Tag != "!!int" || err != nil || n < 1 {
			diags.Add(src.File, vl, vc, "write the lowest prefill expert parallelism to keep, e.g. eval-min-prefill-ep: 8",
				"'eval-min-prefill-ep' must be an integer of 1 or more, found %s", kindName(v))
			return
		}
		e.EvalMinPrefillEP = &n
	case "scenario-type":
		if isNull(v) {
			return
		}
		list, _ := stringList(src, name, v, diags)
		for i, s := range list {
			if !slices.Contains(scenarioTypes, s) {
				il, ic := src.pos(v.Content[i])
				diags.Add(src.File, il, ic, "use fixed-seq-len or agentic-coding", "'scenario-type' items must be fixed-seq-len or agentic-coding, found %s", strconv.Quote(s))
				return
			}
		}
		e.ScenarioType = list
	}
}

// stringList decodes a non-empty list of strings.
func stringList(src Source, name string, v *yaml.Node, diags *diag.List) ([]string, []Pos) {
	vl, vc := src.pos(v)
	if v.Kind != yaml.SequenceNode {
		diags.Add(src.File, vl, vc, "write it as a list: '- item' lines under the field", "'%s' must be a list of strings, found %s", name, kindName(v))
		return nil, nil
	}
	if len(v.Content) == 0 {
		diags.Add(src.File, vl, vc, "add at least one item", "'%s' must not be empty", name)
		return nil, nil
	}
	var out []string
	var pos []Pos
	for _, item := range v.Content {
		s, ok := str(item)
		il, ic := src.pos(item)
		if !ok {
			diags.Add(src.File, il, ic, "quote the item", "'%s' items must be strings, found %s", name, kindName(item))
			continue
		}
		out = append(out, s)
		pos = append(pos, Pos{il, ic})
	}
	return out, pos
}

// str accepts a scalar that YAML 1.2 reads as a string (no numbers, booleans or nulls).
func str(n *yaml.Node) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return "", false
	}
	return n.Value, true
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "nothing (null)"
		case "!!str":
			return strconv.Quote(n.Value)
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		}
		return fmt.Sprintf("%q (%s)", n.Value, n.Tag)
	}
	return "an empty value"
}
