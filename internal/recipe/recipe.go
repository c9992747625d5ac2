// Package recipe holds the typed engine recipes: how a framework serves a model on a GPU
// (command, arguments, environment, derived variables, config files, setup steps, health
// path, endpoint, client settings, readiness deadline) and the conditions under which parts
// of it change (overrides on seq-len, concurrency, parallelism, ...). A recipe may extend
// another (base:), so a setting shared by several engine scripts is written once. Values are
// templated with text/template over Values; a recipe renders to a Rendered launch whose
// fingerprint decides whether consecutive concurrency points can share one server.
package recipe

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/result"
)

// Recipe is one entry of configs/recipes.yaml.
type Recipe struct {
	Name string `yaml:"name"`
	// Base names the recipe this one extends: everything not set here is the base's, args
	// and env merge flag by flag and key by key, vars and structured files merge, overrides
	// add to the base's (see merge.go for the rules).
	Base string `yaml:"base"`
	// Match selects the rows the recipe serves; a recipe without match is only a base for
	// others and is never picked for a row.
	Match *Match `yaml:"match"`
	// Image overrides the row's image (rarely needed; the simulator image in tests).
	Image string `yaml:"image"`
	// Command is the program and its fixed leading arguments (the container entrypoint).
	Command []string `yaml:"command"`
	// Args are templated; an argument that renders empty is dropped, so
	// `{{if gt .EP 1}}--enable-expert-parallel{{end}}` adds a flag conditionally.
	Args []string `yaml:"args"`
	// Env is templated KEY: value.
	Env map[string]string `yaml:"env"`
	// Vars are named values derived from the row (templated, in order; each sees the ones
	// before it as .Var.<name>), read by every other template as .Var.<name>. A rendered
	// value is read as a YAML scalar, so "4" is a number and "true" a boolean. Overrides
	// may change them, which is how a script's if/elif branches become data.
	Vars Vars `yaml:"vars"`
	// Files are written into the work directory before launch (engine config YAML).
	Files []File `yaml:"files"`
	// Setup runs before the engine, in order, in the engine's environment: package installs
	// and source patches the reference's scripts made. A failing step fails the launch.
	Setup []Step `yaml:"setup"`
	// GPUs is how many GPUs the server needs (template), per node when Nodes > 1; default
	// "{{.TP}}", or "{{min .TotalGPUs .GPUsPerNode}}" for a multi-node recipe.
	GPUs string `yaml:"gpus"`
	// Multinode marks a recipe that brings up a whole disaggregated deployment (prefill
	// workers, decode workers and one frontend) in one launch; only multi-node rows use it,
	// and they use nothing else.
	Multinode bool `yaml:"multinode"`
	// Nodes is how many nodes the launch spans (template); default 1, or "{{.Nodes}}" (the
	// runner's computed node count) for a multi-node recipe.
	Nodes string `yaml:"nodes"`
	// Deployment gives a multi-node recipe's processes (frontend, prefill and decode
	// workers); the launch is then the agent's own launcher on every node, so Command
	// stays empty.
	Deployment *Deployment `yaml:"deployment"`
	// Health is the readiness path; default /health.
	Health string `yaml:"health"`
	// Endpoint is the completions path the load generator and the probe use.
	Endpoint string `yaml:"endpoint"`
	// ClientBackend is the load generator's request flavour: vllm (default) or openai.
	ClientBackend string `yaml:"client-backend"`
	// ChatTemplate makes the client apply the model's chat template to its prompts, as the
	// reference's client did for the MTP scripts (--use-chat-template).
	ChatTemplate *bool `yaml:"chat-template"`
	// PromptForm is how the client sends prompts: token-ids (default: random token ids,
	// exact input lengths) or text (for servers that accept only text; the true input length
	// is then taken from the server's usage counts).
	PromptForm string `yaml:"prompt-form"`
	// ReadyTimeout bounds startup (weights load, graph capture); default 60m.
	ReadyTimeout Duration `yaml:"ready-timeout"`
	// FatalLog lists regular expressions; a matching server log line fails the launch at once.
	FatalLog []string `yaml:"fatal-log"`
	// Overrides apply in order when their condition holds; a later one wins over an
	// earlier one, so `if A ... elif B ...` is two overrides, B's written after A's.
	Overrides []Override `yaml:"overrides"`

	// Pos is where the recipe starts in its file, for messages.
	Pos Pos `yaml:"-"`
	// BaseOnly is set for a recipe without match.
	BaseOnly bool `yaml:"-"`
}

