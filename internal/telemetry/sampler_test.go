package telemetry

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/execx"
)

// fakeClock reads the wall clock but counts every wait the sampler asks for. With fire it
// ends each wait at once (so a test never sleeps); without, a wait ends only by other
// events, which proves the sampler did not depend on it.
type fakeClock struct {
	fire   bool
	mu     sync.Mutex
	waits  []time.Duration
	waited chan struct{} // receives one value per wait asked for
}

func newClock(fire bool) *fakeClock { return &fakeClock{fire: fire, waited: make(chan struct{}, 100)} }

func (c *fakeClock) Now() time.Time { return time.Now() }

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.mu.Unlock()
	c.waited <- struct{}{}
	if !c.fire {
		return nil
	}
	ch := make(chan time.Time, 1)
	ch <- time.Now()
	return ch
}

func (c *fakeClock) total() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var t time.Duration
	for _, d := range c.waits {
		t += d
	}
	return t
}

// fakeStarter runs a scripted tool in a goroutine: script writes to the tool's stdout and
// stderr and returns its exit status; Signal closes stop. Signals are recorded.
type fakeStarter struct {
	script func(stdout, stderr io.Writer, stop <-chan struct{}) int
	mu     sync.Mutex
	cmds   []execx.Cmd
	sigs   []os.Signal
}

func (f *fakeStarter) Start(ctx context.Context, c execx.Cmd) (execx.Process, error) {
	f.mu.Lock()
	f.cmds = append(f.cmds, c)
	f.mu.Unlock()
	p := &fakeProc{f: f, stop: make(chan struct{}), done: make(chan int, 1)}
	go func() { p.done <- f.script(c.Stdout, c.Stderr, p.stop) }()
	return p, nil
}

func (f *fakeStarter) signals() []os.Signal {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]os.Signal{}, f.sigs...)
}

type fakeProc struct {
	f        *fakeStarter
	stop     chan struct{}
	stopOnce sync.Once
	done     chan int
}

func (p *fakeProc) Pid() int { return 1 }
func (p *fakeProc) Signal(s os.Signal) error {
	p.f.mu.Lock()
	p.f.sigs = append(p.f.sigs, s)
	p.f.mu.Unlock()
	p.stopOnce.Do(func() { close(p.stop) })
	return nil
}
func (p *fakeProc) Wait() (execx.Result, error) {
	code := <-p.done
	if code != 0 {
		return execx.Result{ExitCode: code}, &execx.ExitError{ExitCode: code}
	}
	return execx.Result{}, nil
}

const helpQuery = `List of valid properties to query for the switch "--query-gpu=":

"timestamp"
The timestamp of when the query was made in format "YYYY/MM/DD HH:MM:SS.msec".

"power.draw" or "power.draw.average"
"power.draw.instant"
Instantaneous power draw.
`

func probeRunner() *execx.Fake {
	f := &execx.Fake{}
	f.On([]string{"nvidia-smi", "--help-query-gpu"}, helpQuery, 0)
	f.On([]string{"amd-smi", "metric", "--help"}, "  -E, --energy          Amount of energy consumed\n", 0)
	return f
}

func nvTime(t time.Time) string { return t.Local().Format("2006/01/02 15:04:05.000") }

// nvLines prints nvidia-smi lines for GPUs 0 and 1 at the given times.
func nvLines(w io.Writer, times ...time.Time) {
	for _, t := range times {
		for g := range 2 {
			fmt.Fprintf(w, "%s, %d, %.2f W, 60, 1980 MHz, 2619 MHz, 90 %%, 40 %%, 500.00 W\n", nvTime(t), g, 400.0+float64(g))
		}
	}
}

func tool(v Vendor) *Tool {
	return &Tool{Vendor: v, Program: []string{v.program()}, Interval: 100 * time.Millisecond}
}

func (v Vendor) program() string {
	if v == AMD {
		return "amd-smi"
	}
	return "nvidia-smi"
}

