package execx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// OS runs programs on this machine. The zero value is ready to use.
type OS struct{}

var _ Executor = OS{}
var _ Starter = OS{}

// Run implements Runner.
func (OS) Run(ctx context.Context, c Cmd) (Result, error) {
	p, err := OS{}.Start(ctx, c)
	if err != nil {
		return Result{ExitCode: -1}, err
	}
	return p.Wait()
}

// Start implements Starter: the program runs in its own process group so that cancelling
// ctx (or Signal) reaches its children too.
func (OS) Start(ctx context.Context, c Cmd) (Process, error) {
	cmd := exec.CommandContext(ctx, c.Name, c.Args...)
	cmd.Dir = c.Dir
	cmd.Env = c.Env
	cmd.Stdin = c.Stdin
	p := &osProcess{c: c, cmd: cmd}
	cmd.Stdout = tee(&p.stdout, c.Stdout)
	cmd.Stderr = tee(&p.stderr, c.Stderr)
	if c.Passthrough {
		cmd.Stdout, cmd.Stderr = c.Stdout, c.Stderr
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c.KillWithParent {
		setParentDeathSignal(cmd.SysProcAttr)
	}
	cmd.Cancel = func() error { return signalGroup(cmd.Process, syscall.SIGTERM) }
	cmd.WaitDelay = c.KillGrace
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = 5 * time.Second
	}
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("run %s: %w: %w", c.Name, ErrNotFound, err)
		}
		return nil, fmt.Errorf("run %s: %w", c.Name, err)
	}
	p.ctx = ctx
	return p, nil
}

func tee(buf *bytes.Buffer, w io.Writer) io.Writer {
	if w == nil {
		return buf
	}
	return io.MultiWriter(buf, w)
}

// signalGroup signals the whole process group started for a command.
func signalGroup(p *os.Process, sig syscall.Signal) error {
	if p == nil {
		return nil
	}
	if err := syscall.Kill(-p.Pid, sig); err != nil {
		return p.Signal(sig)
	}
	return nil
}

type osProcess struct {
	c      Cmd
	cmd    *exec.Cmd
	ctx    context.Context
	stdout bytes.Buffer
	stderr bytes.Buffer
}

func (p *osProcess) Pid() int { return p.cmd.Process.Pid }

func (p *osProcess) Signal(sig os.Signal) error {
	if s, ok := sig.(syscall.Signal); ok {
		return signalGroup(p.cmd.Process, s)
	}
	return p.cmd.Process.Signal(sig)
}

func (p *osProcess) Wait() (Result, error) {
	err := p.cmd.Wait()
	res := Result{Stdout: p.stdout.Bytes(), Stderr: p.stderr.Bytes(), ExitCode: -1}
	if p.cmd.ProcessState != nil {
		res.ExitCode = p.cmd.ProcessState.ExitCode()
	}
	if ctxErr := p.ctx.Err(); ctxErr != nil && err != nil {
		return res, fmt.Errorf("%s: %w", p.c.String(), ctxErr)
	}
	if err == nil {
		return res, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if res.ExitCode < 0 {
			return res, fmt.Errorf("%s: %w", p.c.String(), err)
		}
		return res, &ExitError{Cmd: p.c, ExitCode: res.ExitCode, Stderr: string(res.Stderr)}
	}
	return res, fmt.Errorf("%s: %w", p.c.String(), err)
}

// LookPath reports where name would be found in PATH (for skipping tests and for
// messages; Run does its own lookup).
func LookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	return p, nil
}