// Match selects the rows a recipe serves. Empty lists match anything, except
// spec-decoding, which defaults to [none].
type Match struct {
	Framework    string     `yaml:"framework"`
	ModelPrefix  StringList `yaml:"model-prefix"`
	Precision    StringList `yaml:"precision"`
	GPU          StringList `yaml:"gpu"`
	SpecDecoding StringList `yaml:"spec-decoding"`
}

// File is a file written next to the server: Content is templated text; YAML is structured
// content whose quoted templated scalars are rendered and read back as YAML (so
// '{{.Conc}}' becomes a number, '[{{...}}]' a list, and one rendering empty drops its key).
// A scalar tagged !!str stays a string. Exactly one of the two is set.
type File struct {
	Path    string `yaml:"path"`
	Content string `yaml:"content"`
	YAML    *Tree  `yaml:"yaml"`
}

// Tree is YAML content kept as written (its node tree), for structured files.
type Tree struct{ Node *yaml.Node }

// UnmarshalYAML implements yaml.Unmarshaler.
func (t *Tree) UnmarshalYAML(n *yaml.Node) error {
	t.Node = n
	return nil
}

// Step is one setup step; exactly one field is set.
type Step struct {
	// Run is a command line (templated), e.g. [pip, install, datasets].
	Run []string `yaml:"run,omitempty" json:"run,omitempty"`
	// DeleteLine removes one line of a file in the image (a source patch).
	DeleteLine *DeleteLine `yaml:"delete-line,omitempty" json:"delete_line,omitempty"`
	// CopyEnv sets a variable from another one of the engine's environment when that one
	// is set where the engine runs (device lists the scheduler hands out, known only there).
	CopyEnv *CopyEnv `yaml:"copy-env,omitempty" json:"copy_env,omitempty"`
}

// CopyEnv exports To with the value of From when From is set and not empty.
type CopyEnv struct {
	From string `yaml:"from" json:"from"`
	To   string `yaml:"to" json:"to"`
}

// DeleteLine is a source patch that deletes line Line (1-based) of File.
type DeleteLine struct {
	File string `yaml:"file" json:"file"`
	Line int    `yaml:"line" json:"line"`
}

// String describes the step in one line for logs.
func (s Step) String() string {
	switch {
	case s.DeleteLine != nil:
		return fmt.Sprintf("delete line %d of %s", s.DeleteLine.Line, s.DeleteLine.File)
	case s.CopyEnv != nil:
		return fmt.Sprintf("%s=$%s when %s is set", s.CopyEnv.To, s.CopyEnv.From, s.CopyEnv.From)
	default:
		return strings.Join(s.Run, " ")
	}
}

// Override changes arguments, environment, variables or files when When holds. Argument
// rules: `--flag=value` or `--flag` replaces the recipe's argument of the same flag,
// `!--flag` removes it, anything else is appended. Env keys replace; vars replace the
// template of a var the recipe declares; a file of the same path merges (structured) or
// replaces (text).
type Override struct {
	When  When              `yaml:"when"`
	Args  []string          `yaml:"args"`
	Env   map[string]string `yaml:"env"`
	Vars  Vars              `yaml:"vars"`
	Files []File            `yaml:"files"`
}

