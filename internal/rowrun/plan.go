package rowrun

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/inventory"
	"github.com/inferbench/inferbench/internal/recipe"
	"github.com/inferbench/inferbench/internal/result"
)

// Plan is what a run of one row starts, worked out without starting anything: which
// runner family and recipe serve the row, every engine launch (backend request, engine
// command line, environment, config files, setup steps) and, per launch, the concurrency
// points benchmarked against it with the client's settings. `agent run` executes exactly
// this plan; `agent run --dry-run` prints it.
//
// Launches are in execution order. Consecutive points whose rendered launch has the same
// fingerprint share one launch (one server); a point whose launch differs starts a new one,
// so a row whose concurrencies alternate between two launches plans more launches than it
// has distinct fingerprints, exactly as the run behaves.
type Plan struct {
	Row      Row        `json:"row"`
	Runner   PlanRunner `json:"runner"`
	Recipe   PlanRecipe `json:"recipe"`
	Launches []Launch   `json:"launches"`
}

// PlanRunner is the node the row runs on and how its inventory family launches engines.
type PlanRunner struct {
	// Name is the node (RUNNER_NAME); Type the hw label results carry.
	Name string `json:"name"`
	Type string `json:"type"`
	// Family is the inventory entry the node resolved to.
	Family  string `json:"family"`
	Backend string `json:"backend"`
	GPU     string `json:"gpu"`
	// Port is the engine's port. PortAtRunTime says the family lets the agent pick a free
	// port when it runs; the plan then shows Port as a stand-in (the reference's 8888).
	Port          int  `json:"port"`
	PortAtRunTime bool `json:"port_at_run_time,omitempty"`
	// HostSetup are the commands run on the runner before the first launch (the family's
	// kernel settings); a failing one is reported and the run goes on.
	HostSetup [][]string `json:"host_setup,omitempty"`
}

// PlanRecipe names the recipe and where it is defined.
type PlanRecipe struct {
	Name   string `json:"name"`
	Source string `json:"source"`
}

// Launch is one engine server and the points run against it.
type Launch struct {
	// Fingerprint identifies the rendered launch; it is what the run compares to decide
	// whether a running server can be reused, and what result reuse can key on.
	Fingerprint string `json:"fingerprint"`
	// Backend is what the backend asks for: the docker create request, the salloc and srun
	// command lines, or the local process.
	Backend any            `json:"backend"`
	Engine  EngineLaunch   `json:"engine"`
	Points  []PlannedPoint `json:"points"`

	// Rendered is the recipe rendered for the launch's first point (identical for every
	// point of the launch by construction).
	Rendered recipe.Rendered `json:"-"`
	// Spec is the backend launch; Run gives it a unique Name and the forwarded secrets when
	// it starts it.
	Spec engine.Spec `json:"-"`
	// Values are the template values of the launch's first point.
	Values recipe.Values `json:"-"`
	// Scratch are mounts whose host directory is made fresh for every start (their Spec
	// mount shows the prefix followed by XXXXXX) and removed when the server stops.
	Scratch []ScratchMount `json:"scratch_mounts,omitempty"`
}

// ScratchMount is a per-start host directory: Prefix followed by random characters.
type ScratchMount struct {
	Prefix    string `json:"host_prefix"`
	Container string `json:"container"`
}

// EngineLaunch is the engine process as the recipe describes it.
type EngineLaunch struct {
	Image string `json:"image,omitempty"`
	// Argv is the engine's command line (without the setup steps that run before it).
	Argv []string `json:"argv"`
	// Env is the complete environment the agent gives the engine: the reference's workflow
	// variables, the node family's and the recipe's.
	Env map[string]string `json:"env"`
	// ForwardEnv names variables copied from the agent's environment when the engine starts
	// (tokens); their values are never part of a plan.
	ForwardEnv []string `json:"forward_env,omitempty"`
	// InheritsAgentEnv is true where the engine process also inherits the agent's whole
	// environment (local processes, Slurm steps with --export=ALL).
	InheritsAgentEnv bool `json:"inherits_agent_env,omitempty"`
	// Files are written into the work directory before the engine starts.
	Files map[string]string `json:"files,omitempty"`
	// Setup runs, in order, before the engine (package installs, source patches).
	Setup   []recipe.Step `json:"setup,omitempty"`
	Workdir string        `json:"workdir"`
	GPUs    int           `json:"gpus"`
	Nodes   int           `json:"nodes"`
	Health  string        `json:"health"`
	// ReadyTimeout bounds startup.
	ReadyTimeout string `json:"ready_timeout"`
}

