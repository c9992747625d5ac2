package slurm

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/execx"
)

// Exec runs an overlapping one-task step on the server's node: in the launch's named pyxis
// container (same mounts and workdir) for container launches, in the server's working
// directory otherwise; the environment is the agent's plus the launch's plus the command's.
func TestExec(t *testing.T) {
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
			b := New(Config{Runner: c, Starter: c, Environ: []string{"PATH=/bin"}, SquashDir: squash,
				Container: Container{RemapRoot: true, Writable: true}, StopGrace: 1})
			s := spec(dir)
			s.Env = []string{"TP=8"}
			if !tc.image {
				s.Image = ""
			}
			srv, err := b.Start(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			res, err := srv.(engine.Execer).Exec(context.Background(), []string{"/agent", "eval", "--result-dir", "/workspace/eval_work-1/out"}, []string{"OPENAI_API_KEY=k"})
			if err != nil {
				t.Fatalf("a non-zero exit is not an error: %v", err)
			}
			if string(res.Stdout) != "out" || string(res.Stderr) != "err" || res.ExitCode != 3 {
				t.Errorf("result %+v", res)
			}
			want := strings.NewReplacer("SQ", SquashPath(squash, s.Image), "DIR", dir).Replace(tc.wantArgv)
			if got := seen.String(); got != want {
				t.Errorf("exec step\n got %s\nwant %s", got, want)
			}
			if got := strings.Join(seen.Env, " "); got != "PATH=/bin TP=8 OPENAI_API_KEY=k" {
				t.Errorf("env %q", got)
			}
		})
	}
}

func TestExecSrunMissing(t *testing.T) {
	c := newCluster(t)
	srv, err := c.backend("").Start(context.Background(), spec(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	// no rule answers the overlap step: the fake reports "not found", as a host without srun
	res, err := srv.(engine.Execer).Exec(context.Background(), []string{"true"}, nil)
	if err == nil || !errors.Is(err, execx.ErrNotFound) || res.ExitCode != -1 {
		t.Fatalf("res %+v err %v", res, err)
	}
	if _, err := srv.(engine.Execer).Exec(context.Background(), nil, nil); err == nil {
		t.Error("empty argv accepted")
	}
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
		if cmd.String() != tc.want || n != tc.nodes {
			t.Errorf("%s: %s on %d nodes, want %s on %d", tc.name, cmd, n, tc.want, tc.nodes)
		}
		if strings.Join(cmd.Env, " ") != "A=1" {
			t.Errorf("%s: env %q", tc.name, cmd.Env)
		}
	}
}
