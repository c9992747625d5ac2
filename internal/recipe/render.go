package recipe

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	// Var holds the recipe's vars once evaluated (.Var.<name>).
	Var map[string]any

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

	// 2026-08 rows: pipeline, decode-context and prefill-context parallel sizes (1 when
	// the row has none), the router to put in front of the engine (nil: none; name and
	// version) and, for multi-node rows, the KV transfer engine between prefill and decode
	// ("" when the row names none).
	PP, DCPSize, PCPSize int
	Router               *result.Component
	KVP2PTransfer        string
}

// Side is one side of a disaggregated deployment as templates see it.
type Side struct {
	NumWorkers, TP, EP int
	DPAttn             bool
	// PP, DCPSize and PCPSize are the side's parallel sizes (2026-08; 1 otherwise).
	PP, DCPSize, PCPSize int
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
		PP: 1, DCPSize: 1, PCPSize: 1, Router: &result.Component{Name: "router", Version: "1.0"}, KVP2PTransfer: "nixl",
		Multinode: true, Prefill: Side{NumWorkers: 2, TP: 4, EP: 4, DPAttn: true, GPUs: 8, Nodes: 2, PP: 1, DCPSize: 1, PCPSize: 1},
		Decode: Side{NumWorkers: 1, TP: 8, EP: 8, GPUs: 8, Nodes: 2, PP: 1, DCPSize: 1, PCPSize: 1}, ConcList: "64x128",
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
	"mod": func(a, b int) (int, error) {
		if b == 0 {
			return 0, fmt.Errorf("mod by zero")
		}
		return a % b, nil
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
	// seq lists from, from+step, ... up to and including to (empty when from > to), like
	// the shell's seq.
	"seq": func(from, step, to int) ([]int, error) {
		if step <= 0 {
			return nil, fmt.Errorf("seq step %d must be positive", step)
		}
		if (to-from)/step > 1<<16 {
			return nil, fmt.Errorf("seq %d %d %d is too long", from, step, to)
		}
		var out []int
		for i := from; i <= to; i += step {
			out = append(out, i)
		}
		return out, nil
	},
	"list":   func(xs ...int) []int { return xs },
	"concat": func(a, b []int) []int { return append(append([]int(nil), a...), b...) },
	// join writes a list of numbers with a separator: join (list 1 2) ", " is "1, 2".
	"join": func(xs []int, sep string) string {
		s := make([]string, len(xs))
		for i, x := range xs {
			s[i] = strconv.Itoa(x)
		}
		return strings.Join(s, sep)
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
	Setup         []Step            `json:"setup,omitempty"`
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

// identity is what makes a rendered launch the server it is: Fingerprint hashes it and
// Diff explains it field by field, so the two cannot disagree about what counts.
type identity struct {
	Image string
	Argv  []string
	Env   []string
	Files map[string]string
	Setup []Step
	GPUs  int
	Nodes int
	Port  int
}

func (r Rendered) identity() identity {
	return identity{r.Image, r.Argv, r.Env, r.Files, r.Setup, r.GPUs, r.Nodes, r.Port}
}

// Fingerprint identifies the server launch: two points with the same fingerprint can share
// one running server.
func (r Rendered) Fingerprint() string {
	b, _ := json.Marshal(r.identity())
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// LaunchArgv is the command the backend runs: the engine's argv, behind a small POSIX shell
// prologue that runs the setup steps first (stopping at the first that fails) when there
// are any. The prologue is generated from the typed steps, never written by hand.
func (r Rendered) LaunchArgv() []string {
	if len(r.Setup) == 0 {
		return r.Argv
	}
	var b strings.Builder
	b.WriteString("set -e\n")
	for i, st := range r.Setup {
		fmt.Fprintf(&b, "echo %s >&2\n", shellQuote(fmt.Sprintf("inferbench setup %d/%d: %s", i+1, len(r.Setup), st)))
		switch {
		case st.DeleteLine != nil:
			fmt.Fprintf(&b, "sed -i %s %s\n", shellQuote(strconv.Itoa(st.DeleteLine.Line)+"d"), shellQuote(st.DeleteLine.File))
		case st.CopyEnv != nil:
			// The names are validated variable names, so they need no quoting.
			fmt.Fprintf(&b, "if [ -n \"${%s:-}\" ]; then export %s=\"$%s\"; fi\n", st.CopyEnv.From, st.CopyEnv.To, st.CopyEnv.From)
		default:
			q := make([]string, len(st.Run))
			for j, a := range st.Run {
				q[j] = shellQuote(a)
			}
			b.WriteString(strings.Join(q, " ") + "\n")
		}
	}
	b.WriteString(`exec "$@"` + "\n")
	return append([]string{"/bin/sh", "-c", b.String(), "inferbench-setup"}, r.Argv...)
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Diff says how o's launch differs from r's in every part the fingerprint covers, for the
// log line of a restart; "identical" only when the fingerprints are equal.
func (r Rendered) Diff(o Rendered) string {
	a, b := r.identity(), o.identity()
	var d []string
	if a.Image != b.Image {
		d = append(d, fmt.Sprintf("image %s -> %s", a.Image, b.Image))
	}
	if !slices.Equal(a.Argv, b.Argv) {
		d = append(d, "args "+listDiff(a.Argv, b.Argv))
	}
	if !slices.Equal(a.Env, b.Env) {
		d = append(d, "env "+listDiff(a.Env, b.Env))
	}
	if !maps.Equal(a.Files, b.Files) {
		var names []string
		for _, k := range sortedKeys(a.Files) {
			switch v, ok := b.Files[k]; {
			case !ok:
				names = append(names, k+" removed")
			case v != a.Files[k]:
				names = append(names, k+fileDiff(a.Files[k], v))
			}
		}
		for _, k := range sortedKeys(b.Files) {
			if _, ok := a.Files[k]; !ok {
				names = append(names, k+" added")
			}
		}
		d = append(d, "config files differ ("+strings.Join(names, ", ")+")")
	}
	if sa, sb := stepsJSON(a.Setup), stepsJSON(b.Setup); !slices.Equal(sa, sb) {
		var idx []string
		for i := range max(len(sa), len(sb)) {
			if i >= len(sa) || i >= len(sb) || sa[i] != sb[i] {
				idx = append(idx, strconv.Itoa(i+1))
			}
		}
		d = append(d, fmt.Sprintf("setup steps differ (%d -> %d steps; step %s)", len(sa), len(sb), strings.Join(idx, ", ")))
	}
	if a.GPUs != b.GPUs {
		d = append(d, fmt.Sprintf("gpus %d -> %d", a.GPUs, b.GPUs))
	}
	if a.Nodes != b.Nodes {
		d = append(d, fmt.Sprintf("nodes %d -> %d", a.Nodes, b.Nodes))
	}
	if a.Port != b.Port {
		d = append(d, fmt.Sprintf("port %d -> %d", a.Port, b.Port))
	}
	if len(d) == 0 && r.Fingerprint() != o.Fingerprint() {
		// Unreachable while every identity field is compared above (TestDiffExplainsEveryFingerprintField).
		d = append(d, fmt.Sprintf("fingerprint %s -> %s", r.Fingerprint(), o.Fingerprint()))
	}
	if len(d) == 0 {
		return "identical"
	}
	return strings.Join(d, "; ")
}

// fileDiff names the lines of a config file that changed (": -old +new", trimmed), so a
// relaunch forced by a setting inside a file says which setting.
func fileDiff(a, b string) string {
	trim := func(s string) []string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
		return out
	}
	if d := wordDiff(trim(a), trim(b)); d != "" {
		return ": " + d
	}
	return ""
}

// stepsJSON is each setup step as the fingerprint sees it (by value, not by pointer).
func stepsJSON(steps []Step) []string {
	out := make([]string, len(steps))
	for i, st := range steps {
		b, _ := json.Marshal(st)
		out[i] = string(b)
	}
	return out
}

// listDiff lists the words only in a and only in b; when both hold the same words (order,
// repetition or word boundaries differ) it shows both lists.
func listDiff(a, b []string) string {
	if w := wordDiff(a, b); w != "" {
		return w
	}
	return fmt.Sprintf("%q -> %q", a, b)
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

// effective is the recipe with the overrides that hold for v applied.
type effective struct {
	args  []string
	env   map[string]string
	vars  Vars
	files []File
}

func (r *Recipe) effective(v Values) effective {
	e := effective{args: append([]string(nil), r.Args...), env: maps.Clone(r.Env), vars: r.Vars, files: r.Files}
	if e.env == nil {
		e.env = map[string]string{}
	}
	for _, o := range r.Overrides {
		if !o.When.holds(v) {
			continue
		}
		e.args = applyArgs(e.args, o.Args)
		maps.Copy(e.env, o.Env)
		e.vars = mergeVars(e.vars, o.Vars)
		e.files = mergeFiles(e.files, o.Files)
	}
	return e
}

// Render fills in r for v.
func (r *Recipe) Render(v Values, rowImage string) (Rendered, error) {
	out := Rendered{Recipe: r.Name, Port: v.Port, Health: or(r.Health, "/health"), Endpoint: or(r.Endpoint, "/v1/completions"),
		ClientBackend: or(r.ClientBackend, "vllm"), ChatTemplate: r.ChatTemplate != nil && *r.ChatTemplate,
		PromptForm: or(r.PromptForm, PromptTokenIDs), FatalLog: r.FatalLog, ReadyTimeout: time.Duration(r.ReadyTimeout)}
	if out.ReadyTimeout == 0 {
		out.ReadyTimeout = 60 * time.Minute
	}
	fail := func(e error) (Rendered, error) { return Rendered{}, fmt.Errorf("recipe %q (%s): %w", r.Name, r.Pos, e) }
	if r.BaseOnly {
		return fail(fmt.Errorf("is only a base for other recipes (it has no match)"))
	}
	e := r.effective(v)
	v.Var = map[string]any{}
	for _, x := range e.vars {
		val, err := evalVar(x, v)
		if err != nil {
			return fail(err)
		}
		v.Var[x.Name] = val
	}
	var err error
	out.Image = rowImage
	if r.Image != "" {
		if out.Image, err = render(r.Image, v); err != nil {
			return fail(err)
		}
	}
	for _, t := range append(append([]string{}, r.Command...), e.args...) {
		s, err := render(t, v)
		if err != nil {
			return fail(err)
		}
		if s = strings.TrimSpace(s); s != "" {
			out.Argv = append(out.Argv, s)
		}
	}
	for _, k := range sortedKeys(e.env) {
		s, err := render(e.env[k], v)
		if err != nil {
			return fail(err)
		}
		out.Env = append(out.Env, k+"="+s)
	}
	if len(e.files) > 0 {
		out.Files = map[string]string{}
		for _, f := range e.files {
			if f.YAML != nil {
				out.Files[f.Path], err = renderYAML(f.YAML.Node, v)
			} else {
				out.Files[f.Path], err = render(f.Content, v)
			}
			if err != nil {
				return fail(fmt.Errorf("file %s: %w", f.Path, err))
			}
		}
	}
	for _, st := range r.Setup {
		rs := Step{DeleteLine: st.DeleteLine, CopyEnv: st.CopyEnv}
		for _, a := range st.Run {
			s, err := render(a, v)
			if err != nil {
				return fail(err)
			}
			rs.Run = append(rs.Run, s)
		}
		out.Setup = append(out.Setup, rs)
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

// evalVar renders a var's template and reads the result as a YAML scalar.
func evalVar(x Var, v Values) (any, error) {
	s, err := render(x.Value, v)
	if err != nil {
		return nil, fmt.Errorf("var %s: %w", x.Name, err)
	}
	return scalar(strings.TrimSpace(s)), nil
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

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// parsed caches parsed templates: a row renders the same few dozen strings once per
// concurrency, and a sweep plans hundreds of rows.
var parsed sync.Map // string -> *template.Template

func render(text string, v Values) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	t, ok := parsed.Load(text)
	if !ok {
		nt, err := template.New("").Option("missingkey=error").Funcs(funcs).Parse(text)
		if err != nil {
			return "", fmt.Errorf("template %q: %w", text, err)
		}
		t, _ = parsed.LoadOrStore(text, nt)
	}
	var b strings.Builder
	if err := t.(*template.Template).Execute(&b, v); err != nil {
		return "", fmt.Errorf("template %q: %w", text, err)
	}
	return b.String(), nil
}

// Lookup finds the recipe for k: the most specific match wins; two equally specific
// matches are an error, as is none. Base-only recipes are never picked.
func (s *Set) Lookup(k Key) (*Recipe, error) {
	best, bestScore, tie := -1, -1, []string(nil)
	for i := range s.Recipes {
		r := &s.Recipes[i]
		if r.BaseOnly || r.Multinode != k.Multinode {
			continue
		}
		ok, score := r.Match.matches(k)
		switch {
		case !ok:
		case score > bestScore:
			best, bestScore, tie = i, score, []string{r.Name}
		case score == bestScore:
			tie = append(tie, r.Name)
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
		r := &s.Recipes[i]
		if r.Name == name {
			if r.BaseOnly {
				return nil, fmt.Errorf("recipe %q (%s) is only a base for other recipes (it has no match): name one that extends it", name, r.Pos)
			}
			return r, nil
		}
		if !r.BaseOnly {
			names = append(names, r.Name)
		}
	}
	return nil, fmt.Errorf("no engine recipe named %q (have: %s)", name, strings.Join(names, ", "))
}
