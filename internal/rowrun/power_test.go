package rowrun

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/energy"
	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/recipe"
	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/sim"
)

// smiHost runs the telemetry tools the runner asks for (nvidia-smi, amd-smi, through stdbuf
// or not) as the simulator's imitations reading the in-process simulator the backend
// started, so the runner's whole power path runs without a GPU or a subprocess.
type smiHost struct {
	b   *simBackend
	mu  sync.Mutex
	ran []string
}

func (h *smiHost) smi(ctx context.Context, c execx.Cmd, stdout, stderr func([]byte)) int {
	argv := append([]string{c.Name}, c.Args...)
	if argv[0] == "stdbuf" {
		argv = argv[2:]
	}
	h.mu.Lock()
	h.ran = append(h.ran, strings.Join(argv, " "))
	h.mu.Unlock()
	h.b.mu.Lock()
	port := 0
	if n := len(h.b.specs); n > 0 {
		port = h.b.specs[n-1].Port
	}
	h.b.mu.Unlock()
	return sim.SMI{Stdout: writerFunc(stdout), Stderr: writerFunc(stderr), Read: func(ctx context.Context) (sim.GPUState, error) {
		var st sim.GPUState
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/sim/gpus", port), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return st, err
		}
		defer resp.Body.Close()
		return st, json.NewDecoder(resp.Body).Decode(&st)
	}}.Run(ctx, argv)
}

type writerFunc func([]byte)

func (f writerFunc) Write(b []byte) (int, error) { f(b); return len(b), nil }

// Run serves the probe; anything else (the host's GPU inventory query) is not installed.
func (h *smiHost) Run(ctx context.Context, c execx.Cmd) (execx.Result, error) {
	args := strings.Join(c.Args, " ")
	if !strings.Contains(args, "--help-query-gpu") && !strings.Contains(args, "metric --help") {
		return execx.Result{ExitCode: -1}, fmt.Errorf("run %s: %w", c.Name, execx.ErrNotFound)
	}
	var out, errb bytes.Buffer
	code := h.smi(ctx, c, func(b []byte) { out.Write(b) }, func(b []byte) { errb.Write(b) })
	return execx.Result{Stdout: out.Bytes(), Stderr: errb.Bytes(), ExitCode: code}, nil
}

// Start serves the stream until it is signalled.
func (h *smiHost) Start(ctx context.Context, c execx.Cmd) (execx.Process, error) {
	ctx, cancel := context.WithCancel(ctx)
	p := &smiProc{cancel: cancel, done: make(chan int, 1)}
	go func() {
		p.done <- h.smi(ctx, c, func(b []byte) { c.Stdout.Write(b) }, func(b []byte) { c.Stderr.Write(b) })
	}()
	return p, nil
}

type smiProc struct {
	cancel context.CancelFunc
	done   chan int
}

func (p *smiProc) Pid() int                    { return 7 }
func (p *smiProc) Signal(os.Signal) error      { p.cancel(); return nil }
func (p *smiProc) Wait() (execx.Result, error) { return execx.Result{ExitCode: <-p.done}, nil }

func powerOptions(t *testing.T, tool string, conc ...int) (Options, *smiHost, *bytes.Buffer) {
	b := &simBackend{cfg: sim.Config{TTFT: 2 * time.Millisecond, ITL: time.Millisecond, Power: sim.PowerModel{GPUs: 8}}}
	o, log := options(t, b, conc...)
	set, err := recipe.Parse("r.yaml", []byte(strings.Replace(runnerRecipes, `gpus: "0"`, `gpus: "{{.TP}}"`, 1)))
	require.NoError(t, err)
	o.Recipes = set
	h := &smiHost{b: b}
	o.Starter, o.Exec, o.PowerTool, o.PowerInterval = h, h, tool, 50*time.Millisecond
	o.Row.TP = 2
	o.NumPrompts = 40
	return o, h, log
}

func readValidation(t *testing.T, dir, stem string) *energy.Validation {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, result.PowerValidationFile(stem)))
	require.NoError(t, err)
	var v energy.Validation
	require.NoError(t, json.Unmarshal(b, &v))
	return &v
}

func TestPowerIsMeasuredForEveryPoint(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		tool, source string
	}{
		{PowerAMD, energy.SourceCounter},
		{PowerNvidia, energy.SourceInstant},
	} {
		t.Run(tt.tool, func(t *testing.T) {
			o, h, log := powerOptions(t, tt.tool, 2, 8)
			rep, err := Run(context.Background(), o)
			require.NoError(t, err, "%s", log)
			for _, m := range rep.Points {
				stem := m.ResultFilename
				assert.Contains(t, m.Files, result.GPUMetricsFile(stem))
				assert.Contains(t, m.Files, result.PowerValidationFile(stem))
				v := readValidation(t, o.OutDir, stem)
				require.True(t, v.PowerValid, "conc %d: %v %v\n%s", m.Conc, v.Reasons, v.Warnings, log)
				assert.Equal(t, tt.source, v.EnergySources.Selected)
				assert.Equal(t, []string{"0", "1"}, v.ObservedGPUIDs, "the engine's TP GPUs, not the node's eight")

				var agg result.Agg
				b, err := os.ReadFile(filepath.Join(o.OutDir, result.AggFile(stem)))
				require.NoError(t, err)
				require.NoError(t, json.Unmarshal(b, &agg))
				require.NotNil(t, agg.Power)
				p := agg.Power
				assert.True(t, p.Valid)
				assert.Equal(t, 2, p.SchemaVersion)
				assert.Greater(t, p.AvgPowerW, 90.0, "above the simulated idle draw while loaded")
				assert.Less(t, p.AvgPowerW, 700.0)
				assert.InDelta(t, p.AvgTotalGPUPowerW, 2*p.AvgPowerW, 0.01)
				assert.InEpsilon(t, p.TotalGPUEnergyJ/float64(agg.Ext.Completed), p.JoulesPerSuccessfulQuery, 1e-3)
				csv, err := os.ReadFile(filepath.Join(o.OutDir, result.GPUMetricsFile(stem)))
				require.NoError(t, err)
				assert.Contains(t, string(csv), ",host_time_unix,node\n")
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			assert.Len(t, h.ran, 2, "one probe and one stream for the server, whatever the number of points: %q", h.ran)
			assert.Contains(t, log.String(), "conc 8: power: 2 GPU(s)")
		})
	}
}

