package slurm

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/execx"
)

var _ engine.Execer = (*job)(nil)

// ExecArgs is the srun command line (after "srun") of a command run beside the server step:
// an overlapping step of one task on the server's (first) node, inside the step's named
// pyxis container with the same mounts and working directory when the server runs in one.
func (b *Backend) ExecArgs(jobID, node string, s engine.Spec, image string, argv []string) []string {
	a := []string{"--jobid=" + jobID, "--overlap", "--nodes=1", "--ntasks=1"}
	if node != "" {
		a = append(a, "--nodelist="+node)
	}
	a = append(a, "--export=ALL")
	if image != "" {
		a = append(a, b.containerArgs(s, image)...)
	} else if s.Workdir != "" {
		a = append(a, "--chdir="+s.Workdir)
	}
	return append(a, argv...)
}

// Exec implements engine.Execer with `srun --overlap` into the server's allocation: the
// server's step keeps its resources, the command shares them.
func (j *job) Exec(ctx context.Context, argv, env []string) (engine.ExecResult, error) {
	if len(argv) == 0 {
		return engine.ExecResult{ExitCode: -1}, errors.New("slurm exec: empty command")
	}
	full := append(append(append([]string{}, j.b.cfg.Environ...), j.Launch.Env...), env...)
	if len(full) == 0 {
		full = nil // inherit the agent's environment, as the server step does
	}
	cmd := execx.Cmd{Name: "srun", Args: j.b.ExecArgs(j.id, j.Desc.Node, j.Launch, j.image, argv), Env: full, KillGrace: 10 * time.Second}
	res, err := j.b.cfg.Exec.Run(ctx, cmd)
	out := engine.ExecResult{Stdout: res.Stdout, Stderr: res.Stderr, ExitCode: res.ExitCode}
	var ee *execx.ExitError
	if err != nil && !errors.As(err, &ee) {
		return out, fmt.Errorf("srun in job %s: %w", j.id, err)
	}
	return out, nil
}

var _ engine.NodeRunner = (*job)(nil)

// NodeArgs is the srun command line (after "srun") that runs argv once on every node of
// the allocation beside the server: an overlapping step, one task per node, the server's GPUs
// (so a constrained node shows them), no container, every line labelled with its task.
func (b *Backend) NodeArgs(jobID string, s engine.Spec, argv []string) []string {
	nodes := max(s.Nodes, 1)
	a := []string{"--jobid=" + jobID, "--overlap", "--nodes=" + strconv.Itoa(nodes), "--ntasks-per-node=1", "--label", "--export=ALL"}
	if s.GPUs > 0 {
		a = append(a, "--gres=gpu:"+strconv.Itoa(s.GPUs))
	}
	return append(a, argv...)
}

// OnEveryNode implements engine.NodeRunner.
func (j *job) OnEveryNode(argv []string) (execx.Cmd, int) {
	env := append(append([]string{}, j.b.cfg.Environ...), j.Launch.Env...)
	if len(env) == 0 {
		env = nil
	}
	return execx.Cmd{Name: "srun", Args: j.b.NodeArgs(j.id, j.Launch, argv), Env: env, KillGrace: 5 * time.Second}, max(j.Launch.Nodes, 1)
}
