package recipe

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/inferbench/inferbench/internal/result"
)

// Prompt forms a recipe can ask the client for.
const (
	PromptTokenIDs = "token-ids"
	PromptText     = "text"
)

// Values are what templates see.
type Values struct {
	Model        string
	ModelPrefix  string
	Precision    string
	Framework    string
	GPU          string
	SpecDecoding string
	TP, EP       int
	DPAttn       bool
	MaxModelLen  int
	ISL, OSL     int
	Conc         int
	Port         int
	// Agent is the agent binary as the server sees it: the host path for local launches,
	// /agent inside the simulator image.
	Agent string
	// HFCache is the Hugging Face cache directory as the server sees it.
	HFCache string
	// Workdir is the server's working directory (where Files are written).
	Workdir string

	// Multi-node rows only (Multinode true): the worker layout of each side, the whole
	// concurrency list ("2x4", the reference's CONC_LIST joined by x), the additional
	// settings (read with .Setting "CONFIG_FILE"), the node count the runner computed and
	// the GPUs per node of the runner family.
	Multinode       bool
	Prefill, Decode Side
	ConcList        string
	Settings        map[string]string
	Nodes           int
	GPUsPerNode     int
	TotalGPUs       int

	// Deployment processes only (a recipe's deployment block): the process being rendered
	// and the host of the deployment's first node, where the frontend runs.
	Worker   Worker
	HeadNode string
}

// Side is one side of a disaggregated deployment as templates see it.
type Side struct {
	NumWorkers, TP, EP int
	DPAttn             bool
	// GPUs is the side's GPU count; Nodes how many nodes it occupies.
	GPUs, Nodes int
	// Heads are the hosts of the side's workers' first nodes, one per worker (deployment
	// processes only: a router lists every worker).
	Heads []string
}

// Setting returns an additional setting of the row, or "" when it is not set.
func (v Values) Setting(key string) string { return v.Settings[key] }

// SampleValues are plausible values for trial renders during validation.
func SampleValues() Values {
	return Values{Model: "org/model", ModelPrefix: "dsr1", Precision: "fp8", Framework: "sglang", GPU: "b200",
		SpecDecoding: "none", TP: 8, EP: 1, MaxModelLen: 2248, ISL: 1024, OSL: 1024, Conc: 64, Port: 8888,
		Agent: "/agent", HFCache: "/mnt/hf_hub_cache/", Workdir: "/workspace",
		Multinode: true, Prefill: Side{NumWorkers: 2, TP: 4, EP: 4, DPAttn: true, GPUs: 8, Nodes: 2},
		Decode: Side{NumWorkers: 1, TP: 8, EP: 8, GPUs: 8, Nodes: 2}, ConcList: "64x128",
		Settings: map[string]string{"CONFIG_FILE": "recipes/x.yaml"}, Nodes: 4, GPUsPerNode: 4, TotalGPUs: 16}
}

var funcs = template.FuncMap{
	"add": func(a, b int) int { return a + b },
	"sub": func(a, b int) int { return a - b },
	"mul": func(a, b int) int { return a * b },
	"div": func(a, b int) (int, error) {
		if b == 0 {
			return 0, fmt.Errorf("div by zero")
		}
		return a / b, nil
	},
	"max": func(a, b int) int { return max(a, b) },
	"min": func(a, b int) int { return min(a, b) },
	// roundUp rounds a up to a multiple of m (TRT's max_num_tokens arithmetic).
	"roundUp": func(a, m int) (int, error) {
		if m <= 0 {
			return 0, fmt.Errorf("roundUp by %d", m)
		}
		return (a + m - 1) / m * m, nil
	},
	"seqLen": result.SeqLenName,
}

// Rendered is a recipe with every template filled in: what the backend launches.
type Rendered struct {
	Recipe        string            `json:"recipe"`
	Image         string            `json:"image,omitempty"`
	Argv          []string          `json:"argv"`
	Env           []string          `json:"env,omitempty"`
	Files         map[string]string `json:"files,omitempty"`
	GPUs          int               `json:"gpus"`
	Nodes         int               `json:"nodes"`
	Port          int               `json:"port"`
	Health        string            `json:"health"`
	Endpoint      string            `json:"endpoint"`
	ClientBackend string            `json:"client_backend"`
	ChatTemplate  bool              `json:"chat_template,omitempty"`
	PromptForm    string            `json:"prompt_form"`
	ReadyTimeout  time.Duration     `json:"ready_timeout_ns"`
	FatalLog      []string          `json:"fatal_log,omitempty"`
}