// record starts a stream of tl and opens a recording into a temp file.
func record(t *testing.T, ctx context.Context, tl *Tool, opt Options) (*Stream, *Recording, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.csv")
	s := tl.Start(ctx, opt)
	t.Cleanup(s.Close)
	return s, s.Record(path), path
}

// drain forgets the waits asked for so far.
func (c *fakeClock) drain() {
	for {
		select {
		case <-c.waited:
		default:
			return
		}
	}
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	for !cond() {
		time.Sleep(time.Millisecond)
	}
}

func TestSamplerHealthyStream(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	end := t0.Add(2 * time.Second)
	recording := make(chan struct{})
	st := &fakeStarter{script: func(out, _ io.Writer, stop <-chan struct{}) int {
		fmt.Fprintln(out, nvidiaHeader)
		nvLines(out, t0.Add(-time.Second))
		<-recording
		nvLines(out, t0, t0.Add(time.Second))
		<-stop
		return 143
	}}
	clk := newClock(false)
	tl := tool(NVIDIA)
	tl.GPUs = []int{0, 1}
	s, r, path := record(t, context.Background(), tl, Options{Starter: st, Exec: probeRunner(), Clock: clk})
	close(recording)
	assert.Equal(t, []string{"nvidia-smi", "--query-gpu=timestamp,index,power.draw,temperature.gpu,clocks.current.sm,clocks.current.memory,utilization.gpu,utilization.memory,power.draw.instant",
		"--format=csv", "--loop-ms=100", "--id=0,1"}, append([]string{st.cmds[0].Name}, st.cmds[0].Args...))
	assert.True(t, st.cmds[0].Passthrough, "hours of output are not kept in memory")

	// The window ends after the last sample: Stop waits for the next one, which the tool
	// prints once the wait has begun.
	eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(r.last) == 2 && r.last["0"] >= unix(t0.Add(time.Second))-1e-3
	})
	clk.drain()
	go func() {
		<-clk.waited // Stop's
		nvLines(lineWriter{s}, end.Add(50*time.Millisecond))
	}()
	sum := r.Stop(end)
	assert.Empty(t, sum.Problem, sum.Message)
	assert.Equal(t, []string{"0", "1"}, sum.GPUs)
	assert.Equal(t, 8, sum.Samples)
	assert.Empty(t, st.signals(), "a recording ends, the stream goes")
	s.Close()
	assert.Equal(t, []os.Signal{syscall.SIGTERM}, st.signals())

	p, err := ParseFile(path, nil)
	require.NoError(t, err)
	assert.Equal(t, nvidiaHeader+",host_time_unix,node", strings.Join(p.Header, ","))
	assert.Len(t, p.Samples, 8)
	assert.Empty(t, p.Issues)
}

func TestRecordingOpensWithTheLatestReadings(t *testing.T) {
	t.Parallel()
	// A point whose window opens right after its recording does: the stream's newest
	// reading of each GPU, taken before, brackets the window's start.
	t0 := time.Now()
	st := &fakeStarter{script: func(out, _ io.Writer, stop <-chan struct{}) int {
		fmt.Fprintln(out, nvidiaHeader)
		nvLines(out, t0.Add(-3*time.Second), t0.Add(-2*time.Second))
		<-stop
		return 143
	}}
	s := tool(NVIDIA).Start(context.Background(), Options{Starter: st, Exec: probeRunner(), Clock: newClock(false)})
	defer s.Close()
	<-s.first
	eventually(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return len(s.latest) == 2 })
	path := filepath.Join(t.TempDir(), "m.csv")
	r := s.Record(path)
	nvLines(lineWriter{s}, t0.Add(time.Second))
	sum := r.Stop(t0.Add(500 * time.Millisecond))
	assert.Empty(t, sum.Problem)
	p, err := ParseFile(path, nil)
	require.NoError(t, err)
	require.Len(t, p.Samples, 4)
	assert.InDelta(t, unix(t0.Add(-2*time.Second)), p.Samples[0].Time, 1e-3, "the file starts with the newest reading before it opened")
}

