package execx

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
)

// Fake is an Executor and Starter for tests: it records every command and answers from rules
// (first match wins) or, failing that, from Default. A command no rule matches and with no
// Default fails with ErrNotFound, so a test notices calls it did not expect.
type Fake struct {
	// Default answers commands no rule matches; nil means "not found".
	Default func(ctx context.Context, c Cmd) (Result, error)

	mu    sync.Mutex
	rules []fakeRule
	calls []Cmd
}

type fakeRule struct {
	argv []string
	fn   func(ctx context.Context, c Cmd) (Result, error)
}

var _ Executor = (*Fake)(nil)
var _ Starter = (*Fake)(nil)

// On answers commands whose argv (Name then Args) starts with prefix with the given output
// and exit code. A non-zero code makes Run return an *ExitError as the OS runner would.
func (f *Fake) On(prefix []string, stdout string, exitCode int) {
	f.OnFunc(prefix, func(context.Context, Cmd) (Result, error) {
		return Result{Stdout: []byte(stdout), ExitCode: exitCode}, nil
	})
}

// OnFunc answers commands whose argv starts with prefix by calling fn.
func (f *Fake) OnFunc(prefix []string, fn func(ctx context.Context, c Cmd) (Result, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, fakeRule{argv: slices.Clone(prefix), fn: fn})
}

// Calls returns the commands run so far, in order.
func (f *Fake) Calls() []Cmd {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// CallLines returns the commands run so far rendered with Cmd.String, handy for asserts.
func (f *Fake) CallLines() []string {
	var out []string
	for _, c := range f.Calls() {
		out = append(out, c.String())
	}
	return out
}

// Run implements Runner.
func (f *Fake) Run(ctx context.Context, c Cmd) (Result, error) {
	f.mu.Lock()
	f.calls = append(f.calls, c)
	fn := f.Default
	argv := append([]string{c.Name}, c.Args...)
	for _, r := range f.rules {
		if len(argv) >= len(r.argv) && slices.Equal(argv[:len(r.argv)], r.argv) {
			fn = r.fn
			break
		}
	}
	f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return Result{ExitCode: -1}, fmt.Errorf("%s: %w", c.String(), err)
	}
	if fn == nil {
		return Result{ExitCode: -1}, fmt.Errorf("run %s: %w (fake has no rule for %q)", c.Name, ErrNotFound, strings.Join(argv, " "))
	}
	res, err := fn(ctx, c)
	if c.Stdout != nil {
		_, _ = c.Stdout.Write(res.Stdout)
	}
	if c.Stderr != nil {
		_, _ = c.Stderr.Write(res.Stderr)
	}
	if err == nil && res.ExitCode != 0 {
		err = &ExitError{Cmd: c, ExitCode: res.ExitCode, Stderr: string(res.Stderr)}
	}
	return res, err
}

// Start implements Starter: the answer is computed at Wait time, and Signal is recorded.
func (f *Fake) Start(ctx context.Context, c Cmd) (Process, error) {
	return &fakeProcess{f: f, ctx: ctx, c: c}, nil
}

type fakeProcess struct {
	f       *Fake
	ctx     context.Context
	c       Cmd
	mu      sync.Mutex
	signals []os.Signal
}

func (p *fakeProcess) Pid() int { return 4242 }

func (p *fakeProcess) Signal(sig os.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.signals = append(p.signals, sig)
	return nil
}

func (p *fakeProcess) Wait() (Result, error) { return p.f.Run(p.ctx, p.c) }

// ReadAllStdin is a helper for OnFunc handlers that need the command's input.
func ReadAllStdin(c Cmd) string {
	if c.Stdin == nil {
		return ""
	}
	b, _ := io.ReadAll(c.Stdin)
	return string(b)
}
