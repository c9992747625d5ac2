package rowrun

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/inferbench/inferbench/internal/energy"
	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/loadgen"
	"github.com/inferbench/inferbench/internal/recipe"
	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/telemetry"
)

// Power telemetry tools (Options.PowerTool).
const (
	PowerAuto      = "auto"           // by the runner family's GPU vendor, the simulator's fake for simulated engines
	PowerNone      = "none"           // no sampling; the agg record gets no power fields
	PowerNvidia    = "nvidia-smi"     //
	PowerAMD       = "amd-smi"        //
	PowerSimNvidia = "sim-nvidia-smi" // agent sim-smi imitating nvidia-smi for the simulator's GPUs
	PowerSimAMD    = "sim-amd-smi"    // agent sim-smi imitating amd-smi
)

// PowerTools are the accepted Options.PowerTool values.
var PowerTools = []string{PowerAuto, PowerNone, PowerNvidia, PowerAMD, PowerSimNvidia, PowerSimAMD}

// pointPower is the telemetry of one point while its load runs.
type pointPower struct {
	rec     *telemetry.Recording
	path    string
	topo    energy.Topology
	stopped bool
}

// startPowerStream starts the telemetry tool of a server that has just been launched: its
// start-up (seconds for nvidia-smi on some nodes) then overlaps the engine's, and every point
// of the server records from the same stream. Nothing when this run samples nothing.
func (r *run) startPowerStream(ctx context.Context, v recipe.Values) {
	tool, why := r.powerTool()
	if tool == nil {
		if why != "" && !r.powerNoted {
			r.powerNoted = true
			fmt.Fprintf(r.o.Log, "power: not sampled: %s\n", why)
		}
		return
	}
	gpus, topo := r.powerGPUs(tool, v)
	r.powerTopo = topo
	r.pstream = tool.ForGPUs(gpus).Start(ctx, telemetry.Options{Starter: r.o.Starter, Exec: r.o.Exec, Clock: r.o.PowerClock})
}

// stopPowerStream ends the server's telemetry (before the server itself is stopped).
func (r *run) stopPowerStream() {
	if r.pstream != nil {
		r.pstream.Close()
		r.pstream = nil
	}
}

// startPower opens the point's recording before its load; nil when this run samples
// nothing. It holds the point up only on a server's first point, and then by at most one
// sampling interval (see telemetry.Stream.Record).
func (r *run) startPower(m *result.Manifest) *pointPower {
	if r.pstream == nil {
		return nil
	}
	name := result.GPUMetricsFile(m.ResultFilename)
	pp := &pointPower{path: filepath.Join(r.o.OutDir, name), topo: r.powerTopo}
	pp.rec = r.pstream.Record(pp.path)
	addFile(m, name)
	return pp
}

// stop ends the recording without judging it (a point that did not finish its load).
func (pp *pointPower) stop() {
	if pp != nil && !pp.stopped {
		pp.stopped = true
		pp.rec.Stop(time.Now())
	}
}

// finishPower stops the sampler once the window has closed, computes the point's energy
// from the file it wrote, writes power_validation_<stem>.json and returns the agg fields.
func (r *run) finishPower(pp *pointPower, m *result.Manifest, out *loadgen.Outcome, raw *result.Raw) *energy.Validation {
	pp.stopped = true
	sum := pp.rec.Stop(out.End)
	if sum.Problem != "" {
		fmt.Fprintf(r.o.Log, "conc %d: warning: power telemetry: %s\n", m.Conc, sum.Message)
	}
	b, benchReasons := energy.BenchmarkFromRaw(raw)
	in := energy.Input{Sampler: &sum, Bench: b, BenchReasons: benchReasons, Topology: pp.topo,
		TelemetrySource: filepath.Base(pp.path), BenchmarkResult: result.RawFile(m.ResultFilename)}
	if p, err := telemetry.ParseFile(pp.path, nil); err == nil {
		in.Parsed = p
	}
	v := energy.Compute(in, energy.Options{})
	name := result.PowerValidationFile(m.ResultFilename)
	if js, err := json.MarshalIndent(v, "", "  "); err != nil {
		fmt.Fprintf(r.o.Log, "conc %d: warning: power validation: %v\n", m.Conc, err)
	} else if err := writeFileAtomic(filepath.Join(r.o.OutDir, name), append(js, '\n')); err != nil {
		fmt.Fprintf(r.o.Log, "conc %d: warning: cannot write %s: %v\n", m.Conc, name, err)
	} else {
		addFile(m, name)
	}
	if v.PowerValid {
		p := v.Agg()
		fmt.Fprintf(r.o.Log, "conc %d: power: %d GPU(s), %.1f W per GPU, %.1f J, %.4g J per output token (%s)\n", m.Conc,
			v.ObservedGPUCount, p.AvgPowerW, p.TotalGPUEnergyJ, p.JoulesPerOutputToken, sourceNote(v))
	} else {
		fmt.Fprintf(r.o.Log, "conc %d: power telemetry invalid: %s (details: %s)\n", m.Conc, strings.Join(v.Reasons, ", "), name)
	}
	return v
}

