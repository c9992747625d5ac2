package slurm

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/execx"

	_ "github.com/inferbench/inferbench/internal/testkit" // defines -update, so `go test ./... -update` runs here too
)

// Exec runs an overlapping one-task step on the server's node: in the launch's named pyxis
// container (same mounts and workdir) for container launches, in the server's working
// directory otherwise; the environment is the agent's plus the launch's plus the command's.
func TestExec(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		image    bool
		squash   bool
		wantArgv string
	}{
		{"pyxis container from the squash cache", true, true,
			"srun --jobid=42 --overlap --nodes=1 --ntasks=1 --nodelist=gpu-7 --export=ALL --container-image=SQ --container-name=inferbench-run1-1 " +
				"--container-mounts=DIR:/workspace,/raid/hf:/mnt/hf:ro --container-workdir=/workspace --no-container-entrypoint " +
				"--no-container-mount-home --container-remap-root --container-writable /agent eval --result-dir /workspace/eval_work-1/out"},
		{"no container", false, false,
			"srun --jobid=42 --overlap --nodes=1 --ntasks=1 --nodelist=gpu-7 --export=ALL --chdir=/workspace /agent eval --result-dir /workspace/eval_work-1/out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, squash := t.TempDir(), ""
			if tc.squash {
				squash = t.TempDir()
			}
			c := newCluster(t)
			var seen execx.Cmd
			c.OnFunc([]string{"srun", "--jobid=42", "--overlap", "--nodes=1"}, func(_ context.Context, cmd execx.Cmd) (execx.Result, error) {
				seen = cmd
				return execx.Result{Stdout: []byte("out"), Stderr: []byte("err"), ExitCode: 3}, &execx.ExitError{Cmd: cmd, ExitCode: 3}
			})
			b := New(Config{Exec: c, Starter: c, Environ: []string{"PATH=/bin"}, SquashDir: squash,
				Container: Container{RemapRoot: true, Writable: true}, StopGrace: 1})
			s := spec(dir)
			s.Env = []string{"TP=8"}
			if !tc.image {
				s.Image = ""
			}
			srv, err := b.Start(context.Background(), s)
			require.NoError(t, err)
			res, err := srv.(engine.Execer).Exec(context.Background(), []string{"/agent", "eval", "--result-dir", "/workspace/eval_work-1/out"}, []string{"OPENAI_API_KEY=k"})
			require.NoError(t, err, "a non-zero exit")
			assert.Equal(t, "out", string(res.Stdout), "result")
			assert.Equal(t, "err", string(res.Stderr), "result")
			assert.Equal(t, 3, res.ExitCode, "result")
			want := strings.NewReplacer("SQ", SquashPath(squash, s.Image), "DIR", dir).Replace(tc.wantArgv)
			assert.Equal(t, want, seen.String(), "exec step")
			assert.Equal(t, "PATH=/bin TP=8 OPENAI_API_KEY=k", strings.Join(seen.Env, " "), "env")
		})
	}
}

func TestExecSrunMissing(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	srv, err := c.backend("").Start(context.Background(), spec(t.TempDir()))
	require.NoError(t, err)
	// no rule answers the overlap step: the fake reports "not found", as a host without srun
	res, err := srv.(engine.Execer).Exec(context.Background(), []string{"true"}, nil)
	require.Error(t, err)
	require.ErrorIs(t, err, execx.ErrNotFound)
	require.Equal(t, -1, res.ExitCode)
	_, err = srv.(engine.Execer).Exec(context.Background(), nil, nil)
	assert.Error(t, err, "empty argv accepted")
}

// OnEveryNode runs a command once per node of the launch, outside any container, with the
// launch's GPUs and task labels, so the power sampler reads every node of a deployment.
func TestOnEveryNode(t *testing.T) {
	t.Parallel()
	b := New(Config{Environ: []string{"A=1"}})
	for _, tc := range []struct {
		name  string
		spec  engine.Spec
		want  string
		nodes int
	}{
		{"one node", engine.Spec{GPUs: 8, Image: "img"},
			"srun --jobid=42 --overlap --nodes=1 --ntasks-per-node=1 --label --export=ALL --gres=gpu:8 nvidia-smi --loop-ms=100", 1},
		{"a four-node deployment", engine.Spec{GPUs: 4, Nodes: 4},
			"srun --jobid=42 --overlap --nodes=4 --ntasks-per-node=1 --label --export=ALL --gres=gpu:4 nvidia-smi --loop-ms=100", 4},
		{"no GPUs (the simulator)", engine.Spec{},
			"srun --jobid=42 --overlap --nodes=1 --ntasks-per-node=1 --label --export=ALL nvidia-smi --loop-ms=100", 1},
	} {
		j := &job{b: b, id: "42", Handle: engine.NewHandle(tc.spec)}
		cmd, n := j.OnEveryNode([]string{"nvidia-smi", "--loop-ms=100"})
		assert.Equal(t, tc.want, cmd.String(), "%s", tc.name)
		assert.Equal(t, tc.nodes, n, "%s", tc.name)
		assert.Equal(t, "A=1", strings.Join(cmd.Env, " "), "%s: env", tc.name)
	}
}
