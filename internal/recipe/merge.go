package recipe

import (
	"fmt"
	"maps"
	"strings"

	"gopkg.in/yaml.v3"
)

// resolveBases flattens every recipe's base chain into the recipe itself, so rendering
// never looks at bases again. Unknown bases and cycles are reported with positions.
func (s *Set) resolveBases() []error {
	byName := map[string]int{}
	for i, r := range s.Recipes {
		if _, dup := byName[r.Name]; !dup {
			byName[r.Name] = i
		}
	}
	const (
		todo = iota
		active
		done
	)
	state := make([]int, len(s.Recipes))
	var errs []error
	var visit func(i int) bool
	visit = func(i int) bool {
		switch state[i] {
		case done:
			return true
		case active:
			errs = append(errs, fmt.Errorf("%s: recipe %q: base chain loops back to itself; a recipe cannot extend itself through its bases", s.Recipes[i].Pos, s.Recipes[i].Name))
			return false
		}
		r := &s.Recipes[i]
		if r.Base == "" {
			state[i] = done
			return true
		}
		state[i] = active
		bi, ok := byName[r.Base]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: recipe %q: base %q is not a recipe in this file set; name an existing recipe", r.Pos, r.Name, r.Base))
			state[i] = done
			return false
		}
		if !visit(bi) {
			state[i] = done
			return false
		}
		*r = extend(s.Recipes[bi], *r)
		state[i] = done
		return true
	}
	for i := range s.Recipes {
		visit(i)
	}
	return errs
}

// extend returns child on top of base. The child keeps its own name, match and position;
// fields it leaves empty are the base's; args apply to the base's like an override's;
// env keys, vars and structured files merge; overrides are the base's followed by the
// child's.
func extend(base, child Recipe) Recipe {
	out := child
	pick := func(c, b string) string {
		if c != "" {
			return c
		}
		return b
	}
	out.Image, out.GPUs, out.Nodes = pick(child.Image, base.Image), pick(child.GPUs, base.GPUs), pick(child.Nodes, base.Nodes)
	out.Health, out.Endpoint = pick(child.Health, base.Health), pick(child.Endpoint, base.Endpoint)
	out.ClientBackend, out.PromptForm = pick(child.ClientBackend, base.ClientBackend), pick(child.PromptForm, base.PromptForm)
	out.Multinode = child.Multinode || base.Multinode
	if child.Command == nil {
		out.Command = base.Command
	}
	if child.ChatTemplate == nil {
		out.ChatTemplate = base.ChatTemplate
	}
	if child.ReadyTimeout == 0 {
		out.ReadyTimeout = base.ReadyTimeout
	}
	if child.FatalLog == nil {
		out.FatalLog = base.FatalLog
	}
	if child.Setup == nil {
		out.Setup = base.Setup
	}
	out.Args = applyArgs(append([]string(nil), base.Args...), child.Args)
	out.Env = mergeEnv(base.Env, child.Env)
	out.Vars = mergeVars(base.Vars, child.Vars)
	out.Files = mergeFiles(base.Files, child.Files)
	out.Overrides = append(append([]Override(nil), base.Overrides...), child.Overrides...)
	return out
}

func mergeEnv(base, over map[string]string) map[string]string {
	if base == nil && over == nil {
		return nil
	}
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, over)
	return out
}

// mergeVars replaces the template of a var already declared and appends new ones.
func mergeVars(base, over Vars) Vars {
	out := append(Vars(nil), base...)
	for _, v := range over {
		if i := out.index(v.Name); i >= 0 {
			out[i].Value = v.Value
		} else {
			out = append(out, v)
		}
	}
	return out
}

// mergeFiles merges over into base by path: structured content merges key by key, text
// content replaces.
func mergeFiles(base, over []File) []File {
	out := append([]File(nil), base...)
	for _, f := range over {
		i := -1
		for j := range out {
			if out[j].Path == f.Path {
				i = j
			}
		}
		switch {
		case i < 0:
			out = append(out, f)
		case f.YAML != nil && out[i].YAML != nil:
			out[i] = File{Path: f.Path, YAML: &Tree{mergeNodes(out[i].YAML.Node, f.YAML.Node)}}
		default:
			out[i] = f
		}
	}
	return out
}

// mergeNodes deep-merges mapping over into mapping base without changing either: keys of
// over replace or extend base's, nested mappings merge, and a null value removes the key.
func mergeNodes(base, over *yaml.Node) *yaml.Node {
	base, over = content(base), content(over)
	if base.Kind != yaml.MappingNode || over.Kind != yaml.MappingNode {
		return over
	}
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: base.Tag, Style: base.Style, Line: base.Line, Column: base.Column}
	out.Content = append(out.Content, base.Content...)
	for i := 0; i+1 < len(over.Content); i += 2 {
		k, v := over.Content[i], over.Content[i+1]
		at := -1
		for j := 0; j+1 < len(out.Content); j += 2 {
			if out.Content[j].Value == k.Value {
				at = j
			}
		}
		switch {
		case isNull(v) && at >= 0:
			out.Content = append(out.Content[:at:at], out.Content[at+2:]...)
		case isNull(v):
		case at >= 0:
			out.Content[at+1] = mergeNodes(out.Content[at+1], v)
		default:
			out.Content = append(out.Content, k, v)
		}
	}
	return out
}

func content(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return n.Content[0]
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// flagName is the flag an argument sets ("--port" for "--port=8888" and for "--port"),
// or "" for positional and templated arguments.
func flagName(a string) string {
	if !strings.HasPrefix(a, "-") {
		return ""
	}
	name, _, _ := strings.Cut(a, "=")
	return name
}

// applyArgs applies over to args: "!--flag" removes --flag, "--flag=value" and "--flag"
// replace the argument of the same flag where there is one, anything else is appended.
func applyArgs(args, over []string) []string {
	for _, o := range over {
		if rm, ok := strings.CutPrefix(o, "!"); ok {
			kept := args[:0:0]
			for _, a := range args {
				if flagName(a) != rm {
					kept = append(kept, a)
				}
			}
			args = kept
			continue
		}
		name, replaced := flagName(o), false
		if name != "" {
			for i, a := range args {
				if flagName(a) == name {
					args[i], replaced = o, true
				}
			}
		}
		if !replaced {
			args = append(args, o)
		}
	}
	return args
}
