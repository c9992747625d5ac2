// Package local runs an engine server as a plain process on this machine: the simulator,
// or an engine installed on the host. The process gets its own process group so stopping
// it reaches every child it started, and every process of the server carries the launch's
// token in its environment, so children that left the group (setsid, daemonising launchers)
// are found and stopped too.
package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/procfs"
)

// Config tunes the backend.
type Config struct {
	// Starter starts processes; nil means execx.OS{}.
	Starter execx.Starter
	// Exec runs the short commands of Exec; nil means execx.OS{}.
	Exec execx.Executor
	// Environ is the environment the server inherits (the agent's own, handed down from
	// main); Spec.Env is appended to it.
	Environ []string
	// StopGrace is the time between SIGTERM and SIGKILL; zero means 10s.
	StopGrace time.Duration
	// Proc is the /proc the backend tracks processes in; zero means the host's.
	Proc procfs.FS
}

// Backend starts local processes.
type Backend struct {
	cfg Config

	mu    sync.Mutex
	procs map[string][]*proc // by run id, for Cleanup
}

var (
	_ engine.Backend = (*Backend)(nil)
	_ engine.Reaper  = (*Backend)(nil)
	_ engine.Checker = (*proc)(nil)
)

// New returns a local backend.
func New(cfg Config) *Backend {
	if cfg.Starter == nil {
		cfg.Starter = execx.OS{}
	}
	if cfg.Exec == nil {
		cfg.Exec = execx.OS{}
	}
	if cfg.StopGrace == 0 {
		cfg.StopGrace = 10 * time.Second
	}
	if cfg.Proc.Root == "" {
		cfg.Proc = procfs.Host
	}
	return &Backend{cfg: cfg, procs: map[string][]*proc{}}
}

// Name implements engine.Backend.
func (b *Backend) Name() string { return "local" }

// Describe implements engine.Describer: the process, its directory and the environment
// added to the agent's.
func (b *Backend) Describe(s engine.Spec) any {
	return map[string]any{"kind": "local", "argv": s.Argv, "dir": s.Workdir, "env": s.Env, "log": s.LogPath}
}

// Start implements engine.Backend.
func (b *Backend) Start(ctx context.Context, s engine.Spec) (engine.Server, error) {
	if len(s.Argv) == 0 {
		return nil, errors.New("local backend: empty command")
	}
	if s.Nodes > 1 {
		return nil, fmt.Errorf("local backend runs on this machine only, the launch needs %d nodes: use a slurm runner family for multi-node deployments", s.Nodes)
	}
	if s.CheckPort != nil {
		if err := s.CheckPort(ctx, "127.0.0.1"); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("server log: %w", err)
	}
	f.Close()
	// The process outlives the request context of Start; Stop ends it.
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	env := append(append([]string{}, b.cfg.Environ...), s.Env...)
	if len(b.cfg.Environ) == 0 && len(s.Env) == 0 {
		env = nil
	}
	argv := engine.LogRedirect(s.LogPath, s.Argv)
	cmd := execx.Cmd{Name: argv[0], Args: argv[1:], Env: env, Dir: s.Workdir, KillGrace: b.cfg.StopGrace}
	p, err := b.cfg.Starter.Start(pctx, cmd)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("start %s: %w", s.Argv[0], err)
	}
	pr := &proc{b: b, p: p, Handle: engine.NewHandle(s), cancel: cancel}
	pr.Desc = engine.Info{Backend: "local", ID: fmt.Sprint(p.Pid()), Name: s.Name, Host: "127.0.0.1"}
	go pr.wait()
	b.mu.Lock()
	b.procs[s.RunID] = append(b.procs[s.RunID], pr)
	b.mu.Unlock()
	return pr, nil
}

// Cleanup implements engine.Backend: processes live and die with the agent, so the only
// ones left are those this backend value started for runID.
func (b *Backend) Cleanup(ctx context.Context, runID string) error {
	b.mu.Lock()
	ps := b.procs[runID]
	delete(b.procs, runID)
	b.mu.Unlock()
	var errs []error
	for _, p := range ps {
		errs = append(errs, p.Stop(ctx))
	}
	return errors.Join(errs...)
}