func TestSamplerMissingToolCostsNoWait(t *testing.T) {
	t.Parallel()
	// No probe rule: the fake runner answers "executable not found". The clock never fires,
	// so Record and Stop returning at all proves they did not wait on it.
	_, r, _ := record(t, context.Background(), tool(NVIDIA), Options{Starter: &fakeStarter{}, Exec: &execx.Fake{}, Clock: newClock(false)})
	sum := r.Stop(time.Now())
	assert.Equal(t, ProblemMissing, sum.Problem)
	assert.Contains(t, sum.Message, "nvidia-smi could not be run")
	assert.Zero(t, sum.Samples)
}

func TestSamplerHungToolCostsOneInterval(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		runner execx.Executor
		script func(out, errw io.Writer, stop <-chan struct{}) int
	}{
		{"stream prints nothing", probeRunner(), func(_, _ io.Writer, stop <-chan struct{}) int { <-stop; return 143 }},
		{"probe never returns", hangingRunner{}, nil},
		{"garbage without a header", probeRunner(), func(out, _ io.Writer, stop <-chan struct{}) int {
			fmt.Fprintln(out, "Unable to determine the device handle for GPU0000:1B:00.0: Unknown Error")
			<-stop
			return 143
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			clk := newClock(true)
			tl := tool(NVIDIA)
			s, r, _ := record(t, ctx, tl, Options{Starter: &fakeStarter{script: tt.script}, Exec: tt.runner, Clock: clk})
			sum := r.Stop(time.Now())
			assert.Equal(t, tl.Interval, clk.total(), "all waiting together is one sampling interval")
			assert.Contains(t, []string{ProblemStalled, ProblemNoHeader}, sum.Problem, sum.Message)
			assert.Zero(t, sum.Samples)

			// The next point on the same server waits no more.
			r = s.Record(filepath.Join(t.TempDir(), "m2.csv"))
			r.Stop(time.Now())
			assert.Equal(t, tl.Interval, clk.total(), "later points are not held up at all")
		})
	}
}

// hangingRunner is a probe that never answers until its context ends.
type hangingRunner struct{}

func (hangingRunner) Run(ctx context.Context, c execx.Cmd) (execx.Result, error) {
	<-ctx.Done()
	return execx.Result{ExitCode: -1}, ctx.Err()
}

func TestSamplerToolThatStallsMidWindowIsNotWaitedFor(t *testing.T) {
	t.Parallel()
	// Samples stop arriving long before Stop: waiting would only delay the point.
	t0 := time.Now()
	st := &fakeStarter{script: func(out, _ io.Writer, stop <-chan struct{}) int {
		fmt.Fprintln(out, nvidiaHeader)
		nvLines(out, t0.Add(-time.Second))
		<-stop
		return 143
	}}
	s, r, _ := record(t, context.Background(), tool(NVIDIA), Options{Starter: st, Exec: probeRunner(), Clock: newClock(false)})
	eventually(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return len(r.last) == 2 })
	s.mu.Lock()
	s.lastSample = s.lastSample.Add(-time.Hour) // the last sample arrived long ago
	s.lastLine = s.lastSample
	s.mu.Unlock()
	sum := r.Stop(t0.Add(time.Minute))
	assert.Equal(t, ProblemStalled, sum.Problem)
	assert.Equal(t, 2, sum.Samples)
}

func TestSamplerToolExitsEarly(t *testing.T) {
	t.Parallel()
	st := &fakeStarter{script: func(out, errw io.Writer, _ <-chan struct{}) int {
		fmt.Fprintln(errw, "Failed to initialize NVML: Driver/library version mismatch")
		return 9
	}}
	s, r, _ := record(t, context.Background(), tool(NVIDIA), Options{Starter: st, Exec: probeRunner(), Clock: newClock(false)})
	<-s.done
	sum := r.Stop(time.Now())
	assert.Equal(t, ProblemFailed, sum.Problem)
	assert.Contains(t, sum.Message, "status 9")
	assert.Contains(t, sum.Message, "Driver/library version mismatch")
}

