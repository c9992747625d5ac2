package eval

import (
	"bytes"
	"context"
	"fmt"

	"github.com/inferbench/inferbench/internal/execx"
)

// ExecFunc runs argv where the engine runs (the engine backend's Exec: docker exec, srun
// --overlap into the job's container, a local process), with env added to the engine's
// environment. A command that ran reports its exit code with a nil error.
type ExecFunc func(ctx context.Context, argv, env []string) (stdout, stderr []byte, exitCode int, err error)

var _ execx.Executor = ExecFunc(nil)

// Run implements execx.Executor on top of the exec, with execx's contract: a non-zero exit
// is an *execx.ExitError carrying the output. Cmd.Env is taken as additions to the engine's
// environment (not the whole environment, as for local processes); Cmd.Dir and Cmd.Stdin
// are not supported by every backend and are refused. Output reaches Cmd.Stdout and
// Cmd.Stderr once the command ended.
func (f ExecFunc) Run(ctx context.Context, c execx.Cmd) (execx.Result, error) {
	if c.Dir != "" || c.Stdin != nil {
		return execx.Result{ExitCode: -1}, fmt.Errorf("%s: a working directory or standard input cannot be given to a command in the engine's environment", c.String())
	}
	stdout, stderr, code, err := f(ctx, append([]string{c.Name}, c.Args...), c.Env)
	res := execx.Result{Stdout: stdout, Stderr: stderr, ExitCode: code}
	if c.Stdout != nil {
		_, _ = c.Stdout.Write(stdout)
	}
	if c.Stderr != nil {
		_, _ = c.Stderr.Write(stderr)
	}
	if err != nil {
		res.ExitCode = -1
		return res, fmt.Errorf("%s: %w", c.String(), err)
	}
	if code != 0 {
		return res, &execx.ExitError{Cmd: c, ExitCode: code, Stderr: string(bytes.TrimSpace(stderr))}
	}
	return res, nil
}
