package recipe

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/disagg"

	_ "github.com/inferbench/inferbench/internal/testkit" // defines -update, so `go test ./... -update` runs here too
)

// mnValues are the values of a multi-node row as the runner fills them.
func mnValues(prefill, decode Side, gpn int) Values {
	v := SampleValues()
	v.Prefill, v.Decode, v.GPUsPerNode = prefill, decode, gpn
	v.Nodes, v.TotalGPUs = prefill.Nodes+decode.Nodes, prefill.GPUs+decode.GPUs
	v.TP, v.EP, v.DPAttn = decode.TP, decode.EP, decode.DPAttn
	v.Settings = map[string]string{"CONFIG_FILE": "recipes/x.yaml"}
	return v
}

func renderPlan(t *testing.T, r *Recipe, v Values) (Rendered, *disagg.Plan) {
	t.Helper()
	out, err := r.Render(v, "img")
	require.NoError(t, err)
	p, err := disagg.ParsePlan([]byte(out.Files[PlanFile]))
	require.NoError(t, err)
	return out, p
}

// TestMultinodeRecipesHaveNoShell: every multi-node recipe of the repository describes its
// processes as typed argv lists run by the agent's own launcher; no shell program anywhere.
func TestMultinodeRecipesHaveNoShell(t *testing.T) {
	t.Parallel()
	s := repoRecipes(t)
	n := 0
	for _, r := range s.Recipes {
		if !r.Multinode {
			continue
		}
		n++
		require.NotNil(t, r.Deployment, "%s: a multi-node recipe needs a deployment block", r.Name)
		assert.Empty(t, r.Command, r.Name)
		_, p := renderPlan(t, &r, SampleValues())
		for _, pr := range p.Processes {
			assert.NotContains(t, []string{"bash", "sh", "/bin/sh", "/bin/bash", "sh -c"}, pr.Argv[0], "%s: %s worker runs a shell", r.Name, pr.Role)
			for _, a := range pr.Argv {
				assert.NotContains(t, a, "$(", "%s: shell syntax in %q", r.Name, a)
				assert.NotContains(t, a, "${", "%s: shell syntax in %q", r.Name, a)
			}
		}
	}
	assert.GreaterOrEqual(t, n, 4, "multi-node recipes found")
}

func TestDeploymentRendersTheLauncherAndItsPlan(t *testing.T) {
	t.Parallel()
	s := repoRecipes(t)
	r, err := s.ByName("sglang-disagg-mi355x")
	require.NoError(t, err)
	// Two prefill workers of tp 4 share node 0 (8 GPUs per node); one decode worker of
	// tp 16 spans nodes 1 and 2.
	v := mnValues(Side{NumWorkers: 2, TP: 4, EP: 1, GPUs: 8, Nodes: 1}, Side{NumWorkers: 1, TP: 16, EP: 16, GPUs: 16, Nodes: 2}, 8)
	v.Settings["DECODE_MTP_SIZE"] = "2"
	out, p := renderPlan(t, r, v)
	assert.Equal(t, []string{"/agent", "disagg", "--plan", "/workspace/" + PlanFile}, out.Argv)
	assert.Equal(t, 3, out.Nodes)
	assert.Equal(t, 3, p.Nodes)
	require.Len(t, p.Processes, 5) // router, 2 prefill, 2 ranks of the decode worker
	router := p.Processes[0]
	assert.Equal(t, disagg.RoleFrontend, router.Role)
	assert.Equal(t, []string{"python3", "-m", "sglang_router.launch_router", "--pd-disaggregation", "--host=0.0.0.0", "--port=8888",
		"--prefill=http://<node:0>:30000", "--prefill=http://<node:0>:30001", "--decode=http://<node:1>:31000"}, router.Argv)
	pre1 := p.Processes[2]
	assert.Equal(t, disagg.Slot{Role: disagg.RolePrefill, Index: 1, NNodes: 1, Devices: "4,5,6,7"}, pre1.Slot)
	assert.Contains(t, pre1.Argv, "--port=30001")
	assert.Contains(t, pre1.Argv, "--dist-init-addr=<node:0>:29501")
	assert.Contains(t, pre1.Argv, "--disaggregation-ib-device=rdma0")
	assert.NotContains(t, strings.Join(pre1.Argv, " "), "--ep-size", "ep 1 adds no flag")
	dec := p.Processes[4]
	assert.Equal(t, disagg.Slot{Role: disagg.RoleDecode, Node: 2, Rank: 1, NNodes: 2, Head: 1}, dec.Slot)
	for _, a := range []string{"--nnodes=2", "--node-rank=1", "--dist-init-addr=<node:1>:29600", "--ep-size=16",
		"--speculative-algorithm=NEXTN", "--speculative-num-steps=2"} {
		assert.Contains(t, dec.Argv, a)
	}
}