func TestSamplerLabeledNodes(t *testing.T) {
	t.Parallel()
	now := time.Now()
	st := &fakeStarter{script: func(out, _ io.Writer, stop <-chan struct{}) int {
		for _, node := range []string{"0", "1"} {
			fmt.Fprintf(out, "%s: %s\n", node, amdHeader)
		}
		fmt.Fprintf(out, "1: %d,0,98,41,0,0,741,N/A,N/A,N/A,UNTHROTTLED,ENABLED,2100,1300,52,66,60,1000.5\n", now.Unix())
		fmt.Fprintf(out, "0: %d,0,97,40,0,0,738,N/A,N/A,N/A,UNTHROTTLED,ENABLED,2100,1300,51,65,59,2000.5\n", now.Unix())
		fmt.Fprintf(out, "0: %s\n", amdHeader) // the watch loop repeats its header
		<-stop
		return 143
	}}
	tl := tool(AMD)
	tl.Labeled = true
	s, r, path := record(t, context.Background(), tl, Options{Starter: st, Exec: probeRunner(), Clock: newClock(false)})
	assert.Equal(t, []string{"amd-smi", "metric", "-p", "-c", "-t", "-u", "-E", "-w", "1", "--csv"}, append([]string{st.cmds[0].Name}, st.cmds[0].Args...))
	eventually(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return len(r.last) == 2 })
	sum := r.Stop(now.Add(-time.Minute))
	assert.Equal(t, []string{"0/0", "1/0"}, sum.GPUs)
	p, err := ParseFile(path, nil)
	require.NoError(t, err)
	require.Len(t, p.Samples, 2)
	assert.Equal(t, "1", p.Samples[0].Node)
	assert.Equal(t, 1000.5, p.Samples[0].EnergyJ)
	assert.Equal(t, 1, p.Headers, "one header in the file")
}

func TestToolIntervals(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		v    Vendor
		in   time.Duration
		want time.Duration
	}{
		{NVIDIA, 0, 100 * time.Millisecond},
		{NVIDIA, 250 * time.Millisecond, 250 * time.Millisecond},
		{AMD, 0, time.Second},
		{AMD, 100 * time.Millisecond, time.Second},
		{AMD, 1500 * time.Millisecond, 2 * time.Second},
	} {
		tl := &Tool{Vendor: tt.v, Interval: tt.in}
		assert.Equal(t, tt.want, tl.EffectiveInterval(), "%s %v", tt.v, tt.in)
	}
}

func TestProbeKeepsUnknownFieldsOut(t *testing.T) {
	t.Parallel()
	old := &execx.Fake{}
	old.On([]string{"nvidia-smi", "--help-query-gpu"}, `"timestamp"`+"\n"+`"power.draw"`+"\n", 0)
	tl := tool(NVIDIA)
	require.NoError(t, tl.Probe(context.Background(), old))
	assert.Equal(t, "--query-gpu="+strings.Join(NvidiaFields, ","), tl.StreamArgs()[0], "an older nvidia-smi gets only the fields it knows")

	withEnergy := &execx.Fake{}
	withEnergy.On([]string{"nvidia-smi", "--help-query-gpu"}, helpQuery+"\n\"total_energy_consumption\"\nEnergy in mJ.\n", 0)
	tl = tool(NVIDIA)
	require.NoError(t, tl.Probe(context.Background(), withEnergy))
	assert.True(t, strings.HasSuffix(tl.StreamArgs()[0], ",power.draw.instant,total_energy_consumption"), tl.StreamArgs()[0])
}

func TestWrappedToolNotFoundIsMissing(t *testing.T) {
	t.Parallel()
	// stdbuf (or srun, or sh) runs, the tool it should start is not installed: exit 127.
	f := &execx.Fake{}
	f.On([]string{"stdbuf", "-oL", "nvidia-smi"}, "", 127)
	tl := &Tool{Vendor: NVIDIA, Program: []string{"stdbuf", "-oL", "nvidia-smi"}, Interval: 100 * time.Millisecond}
	_, r, _ := record(t, context.Background(), tl, Options{Starter: &fakeStarter{}, Exec: f, Clock: newClock(false)})
	assert.Equal(t, ProblemMissing, r.Stop(time.Now()).Problem)
}