// PlannedPoint is one concurrency of the row.
type PlannedPoint struct {
	Conc           int    `json:"conc"`
	ResultFilename string `json:"result_filename"`
	Client         Client `json:"client"`
}

// Client is how the load generator drives one point: the settings that shape the load.
type Client struct {
	Backend          string  `json:"backend"`
	Endpoint         string  `json:"endpoint"`
	PromptForm       string  `json:"prompt_form"`
	ChatTemplate     bool    `json:"chat_template"`
	InputLen         int     `json:"input_len"`
	OutputLen        int     `json:"output_len"`
	RandomRangeRatio float64 `json:"random_range_ratio"`
	MaxConcurrency   int     `json:"max_concurrency"`
	NumPrompts       int     `json:"num_prompts"`
	NumWarmups       int     `json:"num_warmups"`
	IgnoreEOS        bool    `json:"ignore_eos"`
	RequestRate      Rate    `json:"request_rate"`
}

// Rate is a request rate in requests per second; +Inf (send as fast as the concurrency
// allows) is written "inf" as on the reference's command line.
type Rate float64

// MarshalJSON implements json.Marshaler.
func (r Rate) MarshalJSON() ([]byte, error) {
	if math.IsInf(float64(r), 1) {
		return []byte(`"inf"`), nil
	}
	return json.Marshal(float64(r))
}

// UnmarshalJSON implements json.Unmarshaler: a number, or "inf".
func (r *Rate) UnmarshalJSON(b []byte) error {
	if string(b) == `"inf"` {
		*r = Rate(math.Inf(1))
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("request rate: want a number or \"inf\", got %s", b)
	}
	*r = Rate(f)
	return nil
}

// secretEnv are copied from the agent's environment into containers, which do not inherit it.
var secretEnv = []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}

const (
	// runTimePortStandIn is shown when the family picks a free port at run time.
	runTimePortStandIn = 8888
	// scratchSuffix stands for the random part of a scratch mount's directory in plans.
	scratchSuffix = "XXXXXX"
)

// PlanRow works out the plan of o.Row on o.RunnerName, starting nothing and touching no
// file: it reads only o (Row, RunnerName, RunnerType, ResultFilename, OutDir, Recipes,
// Inventory, Environ for the names of forwarded tokens, AgentPath, RunID, Port, RangeRatio,
// NumPrompts, NumWarmups, Engine, Backend). Problems with the row, runner or recipe are
// usage errors (KindOf gives KindUsage).
func PlanRow(o Options) (*Plan, error) {
	o = withDefaults(o)
	if o.RunnerName == "" {
		return nil, errorf(KindUsage, "no runner name: set RUNNER_NAME or --runner-name (it picks the inventory entry)")
	}
	if err := o.Row.Validate(); err != nil {
		return nil, &Error{Kind: KindUsage, Err: err}
	}
	if o.Recipes == nil || o.Inventory == nil {
		return nil, errorf(KindUsage, "no recipes or runner inventory loaded")
	}
	fam, err := o.Inventory.Family(o.RunnerName)
	if err != nil {
		return nil, &Error{Kind: KindUsage, Err: err}
	}
	rec, err := pickRecipe(o, fam.GPU)
	if err != nil {
		return nil, &Error{Kind: KindUsage, Err: err}
	}
	pl := &planner{o: o, fam: fam, port: fam.Port, deployment: rec.Deployment != nil}
	p := &Plan{Row: o.Row, Recipe: PlanRecipe{Name: rec.Name, Source: rec.Pos.String()},
		Runner: PlanRunner{Name: o.RunnerName, Type: o.RunnerType, Family: fam.Name, Backend: fam.Backend, GPU: fam.GPU}}
	if pl.port == 0 {
		pl.port = o.Port
		p.Runner.PortAtRunTime = o.Port == 0
		if pl.port == 0 {
			pl.port = runTimePortStandIn
		}
	}
	p.Runner.Port = pl.port
	for _, k := range sortedKeys(fam.Sysctl) {
		p.Runner.HostSetup = append(p.Runner.HostSetup, []string{"sudo", "-n", "sysctl", "-w", k + "=" + fam.Sysctl[k]})
	}
	if pl.outDir, err = filepath.Abs(o.OutDir); err != nil {
		return nil, errorf(KindInternal, "output directory: %w", err)
	}
	backend := o.Backend
	if backend == nil {
		backend = newBackend(o, fam, "")
	}
	p.Runner.Backend = backend.Name()
	for _, conc := range o.Row.Conc {
		v := pl.values(conc)
		rend, err := rec.Render(v, o.Row.Image)
		if err != nil {
			return nil, &Error{Kind: KindUsage, Err: fmt.Errorf("conc %d: %w", conc, err)}
		}
		fp := rend.Fingerprint()
		if n := len(p.Launches); n == 0 || p.Launches[n-1].Fingerprint != fp {
			l, err := pl.launch(rend, v, n+1, backend)
			if err != nil {
				return nil, err
			}
			p.Launches = append(p.Launches, l)
		}
		l := &p.Launches[len(p.Launches)-1]
		l.Points = append(l.Points, PlannedPoint{Conc: conc, ResultFilename: o.Row.PointStem(o.ResultFilename, o.RunnerName, conc),
			Client: pl.client(rend, conc)})
	}
	return p, nil
}

