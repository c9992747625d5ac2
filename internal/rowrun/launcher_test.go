package rowrun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/disagg"
	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/inventory"
	"github.com/inferbench/inferbench/internal/recipe"
	"github.com/inferbench/inferbench/internal/sim"
)

// TestDisaggPlanRoles renders a repository multi-node recipe for a 4-node allocation with
// 4 GPUs per node: 3 prefill workers of tp 2 (6 GPUs, 2 nodes) and 1 decode worker of tp 8
// (2 nodes). Each node must get exactly its share: narrow workers packed onto a node with
// their own devices, the wide worker spanning two nodes with ranks, the frontend programs
// on the head node, host names filled in from the allocation.
func TestDisaggPlanRoles(t *testing.T) {
	t.Parallel()
	set, err := recipe.LoadFile(filepath.Join("..", "..", "configs", "recipes.yaml"))
	require.NoError(t, err)
	rec, err := set.ByName("dynamo-sglang-disagg")
	require.NoError(t, err)
	v := recipe.SampleValues()
	v.Prefill = recipe.Side{NumWorkers: 3, TP: 2, EP: 2, GPUs: 6, Nodes: 2}
	v.Decode = recipe.Side{NumWorkers: 1, TP: 8, EP: 8, GPUs: 8, Nodes: 2}
	v.Nodes, v.GPUsPerNode, v.TotalGPUs = 4, 4, 14
	rend, err := rec.Render(v, "img")
	require.NoError(t, err)
	plan, err := disagg.ParsePlan([]byte(rend.Files[recipe.PlanFile]))
	require.NoError(t, err)
	hosts, err := disagg.ExpandNodeList("n[01-04]")
	require.NoError(t, err)
	want := map[int][]string{
		0: {"frontend 0 rank 0/1 gpus - etcd --listen-client-urls=http://0.0.0.0:2379 --advertise-client-urls=http://n01:2379 --data-dir=/tmp/inferbench-etcd",
			"frontend 0 rank 0/1 gpus - nats-server -js",
			"frontend 0 rank 0/1 gpus - python3 -m dynamo.frontend --http-port=8888",
			"prefill 0 rank 0/1 gpus 0,1 python3 -m dynamo.sglang --model-path=org/model",
			"prefill 1 rank 0/1 gpus 2,3 python3 -m dynamo.sglang --model-path=org/model"},
		1: {"prefill 2 rank 0/1 gpus 0,1 python3 -m dynamo.sglang --model-path=org/model"},
		2: {"decode 0 rank 0/2 gpus - python3 -m dynamo.sglang --model-path=org/model"},
		3: {"decode 0 rank 1/2 gpus - python3 -m dynamo.sglang --model-path=org/model"},
	}
	for node := range 4 {
		procs, err := plan.ForNode(node, hosts)
		require.NoError(t, err)
		var got []string
		for _, p := range procs {
			dev := p.Devices
			if dev == "" {
				dev = "-"
			}
			got = append(got, fmt.Sprintf("%s %d rank %d/%d gpus %s %s", p.Role, p.Index, p.Rank, p.NNodes, dev, strings.Join(p.Argv[:min(4, len(p.Argv))], " ")))
			assert.Contains(t, p.Env, "ETCD_ENDPOINTS=http://n01:2379", "node %d: every process finds etcd on the head node", node)
			if p.Role == disagg.RoleDecode {
				assert.Contains(t, p.Argv, "--dist-init-addr=n03:29600", "node %d: the wide worker meets on its first node", node)
				assert.Contains(t, p.Env, "WORKER_HEAD=n03")
			}
		}
		assert.Equal(t, want[node], got, "node %d", node)
	}
}

const deploymentRecipes = `recipes:
  - name: disagg
    match: {framework: dynamo-trt, spec-decoding: [none, mtp]}
    multinode: true
    deployment:
      frontend: [{argv: [front, "--port={{.Port}}"]}]
      prefill: {argv: [pre, "--tp={{.Prefill.TP}}", "--rank={{.Worker.Rank}}"]}
      decode: {argv: [dec, "--tp={{.Decode.TP}}", "--head={{.Worker.Head}}"]}
    ready-timeout: 10s
`

// A deployment recipe launches the agent's own launcher with the plan written into the
// work directory; in a container the agent binary is mounted where the launch names it.
func TestDeploymentLaunch(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, family        string
		wantArgv0, wantPlan string
		wantMount           bool
	}{
		{"pyxis container", "gb200-nv: {gpu: gb200, gpus-per-node: 4, vendor: nvidia, backend: slurm, port: 0}", "/agent", "/workspace/", true},
		{"bare node", "gb200-nv: {gpu: gb200, gpus-per-node: 4, vendor: nvidia, backend: slurm, no-container: true, port: 0}", "/opt/inferbench/agent", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := &simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond}}
			o, log := options(t, b, 2)
			set, err := recipe.Parse("r.yaml", []byte(deploymentRecipes))
			require.NoError(t, err)
			inv, err := inventory.Parse("i.yaml", []byte("families:\n  "+tt.family+"\n"))
			require.NoError(t, err)
			row, err := ParseRow([]byte(multinodeJSON))
			require.NoError(t, err)
			row.Model, row.Conc = "sim-model", Concs{2}
			o.Row, o.Recipes, o.Inventory, o.RunnerName, o.RunnerType = row, set, inv, "gb200-nv_0", "gb200"
			o.AgentPath = "/opt/inferbench/agent"
			_, err = Run(context.Background(), o)
			require.NoError(t, err, log.String())
			require.Len(t, b.specs, 1)
			s := b.specs[0]
			plan := tt.wantPlan
			if plan == "" {
				plan = o.OutDir + "/"
			}
			assert.Equal(t, []string{tt.wantArgv0, "disagg", "--plan", plan + recipe.PlanFile}, s.Argv)
			agentMount := engine.Mount{Host: "/opt/inferbench/agent", Container: "/agent", ReadOnly: true}
			if tt.wantMount {
				assert.Contains(t, s.Mounts, agentMount)
			} else {
				assert.NotContains(t, s.Mounts, agentMount)
			}
			b2, err := os.ReadFile(filepath.Join(o.OutDir, recipe.PlanFile))
			require.NoError(t, err)
			p, err := disagg.ParsePlan(b2)
			require.NoError(t, err)
			assert.Equal(t, 5, p.Nodes, "1 prefill node of tp 4, 2 decode workers of tp 8 on 4 GPUs per node")
			var argv []string
			for _, pr := range p.Processes {
				argv = append(argv, strings.Join(pr.Argv, " "))
			}
			assert.Equal(t, []string{"front --port=" + strconv.Itoa(s.Port), "pre --tp=4 --rank=0",
				"dec --tp=8 --head=<node:1>", "dec --tp=8 --head=<node:1>", "dec --tp=8 --head=<node:3>", "dec --tp=8 --head=<node:3>"}, argv)
		})
	}
}
