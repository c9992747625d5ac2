package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/diag"
)

// maxExpandedNodes bounds the size of a document after alias expansion, so that an
// alias bomb ("billion laughs") or an alias cycle is reported instead of walked.
const maxExpandedNodes = 1 << 20

// parseDocument parses data as exactly one YAML document and returns its root content
// node, or nil when the document is empty. Syntax errors become diagnostics.
func parseDocument(file string, data []byte, diags *diag.List) (root *yaml.Node, ok bool) {
	defer func() {
		// yaml.v3 recovers its own panics; this is a last line of defence so that no
		// input can crash the generator.
		if r := recover(); r != nil {
			diags.Add(file, 0, 0, "check that the file is valid YAML", "YAML parser failed: %v", r)
			root, ok = nil, false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, true
		}
		addSyntaxError(file, data, err, diags)
		return nil, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		diags.Add(file, extra.Line, extra.Column, "remove the '---' separator and everything after it, or merge the documents",
			"file holds more than one YAML document")
		return nil, false
	} else if !errors.Is(err, io.EOF) {
		addSyntaxError(file, data, err, diags)
		return nil, false
	}
	if len(doc.Content) == 0 {
		return nil, true
	}
	root = doc.Content[0]
	if !hasAlias(root) {
		return root, true
	}
	if n, cyclic := expandedSize(root, map[*yaml.Node]int{}, map[*yaml.Node]bool{}); cyclic || n > maxExpandedNodes {
		diags.Add(file, root.Line, root.Column, "write the values out instead of using YAML aliases",
			"YAML aliases expand to a cyclic or too large document")
		return nil, false
	}
	return root, true
}

func addSyntaxError(file string, data []byte, err error, diags *diag.List) {
	line, col, msg := diag.YAMLSyntaxPos(err, data, parseYAML)
	diags.Add(file, line, col, "fix the YAML syntax (indentation, quotes, ':' after keys)", "YAML syntax error: %s", msg)
}

// parseYAML parses data as yaml.v3 does, for locating its errors.
func parseYAML(data []byte) error {
	var n yaml.Node
	return yaml.Unmarshal(data, &n)
}

// hasAlias reports whether the tree holds an alias. Without aliases the tree is
// finite and its size is the input's, so the costlier expandedSize can be skipped.
func hasAlias(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		return true
	}
	for _, c := range n.Content {
		if hasAlias(c) {
			return true
		}
	}
	return false
}

// expandedSize returns the number of nodes reachable from n with aliases expanded,
// saturating above maxExpandedNodes, and whether an alias cycle exists.
func expandedSize(n *yaml.Node, memo map[*yaml.Node]int, active map[*yaml.Node]bool) (int, bool) {
	if v, ok := memo[n]; ok {
		return v, false
	}
	if active[n] {
		return 0, true
	}
	active[n] = true
	defer delete(active, n)
	size := 1
	children := n.Content
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		children = []*yaml.Node{n.Alias}
	}
	for _, c := range children {
		s, cyclic := expandedSize(c, memo, active)
		if cyclic {
			return 0, true
		}
		size += s
		if size > maxExpandedNodes {
			size = maxExpandedNodes + 1
		}
	}
	memo[n] = size
	return size, false
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func posOf(n *yaml.Node) Pos { return Pos{n.Line, n.Column} }

// decoder walks yaml.Nodes and reports problems with a common message prefix.
type decoder struct {
	file   string
	prefix string // e.g. "Master config entry 'x' failed validation: "
	diags  *diag.List
	bad    bool // set by every error since the last reset
	gen    Generation
	schema *schema
	// groups accepts digit grouping in integers (2_063_837), which the 2026-08 runner
	// file uses and which YAML 1.1 readers and yaml.v3 read alike.
	groups bool
	// noPaths skips building the field paths of messages, for a first pass whose
	// messages are thrown away (see decodeEntry).
	noPaths bool
	// arena, when set, is where mappings' field lists are cut from; its owner reuses it
	// once the fields are no longer needed.
	arena *[]field
}

func (d *decoder) errf(n *yaml.Node, path, hint, format string, args ...any) {
	d.bad = true
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	d.diags.Add(d.file, line, col, hint, "%s%s", d.prefix, msg)
}

// warnf reports a problem that does not stop the file from being used.
func (d *decoder) warnf(n *yaml.Node, path, hint, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	d.diags.Warn(d.file, n.Line, n.Column, hint, "%s%s", d.prefix, msg)
}

// field is one key/value pair of a mapping, in document order.
type field struct {
	key      string
	keyNode  *yaml.Node
	val      *yaml.Node // alias-resolved
	rawValue *yaml.Node
}