// planner renders one row's launches on one runner family.
type planner struct {
	o      Options
	fam    *inventory.Family
	port   int
	outDir string
	// deployment is set when the recipe runs a disaggregated deployment under the agent's
	// own launcher (agent disagg), which an engine image lacks.
	deployment bool
}

// inContainer reports whether the server runs in a container on this family.
func inContainer(f *inventory.Family) bool {
	return f.Backend == "docker" || (f.Backend == "slurm" && !f.NoContainer)
}

func workspace(f *inventory.Family) string {
	if f.Workspace != "" {
		return f.Workspace
	}
	return "/workspace"
}

// values are what the recipe's templates see for one point.
func (pl *planner) values(conc int) recipe.Values {
	row := pl.o.Row
	v := recipe.Values{Model: row.Model, ModelPrefix: row.ModelPrefix, Precision: row.Precision, Framework: row.Framework,
		GPU: pl.fam.GPU, SpecDecoding: row.SpecDecoding, TP: row.TP, EP: row.EP, DPAttn: row.DPAttn,
		MaxModelLen: row.MaxModelLen, ISL: row.ISL, OSL: row.OSL, Conc: conc, Port: pl.port,
		Agent: pl.o.AgentPath, Workdir: pl.outDir,
		PP: max(row.PP, 1), DCPSize: max(row.DCPSize, 1), PCPSize: max(row.PCPSize, 1), Router: row.Router, KVP2PTransfer: row.KVP2PTransfer}
	if inContainer(pl.fam) {
		v.Agent, v.Workdir = containerAgent, workspace(pl.fam)
	}
	if pl.fam.HFCache != nil {
		v.HFCache = pl.fam.HFCache.Host
		if inContainer(pl.fam) {
			v.HFCache = pl.fam.HFCache.Container
		}
	}
	if row.Multinode() {
		pl.multinodeValues(&v)
	}
	return v
}

// multinodeValues fills the deployment layout of a multi-node row: each side's GPUs
// (num-worker × tp unless the row says otherwise) and nodes (PREFILL_NODES/DECODE_NODES when
// the row gives them, else the side's GPUs over the family's GPUs per node, rounded up).
func (pl *planner) multinodeValues(v *recipe.Values) {
	row := pl.o.Row
	gpn := pl.fam.NodeGPUs()
	side := func(w *Workers, gpus int, nodesKey string) recipe.Side {
		nodes := (gpus + gpn - 1) / gpn
		if n, err := strconv.Atoi(row.setting(nodesKey)); err == nil && n > 0 {
			nodes = n
		}
		return recipe.Side{NumWorkers: w.NumWorkers, TP: w.TP, EP: w.EP, DPAttn: w.DPAttn, GPUs: gpus, Nodes: nodes,
			PP: max(w.PP, 1), DCPSize: max(w.DCPSize, 1), PCPSize: max(w.PCPSize, 1)}
	}
	v.Multinode = true
	v.Prefill = side(row.Prefill, row.PrefillGPUs(), "PREFILL_NODES")
	v.Decode = side(row.Decode, row.DecodeGPUs(), "DECODE_NODES")
	v.TotalGPUs, v.GPUsPerNode, v.Nodes = v.Prefill.GPUs+v.Decode.GPUs, gpn, v.Prefill.Nodes+v.Decode.Nodes
	v.ConcList = joinConcs(row.Conc, "x")
	v.Settings = map[string]string{}
	for _, st := range row.Settings() {
		v.Settings[st.Key] = st.Value
	}
	// Per-side templates read .TP/.EP/.DPAttn as the decode side's (the one serving tokens).
	v.TP, v.EP, v.DPAttn = row.Decode.TP, row.Decode.EP, row.Decode.DPAttn
}

