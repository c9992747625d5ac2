package disagg

import (
	"bytes"
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/execx"

	_ "github.com/inferbench/inferbench/internal/testkit" // defines -update, so `go test ./... -update` runs here too
)

// fakeProc is a process that runs until the test ends it or a signal it obeys arrives.
// Everything it sees goes through channels, so tests order events without sleeping.
type fakeProc struct {
	cmd        execx.Cmd
	signals    chan os.Signal
	exit       chan execx.Result
	ignoreTerm bool
}

func (p *fakeProc) Pid() int { return 1 }

func (p *fakeProc) Signal(s os.Signal) error {
	p.signals <- s
	if s == syscall.SIGKILL || !p.ignoreTerm {
		p.end(128 + int(s.(syscall.Signal)))
	}
	return nil
}

// end makes the process exit with code (once; later calls do nothing).
func (p *fakeProc) end(code int) {
	select {
	case p.exit <- execx.Result{ExitCode: code}:
	default:
	}
}

func (p *fakeProc) Wait() (execx.Result, error) { return <-p.exit, nil }

// received lists the signals the process got so far.
func (p *fakeProc) received() []os.Signal {
	var out []os.Signal
	for {
		select {
		case s := <-p.signals:
			out = append(out, s)
		default:
			return out
		}
	}
}

type fakeStarter struct {
	started    chan *fakeProc
	ignoreTerm map[string]bool  // by program name
	fail       map[string]error // by program name
}

func newFakeStarter() *fakeStarter {
	return &fakeStarter{started: make(chan *fakeProc, 16), ignoreTerm: map[string]bool{}, fail: map[string]error{}}
}

func (f *fakeStarter) Start(_ context.Context, c execx.Cmd) (execx.Process, error) {
	if err := f.fail[c.Name]; err != nil {
		return nil, err
	}
	p := &fakeProc{cmd: c, signals: make(chan os.Signal, 8), exit: make(chan execx.Result, 1), ignoreTerm: f.ignoreTerm[c.Name]}
	f.started <- p
	return p, nil
}

// syncBuffer is a bytes.Buffer safe for the launcher and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// nodeProcs is node 0 of a one-node deployment: frontend, one prefill and two decode workers.
func nodeProcs(t *testing.T) []Process {
	t.Helper()
	p := &Plan{Nodes: 1, Processes: []Process{
		{Slot: Slot{Role: RoleFrontend, NNodes: 1}, Argv: []string{"front", "--port=1"}},
		{Slot: Slot{Role: RolePrefill, NNodes: 1, Devices: "0"}, Argv: []string{"pre", "--addr=" + HostRef(0)}},
		{Slot: Slot{Role: RoleDecode, NNodes: 1, Devices: "1"}, Argv: []string{"dec0"}},
		{Slot: Slot{Role: RoleDecode, Index: 1, NNodes: 1, Devices: "2"}, Argv: []string{"dec1"}, Env: []string{"X=1"}},
	}}
	procs, err := p.ForNode(0, []string{"h0"})
	require.NoError(t, err)
	return procs
}

type launch struct {
	starter *fakeStarter
	out     *syncBuffer
	signals chan os.Signal
	grace   chan time.Time
	code    chan int
	procs   []*fakeProc
}

// startLaunch runs a launcher over procs in the background and waits until it started
// want processes.
func startLaunch(t *testing.T, ctx context.Context, procs []Process, want int, setup func(*fakeStarter)) *launch {
	t.Helper()
	l := &launch{starter: newFakeStarter(), out: &syncBuffer{}, signals: make(chan os.Signal, 1), grace: make(chan time.Time), code: make(chan int, 1)}
	if setup != nil {
		setup(l.starter)
	}
	ln := &Launcher{Starter: l.starter, Environ: []string{"PATH=/bin"}, Out: l.out, Err: l.out, Grace: time.Minute,
		After: func(d time.Duration) <-chan time.Time { return l.grace }}
	go func() { l.code <- ln.Run(ctx, 0, procs, l.signals) }()
	for range want {
		l.procs = append(l.procs, <-l.starter.started)
	}
	return l
}

func TestLauncherStartsEveryProcessWithItsEnvironment(t *testing.T) {
	t.Parallel()
	l := startLaunch(t, context.Background(), nodeProcs(t), 4, nil)
	names := []string{}
	for _, p := range l.procs {
		names = append(names, p.cmd.Name)
		assert.True(t, p.cmd.Passthrough, "%s: output must go straight to the log", p.cmd.Name)
		assert.True(t, p.cmd.KillWithParent, "%s: must die with the launcher", p.cmd.Name)
		assert.Equal(t, "PATH=/bin", p.cmd.Env[0], "%s: the node's environment comes first", p.cmd.Name)
	}
	assert.Equal(t, []string{"front", "pre", "dec0", "dec1"}, names)
	assert.Equal(t, []string{"--addr=h0"}, l.procs[1].cmd.Args)
	assert.Equal(t, []string{"PATH=/bin", "HEAD_NODE=h0", "WORKER_INDEX=1", "WORKER_RANK=0", "WORKER_NNODES=1", "WORKER_HEAD=h0",
		"CUDA_VISIBLE_DEVICES=2", "X=1"}, l.procs[3].cmd.Env)
	l.signals <- syscall.SIGTERM
	require.Equal(t, 143, <-l.code)
	for _, w := range []string{
		"inferbench-disagg: node 0: frontend worker 0 (rank 0 of 1, head h0): front --port=1\n",
		"inferbench-disagg: node 0: prefill worker 0 (rank 0 of 1, head h0, gpus 0): pre --addr=h0\n",
		"inferbench-disagg: node 0: decode worker 1 (rank 0 of 1, head h0, gpus 2): dec1\n",
	} {
		assert.Contains(t, l.out.String(), w)
	}
}