func sourceNote(v *energy.Validation) string {
	s := v.EnergySources
	note := strings.ReplaceAll(s.Selected, "_", " ")
	if s.RelativeDifference != nil {
		note += fmt.Sprintf("; integrated power differs by %.2f%%", 100**s.RelativeDifference)
	}
	return note
}

// powerTool picks the telemetry tool of the running server, keeping the probe of what the
// installed tool supports for the whole run. It returns nil and why when nothing is sampled.
func (r *run) powerTool() (*telemetry.Tool, string) {
	if r.srv == nil {
		return nil, ""
	}
	mode := r.o.PowerTool
	if mode == "" || mode == PowerAuto {
		mode = r.autoPowerTool()
	}
	base := r.baseURL()
	// One tool per server launch: a Slurm tool runs inside that launch's job.
	key := mode + " " + base + " " + r.srv.Info().ID
	if r.ptool != nil && r.ptoolKey == key {
		return r.ptool, ""
	}
	t := &telemetry.Tool{Vendor: telemetry.NVIDIA, Interval: r.o.PowerInterval, Environ: r.o.Environ}
	switch mode {
	case PowerNone:
		return nil, "no telemetry tool for this runner (vendor " + r.fam.Vendor + ", engine not simulated); --power-tool names one"
	case PowerNvidia:
		t.Program = []string{"nvidia-smi"}
		// nvidia-smi block-buffers a pipe: without line buffering the sample after the
		// window could sit in its buffer when the window closes.
		if _, err := execx.LookPath("stdbuf"); err == nil {
			t.Program = []string{"stdbuf", "-oL", "nvidia-smi"}
		}
	case PowerAMD:
		t.Vendor, t.Program = telemetry.AMD, []string{"amd-smi"}
		t.Env = []string{"PYTHONUNBUFFERED=1"} // amd-smi is Python: unbuffered, lines arrive as sampled
	case PowerSimNvidia, PowerSimAMD:
		if r.o.AgentPath == "" {
			return nil, "the simulator's telemetry needs the agent binary's path"
		}
		name := "nvidia-smi"
		if mode == PowerSimAMD {
			t.Vendor, name = telemetry.AMD, "amd-smi"
		}
		t.Program = []string{r.o.AgentPath, "sim-smi", "--url", base, name}
	default:
		return nil, fmt.Sprintf("unknown power tool %q (want one of %s)", mode, strings.Join(PowerTools, ", "))
	}
	if nr, ok := r.srv.(engine.NodeRunner); ok {
		t.Labeled = true
		t.Wrap = func(argv []string) execx.Cmd {
			c, _ := nr.OnEveryNode(argv)
			return c
		}
	}
	r.ptool, r.ptoolKey = t, key
	return t, ""
}

// autoPowerTool samples what serves the row: the simulator's fake GPUs when the launch runs
// the simulator, else the runner family's vendor tool.
func (r *run) autoPowerTool() string {
	if launchesSimulator(r.srvSpec) {
		if r.fam.Vendor == "amd" {
			return PowerSimAMD
		}
		return PowerSimNvidia
	}
	switch r.fam.Vendor {
	case "nvidia":
		return PowerNvidia
	case "amd":
		return PowerAMD
	}
	return PowerNone
}

