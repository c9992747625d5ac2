// Package slurm runs an engine server as a Slurm job step: salloc an allocation named
// after the run, srun the server inside it (optionally in a container through pyxis, from a
// squash file imported with enroot), scancel it when done. Every command goes through
// execx, so the enroot/pyxis paths are tested with a fake runner.
package slurm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/procfs"
)

// Container holds the pyxis flags for container launches.
type Container struct {
	MountHome bool
	RemapRoot bool
	Writable  bool
}

// Config tunes the backend; most of it comes from the runner inventory.
type Config struct {
	Exec    execx.Executor
	Starter execx.Starter
	// Environ is the agent's environment, exported to the job step (--export=ALL).
	Environ []string

	Partition   string
	Account     string
	Exclusive   bool
	TimeLimit   string // salloc --time, e.g. "180"
	CPUsPerTask int
	// Immediate bounds how long salloc waits for resources (seconds); 0 means the
	// allocation may queue until ctx ends. An unsatisfiable request otherwise queues forever.
	Immediate int
	ExtraArgs []string // appended to salloc

	Container Container
	// SquashDir caches images as squash files; empty hands the image to pyxis directly.
	SquashDir string
	// LockWait bounds the wait for another runner's import of the same image; 0 means 30m.
	LockWait time.Duration
	// StaleLock is the age after which a leftover lock file is broken; 0 means 2h.
	StaleLock time.Duration

	// ServerHost overrides the address the agent uses to reach the server (default: the
	// allocated node's name).
	ServerHost string
	// StopGrace bounds the wait for the job to leave the queue after scancel; 0 means 60s.
	StopGrace time.Duration
	// Log receives progress lines (import, lock waits); nil discards them.
	Log io.Writer
	// Owner is this agent's identity (procfs.Owner's form). When set, Cleanup cancels only
	// the jobs whose comment records this agent, never another agent's with the same run id.
	Owner string
	// Proc is where Reap judges whether a job's agent is gone; zero means the host's.
	Proc procfs.FS
}

// Backend starts Slurm job steps.
type Backend struct{ cfg Config }

var (
	_ engine.Backend = (*Backend)(nil)
	_ engine.Reaper  = (*Backend)(nil)
	_ engine.Checker = (*job)(nil)
)

