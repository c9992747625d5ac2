package rowrun

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/inventory"
	"github.com/inferbench/inferbench/internal/sim"
	"github.com/inferbench/inferbench/internal/testkit"
)

func TestPlanGroupsConsecutivePointsByFingerprint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		concs []int
		want  [][]int
	}{
		{"one launch below 16", []int{2, 4, 8}, [][]int{{2, 4, 8}}},
		{"a new launch where the recipe changes", []int{4, 8, 16, 32}, [][]int{{4, 8}, {16, 32}}},
		{"alternating concurrencies restart each time, as the run does", []int{4, 16, 8}, [][]int{{4}, {16}, {8}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, _ := options(t, &simBackend{}, tt.concs...)
			p, err := PlanRow(o)
			require.NoError(t, err)
			var got [][]int
			for _, l := range p.Launches {
				var c []int
				for _, pt := range l.Points {
					c = append(c, pt.Conc)
				}
				got = append(got, c)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// Planning starts nothing, writes nothing and runs no command.
func TestPlanRowHasNoSideEffects(t *testing.T) {
	t.Parallel()
	fake := &execx.Fake{}
	o, _ := options(t, nil, 4, 16)
	o.Backend, o.Exec, o.Starter = nil, fake, fake
	o.OutDir = filepath.Join(t.TempDir(), "not-yet")
	p, err := PlanRow(o)
	require.NoError(t, err)
	assert.Len(t, p.Launches, 2)
	assert.NoDirExists(t, o.OutDir)
	assert.Empty(t, fake.Calls())
	assert.Equal(t, map[string]any{"kind": "local", "argv": []string{"engine", "--port=8888", "--recv=10"}, "dir": o.OutDir,
		"env": p.Launches[0].Spec.Env, "log": filepath.Join(o.OutDir, "server.log")}, p.Launches[0].Backend)
	assert.True(t, p.Runner.PortAtRunTime, "port 0 families pick a port when they run; the plan shows a stand-in")
}

func TestPlanClientSettings(t *testing.T) {
	t.Parallel()
	o, _ := options(t, &simBackend{}, 4)
	o.NumPrompts, o.NumWarmups, o.RangeRatio = 0, -1, 0
	p, err := PlanRow(o)
	require.NoError(t, err)
	c := p.Launches[0].Points[0].Client
	assert.Equal(t, Client{Backend: "vllm", Endpoint: "/v1/completions", PromptForm: "token-ids", InputLen: 32, OutputLen: 8,
		RandomRangeRatio: 0.8, MaxConcurrency: 4, NumPrompts: 40, NumWarmups: 8, IgnoreEOS: true, RequestRate: c.RequestRate}, c)
	b, err := json.Marshal(c)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"request_rate":"inf"`)
}

// The run starts exactly the launches of its plan, tokens added at start time only.
func TestRunStartsThePlannedLaunches(t *testing.T) {
	t.Parallel()
	b := &simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond}}
	o, log := options(t, b, 4, 16)
	o.Port = freePortForTest(t)
	o.Environ = []string{"HF_TOKEN=hf-secret"}
	inv, err := inventory.Parse("i.yaml", []byte("families:\n  ci-local: {gpu: cpu, vendor: none, backend: local, port: 0}\n"))
	require.NoError(t, err)
	o.Inventory = inv
	p, err := PlanRow(o)
	require.NoError(t, err)
	_, err = Run(context.Background(), o)
	require.NoError(t, err, log.String())
	require.Len(t, b.specs, len(p.Launches))
	for i, s := range b.specs {
		want := p.Launches[i].Spec
		assert.Equal(t, want.Argv, s.Argv)
		// Besides the launch's identity, which every start gets fresh.
		assert.Equal(t, append(want.Env, engine.EnvLaunch+"="+s.Token, engine.EnvOwner+"="+s.Owner), s.Env,
			"local processes inherit the agent's environment; nothing is forwarded")
		assert.Equal(t, want.Port, s.Port)
	}
}

// Containers get the agent's tokens when they start; plans name them but never hold them.
func TestTokensAreForwardedAtStartNotPlanned(t *testing.T) {
	t.Parallel()
	b := &simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond}}
	o, log := options(t, b, 4)
	o.Port = freePortForTest(t)
	o.Environ = []string{"HF_TOKEN=hf-secret"}
	inv, err := inventory.Parse("i.yaml", []byte("families:\n  ci-local: {gpu: cpu, vendor: none, backend: docker, port: 0}\n"))
	require.NoError(t, err)
	o.Inventory = inv
	p, err := PlanRow(o)
	require.NoError(t, err)
	js, err := json.Marshal(p)
	require.NoError(t, err)
	assert.NotContains(t, string(js), "hf-secret")
	assert.Equal(t, []string{"HF_TOKEN"}, p.Launches[0].Engine.ForwardEnv)
	_, err = Run(context.Background(), o)
	require.NoError(t, err, log.String())
	assert.Contains(t, b.specs[0].Env, "HF_TOKEN=hf-secret")
}

// The family's node launcher settings reach the launch: devices, kernel settings applied on
// the host first, and scratch directories made fresh for each start and removed after.
func TestFamilyLauncherSettings(t *testing.T) {
	t.Parallel()
	scratchRoot := t.TempDir()
	fam := "families:\n  ci-local:\n    gpu: cpu\n    vendor: amd\n    backend: docker\n    port: 0\n" +
		"    docker: {devices: [/dev/mem]}\n    sysctl: {kernel.numa_balancing: \"0\"}\n" +
		"    mounts: [{host: " + scratchRoot + "/shm-, container: /dev/shm/sessions, scratch: true}]\n"
	inv, err := inventory.Parse("i.yaml", []byte(fam))
	require.NoError(t, err)
	var seen []string
	b := &simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond}}
	sb := startHook{b, func(s engine.Spec) {
		for _, m := range s.Mounts {
			if m.Container == "/dev/shm/sessions" {
				seen = append(seen, m.Host)
				assert.DirExists(t, m.Host, "the scratch directory exists while the server runs")
			}
		}
	}}
	o, log := options(t, sb, 4, 16)
	o.Inventory, o.Port = inv, freePortForTest(t)
	fake := &execx.Fake{}
	o.Exec = fake
	p, err := PlanRow(o)
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"sudo", "-n", "sysctl", "-w", "kernel.numa_balancing=0"}}, p.Runner.HostSetup)
	assert.Equal(t, []string{"/dev/mem"}, p.Launches[0].Spec.Devices)
	_, err = Run(context.Background(), o)
	require.NoError(t, err, log.String())
	assert.Contains(t, fake.CallLines(), "sudo -n sysctl -w kernel.numa_balancing=0")
	require.Len(t, seen, 2, "one scratch directory per start")
	assert.NotEqual(t, seen[0], seen[1])
	for _, d := range seen {
		assert.True(t, strings.HasPrefix(d, scratchRoot+"/shm-"), d)
		assert.NoDirExists(t, d, "removed once its server stopped")
	}
}

// startHook calls fn with every spec before the backend starts it.
type startHook struct {
	*simBackend
	fn func(engine.Spec)
}

func (h startHook) Start(ctx context.Context, s engine.Spec) (engine.Server, error) {
	h.fn(s)
	return h.simBackend.Start(ctx, s)
}

func freePortForTest(t *testing.T) int {
	t.Helper()
	p, err := freePort()
	require.NoError(t, err)
	return p
}

func TestPlanText(t *testing.T) {
	t.Parallel()
	o, _ := options(t, &simBackend{}, 4, 16)
	o.OutDir = "/out"
	p, err := PlanRow(o)
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, p.WriteText(&b))
	testkit.Golden(t, filepath.Join("testdata", "plan.txt"), b.Bytes())
}

func TestPlanUsageErrors(t *testing.T) {
	t.Parallel()
	o, _ := options(t, &simBackend{}, 4)
	o.Row.Framework = "nope"
	_, err := PlanRow(o)
	assert.Equal(t, KindUsage, KindOf(err))
	assert.ErrorContains(t, err, "no engine recipe for framework=nope")
	o, _ = options(t, &simBackend{}, 4)
	o.Recipes = nil
	_, err = PlanRow(o)
	assert.Equal(t, KindUsage, KindOf(err))
}

// BenchmarkPlanRow plans a TensorRT-LLM row of seven concurrencies with the repository's
// recipes (vars, overrides, a structured config file with a piecewise capture list): what
// `agent run --dry-run` does for one row.
func BenchmarkPlanRow(b *testing.B) {
	recipes, inv := repoRecipesAndInventory(b)
	row, err := ParseRow([]byte(`{"image": "img", "model": "deepseek-ai/DeepSeek-R1-0528", "model-prefix": "dsr1", "precision": "fp8",
		"framework": "trt", "runner": "b200-trt", "isl": 1024, "osl": 1024, "tp": 8, "conc": [4, 8, 16, 32, 64, 128, 256], "ep": 1}`))
	require.NoError(b, err)
	o := Options{Row: row, RunnerName: "b200-nv_0", OutDir: "/tmp/x", Recipes: recipes, Inventory: inv, RunID: "bench", NumWarmups: -1}
	for b.Loop() {
		_, err := PlanRow(o)
		require.NoError(b, err)
	}
}