// fieldList is a mapping's fields; mappings have few keys, so a scan beats a map.
type fieldList []field

func (l fieldList) get(key string) (field, bool) {
	for _, f := range l {
		if f.key == key {
			return f, true
		}
	}
	return field{}, false
}

// of returns the field of key, or the zero field.
func (l fieldList) of(key string) field {
	f, _ := l.get(key)
	return f
}

// mapping checks that n is a mapping with string keys, reports duplicate and unknown
// keys, and returns the known fields in document order.
func (d *decoder) mapping(n *yaml.Node, path, what string, allowed []string) ([]field, bool) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errf(n, path, "write it as 'key: value' lines indented under its parent", "%s must be a mapping, got %s", what, describe(n))
		return nil, false
	}
	fields := d.fields(len(n.Content) / 2)
	// Small mappings (all but the top levels) find repeated keys by a scan.
	var seen map[string]*yaml.Node
	if len(n.Content) > 64 {
		seen = make(map[string]*yaml.Node, len(n.Content)/2)
	}
	firstOf := func(k string, upTo int) *yaml.Node {
		if seen != nil {
			return seen[k]
		}
		for j := 0; j < upTo; j += 2 {
			if c := resolve(n.Content[j]); c.Kind == yaml.ScalarNode && c.Value == k && c.ShortTag() == "!!str" {
				return c
			}
		}
		return nil
	}
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			d.errf(k, path, "write the fields out; YAML merge keys are not supported", "merge key '<<' is not supported")
			ok = false
			continue
		}
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			d.errf(k, path, "use a plain text key", "%s key must be a string, got %s", what, describe(k))
			ok = false
			continue
		}
		if first := firstOf(k.Value, i); first != nil {
			d.errf(k, d.join(path, k.Value), "remove one of the two; YAML would silently keep only the last",
				"duplicate key '%s' (first at line %d)", k.Value, first.Line)
			ok = false
			continue
		}
		if seen != nil {
			seen[k.Value] = k
		}
		if allowed != nil && !contains(allowed, k.Value) {
			d.errf(k, path, unknownHint(k.Value, allowed), "unknown field '%s' in %s", k.Value, what)
			ok = false
			continue
		}
		fields = append(fields, field{key: k.Value, keyNode: k, val: resolve(v), rawValue: v})
	}
	return fields, ok
}

// fields returns an empty field list with room for n fields.
func (d *decoder) fields(n int) []field {
	if d.arena == nil {
		return make([]field, 0, n)
	}
	a := *d.arena
	if cap(a)-len(a) < n {
		a = make([]field, 0, max(n, 1024))
	}
	*d.arena = a[:len(a)+n]
	return a[len(a) : len(a) : len(a)+n]
}

func unknownHint(key string, allowed []string) string {
	best, bestDist := "", 3
	for _, a := range allowed {
		if dist := levenshtein(key, a); dist < bestDist {
			best, bestDist = a, dist
		}
	}
	if best != "" {
		return fmt.Sprintf("did you mean '%s'? allowed fields: %s", best, strings.Join(allowed, ", "))
	}
	return "remove it; allowed fields: " + strings.Join(allowed, ", ")
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// join is the path of key under path. Paths are for messages only: a decoder with
// noPaths leaves them empty.
func (d *decoder) join(path, key string) string {
	if d.noPaths {
		return ""
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names a node's type for messages, in YAML words.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!str":
			return fmt.Sprintf("the string %s", strconv.Quote(n.Value))
		case "!!int":
			return "the integer " + n.Value
		case "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		}
		return fmt.Sprintf("%s %s", n.ShortTag(), n.Value)
	}
	return "an unexpected node"
}

var (
	decimalRE = regexp.MustCompile(`^[-+]?(0|[1-9][0-9]*)$`)
	groupedRE = regexp.MustCompile(`^[1-9][0-9]{0,2}(_[0-9]{3})+$`)
)

// integer decodes a YAML 1.2 decimal integer. Quoted numbers, floats, booleans and YAML 1.1
// forms (010 octal, 1_000, 0x10) are rejected with a hint
// (docs/generator.md#quirk-strict-types, docs/generator.md#quirk-yaml-1-2).
func (d *decoder) integer(n *yaml.Node, path string) (int64, bool) {
	if n.Kind == yaml.ScalarNode {
		tag := n.ShortTag()
		switch {
		case tag == "!!int" && decimalRE.MatchString(n.Value):
			v, err := strconv.ParseInt(n.Value, 10, 64)
			if err != nil {
				d.errf(n, path, "use a smaller number", "integer %s is out of range", n.Value)
				return 0, false
			}
			return v, true
		case tag == "!!int" && d.groups && groupedRE.MatchString(n.Value):
			v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 10, 64)
			if err != nil {
				d.errf(n, path, "use a smaller number", "integer %s is out of range", n.Value)
				return 0, false
			}
			return v, true
		case tag == "!!int":
			d.errf(n, path, "write a plain decimal integer (no leading zeros, underscores, 0x/0o/0b prefixes)",
				"'%s' is not a plain decimal integer", n.Value)
			return 0, false
		case tag == "!!str" && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 && decimalRE.MatchString(strings.TrimSpace(n.Value)):
			d.errf(n, path, fmt.Sprintf("remove the quotes: write %s", strings.TrimSpace(n.Value)),
				"must be an integer, got the quoted string %s", strconv.Quote(n.Value))
			return 0, false
		case tag == "!!float":
			d.errf(n, path, "write a whole number without a decimal point", "must be an integer, got %s", describe(n))
			return 0, false
		}
	}
	d.errf(n, path, "write a whole number, e.g. 8", "must be an integer, got %s", describe(n))
	return 0, false
}