type proc struct {
	b *Backend
	p execx.Process
	engine.Handle
	cancel context.CancelFunc

	stopOnce sync.Once
}

func (p *proc) wait() {
	defer close(p.Finished)
	res, err := p.p.Wait()
	p.Result = engine.Exit{Code: res.ExitCode, At: time.Now()}
	if err != nil && res.ExitCode < 0 {
		p.Result.Reason = err.Error()
	}
}

// Stop implements engine.Server: SIGTERM to the process group and to every process that
// carries the launch's token (children that left the group with setsid), then SIGKILL to
// whatever is left once the leader exited or the grace ran out.
func (p *proc) Stop(ctx context.Context) error {
	p.stopOnce.Do(func() {
		defer p.killMarked(syscall.SIGKILL)
		defer func() { _ = p.p.Signal(syscall.SIGKILL) }()
		p.killMarked(syscall.SIGTERM)
		select {
		case <-p.Finished:
			return
		default:
		}
		_ = p.p.Signal(syscall.SIGTERM)
		t := time.NewTimer(p.b.cfg.StopGrace)
		defer t.Stop()
		select {
		case <-p.Finished:
		case <-t.C:
			_ = p.p.Signal(syscall.SIGKILL)
			p.cancel()
		case <-ctx.Done():
			_ = p.p.Signal(syscall.SIGKILL)
			p.cancel()
		}
		<-p.Finished
		p.cancel()
	})
	return nil
}

// killMarked signals the processes that carry this launch's token. With SIGKILL it waits
// (briefly) until they are gone, so nothing of the server outlives Stop.
func (p *proc) killMarked(sig syscall.Signal) {
	if p.Launch.Token == "" {
		return
	}
	for range 50 {
		pids := p.b.marked(p.Launch.Token)
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, sig)
		}
		if sig != syscall.SIGKILL {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// marked lists the live processes that carry token (zombies are already dead).
func (b *Backend) marked(token string) []int {
	var out []int
	for _, pid := range b.cfg.Proc.WithEnv(engine.EnvLaunch, token) {
		if pid == os.Getpid() {
			continue
		}
		if pr, err := b.cfg.Proc.Read(pid); err == nil && !pr.Zombie {
			out = append(out, pid)
		}
	}
	return out
}

// Alive implements engine.Checker.
func (p *proc) Alive(context.Context) error {
	select {
	case <-p.Finished:
		return fmt.Errorf("process %s has exited (%s)", p.Desc.ID, p.Result)
	default:
		return nil
	}
}

// Reap implements engine.Reaper: processes that carry an owner record of an agent that is
// provably gone are killed with every process of their launch. Processes of live agents
// and those this user cannot read are left alone.
func (b *Backend) Reap(_ context.Context, self string) ([]string, error) {
	me, err := procfs.ParseOwner(self)
	if err != nil {
		return nil, err
	}
	pids, err := b.cfg.Proc.Pids()
	if err != nil {
		return nil, err
	}
	var lines []string
	done := map[string]bool{}
	for _, pid := range pids {
		owner, ok, err := b.cfg.Proc.Getenv(pid, engine.EnvOwner)
		if err != nil || !ok || owner == self {
			continue
		}
		o, err := procfs.ParseOwner(owner)
		if err != nil {
			continue
		}
		gone, why := b.cfg.Proc.Gone(o, me)
		if !gone {
			continue
		}
		token, _, _ := b.cfg.Proc.Getenv(pid, engine.EnvLaunch)
		if token == "" || done[token] {
			continue
		}
		done[token] = true
		for _, victim := range b.marked(token) {
			desc := fmt.Sprintf("pid %d", victim)
			if pr, err := b.cfg.Proc.Read(victim); err == nil {
				desc = pr.Describe()
			}
			if err := syscall.Kill(victim, syscall.SIGKILL); err == nil {
				lines = append(lines, fmt.Sprintf("killed leftover engine process %s: %s", desc, why))
			}
		}
	}
	return lines, nil
}