func joinConcs(c Concs, sep string) string {
	s := make([]string, len(c))
	for i, n := range c {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, sep)
}

// launch turns a rendered recipe into the n-th launch of the plan.
func (pl *planner) launch(rend recipe.Rendered, v recipe.Values, n int, backend engine.Backend) (Launch, error) {
	env := pl.env(rend, v)
	var scratch []ScratchMount
	s := engine.Spec{
		Name:  fmt.Sprintf("inferbench-%s-%d", pl.o.RunID, n),
		RunID: pl.o.RunID, Argv: rend.LaunchArgv(), Port: rend.Port, GPUs: rend.GPUs, Nodes: rend.Nodes, GPUVendor: pl.fam.Vendor,
		LogPath: filepath.Join(pl.outDir, result.ServerLogFile), Workdir: v.Workdir,
		Labels: map[string]string{"io.inferbench.recipe": rend.Recipe, "io.inferbench.runner": pl.o.RunnerName},
	}
	if s.GPUVendor == "none" {
		s.GPUVendor = ""
	}
	if inContainer(pl.fam) {
		s.Image = rend.Image
		s.Mounts = append(s.Mounts, engine.Mount{Host: pl.outDir, Container: workspace(pl.fam)})
		if m := pl.fam.HFCache; m != nil {
			s.Mounts = append(s.Mounts, engine.Mount{Host: m.Host, Container: m.Container, ReadOnly: m.ReadOnly})
		}
		for _, m := range pl.fam.Mounts {
			host := m.Host
			if m.Scratch {
				host += scratchSuffix
				scratch = append(scratch, ScratchMount{Prefix: m.Host, Container: m.Container})
			}
			s.Mounts = append(s.Mounts, engine.Mount{Host: host, Container: m.Container, ReadOnly: m.ReadOnly})
		}
		s.Devices = pl.fam.Docker.Devices
		if pl.deployment && pl.o.AgentPath != "" {
			s.Mounts = append(s.Mounts, engine.Mount{Host: pl.o.AgentPath, Container: containerAgent, ReadOnly: true})
		}
	}
	for _, k := range sortedKeys(env) {
		s.Env = append(s.Env, k+"="+env[k])
	}
	d := pl.fam.Docker
	shm, err := inventory.ParseSize(d.ShmSize)
	if err != nil {
		return Launch{}, errorf(KindUsage, "inventory: %w", err)
	}
	s.ShmSize, s.IPCHost, s.Privileged, s.CapAdd, s.SecurityOpt = shm, d.IPCHost, d.Privileged, d.CapAdd, d.SecurityOpt
	for _, name := range sortedKeys(d.Ulimits) {
		s.Ulimits = append(s.Ulimits, engine.Ulimit{Name: name, Soft: d.Ulimits[name], Hard: d.Ulimits[name]})
	}
	l := Launch{Fingerprint: rend.Fingerprint(), Rendered: rend, Spec: s, Values: v, Scratch: scratch,
		Engine: EngineLaunch{Image: s.Image, Argv: rend.Argv, Env: env, Files: rend.Files, Setup: rend.Setup,
			Workdir: v.Workdir, GPUs: rend.GPUs, Nodes: rend.Nodes, Health: rend.Health, ReadyTimeout: rend.ReadyTimeout.String(),
			InheritsAgentEnv: pl.fam.Backend != "docker"}}
	if inContainer(pl.fam) {
		for _, k := range secretEnv {
			if lookup(pl.o.Environ, k) != "" {
				l.Engine.ForwardEnv = append(l.Engine.ForwardEnv, k)
			}
		}
	}
	l.Backend = map[string]any{"kind": backend.Name()}
	if d, ok := backend.(engine.Describer); ok {
		l.Backend = d.Describe(s)
	}
	return l, nil
}