func TestLauncherStopsTheRestWhenOneExits(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		code     int
		wantExit int
	}{
		{"a failing component's status is the launcher's", 3, 3},
		{"a component that exits cleanly still ends the deployment", 0, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := startLaunch(t, context.Background(), nodeProcs(t), 4, nil)
			l.procs[3].end(tt.code)
			require.Equal(t, tt.wantExit, <-l.code)
			for _, p := range l.procs[:3] {
				assert.Equal(t, []os.Signal{syscall.SIGTERM}, p.received(), p.cmd.Name)
			}
			assert.Empty(t, l.procs[3].received(), "the process that exited gets no signal")
			assert.Contains(t, l.out.String(), "FATAL: inferbench-disagg: a deployment component on node 0 exited (decode worker 1, dec1: exit status "+
				map[int]string{3: "3", 0: "0"}[tt.code]+"); stopping the rest\n")
		})
	}
}

func TestLauncherForwardsSignals(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		sig  syscall.Signal
		want int
	}{{syscall.SIGTERM, 143}, {syscall.SIGINT, 130}} {
		t.Run(tt.sig.String(), func(t *testing.T) {
			t.Parallel()
			l := startLaunch(t, context.Background(), nodeProcs(t), 4, nil)
			l.signals <- tt.sig
			require.Equal(t, tt.want, <-l.code)
			for _, p := range l.procs {
				assert.Equal(t, []os.Signal{tt.sig}, p.received(), p.cmd.Name)
			}
			assert.Contains(t, l.out.String(), "inferbench-disagg: node 0: received "+tt.sig.String()+": stopping 4 process(es)")
		})
	}
}

func TestLauncherStopsOnCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	l := startLaunch(t, ctx, nodeProcs(t), 4, nil)
	cancel()
	require.Equal(t, 143, <-l.code)
	for _, p := range l.procs {
		assert.Equal(t, []os.Signal{syscall.SIGTERM}, p.received(), p.cmd.Name)
	}
}

func TestLauncherKillsWhatOutlivesTheGrace(t *testing.T) {
	t.Parallel()
	l := startLaunch(t, context.Background(), nodeProcs(t), 4, func(f *fakeStarter) { f.ignoreTerm["dec0"] = true })
	l.signals <- syscall.SIGTERM
	stubborn := l.procs[2]
	require.Equal(t, syscall.SIGTERM, <-stubborn.signals, "the stop signal comes first")
	l.grace <- time.Time{} // the grace period is over
	require.Equal(t, syscall.SIGKILL, <-stubborn.signals)
	require.Equal(t, 143, <-l.code)
	for _, p := range []*fakeProc{l.procs[0], l.procs[1], l.procs[3]} {
		// They exited on SIGTERM; whether the launcher had noticed before the grace ran out
		// is a race it may lose harmlessly (a SIGKILL to a process already gone).
		assert.Equal(t, syscall.SIGTERM, p.received()[0], "%s is asked to stop first", p.cmd.Name)
	}
	assert.Contains(t, l.out.String(), "process(es) still running 1m0s after terminated: killing them")
}

func TestLauncherStopsWhatStartedWhenAStartFails(t *testing.T) {
	t.Parallel()
	l := startLaunch(t, context.Background(), nodeProcs(t), 2, func(f *fakeStarter) { f.fail["dec0"] = errors.New("dec0: executable not found") })
	require.Equal(t, 1, <-l.code)
	for _, p := range l.procs {
		assert.Equal(t, []os.Signal{syscall.SIGTERM}, p.received(), p.cmd.Name)
	}
	assert.Contains(t, l.out.String(), "FATAL: inferbench-disagg: could not start the decode worker 0 on node 0: dec0: executable not found; stopping the rest")
	assert.Empty(t, l.starter.started, "nothing is started after the failure")
}

func TestLauncherWithNothingToRunWaitsForTheStop(t *testing.T) {
	t.Parallel()
	l := startLaunch(t, context.Background(), nil, 0, nil)
	select {
	case code := <-l.code:
		require.FailNowf(t, "launcher exited early", "launcher with no process exited (%d) before being stopped", code)
	default:
	}
	l.signals <- syscall.SIGTERM
	require.Equal(t, 143, <-l.code)
	assert.Contains(t, l.out.String(), "no process of the deployment runs on this node")
}
