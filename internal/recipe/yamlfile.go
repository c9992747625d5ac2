package recipe

import (
	"bytes"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// renderYAML renders a structured file: every templated scalar is rendered and read back
// as YAML (so '{{.Conc}}' gives a number and '[{{...}}]' a flow list), a scalar tagged
// !!str stays a string, and a templated value that renders empty drops its key or item,
// which is how a key present only under some condition is written.
func renderYAML(n *yaml.Node, v Values) (string, error) {
	out, err := renderNode(content(n), v)
	if err != nil {
		return "", err
	}
	if out == nil {
		out = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	layout(out)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(out); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return b.String(), nil
}

// renderNode returns a rendered copy of n, or nil when a templated scalar rendered empty.
func renderNode(n *yaml.Node, v Values) (*yaml.Node, error) {
	switch n.Kind {
	case yaml.AliasNode:
		return renderNode(n.Alias, v)
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "{{") {
			c := *n
			return &c, nil
		}
		s, err := render(n.Value, v)
		if err != nil {
			return nil, err
		}
		if n.Style&yaml.TaggedStyle != 0 && n.Tag == "!!str" {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}, nil
		}
		if s = strings.TrimSpace(s); s == "" {
			return nil, nil
		}
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(s), &doc); err != nil {
			return nil, fmt.Errorf("%q renders to %q, which is not YAML: %w", n.Value, s, err)
		}
		r := content(&doc)
		clearPos(r)
		return r, nil
	case yaml.MappingNode, yaml.SequenceNode:
		c := &yaml.Node{Kind: n.Kind, Tag: n.Tag, Style: n.Style}
		step := 1
		if n.Kind == yaml.MappingNode {
			step = 2
		}
		for i := 0; i+step-1 < len(n.Content); i += step {
			val, err := renderNode(n.Content[i+step-1], v)
			if err != nil {
				return nil, err
			}
			if val == nil {
				continue
			}
			if step == 2 {
				k := *n.Content[i]
				c.Content = append(c.Content, &k)
			}
			c.Content = append(c.Content, val)
		}
		return c, nil
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// layout writes mappings in block style and lists of scalars in flow style, whatever
// style the recipe used, so every config file reads the same way.
func layout(n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		n.Style &^= yaml.FlowStyle
	case yaml.SequenceNode:
		n.Style |= yaml.FlowStyle
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				n.Style &^= yaml.FlowStyle
			}
		}
	}
	for _, c := range n.Content {
		layout(c)
	}
}

func clearPos(n *yaml.Node) {
	n.Line, n.Column = 0, 0
	for _, c := range n.Content {
		clearPos(c)
	}
}

// scalar reads a rendered var as a YAML scalar: a number, a boolean or a string. Empty
// and anything that is not a scalar stay strings.
func scalar(s string) any {
	if s == "" {
		return ""
	}
	var x any
	if err := yaml.Unmarshal([]byte(s), &x); err != nil {
		return s
	}
	switch x.(type) {
	case int, float64, bool, string:
		return x
	}
	return s
}
