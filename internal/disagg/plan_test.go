package disagg

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func twoNodePlan() *Plan {
	return &Plan{Nodes: 2, Processes: []Process{
		{Slot: Slot{Role: RoleFrontend, NNodes: 1}, Argv: []string{"router", "--prefill=http://" + HostRef(0) + ":30000", "--decode=http://" + HostRef(1) + ":30001"}},
		{Slot: Slot{Role: RolePrefill, NNodes: 1, Devices: "0,1"}, Argv: []string{"srv", "--dist-init-addr=" + HostRef(0) + ":29500"},
			Env: []string{"ETCD=http://" + HostRef(0) + ":2379"}},
		{Slot: Slot{Role: RoleDecode, Node: 1, NNodes: 1, Head: 1}, Argv: []string{"srv", "--decode"}},
	}}
}

func TestPlanForNode(t *testing.T) {
	t.Parallel()
	p := twoNodePlan()
	hosts := []string{"gb-01", "gb-02"}
	n0, err := p.ForNode(0, hosts)
	require.NoError(t, err)
	require.Len(t, n0, 2)
	assert.Equal(t, []string{"router", "--prefill=http://gb-01:30000", "--decode=http://gb-02:30001"}, n0[0].Argv)
	assert.Equal(t, []string{"srv", "--dist-init-addr=gb-01:29500"}, n0[1].Argv)
	assert.Equal(t, []string{"HEAD_NODE=gb-01", "WORKER_INDEX=0", "WORKER_RANK=0", "WORKER_NNODES=1", "WORKER_HEAD=gb-01",
		"CUDA_VISIBLE_DEVICES=0,1", "ETCD=http://gb-01:2379"}, n0[1].Env)
	n1, err := p.ForNode(1, hosts)
	require.NoError(t, err)
	require.Len(t, n1, 1)
	assert.Equal(t, RoleDecode, n1[0].Role)
	assert.Contains(t, n1[0].Env, "WORKER_HEAD=gb-02")
	assert.Equal(t, twoNodePlan(), p, "ForNode must not change the plan")
}

func TestPlanForNodeRejectsAnotherAllocation(t *testing.T) {
	t.Parallel()
	p := twoNodePlan()
	_, err := p.ForNode(0, []string{"only-one"})
	require.ErrorContains(t, err, "the plan is for 2 node(s), the allocation has 1 (only-one)")
	_, err = p.ForNode(2, []string{"a", "b"})
	require.ErrorContains(t, err, "node id 2 is outside the 2-node allocation")
}

func TestParsePlan(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(twoNodePlan())
	require.NoError(t, err)
	p, err := ParsePlan(b)
	require.NoError(t, err)
	assert.Equal(t, twoNodePlan(), p)

	for _, tt := range []struct{ name, json, want string }{
		{"not JSON", `{`, "deployment plan"},
		{"unknown field", `{"nodes":1,"procs":[]}`, "unknown field"},
		{"no nodes", `{"nodes":0}`, "0 nodes"},
		{"empty command", `{"nodes":1,"processes":[{"role":"decode","argv":[]}]}`, "empty command"},
		{"node outside", `{"nodes":1,"processes":[{"role":"decode","node":1,"argv":["x"]}]}`, "node 1 (head 0) outside"},
		{"host reference outside", `{"nodes":1,"processes":[{"role":"decode","argv":["x","<node:3>"]}]}`, "<node:3> names a node outside"},
		{"bad env", `{"nodes":1,"processes":[{"role":"decode","argv":["x"],"env":["NOVALUE"]}]}`, `"NOVALUE" is not KEY=VALUE`},
	} {
		_, err := ParsePlan([]byte(tt.json))
		require.Error(t, err, tt.name)
		assert.Contains(t, err.Error(), tt.want, tt.name)
	}
}
