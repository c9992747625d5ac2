// Package recipe holds the typed engine recipes: how a framework serves a model on a GPU
// (command, arguments, environment, config files, health path, endpoint, readiness
// deadline, per-seq-len and per-concurrency overrides). Values are templated with
// text/template over Values; a recipe renders to a Rendered launch whose fingerprint decides
// whether consecutive concurrency points can share one server.
package recipe

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/result"
)

// Recipe is one entry of configs/recipes.yaml.
type Recipe struct {
	Name  string `yaml:"name"`
	Match Match  `yaml:"match"`
	// Image overrides the row's image (rarely needed; the simulator image in tests).
	Image string `yaml:"image"`
	// Command is the program and its fixed leading arguments (the container entrypoint).
	Command []string `yaml:"command"`
	// Args are templated; an argument that renders empty is dropped, so
	// `{{if gt .EP 1}}--enable-expert-parallel{{end}}` adds a flag conditionally.
	Args []string `yaml:"args"`
	// Env is templated KEY: value.
	Env map[string]string `yaml:"env"`
	// Files are written into the work directory before launch (engine config YAML).
	Files []File `yaml:"files"`
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
	// ChatTemplate makes the client apply the chat template (the MTP scripts did).
	ChatTemplate bool `yaml:"chat-template"`
	// PromptForm is how the client sends prompts: token-ids (default: random token ids,
	// exact input lengths) or text (for servers that accept only text; the true input length
	// is then taken from the server's usage counts).
	PromptForm string `yaml:"prompt-form"`
	// ReadyTimeout bounds startup (weights load, graph capture); default 60m.
	ReadyTimeout Duration `yaml:"ready-timeout"`
	// FatalLog lists regular expressions; a matching server log line fails the launch at once.
	FatalLog []string `yaml:"fatal-log"`
	// Overrides apply in order when their condition holds.
	Overrides []Override `yaml:"overrides"`

	// Pos is where the recipe starts in its file, for messages.
	Pos Pos `yaml:"-"`
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

// File is a templated file written next to the server.
type File struct {
	Path    string `yaml:"path"`
	Content string `yaml:"content"`
}

// Override changes arguments or environment when When holds. An argument of the form
// --flag=value replaces an existing --flag=... argument; anything else is appended.
type Override struct {
	When When              `yaml:"when"`
	Args []string          `yaml:"args"`
	Env  map[string]string `yaml:"env"`
}

// When is a conjunction of conditions; zero fields are ignored.
type When struct {
	SeqLen  StringList `yaml:"seq-len"` // 1k1k, 1k8k, 8k1k or <isl>_<osl>
	TP      []int      `yaml:"tp"`
	EP      []int      `yaml:"ep"`
	DPAttn  *bool      `yaml:"dp-attn"`
	ConcMin int        `yaml:"conc-min"`
	ConcMax int        `yaml:"conc-max"`
	GPU     StringList `yaml:"gpu"`
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
	if len(w.SeqLen) > 0 && !w.SeqLen.has(result.SeqLenName(v.ISL, v.OSL)) {
		return false
	}
	if len(w.TP) > 0 && !containsInt(w.TP, v.TP) {
		return false
	}
	if len(w.EP) > 0 && !containsInt(w.EP, v.EP) {
		return false
	}
	if w.DPAttn != nil && *w.DPAttn != v.DPAttn {
		return false
	}
	if w.ConcMin > 0 && v.Conc < w.ConcMin {
		return false
	}
	if w.ConcMax > 0 && v.Conc > w.ConcMax {
		return false
	}
	return len(w.GPU) == 0 || w.GPU.has(v.GPU)
}

func containsInt(l []int, x int) bool {
	for _, v := range l {
		if v == x {
			return true
		}
	}
	return false
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

func splitFlag(a string) (string, bool) {
	if !strings.HasPrefix(a, "-") {
		return "", false
	}
	name, _, ok := strings.Cut(a, "=")
	return name, ok
}