// New returns a Slurm backend.
func New(cfg Config) *Backend {
	if cfg.Exec == nil {
		cfg.Exec = execx.OS{}
	}
	if cfg.Starter == nil {
		cfg.Starter = execx.OS{}
	}
	if cfg.TimeLimit == "" {
		cfg.TimeLimit = "180"
	}
	if cfg.LockWait == 0 {
		cfg.LockWait = 30 * time.Minute
	}
	if cfg.StaleLock == 0 {
		cfg.StaleLock = 2 * time.Hour
	}
	if cfg.StopGrace == 0 {
		cfg.StopGrace = 60 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.Proc.Root == "" {
		cfg.Proc = procfs.Host
	}
	return &Backend{cfg: cfg}
}

// Name implements engine.Backend.
func (b *Backend) Name() string { return "slurm" }

var grantedRE = regexp.MustCompile(`Granted job allocation (\d+)`)

// commentPrefix marks the job comment that records the launching agent.
const commentPrefix = "inferbench-agent="

// Start implements engine.Backend.
func (b *Backend) Start(ctx context.Context, s engine.Spec) (engine.Server, error) {
	if len(s.Argv) == 0 {
		return nil, errors.New("slurm backend: empty command")
	}
	id, err := b.allocate(ctx, s)
	if err != nil {
		return nil, err
	}
	j := &job{b: b, id: id, Handle: engine.NewHandle(s)}
	fail := func(err error) (engine.Server, error) {
		_ = j.cancel(context.WithoutCancel(ctx))
		return nil, err
	}
	node, err := b.node(ctx, id)
	if err != nil {
		return fail(err)
	}
	host := b.cfg.ServerHost
	if host == "" {
		host = node
	}
	j.Desc = engine.Info{Backend: "slurm", ID: id, Name: s.Name, Image: s.Image, Host: host, Node: node}
	// On the node, before anything of ours listens there: whatever answers now is foreign.
	if s.CheckPort != nil {
		if err := s.CheckPort(ctx, host); err != nil {
			return fail(err)
		}
	}
	image := ""
	if s.Image != "" {
		image = s.Image
		if b.cfg.SquashDir != "" {
			if image, err = b.ensureSquash(ctx, id, s.Image); err != nil {
				return fail(err)
			}
			j.Desc.ImageDigest = "squash:" + image
		}
	}
	if err := j.startStep(ctx, image); err != nil {
		return fail(err)
	}
	return j, nil
}

// Describe implements engine.Describer: the allocation request and the job step, with
// <jobid> standing for the granted allocation. Images are imported into the squash cache
// first when the family has one (the step then names the squash file).
func (b *Backend) Describe(s engine.Spec) any {
	image := s.Image
	if image != "" && b.cfg.SquashDir != "" {
		image = SquashPath(b.cfg.SquashDir, s.Image)
	}
	d := map[string]any{"kind": "slurm", "salloc": append([]string{"salloc"}, b.SallocArgs(s)...),
		"srun": append([]string{"srun"}, b.SrunArgs("<jobid>", s, image)...), "env": s.Env}
	if image != s.Image {
		d["image"], d["squash_file"] = s.Image, image
	}
	return d
}

// SallocArgs is the allocation request for a launch.
func (b *Backend) SallocArgs(s engine.Spec) []string {
	a := []string{"--no-shell", "--job-name=" + s.Name, "--time=" + b.cfg.TimeLimit}
	if s.Owner != "" {
		a = append(a, "--comment="+commentPrefix+s.Owner)
	}
	if b.cfg.Partition != "" {
		a = append(a, "--partition="+b.cfg.Partition)
	}
	if b.cfg.Account != "" {
		a = append(a, "--account="+b.cfg.Account)
	}
	if s.Nodes > 1 {
		a = append(a, "--nodes="+strconv.Itoa(s.Nodes))
	}
	if s.GPUs > 0 {
		a = append(a, "--gres=gpu:"+strconv.Itoa(s.GPUs))
	}
	if b.cfg.Exclusive {
		a = append(a, "--exclusive")
	}
	if b.cfg.CPUsPerTask > 0 {
		a = append(a, "--cpus-per-task="+strconv.Itoa(b.cfg.CPUsPerTask))
	}
	if b.cfg.Immediate > 0 {
		a = append(a, "--immediate="+strconv.Itoa(b.cfg.Immediate))
	}
	return append(a, b.cfg.ExtraArgs...)
}

func (b *Backend) allocate(ctx context.Context, s engine.Spec) (string, error) {
	res, err := b.cfg.Exec.Run(ctx, execx.Cmd{Name: "salloc", Args: b.SallocArgs(s)})
	out := string(res.Stderr) + string(res.Stdout)
	if err != nil {
		// A grant may have happened before the failure (ctx ended): Cleanup finds it by name.
		return "", fmt.Errorf("salloc for %s: %w", s.Name, err)
	}
	if m := grantedRE.FindStringSubmatch(out); m != nil {
		return m[1], nil
	}
	// Fall back to the exact job name, which is unique to this launch.
	ids, err := b.jobsNamed(ctx, func(name string) bool { return name == s.Name })
	if err != nil {
		return "", fmt.Errorf("salloc for %s: cannot tell the job id from %q (squeue: %w)", s.Name, strings.TrimSpace(out), err)
	}
	if len(ids) != 1 {
		return "", fmt.Errorf("salloc for %s: cannot tell the job id from %q (squeue lists jobs %v of that name)", s.Name, strings.TrimSpace(out), ids)
	}
	return ids[0], nil
}

var nodeListRE = regexp.MustCompile(`\bNodeList=(\S+)`)

func (b *Backend) node(ctx context.Context, id string) (string, error) {
	res, err := b.cfg.Exec.Run(ctx, execx.Cmd{Name: "scontrol", Args: []string{"show", "job", id}})
	if err != nil {
		return "", fmt.Errorf("scontrol show job %s: %w", id, err)
	}
	m := nodeListRE.FindStringSubmatch(string(res.Stdout))
	if m == nil || m[1] == "(null)" {
		return "", fmt.Errorf("job %s has no node list in scontrol output", id)
	}
	// A multi-node allocation (gb200-[01-04,07]) is reached on its first node, where the
	// deployment's frontend runs.
	return FirstNode(m[1]), nil
}

// FirstNode is the first host of a Slurm node list: "a[01-04,07],b" gives "a01".
func FirstNode(list string) string {
	first := list
	if i := strings.IndexByte(list, '['); i >= 0 && (strings.IndexByte(list, ',') < 0 || i < strings.IndexByte(list, ',')) {
		rng := list[i+1:]
		if j := strings.IndexAny(rng, ",-]"); j >= 0 {
			rng = rng[:j]
		}
		return list[:i] + rng
	}
	if i := strings.IndexByte(first, ','); i >= 0 {
		first = first[:i]
	}
	return first
}

// queued is a job in the queue.
type queued struct{ id, name, comment string }

// queue lists the queued or running jobs (with me, only this user's).
func (b *Backend) queue(ctx context.Context, me bool) ([]queued, error) {
	args := []string{"-h", "-o", "%A|%j|%k"}
	if me {
		args = append(args, "--me")
	}
	res, err := b.cfg.Exec.Run(ctx, execx.Cmd{Name: "squeue", Args: args})
	if err != nil {
		return nil, fmt.Errorf("squeue: %w", err)
	}
	var out []queued
	for _, line := range strings.Split(string(res.Stdout), "\n") {
		f := strings.SplitN(strings.TrimSpace(line), "|", 3)
		if len(f) < 2 {
			continue
		}
		q := queued{id: f[0], name: f[1]}
		if len(f) == 3 {
			q.comment = f[2]
		}
		out = append(out, q)
	}
	return out, nil
}

// jobsNamed lists the ids of queued or running jobs whose name satisfies keep.
func (b *Backend) jobsNamed(ctx context.Context, keep func(string) bool) ([]string, error) {
	qs, err := b.queue(ctx, false)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, q := range qs {
		if keep(q.name) {
			ids = append(ids, q.id)
		}
	}
	return ids, nil
}

// Cleanup implements engine.Backend: it cancels the jobs whose name marks them as this
// run's (launch names are "<prefix>-<runID>-<n>") and, with Config.Owner set, whose comment
// records this agent.
func (b *Backend) Cleanup(ctx context.Context, runID string) error {
	if runID == "" {
		return errors.New("slurm cleanup: empty run id")
	}
	qs, err := b.queue(ctx, false)
	if err != nil {
		return err
	}
	var errs []error
	for _, q := range qs {
		if !strings.Contains(q.name, "-"+runID+"-") && !strings.HasSuffix(q.name, "-"+runID) {
			continue
		}
		if b.cfg.Owner != "" && q.comment != commentPrefix+b.cfg.Owner {
			continue
		}
		if _, err := b.cfg.Exec.Run(ctx, execx.Cmd{Name: "scancel", Args: []string{q.id}}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Reap implements engine.Reaper: this user's jobs whose comment records an agent that is
// provably gone are cancelled. Jobs without the record, of other hosts' agents or of live
// agents stay.
func (b *Backend) Reap(ctx context.Context, self string) ([]string, error) {
	me, err := procfs.ParseOwner(self)
	if err != nil {
		return nil, err
	}
	qs, err := b.queue(ctx, true)
	if err != nil {
		return nil, err
	}
	var lines []string
	var errs []error
	for _, q := range qs {
		rest, ok := strings.CutPrefix(q.comment, commentPrefix)
		if !ok || rest == self {
			continue
		}
		o, err := procfs.ParseOwner(rest)
		if err != nil {
			continue
		}
		gone, why := b.cfg.Proc.Gone(o, me)
		if !gone {
			continue
		}
		if _, err := b.cfg.Exec.Run(ctx, execx.Cmd{Name: "scancel", Args: []string{q.id}}); err != nil {
			errs = append(errs, err)
			continue
		}
		lines = append(lines, fmt.Sprintf("cancelled leftover Slurm job %s (%s): %s", q.id, q.name, why))
	}
	return lines, errors.Join(errs...)
}

// job is an allocation with the server running as its step.
type job struct {
	b  *Backend
	id string
	engine.Handle
	step execx.Process
	// image is what the server step runs in (squash path or reference); empty: no container.
	image string

	stopOnce sync.Once
	stopErr  error
}

// SrunArgs is the job step that runs the server; image is a squash path or an image
// reference for pyxis, empty for a non-container step.
func (b *Backend) SrunArgs(jobID string, s engine.Spec, image string) []string {
	a := []string{"--jobid=" + jobID, "--ntasks=1", "--export=ALL"}
	if s.Nodes > 1 {
		// One task per node; the launch script picks its role from SLURM_NODEID.
		a = []string{"--jobid=" + jobID, "--nodes=" + strconv.Itoa(s.Nodes), "--ntasks-per-node=1", "--export=ALL"}
	}
	if image != "" {
		a = append(a, b.containerArgs(s, image)...)
	} else if s.Workdir != "" {
		a = append(a, "--chdir="+s.Workdir)
	}
	return append(a, s.Argv...)
}

// containerArgs are the pyxis flags of a step in the launch's container. The container is
// named after the launch so that Exec's steps join the same container filesystem.
func (b *Backend) containerArgs(s engine.Spec, image string) []string {
	a := []string{"--container-image=" + image, "--container-name=" + s.Name}
	if len(s.Mounts) > 0 {
		var ms []string
		for _, m := range s.Mounts {
			x := m.Host + ":" + m.Container
			if m.ReadOnly {
				x += ":ro"
			}
			ms = append(ms, x)
		}
		a = append(a, "--container-mounts="+strings.Join(ms, ","))
	}
	if s.Workdir != "" {
		a = append(a, "--container-workdir="+s.Workdir)
	}
	a = append(a, "--no-container-entrypoint")
	if b.cfg.Container.MountHome {
		a = append(a, "--container-mount-home")
	} else {
		a = append(a, "--no-container-mount-home")
	}
	if b.cfg.Container.RemapRoot {
		a = append(a, "--container-remap-root")
	}
	if b.cfg.Container.Writable {
		a = append(a, "--container-writable")
	}
	return a
}

func (j *job) startStep(ctx context.Context, image string) error {
	j.image = image
	f, err := os.OpenFile(j.Launch.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("server log: %w", err)
	}
	f.Close()
	env := append(append([]string{}, j.b.cfg.Environ...), j.Launch.Env...)
	if len(env) == 0 {
		env = nil
	}
	argv := engine.LogRedirect(j.Launch.LogPath, append([]string{"srun"}, j.b.SrunArgs(j.id, j.Launch, image)...))
	cmd := execx.Cmd{Name: argv[0], Args: argv[1:], Env: env, KillGrace: 10 * time.Second}
	// The step lives until Stop, not until Start's ctx ends.
	p, err := j.b.cfg.Starter.Start(context.WithoutCancel(ctx), cmd)
	if err != nil {
		return fmt.Errorf("srun server step: %w", err)
	}
	j.step = p
	go j.wait()
	return nil
}

func (j *job) wait() {
	defer close(j.Finished)
	res, err := j.step.Wait()
	j.Result = engine.Exit{Code: res.ExitCode, At: time.Now()}
	if err != nil && res.ExitCode < 0 {
		j.Result.Reason = err.Error()
	}
}

func (j *job) cancel(ctx context.Context) error {
	_, err := j.b.cfg.Exec.Run(ctx, execx.Cmd{Name: "scancel", Args: []string{j.id}})
	if err != nil {
		return fmt.Errorf("scancel %s: %w", j.id, err)
	}
	return j.b.waitGone(ctx, j.id)
}

// waitGone polls until the job left the queue, bounded by StopGrace.
func (b *Backend) waitGone(ctx context.Context, id string) error {
	deadline := time.Now().Add(b.cfg.StopGrace)
	for {
		res, err := b.cfg.Exec.Run(ctx, execx.Cmd{Name: "squeue", Args: []string{"-h", "-j", id, "-o", "%A"}})
		// squeue fails with "Invalid job id" once the job is purged: that counts as gone.
		if err != nil || strings.TrimSpace(string(res.Stdout)) == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("job %s still in the queue %s after scancel", id, b.cfg.StopGrace)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop implements engine.Server: cancel the allocation (Slurm signals the step), then
// make sure the srun client is gone too. scancel runs even when ctx has ended (the agent
// was told to hurry); only the wait for the queue to drain is then cut short.
func (j *job) Stop(ctx context.Context) error {
	j.stopOnce.Do(func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, err := j.b.cfg.Exec.Run(sctx, execx.Cmd{Name: "scancel", Args: []string{j.id}}); err != nil {
			j.stopErr = fmt.Errorf("scancel %s: %w", j.id, err)
		} else if err := j.b.waitGone(ctx, j.id); err != nil && ctx.Err() == nil {
			j.stopErr = err
		}
		if j.step == nil {
			return
		}
		wait := 10 * time.Second
		if ctx.Err() != nil {
			wait = 0
		}
		select {
		case <-j.Finished:
		case <-time.After(wait):
			_ = j.step.Signal(os.Kill)
			<-j.Finished
		}
	})
	return j.stopErr
}

// Alive implements engine.Checker: the step runs and the job is still in the queue as
// running.
func (j *job) Alive(ctx context.Context) error {
	select {
	case <-j.Finished:
		return fmt.Errorf("job step of %s has ended (%s)", j.id, j.Result)
	default:
	}
	res, err := j.b.cfg.Exec.Run(ctx, execx.Cmd{Name: "squeue", Args: []string{"-h", "-j", j.id, "-o", "%T"}})
	state := strings.TrimSpace(string(res.Stdout))
	if err != nil || state == "" {
		return fmt.Errorf("job %s has left the queue", j.id)
	}
	if state != "RUNNING" {
		return fmt.Errorf("job %s is %s", j.id, state)
	}
	return nil
}