// positive decodes an integer that must be at least lo.
func (d *decoder) atLeast(n *yaml.Node, path string, lo int64, hint string) (int64, bool) {
	v, ok := d.integer(n, path)
	if ok && v < lo {
		d.errf(n, path, hint, "must be at least %d, got %d", lo, v)
		return v, false
	}
	return v, ok
}

// bounded decodes an integer within [lo, hi]; why says what the upper bound protects.
func (d *decoder) bounded(n *yaml.Node, path string, lo, hi int64, hint, why string) (int64, bool) {
	v, ok := d.atLeast(n, path, lo, hint)
	if ok && v > hi {
		d.errf(n, path, fmt.Sprintf("use at most %d: %s", hi, why), "must be at most %d, got %d", hi, v)
		return v, false
	}
	return v, ok
}

// Upper bounds of a config's values and why they hold: each is the agent's own limit, so
// a config the generator accepts never makes rows the agent refuses after the job started.
const (
	whyConc     = "the agent keeps at most that many requests in flight"
	whyLen      = "the agent's load generator sends no longer sequences"
	whyParallel = "no deployment has more GPUs or workers per side"
)

var yaml11Bools = map[string]bool{"yes": true, "no": true, "on": true, "off": true, "y": true, "n": true}

// boolean decodes true or false (YAML 1.2 core: also True/TRUE/False/FALSE).
func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	if n.Kind == yaml.ScalarNode {
		switch {
		case n.ShortTag() == "!!bool":
			return strings.EqualFold(n.Value, "true"), true
		case n.ShortTag() == "!!str" && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 && yaml11Bools[strings.ToLower(n.Value)]:
			d.errf(n, path, "write true or false (YAML 1.1 words such as yes/no/on/off are not booleans here)",
				"must be true or false, got '%s'", n.Value)
			return false, false
		case n.ShortTag() == "!!str" && (strings.EqualFold(n.Value, "true") || strings.EqualFold(n.Value, "false")):
			d.errf(n, path, "remove the quotes: write "+strings.ToLower(n.Value), "must be a boolean, got the quoted string %s", strconv.Quote(n.Value))
			return false, false
		}
	}
	d.errf(n, path, "write true or false", "must be true or false, got %s", describe(n))
	return false, false
}

// text decodes a non-empty string.
func (d *decoder) text(n *yaml.Node, path string) (string, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		if strings.TrimSpace(n.Value) == "" {
			d.errf(n, path, "give a value", "must not be empty")
			return "", false
		}
		return n.Value, true
	}
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		d.errf(n, path, fmt.Sprintf("quote it if you mean the text: \"%s\"", n.Value), "must be a string, got %s", describe(n))
		return "", false
	}
	d.errf(n, path, "give a text value", "must be a string, got %s", describe(n))
	return "", false
}

// list decodes a sequence, following aliases in its elements.
func (d *decoder) list(n *yaml.Node, path string) ([]*yaml.Node, bool) {
	if n.Kind != yaml.SequenceNode {
		d.errf(n, path, "write a list: either '[a, b]' or one '- item' per line", "must be a list, got %s", describe(n))
		return nil, false
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = resolve(c)
	}
	return out, true
}

func (d *decoder) index(path string, i int) string {
	if d.noPaths {
		return ""
	}
	return path + "[" + strconv.Itoa(i) + "]"
}
