package telemetry

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/inferbench/inferbench/internal/execx"
)

// Clock is the time the sampler reads and waits on; tests substitute one that counts waits.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// RealClock is the wall clock.
type RealClock struct{}

func (RealClock) Now() time.Time                         { return time.Now() }
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Problem codes a sampler can end with. They join the power-validation reasons.
const (
	ProblemMissing  = "telemetry_tool_missing"    // the program is not installed
	ProblemFailed   = "telemetry_tool_failed"     // it refused to start or exited early
	ProblemStalled  = "telemetry_tool_stalled"    // it runs but printed nothing lately
	ProblemFile     = "telemetry_file_unwritable" // the CSV could not be written
	ProblemNoHeader = "telemetry_no_header"       // it printed lines but never a CSV header
)

// Summary is what a sampler did, for the validation sidecar and the log.
type Summary struct {
	Tool      string   `json:"tool"`
	Command   string   `json:"command,omitempty"`
	IntervalS float64  `json:"interval_s"`
	Lines     int      `json:"lines"`
	Samples   int      `json:"samples"`
	Issues    int      `json:"unusable_lines"`
	Preamble  int      `json:"preamble_lines,omitempty"`
	GPUs      []string `json:"gpus_seen"`
	Problem   string   `json:"problem,omitempty"`
	Message   string   `json:"message,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
	// StartWaitS and StopWaitS are how long Start and Stop held the benchmark up.
	StartWaitS float64 `json:"start_wait_s"`
	StopWaitS  float64 `json:"stop_wait_s"`
}

// Options are the per-point settings of a sampler.
type Options struct {
	Path    string        // the CSV to write
	Starter execx.Starter // runs the stream; default execx.OS
	Runner  execx.Runner  // runs the probe; default execx.OS
	Clock   Clock         // default RealClock
}

// Sampler is one running sampling stream.
type Sampler struct {
	tool  *Tool
	opt   Options
	iv    time.Duration
	first chan struct{} // closed at the first sample
	done  chan struct{} // closed once the tool has ended or could not start
	upd   chan struct{} // a sample arrived (never blocks the reader)

	mu         sync.Mutex
	w          *bufio.Writer
	f          *os.File
	parser     *Parser
	header     string
	nodeHeader map[string]bool
	badNode    map[string]bool
	last       map[string]float64 // latest sample time per device
	lastLine   time.Time
	lastSample time.Time
	partial    []byte
	stopped    bool
	firstOnce  sync.Once
	proc       execx.Process
	stderr     []string
	sum        Summary
}

// Start starts sampling into opt.Path and returns once the first sample is in, the tool has
// failed, or one sampling interval has passed, whichever comes first: a tool that hangs
// holds the benchmark up by at most one interval here, and a missing one not at all.
// Start never fails; problems end up in the Summary that Stop returns.
func (t *Tool) Start(ctx context.Context, opt Options) *Sampler {
	if opt.Starter == nil {
		opt.Starter = execx.OS{}
	}
	if opt.Runner == nil {
		opt.Runner = execx.OS{}
	}
	if opt.Clock == nil {
		opt.Clock = RealClock{}
	}
	s := &Sampler{tool: t, opt: opt, iv: t.EffectiveInterval(), first: make(chan struct{}), done: make(chan struct{}),
		upd: make(chan struct{}, 1), parser: NewParser(nil), nodeHeader: map[string]bool{}, badNode: map[string]bool{},
		last: map[string]float64{}}
	s.sum = Summary{Tool: t.Name(), IntervalS: s.iv.Seconds()}
	t0 := opt.Clock.Now()
	f, err := os.Create(opt.Path)
	if err != nil {
		s.fail(ProblemFile, err.Error())
		close(s.done)
		return s
	}
	s.f, s.w = f, bufio.NewWriterSize(f, 64*1024)
	go s.run(ctx)
	select {
	case <-s.first:
	case <-s.done:
	case <-opt.Clock.After(s.iv):
	}
	s.sum.StartWaitS = opt.Clock.Now().Sub(t0).Seconds()
	return s
}

func (s *Sampler) fail(problem, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sum.Problem == "" {
		s.sum.Problem, s.sum.Message = problem, msg
	}
}

// run probes the tool, starts the stream and waits for it to end.
func (s *Sampler) run(ctx context.Context) {
	defer close(s.done)
	if err := s.tool.Probe(ctx, s.opt.Runner); err != nil {
		s.fail(problemOf(err), fmt.Sprintf("%s could not be run: %v", s.tool.Name(), err))
		return
	}
	c := s.tool.command(s.tool.StreamArgs())
	c.Stdout = lineWriter{s}
	c.Stderr = stderrWriter{s}
	c.KillGrace = 2 * time.Second
	s.mu.Lock()
	s.sum.Command = c.String()
	s.mu.Unlock()
	p, err := s.opt.Starter.Start(ctx, c)
	if err != nil {
		s.fail(problemOf(err), fmt.Sprintf("%s could not be started: %v", s.tool.Name(), err))
		return
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	res, err := p.Wait()
	s.mu.Lock()
	stopped := s.stopped
	tail := strings.Join(s.stderr, " | ")
	s.mu.Unlock()
	if !stopped {
		msg := fmt.Sprintf("%s exited (status %d) before the point ended", s.tool.Name(), res.ExitCode)
		if err != nil && res.ExitCode < 0 {
			msg += ": " + err.Error()
		}
		if tail != "" {
			msg += "; stderr: " + tail
		}
		s.fail(ProblemFailed, msg)
	}
}

func problemOf(err error) string {
	if errors.Is(err, execx.ErrNotFound) {
		return ProblemMissing
	}
	return ProblemFailed
}

type lineWriter struct{ s *Sampler }

func (w lineWriter) Write(b []byte) (int, error) {
	w.s.feed(b)
	return len(b), nil
}

type stderrWriter struct{ s *Sampler }

func (w stderrWriter) Write(b []byte) (int, error) {
	s := w.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			s.stderr = append(s.stderr, clip(l, 200))
		}
	}
	if n := len(s.stderr); n > 5 {
		s.stderr = s.stderr[n-5:]
	}
	return len(b), nil
}

// feed takes a chunk of the tool's output; complete lines are handled as they arrive, a
// line cut off when the tool is stopped is dropped.
func (s *Sampler) feed(b []byte) {
	now := s.opt.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = append(s.partial, b...)
	for {
		i := slices.Index(s.partial, '\n')
		if i < 0 {
			break
		}
		line := string(s.partial[:i])
		s.partial = s.partial[i+1:]
		s.line(strings.TrimRight(line, "\r"), now)
	}
	if len(s.partial) > 1<<20 { // no newline in a megabyte: not a CSV stream
		s.partial = s.partial[:0]
	}
}

var labelLineRe = regexp.MustCompile(`^\s*(\d+): ?(.*)$`)

// line handles one complete line; s.mu is held.
func (s *Sampler) line(line string, now time.Time) {
	if s.stopped || strings.TrimSpace(line) == "" {
		return
	}
	s.lastLine = now
	s.sum.Lines++
	node, text := "", line
	if s.tool.Labeled {
		if m := labelLineRe.FindStringSubmatch(line); m != nil {
			node, text = m[1], m[2]
		}
	}
	fields := splitCSV(text)
	if IsHeader(fields) {
		norm := normHeader(fields)
		switch {
		case s.header == "":
			s.header = norm
			h := strings.TrimSpace(text) + "," + HostTimeColumn + "," + NodeColumn
			s.write(h)
			s.parser.Line(h)
		case norm != s.header && !s.badNode[node]:
			s.badNode[node] = true
			s.warn(fmt.Sprintf("node %q printed a different header; its lines are left out: %s", node, clip(text, 200)))
		}
		s.nodeHeader[node] = true
		return
	}
	if !s.nodeHeader[node] || s.badNode[node] {
		s.sum.Preamble++
		if s.sum.Preamble <= 3 {
			s.warn("line before the CSV header: " + clip(text, 200))
		}
		return
	}
	out := text + "," + FormatHostTime(now) + "," + node
	s.write(out)
	smp, ok := s.parser.Line(out)
	if !ok {
		return
	}
	k := smp.Key()
	if t, seen := s.last[k]; !seen || smp.Time > t {
		s.last[k] = smp.Time
	}
	s.lastSample = now
	s.firstOnce.Do(func() { close(s.first) })
	select {
	case s.upd <- struct{}{}:
	default:
	}
}

func normHeader(fields []string) string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = strings.TrimSpace(f)
	}
	return strings.Join(out, ",")
}

func (s *Sampler) write(line string) {
	if s.w == nil {
		return
	}
	if _, err := s.w.WriteString(line + "\n"); err != nil && s.sum.Problem == "" {
		s.sum.Problem, s.sum.Message = ProblemFile, err.Error()
	}
}

func (s *Sampler) warn(w string) {
	if len(s.sum.Warnings) < 20 {
		s.sum.Warnings = append(s.sum.Warnings, w)
	}
}

// Stop ends sampling after the point's window closed at end. A healthy tool is given until
// its next sample on every GPU is past end (the window must be bracketed), but never longer
// than two intervals after its last sample arrived; a tool that has printed nothing for that
// long, has exited or never started is not waited for at all. The tool is then signalled and
// left to exit in the background: Stop never waits on the process itself.
func (s *Sampler) Stop(end time.Time) Summary {
	clk := s.opt.Clock
	t0 := clk.Now()
	endUnix := unix(end)
	var timeout <-chan time.Time
	for {
		s.mu.Lock()
		wait, deadline := s.needWait(endUnix, clk.Now())
		s.mu.Unlock()
		if !wait {
			break
		}
		if timeout == nil {
			timeout = clk.After(deadline)
		}
		select {
		case <-s.upd:
			continue
		case <-s.done:
		case <-timeout:
		}
		break
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	now := clk.Now()
	running := !closed(s.done)
	switch {
	case !running || s.sum.Problem != "":
	case s.lastLine.IsZero():
		s.sum.Problem = ProblemStalled
		s.sum.Message = fmt.Sprintf("%s printed nothing in %.1fs", s.tool.Name(), now.Sub(t0).Seconds()+s.sum.StartWaitS)
	case now.Sub(s.lastLine) > 2*s.iv:
		s.sum.Problem = ProblemStalled
		s.sum.Message = fmt.Sprintf("%s printed nothing for the last %.1fs", s.tool.Name(), now.Sub(s.lastLine).Seconds())
	case s.header == "":
		s.sum.Problem = ProblemNoHeader
		s.sum.Message = fmt.Sprintf("%s printed %d lines but no CSV header", s.tool.Name(), s.sum.Lines)
	}
	if s.w != nil {
		if err := s.w.Flush(); err != nil && s.sum.Problem == "" {
			s.sum.Problem, s.sum.Message = ProblemFile, err.Error()
		}
		if err := s.f.Close(); err != nil && s.sum.Problem == "" {
			s.sum.Problem, s.sum.Message = ProblemFile, err.Error()
		}
		s.w = nil
	}
	if p := s.proc; p != nil && running {
		_ = p.Signal(syscall.SIGTERM)
		// The kill is the reaper's business, in the background: a tool stuck in the driver
		// may never exit, and nothing here waits for it.
		done := s.done
		time.AfterFunc(2*time.Second, func() {
			if !closed(done) {
				_ = p.Signal(syscall.SIGKILL)
			}
		})
	}
	res := s.parser.Result()
	s.sum.Samples, s.sum.Issues = len(res.Samples), len(res.Issues)
	s.sum.GPUs = s.sum.GPUs[:0]
	for k := range s.last {
		s.sum.GPUs = append(s.sum.GPUs, k)
	}
	slices.Sort(s.sum.GPUs)
	s.sum.StopWaitS = now.Sub(t0).Seconds()
	return s.sum
}

// needWait reports whether Stop should wait for a bracketing sample, and for how long at
// most; s.mu is held.
func (s *Sampler) needWait(end float64, now time.Time) (bool, time.Duration) {
	if closed(s.done) || len(s.last) == 0 || s.lastSample.IsZero() {
		return false, 0
	}
	deadline := s.lastSample.Add(2 * s.iv)
	if !now.Before(deadline) {
		return false, 0
	}
	for _, t := range s.last {
		if t < end {
			return true, deadline.Sub(now)
		}
	}
	return false, 0
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