// When is a conjunction of conditions on the row; zero fields are ignored.
type When struct {
	SeqLen       StringList `yaml:"seq-len"` // 1k1k, 1k8k, 8k1k or <isl>_<osl>
	ISL          []int      `yaml:"isl"`
	OSL          []int      `yaml:"osl"`
	TP           []int      `yaml:"tp"`
	EP           []int      `yaml:"ep"`
	EPMin        int        `yaml:"ep-min"`
	DPAttn       *bool      `yaml:"dp-attn"`
	Conc         []int      `yaml:"conc"`
	ConcMin      int        `yaml:"conc-min"`
	ConcMax      int        `yaml:"conc-max"`
	GPU          StringList `yaml:"gpu"`
	Precision    StringList `yaml:"precision"`
	ModelPrefix  StringList `yaml:"model-prefix"`
	SpecDecoding StringList `yaml:"spec-decoding"`
}

// Vars is an ordered list of named templates, written as a YAML mapping.
type Vars []Var

// Var is one named template.
type Var struct {
	Name, Value string
	Line, Col   int
}

// UnmarshalYAML implements yaml.Unmarshaler, keeping the mapping's order.
func (vs *Vars) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: vars must be a mapping of name: value", n.Line)
	}
	out := Vars{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: var %q must be a scalar (a value or a template)", v.Line, k.Value)
		}
		out = append(out, Var{Name: k.Value, Value: v.Value, Line: k.Line, Col: k.Column})
	}
	*vs = out
	return nil
}

// index returns the position of the var called name, or -1.
func (vs Vars) index(name string) int {
	return slices.IndexFunc(vs, func(v Var) bool { return v.Name == name })
}

// Pos is a file position.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// StringList accepts a scalar or a sequence of strings.
type StringList []string

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = StringList{n.Value}
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*s = l
	return nil
}

func (s StringList) has(v string) bool {
	if len(s) == 0 {
		return true
	}
	for _, x := range s {
		if x == v || x == "*" {
			return true
		}
	}
	return false
}

// Duration is a time.Duration written as "30m".
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration like 30m or 90s", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

func (w When) holds(v Values) bool {
	intIn := func(l []int, x int) bool { return len(l) == 0 || slices.Contains(l, x) }
	switch {
	case len(w.SeqLen) > 0 && !w.SeqLen.has(result.SeqLenName(v.ISL, v.OSL)),
		!intIn(w.ISL, v.ISL), !intIn(w.OSL, v.OSL), !intIn(w.TP, v.TP), !intIn(w.EP, v.EP), !intIn(w.Conc, v.Conc),
		w.EPMin > 0 && v.EP < w.EPMin,
		w.DPAttn != nil && *w.DPAttn != v.DPAttn,
		w.ConcMin > 0 && v.Conc < w.ConcMin,
		w.ConcMax > 0 && v.Conc > w.ConcMax,
		!w.GPU.has(v.GPU), !w.Precision.has(v.Precision), !w.ModelPrefix.has(v.ModelPrefix), !w.SpecDecoding.has(v.SpecDecoding):
		return false
	}
	return true
}

// matches reports whether r serves the key, and how specific the match is.
func (m Match) matches(k Key) (bool, int) {
	spec := m.SpecDecoding
	if len(spec) == 0 {
		spec = StringList{"none"}
	}
	if m.Framework != k.Framework || !m.ModelPrefix.has(k.ModelPrefix) || !m.Precision.has(k.Precision) ||
		!m.GPU.has(k.GPU) || !spec.has(k.SpecDecoding) {
		return false, 0
	}
	score := 0
	for _, l := range []StringList{m.ModelPrefix, m.Precision, m.GPU, m.SpecDecoding} {
		if len(l) > 0 && !l.has("*") {
			score++
		}
	}
	return true, score
}

// Key is what a recipe is looked up by.
type Key struct {
	Framework, ModelPrefix, Precision, GPU, SpecDecoding string
	// Multinode selects the recipes that launch a whole disaggregated deployment.
	Multinode bool
}

func (k Key) String() string {
	s := fmt.Sprintf("framework=%s model-prefix=%s precision=%s gpu=%s spec-decoding=%s",
		k.Framework, k.ModelPrefix, k.Precision, k.GPU, k.SpecDecoding)
	if k.Multinode {
		s += " multinode"
	}
	return s
}