func TestDeploymentEnvAndFrontendPrograms(t *testing.T) {
	t.Parallel()
	s := repoRecipes(t)
	r, err := s.ByName("dynamo-trt-disagg")
	require.NoError(t, err)
	v := mnValues(Side{NumWorkers: 1, TP: 4, EP: 4, GPUs: 4, Nodes: 1}, Side{NumWorkers: 1, TP: 4, EP: 4, GPUs: 4, Nodes: 1}, 4)
	_, p := renderPlan(t, r, v)
	var front []string
	for _, pr := range p.Processes {
		assert.Contains(t, pr.Env, "ETCD_ENDPOINTS=http://<node:0>:2379", "%s worker %d", pr.Role, pr.Index)
		if pr.Role == disagg.RoleFrontend {
			front = append(front, pr.Argv[0])
		}
	}
	assert.Equal(t, []string{"etcd", "nats-server", "python3"}, front)
	assert.Contains(t, p.Processes[3].Argv, "--extra-engine-args=recipes/x.yaml")
}

func TestDeploymentCoLocatedSimulator(t *testing.T) {
	t.Parallel()
	s := repoRecipes(t)
	r, err := s.ByName("sim-disagg")
	require.NoError(t, err)
	v := mnValues(Side{NumWorkers: 1, TP: 1, EP: 1, GPUs: 1, Nodes: 1}, Side{NumWorkers: 2, TP: 1, EP: 1, GPUs: 2, Nodes: 1}, 8)
	v.Agent, v.Workdir, v.Model, v.Port = "/bin/agent", "/out", "m", 9000
	out, p := renderPlan(t, r, v)
	assert.Equal(t, 1, out.Nodes)
	assert.Equal(t, 0, out.GPUs)
	var argv []string
	for _, pr := range p.Processes {
		assert.Equal(t, 0, pr.Node)
		assert.Empty(t, pr.Devices, "a launch without GPUs sets no devices")
		argv = append(argv, strings.Join(pr.Argv[:5], " "))
	}
	assert.Equal(t, []string{
		"/bin/agent serve-sim --host=127.0.0.1 --port=9000 --model=m",
		"/bin/agent serve-sim --host=127.0.0.1 --port=0 --model=m-prefill-0",
		"/bin/agent serve-sim --host=127.0.0.1 --port=0 --model=m-decode-0",
		"/bin/agent serve-sim --host=127.0.0.1 --port=0 --model=m-decode-1",
	}, argv)
	assert.Equal(t, []string{"/bin/agent", "disagg", "--plan", "/out/" + PlanFile}, out.Argv)

	// The plan does not depend on the concurrency, so one deployment serves every point.
	v2 := v
	v2.Conc = 7
	out2, _ := renderPlan(t, r, v2)
	assert.Equal(t, out.Fingerprint(), out2.Fingerprint())
	v2.Decode.NumWorkers = 3
	out3, _ := renderPlan(t, r, v2)
	assert.NotEqual(t, out.Fingerprint(), out3.Fingerprint(), "a different layout is a different launch")
}

func TestDeploymentValidation(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, yaml string
		want       []string
	}{
		{"needs multinode", `
  - name: d
    match: {framework: x}
    deployment: {frontend: [{argv: [a]}], prefill: {argv: [b]}, decode: {argv: [c]}}`, []string{`recipe "d": deployment needs multinode: true`}},
		{"no command beside it", `
  - name: d
    match: {framework: x}
    multinode: true
    command: [bash, launch.sh]
    deployment: {frontend: [{argv: [a]}], prefill: {argv: [b]}, decode: {argv: [c]}}`, []string{"runs under the agent's own launcher: remove command"}},
		{"every missing part at once", `
  - name: d
    match: {framework: x}
    multinode: true
    deployment: {env: {"1X": y}, prefill: {argv: [b], env: {"bad-key": z}}}`, []string{
			"deployment.frontend: list at least", "deployment.decode: argv is required", `deployment.prefill: env key "bad-key"`, `deployment.env: key "1X"`}},
		{"template errors are found at load time", `
  - name: d
    match: {framework: x}
    multinode: true
    deployment: {frontend: [{argv: [a]}], prefill: {argv: ["{{.Worker.Nope}}"]}, decode: {argv: [c]}}`, []string{"deployment prefill worker 0", "Nope"}},
		{"argv that renders empty", `
  - name: d
    match: {framework: x}
    multinode: true
    deployment: {frontend: [{argv: ["{{if false}}x{{end}}"]}], prefill: {argv: [b]}, decode: {argv: [c]}}`, []string{"renders empty"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("r.yaml", []byte("recipes:"+tt.yaml+"\n"))
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Contains(t, err.Error(), "r.yaml:2:5", "positioned")
		})
	}
}

func TestDeploymentLayoutErrorsSayWhatDoesNotFit(t *testing.T) {
	t.Parallel()
	s := repoRecipes(t)
	r, err := s.ByName("dynamo-sglang-disagg")
	require.NoError(t, err)
	v := mnValues(Side{NumWorkers: 3, TP: 8, EP: 8, GPUs: 24, Nodes: 2}, Side{NumWorkers: 1, TP: 8, EP: 8, GPUs: 8, Nodes: 1}, 8)
	_, err = r.Render(v, "img")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "prefill: 3 worker(s) of tp 8 span 1 node(s) each")
	// The plan file round-trips through JSON exactly as the launcher reads it.
	v.Prefill = Side{NumWorkers: 2, TP: 8, EP: 8, GPUs: 16, Nodes: 2}
	out, p := renderPlan(t, r, v)
	var again disagg.Plan
	require.NoError(t, json.Unmarshal([]byte(out.Files[PlanFile]), &again))
	assert.Equal(t, *p, again)
}