// launchesSimulator reports whether a rendered launch runs `agent serve-sim`: directly, in a
// launcher's command variables, or in the processes of an agent disagg plan.
func launchesSimulator(rend recipe.Rendered) bool {
	for _, s := range slices.Concat(rend.Argv, rend.Env) {
		if s == "serve-sim" || strings.Contains(s, " serve-sim ") || strings.HasSuffix(s, " serve-sim") {
			return true
		}
	}
	for _, content := range rend.Files {
		if strings.Contains(content, `"serve-sim"`) {
			return true
		}
	}
	return false
}

// powerGPUs says which GPUs to sample and what the validation should expect of them. One
// node: the engine's GPUs (the visible-devices list the launch sets, else the first as many
// as it asked for). Several nodes (a Slurm deployment): every GPU each node shows the step,
// which Slurm limits to the allocation; prefill holds the first nodes, decode the rest, as the
// launcher places them. The simulator's fake GPUs are never limited by Slurm, so they are
// selected by index everywhere.
func (r *run) powerGPUs(t *telemetry.Tool, v recipe.Values) ([]int, energy.Topology) {
	rend, row := r.srvSpec, r.o.Row
	simulated := strings.HasPrefix(r.ptoolKey, "sim-")
	var gpus []int
	var topo energy.Topology
	if row.Multinode() {
		p, d := row.PrefillGPUs(), row.DecodeGPUs()
		topo = energy.Topology{GPUs: p + d, PrefillGPUs: p, DecodeGPUs: d}
		nodes := max(rend.Nodes, 1)
		if nodes > 1 {
			prefillNodes := v.Prefill.Nodes
			topo.Role = func(node, _ string) string {
				if n, err := strconv.Atoi(node); err == nil && n < prefillNodes {
					return "prefill"
				}
				return "decode"
			}
			if simulated {
				gpus = seq(max(rend.GPUs, 1))
			}
			return gpus, topo
		}
		// One node holds the whole deployment: the first GPUs are prefill's.
		topo.Role = func(_, gpu string) string {
			if i, err := strconv.Atoi(gpu); err == nil && i < p {
				return "prefill"
			}
			return "decode"
		}
		return seq(p + d), topo
	}
	gpus = visibleDevices(r.spec0Env(), t.Vendor)
	switch {
	case gpus != nil:
	case t.Labeled && !simulated: // Slurm shows the step its allocation
	case rend.GPUs > 0:
		gpus = seq(rend.GPUs)
	}
	topo.GPUs = rend.GPUs
	if len(gpus) > 0 {
		topo.GPUs = len(gpus)
	}
	return gpus, topo
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// spec0Env is the environment the engine was launched with (the family's and the recipe's).
func (r *run) spec0Env() map[string]string {
	env := map[string]string{}
	for k, v := range r.fam.Env {
		env[k] = v
	}
	for _, kv := range r.srvSpec.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

// visibleDevices reads the device list an engine is confined to (CUDA_VISIBLE_DEVICES on
// NVIDIA, HIP_VISIBLE_DEVICES or ROCR_VISIBLE_DEVICES on AMD); nil when unset or not plain
// indices.
func visibleDevices(env map[string]string, v telemetry.Vendor) []int {
	keys := []string{"CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES"}
	if v == telemetry.AMD {
		keys = []string{"HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES"}
	}
	for _, k := range keys {
		val := strings.TrimSpace(env[k])
		if val == "" {
			continue
		}
		var out []int
		for _, f := range strings.Split(val, ",") {
			i, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || i < 0 {
				return nil
			}
			out = append(out, i)
		}
		return out
	}
	return nil
}

// powerRequired is the error of a point whose power was required and is not valid.
func (r *run) powerRequired(m *result.Manifest, v *energy.Validation) error {
	if !r.o.RequirePower || (v != nil && v.PowerValid) {
		return nil
	}
	if v == nil {
		_, why := r.powerTool()
		if why == "" {
			why = "no telemetry tool"
		}
		return fmt.Errorf("conc %d: power is required (--require-power) but was not sampled: %s", m.Conc, why)
	}
	return fmt.Errorf("conc %d: power is required (--require-power) and its telemetry is invalid: %s (details: %s)",
		m.Conc, strings.Join(v.Reasons, ", "), result.PowerValidationFile(m.ResultFilename))
}
