package runner

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/recipe"
)

// TestDisaggLauncherRoles runs the repository's disaggregated launcher (the script every
// multinode recipe writes) once per node of a fake 4-node allocation with 4 GPUs per node:
// 3 prefill workers of tp 2 (6 GPUs, 2 nodes) and 1 decode worker of tp 8 (2 nodes). Each
// node must start exactly its share: narrow workers packed onto a node with their own
// devices, the wide worker spanning two nodes with ranks, the frontend on the head node.
func TestDisaggLauncherRoles(t *testing.T) {
	set, err := recipe.LoadFile(filepath.Join("..", "..", "configs", "recipes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := set.ByName("dynamo-trt-disagg")
	if err != nil {
		t.Fatal(err)
	}
	rend, err := rec.Render(recipe.SampleValues(), "img")
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "launch.sh")
	if err := os.WriteFile(script, []byte(rend.Files["disagg-launch.sh"]), 0o755); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"0": {"frontend worker 0 (rank 0 of 1, head n01)", "prefill worker 0 (rank 0 of 1, head n01, gpus 0,1)", "prefill worker 1 (rank 0 of 1, head n01, gpus 2,3)"},
		"1": {"prefill worker 2 (rank 0 of 1, head n02, gpus 0,1)"},
		"2": {"decode worker 0 (rank 0 of 2, head n03)"},
		"3": {"decode worker 0 (rank 1 of 2, head n03)"},
	}
	role := regexp.MustCompile(`inferbench-disagg: node \d+: (.*)`)
	for node, roles := range want {
		env := []string{"PATH=" + os.Getenv("PATH"), "SLURM_JOB_NODELIST=n[01-04]", "SLURM_NODEID=" + node, "GPUS_PER_NODE=4",
			"PREFILL_NUM_WORKERS=3", "PREFILL_TP=2", "PREFILL_NODES=2", "DECODE_NUM_WORKERS=1", "DECODE_TP=8", "DECODE_NODES=2",
			`FRONTEND_CMD=echo "ran frontend on $HEAD_NODE"; sleep 0.3`,
			`PREFILL_CMD=echo "ran prefill $WORKER_INDEX on ${CUDA_VISIBLE_DEVICES:-all}"; sleep 0.3`,
			`DECODE_CMD=echo "ran decode $WORKER_INDEX rank $WORKER_RANK/$WORKER_NNODES via $WORKER_HEAD"; sleep 0.3`}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		res, _ := execx.OS{}.Run(ctx, execx.Cmd{Name: "bash", Args: []string{script}, Env: env})
		cancel()
		out := string(res.Stdout) + string(res.Stderr)
		var got []string
		for _, m := range role.FindAllStringSubmatch(out, -1) {
			got = append(got, m[1])
		}
		sort.Strings(got)
		if strings.Join(got, "\n") != strings.Join(roles, "\n") {
			t.Errorf("node %s started\n  %s\nwant\n  %s\noutput:\n%s", node, strings.Join(got, "\n  "), strings.Join(roles, "\n  "), out)
		}
		// The commands ran with their worker's environment; the first one to end stops the node.
		for _, w := range map[string][]string{"0": {"ran frontend on n01", "ran prefill 1 on 2,3"}, "1": {"ran prefill 2 on 0,1"},
			"2": {"ran decode 0 rank 0/2 via n03"}, "3": {"ran decode 0 rank 1/2 via n03"}}[node] {
			if !strings.Contains(out, w) {
				t.Errorf("node %s: output lacks %q:\n%s", node, w, out)
			}
		}
		if res.ExitCode == 0 || !strings.Contains(out, "FATAL: inferbench-disagg: a deployment component on node "+node+" exited") {
			t.Errorf("node %s: exit %d; a component ending must end the node's launcher with a failure:\n%s", node, res.ExitCode, out)
		}
	}
}