func TestRequirePower(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		require bool
		want    result.Status
		kind    Kind
	}{
		{"best effort: a missing tool is recorded, the point succeeds", false, result.StatusSuccess, KindNone},
		{"required: the point fails with its own status", true, result.StatusPowerInvalid, KindPower},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o, _, log := powerOptions(t, PowerNvidia, 2)
			o.Exec, o.Starter = &execx.Fake{}, &execx.Fake{} // no nvidia-smi on this machine
			o.RequirePower = tt.require
			rep, err := Run(context.Background(), o)
			assert.Equal(t, tt.kind, KindOf(err), "%v\n%s", err, log)
			m := rep.Points[0]
			assert.Equal(t, tt.want, m.Status)
			v := readValidation(t, o.OutDir, m.ResultFilename)
			assert.False(t, v.PowerValid)
			assert.Equal(t, "telemetry_tool_missing", v.Reasons[0])
			b, _ := os.ReadFile(filepath.Join(o.OutDir, result.AggFile(m.ResultFilename)))
			assert.Contains(t, string(b), `"power_metric_schema_version": 2`)
			assert.Contains(t, string(b), `"power_valid": 0`)
			assert.NotContains(t, string(b), "joules_per")
			if tt.require {
				assert.Contains(t, err.Error(), "power is required (--require-power) and its telemetry is invalid: telemetry_tool_missing")
			}
		})
	}
}

func TestNoPowerToolWritesNoPowerFields(t *testing.T) {
	t.Parallel()
	o, _, log := powerOptions(t, "", 2) // auto, on a family without a GPU vendor, not the simulator
	rep, err := Run(context.Background(), o)
	require.NoError(t, err, "%s", log)
	m := rep.Points[0]
	assert.NotContains(t, m.Files, result.PowerValidationFile(m.ResultFilename))
	b, _ := os.ReadFile(filepath.Join(o.OutDir, result.AggFile(m.ResultFilename)))
	assert.NotContains(t, string(b), "power")
	assert.Contains(t, log.String(), "power: not sampled: no telemetry tool for this runner")

	o.PowerTool = "nvml"
	_, err = Run(context.Background(), o)
	assert.Equal(t, KindUsage, KindOf(err))
}

func TestPowerGPUSelection(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		env  map[string]string
		gpus int
		want []int
	}{
		{"the first GPUs, as many as the launch asks for", nil, 4, []int{0, 1, 2, 3}},
		{"the devices the engine is confined to", map[string]string{"CUDA_VISIBLE_DEVICES": "4,5"}, 2, []int{4, 5}},
		{"not plain indices: the first GPUs", map[string]string{"CUDA_VISIBLE_DEVICES": "GPU-1234"}, 2, []int{0, 1}},
	} {
		got := visibleDevices(tt.env, "nvidia")
		if got == nil {
			got = seq(tt.gpus)
		}
		assert.Equal(t, tt.want, got, tt.name)
	}
	assert.True(t, launchesSimulator(recipeRendered([]string{"/x/agent", "serve-sim", "--port=1"}, nil)))
	assert.True(t, launchesSimulator(recipeRendered([]string{"bash", "launch.sh"}, []string{"DECODE_CMD=exec /x/agent serve-sim --port=0"})))
	assert.False(t, launchesSimulator(recipeRendered([]string{"python3", "-m", "sglang.launch_server"}, nil)))
	plan := recipe.Rendered{Argv: []string{"/x/agent", "disagg", "--plan", "/w/disagg-plan.json"},
		Files: map[string]string{"disagg-plan.json": `{"frontend": [{"argv": ["/x/agent", "serve-sim", "--port=1"]}]}`}}
	assert.True(t, launchesSimulator(plan), "the processes of an agent disagg plan")
}

func recipeRendered(argv, env []string) recipe.Rendered { return recipe.Rendered{Argv: argv, Env: env} }

func TestPowerFollowsServerRestarts(t *testing.T) {
	t.Parallel()
	// The recipe's launch changes at 16 concurrent requests: a new server, a new stream
	// (a Slurm tool must run in the new job), and the old one stopped with its server.
	o, h, log := powerOptions(t, PowerAMD, 8, 16)
	rep, err := Run(context.Background(), o)
	require.NoError(t, err, "%s", log)
	for _, m := range rep.Points {
		v := readValidation(t, o.OutDir, m.ResultFilename)
		assert.True(t, v.PowerValid, "conc %d: %v", m.Conc, v.Reasons)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	assert.Len(t, h.ran, 4, "a probe and a stream per server: %q", h.ran)
}