// Fingerprint identifies the server launch: two points with the same fingerprint can share
// one running server.
func (r Rendered) Fingerprint() string {
	b, _ := json.Marshal(struct {
		Image string
		Argv  []string
		Env   []string
		Files map[string]string
		GPUs  int
		Nodes int
		Port  int
	}{r.Image, r.Argv, r.Env, r.Files, r.GPUs, r.Nodes, r.Port})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// Diff explains in one line why two launches differ (for the reuse/restart log line).
func (r Rendered) Diff(o Rendered) string {
	var d []string
	if r.Image != o.Image {
		d = append(d, fmt.Sprintf("image %s -> %s", r.Image, o.Image))
	}
	if a, b := strings.Join(r.Argv, " "), strings.Join(o.Argv, " "); a != b {
		d = append(d, "args "+wordDiff(r.Argv, o.Argv))
	}
	if a, b := strings.Join(r.Env, " "), strings.Join(o.Env, " "); a != b {
		d = append(d, "env "+wordDiff(r.Env, o.Env))
	}
	if fmt.Sprint(r.Files) != fmt.Sprint(o.Files) {
		d = append(d, "config files differ")
	}
	if r.GPUs != o.GPUs {
		d = append(d, fmt.Sprintf("gpus %d -> %d", r.GPUs, o.GPUs))
	}
	if r.Port != o.Port {
		d = append(d, fmt.Sprintf("port %d -> %d", r.Port, o.Port))
	}
	if len(d) == 0 {
		return "identical"
	}
	return strings.Join(d, "; ")
}

// wordDiff lists the words only in a and only in b.
func wordDiff(a, b []string) string {
	in := func(l []string, s string) bool {
		for _, x := range l {
			if x == s {
				return true
			}
		}
		return false
	}
	var out []string
	for _, s := range a {
		if !in(b, s) {
			out = append(out, "-"+s)
		}
	}
	for _, s := range b {
		if !in(a, s) {
			out = append(out, "+"+s)
		}
	}
	return strings.Join(out, " ")
}

// Render fills in r for v.
func (r *Recipe) Render(v Values, rowImage string) (Rendered, error) {
	out := Rendered{Recipe: r.Name, Port: v.Port, Health: or(r.Health, "/health"), Endpoint: or(r.Endpoint, "/v1/completions"),
		ClientBackend: or(r.ClientBackend, "vllm"), ChatTemplate: r.ChatTemplate, PromptForm: or(r.PromptForm, PromptTokenIDs), FatalLog: r.FatalLog,
		ReadyTimeout: time.Duration(r.ReadyTimeout)}
	if out.ReadyTimeout == 0 {
		out.ReadyTimeout = 60 * time.Minute
	}
	var err error
	fail := func(e error) (Rendered, error) { return Rendered{}, fmt.Errorf("recipe %q (%s): %w", r.Name, r.Pos, e) }
	out.Image = rowImage
	if r.Image != "" {
		if out.Image, err = render(r.Image, v); err != nil {
			return fail(err)
		}
	}
	args := append([]string{}, r.Args...)
	env := map[string]string{}
	for k, t := range r.Env {
		env[k] = t
	}
	for _, o := range r.Overrides {
		if !o.When.holds(v) {
			continue
		}
		args = applyArgs(args, o.Args)
		for k, t := range o.Env {
			env[k] = t
		}
	}
	for _, t := range append(append([]string{}, r.Command...), args...) {
		s, err := render(t, v)
		if err != nil {
			return fail(err)
		}
		if s = strings.TrimSpace(s); s != "" {
			out.Argv = append(out.Argv, s)
		}
	}
	for _, k := range sortedKeys(env) {
		s, err := render(env[k], v)
		if err != nil {
			return fail(err)
		}
		out.Env = append(out.Env, k+"="+s)
	}
	if len(r.Files) > 0 {
		out.Files = map[string]string{}
		for _, f := range r.Files {
			if out.Files[f.Path], err = render(f.Content, v); err != nil {
				return fail(err)
			}
		}
	}
	gpus, nodes := or(r.GPUs, "{{.TP}}"), or(r.Nodes, "1")
	if r.Multinode {
		gpus, nodes = or(r.GPUs, "{{min .TotalGPUs .GPUsPerNode}}"), or(r.Nodes, "{{.Nodes}}")
	}
	if out.GPUs, err = renderCount("gpus", gpus, v, 0); err != nil {
		return fail(err)
	}
	if out.Nodes, err = renderCount("nodes", nodes, v, 1); err != nil {
		return fail(err)
	}
	if r.Deployment != nil {
		if err := r.Deployment.renderDeployment(&out, v); err != nil {
			return fail(err)
		}
	}
	return out, nil
}

// renderCount renders a template that must give an integer of at least lo.
func renderCount(field, text string, v Values, lo int) (int, error) {
	s, err := render(text, v)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < lo {
		return 0, fmt.Errorf("%s renders to %q, want a count of at least %d", field, s, lo)
	}
	return n, nil
}

// applyArgs lets an override replace a --flag=value already present, or append.
func applyArgs(args, over []string) []string {
	for _, o := range over {
		name, isKV := splitFlag(o)
		replaced := false
		if isKV {
			for i, a := range args {
				if n, ok := splitFlag(a); ok && n == name {
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

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Lookup finds the recipe for k: the most specific match wins; two equally specific
// matches are an error, as is none.
func (s *Set) Lookup(k Key) (*Recipe, error) {
	best, bestScore, tie := -1, -1, []string(nil)
	for i := range s.Recipes {
		ok, score := s.Recipes[i].Match.matches(k)
		switch {
		case s.Recipes[i].Multinode != k.Multinode:
		case !ok:
		case score > bestScore:
			best, bestScore, tie = i, score, []string{s.Recipes[i].Name}
		case score == bestScore:
			tie = append(tie, s.Recipes[i].Name)
		}
	}
	if best < 0 {
		what := "recipe"
		if k.Multinode {
			what = "multi-node recipe (multinode: true)"
		}
		return nil, fmt.Errorf("no engine %s for %s: add one to configs/recipes.yaml", what, k)
	}
	if len(tie) > 1 {
		return nil, fmt.Errorf("several recipes match %s equally well (%s): make their match blocks more specific", k, strings.Join(tie, ", "))
	}
	return &s.Recipes[best], nil
}

// ByName returns the recipe called name, for runs that pick an engine explicitly (a row
// replayed on the simulator) instead of by its configuration.
func (s *Set) ByName(name string) (*Recipe, error) {
	names := make([]string, 0, len(s.Recipes))
	for i := range s.Recipes {
		if s.Recipes[i].Name == name {
			return &s.Recipes[i], nil
		}
		names = append(names, s.Recipes[i].Name)
	}
	return nil, fmt.Errorf("no engine recipe named %q (have: %s)", name, strings.Join(names, ", "))
}
