package local

import (
	"context"
	"errors"
	"fmt"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/execx"
)

var _ engine.Execer = (*proc)(nil)

// Exec implements engine.Execer: a plain process in the server's working directory with
// the server's environment plus env.
func (p *proc) Exec(ctx context.Context, argv, env []string) (engine.ExecResult, error) {
	if len(argv) == 0 {
		return engine.ExecResult{ExitCode: -1}, errors.New("local exec: empty command")
	}
	// The server's environment (Config.Environ, the agent's, then the launch's), then env.
	full := append(append(append([]string{}, p.b.cfg.Environ...), p.Launch.Env...), env...)
	if len(full) == 0 {
		full = nil // inherit, as the server did
	}
	res, err := p.b.cfg.Exec.Run(ctx, execx.Cmd{Name: argv[0], Args: argv[1:], Dir: p.Launch.Workdir, Env: full, KillGrace: p.b.cfg.StopGrace})
	out := engine.ExecResult{Stdout: res.Stdout, Stderr: res.Stderr, ExitCode: res.ExitCode}
	var ee *execx.ExitError
	if err != nil && !errors.As(err, &ee) {
		return out, fmt.Errorf("local exec %s: %w", argv[0], err)
	}
	return out, nil
}