// env is the engine's environment: the reference's variables (minus the per-point ones, so
// a server can serve several points), the family's, then the recipe's.
func (pl *planner) env(rend recipe.Rendered, v recipe.Values) map[string]string {
	row := pl.o.Row
	env := map[string]string{
		"MODEL": row.Model, "TP": strconv.Itoa(row.TP), "EP_SIZE": strconv.Itoa(row.EP),
		"DP_ATTENTION": strconv.FormatBool(row.DPAttn), "ISL": strconv.Itoa(row.ISL), "OSL": strconv.Itoa(row.OSL),
		"MAX_MODEL_LEN": strconv.Itoa(row.MaxModelLen), "PORT": strconv.Itoa(rend.Port),
	}
	if row.Multinode() {
		multinodeEnv(env, row, v)
	}
	if v.HFCache != "" {
		env["HF_HUB_CACHE"] = v.HFCache
	}
	for k, val := range pl.fam.Env {
		env[k] = val
	}
	for _, kv := range rend.Env {
		k, val, _ := strings.Cut(kv, "=")
		env[k] = val
	}
	return env
}

// client is the load generator's settings for one point.
func (pl *planner) client(rend recipe.Rendered, conc int) Client {
	o := pl.o
	c := Client{Backend: rend.ClientBackend, Endpoint: rend.Endpoint, PromptForm: rend.PromptForm, ChatTemplate: rend.ChatTemplate,
		InputLen: o.Row.ISL, OutputLen: o.Row.OSL, RandomRangeRatio: o.RangeRatio, MaxConcurrency: conc,
		NumPrompts: o.NumPrompts, NumWarmups: o.NumWarmups, IgnoreEOS: true, RequestRate: Rate(math.Inf(1))}
	if c.ChatTemplate {
		// The reference's --use-chat-template: the server applies the model's template on
		// its chat endpoint, so the client sends text there (docs/client.md).
		c.Endpoint, c.PromptForm = ChatEndpoint(c.Endpoint), recipe.PromptText
	}
	if c.NumPrompts <= 0 {
		c.NumPrompts = 10 * conc
	}
	if c.NumWarmups < 0 {
		c.NumWarmups = 2 * conc
	}
	return c
}

// multinodeEnv is the reference's multi-node contract as the deployment sees it: the
// worker layout, the whole CONC_LIST (space-joined), IS_MULTINODE, and every additional
// setting exported verbatim. There is no single TP/EP/DP_ATTENTION.
func multinodeEnv(env map[string]string, row Row, v recipe.Values) {
	delete(env, "TP")
	delete(env, "EP_SIZE")
	delete(env, "DP_ATTENTION")
	for _, s := range []struct {
		name string
		w    *Workers
		val  recipe.Side
	}{{"PREFILL", row.Prefill, v.Prefill}, {"DECODE", row.Decode, v.Decode}} {
		env[s.name+"_NUM_WORKERS"] = strconv.Itoa(s.w.NumWorkers)
		env[s.name+"_TP"] = strconv.Itoa(s.w.TP)
		env[s.name+"_EP"] = strconv.Itoa(s.w.EP)
		env[s.name+"_DP_ATTN"] = strconv.FormatBool(s.w.DPAttn)
		env[s.name+"_GPUS"] = strconv.Itoa(s.val.GPUs)
		env[s.name+"_NODES"] = strconv.Itoa(s.val.Nodes)
	}
	env["CONC_LIST"] = joinConcs(row.Conc, " ")
	env["IS_MULTINODE"] = "true"
	env["DISAGG"] = strconv.FormatBool(row.Disagg)
	env["GPUS_PER_NODE"] = strconv.Itoa(v.GPUsPerNode)
	for _, st := range row.Settings() {
		env[st.Key] = st.Value
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func lookup(environ []string, key string) string {
	for i := len(environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(environ[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}
