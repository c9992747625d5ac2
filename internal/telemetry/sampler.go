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

// Problem codes a stream can end a recording with. They join the power-validation reasons.
const (
	ProblemMissing  = "telemetry_tool_missing"    // the program is not installed
	ProblemFailed   = "telemetry_tool_failed"     // it refused to start or exited early
	ProblemStalled  = "telemetry_tool_stalled"    // it runs but printed nothing lately
	ProblemFile     = "telemetry_file_unwritable" // the CSV could not be written
	ProblemNoHeader = "telemetry_no_header"       // it printed lines but never a CSV header
)

// Summary is what one recording got from the stream, for the validation sidecar and the log.
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
	// StartWaitS and StopWaitS are how long starting and stopping the recording held the
	// benchmark up.
	StartWaitS float64 `json:"start_wait_s"`
	StopWaitS  float64 `json:"stop_wait_s"`
}

// Options are the settings of a stream.
type Options struct {
	Starter execx.Starter  // runs the stream; default execx.OS
	Exec    execx.Executor // runs the probe; default execx.OS
	Clock   Clock          // default RealClock
}

// Stream is a running telemetry tool. It lives as long as the server it watches (sampling
// idle power between points does no harm), so a tool's start-up, which can take seconds on
// a GPU node, is paid once; each point records its own window into its own file.
type Stream struct {
	tool  *Tool
	opt   Options
	iv    time.Duration
	first chan struct{} // closed at the first sample
	done  chan struct{} // closed once the tool has ended or could not start

	mu         sync.Mutex
	header     string // the tool's header, normalised
	fileHeader string // the header line of the files
	nodeHeader map[string]bool
	badNode    map[string]bool
	keys       *Parser           // reads whose a line is, when no recording is open
	latest     map[string]string // the newest file line of each device, to open recordings with
	order      []string          // devices in the order first seen
	lastLine   time.Time
	lastSample time.Time
	partial    []byte
	closed     bool
	recorded   bool // a recording has been opened (only the first waits for a sample)
	firstOnce  sync.Once
	proc       execx.Process
	stderr     []string
	command    string
	problem    string
	message    string
	warnings   []string
	preamble   int
	recs       []*Recording
}

// Start starts the tool and returns at once; problems (a missing tool, a probe that hangs)
// surface in the recordings' summaries.
func (t *Tool) Start(ctx context.Context, opt Options) *Stream {
	if opt.Starter == nil {
		opt.Starter = execx.OS{}
	}
	if opt.Exec == nil {
		opt.Exec = execx.OS{}
	}
	if opt.Clock == nil {
		opt.Clock = RealClock{}
	}
	t.probeCache() // before the stream's goroutine reads it
	s := &Stream{tool: t, opt: opt, iv: t.EffectiveInterval(), first: make(chan struct{}), done: make(chan struct{}),
		nodeHeader: map[string]bool{}, badNode: map[string]bool{}, latest: map[string]string{}, keys: NewParser(nil)}
	go s.run(ctx)
	return s
}

func (s *Stream) fail(problem, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.problem == "" {
		s.problem, s.message = problem, msg
	}
}

// run probes the tool, starts the stream and waits for it to end.
func (s *Stream) run(ctx context.Context) {
	defer close(s.done)
	if err := s.tool.Probe(ctx, s.opt.Exec); err != nil {
		s.fail(problemOf(err), fmt.Sprintf("%s could not be run: %v", s.tool.Name(), err))
		return
	}
	c := s.tool.command(s.tool.StreamArgs())
	c.Stdout, c.Stderr, c.Passthrough = lineWriter{s}, stderrWriter{s}, true
	c.KillWithParent = true // an agent killed outright leaves no sampler behind
	c.KillGrace = 2 * time.Second
	s.mu.Lock()
	s.command = c.String()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return
	}
	p, err := s.opt.Starter.Start(ctx, c)
	if err != nil {
		s.fail(problemOf(err), fmt.Sprintf("%s could not be started: %v", s.tool.Name(), err))
		return
	}
	s.mu.Lock()
	s.proc = p
	if s.closed { // closed while starting
		_ = p.Signal(syscall.SIGTERM)
	}
	s.mu.Unlock()
	res, err := p.Wait()
	s.mu.Lock()
	closed = s.closed
	tail := strings.Join(s.stderr, " | ")
	s.mu.Unlock()
	if !closed {
		msg := fmt.Sprintf("%s exited (status %d) while it was needed", s.tool.Name(), res.ExitCode)
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

type lineWriter struct{ s *Stream }

func (w lineWriter) Write(b []byte) (int, error) {
	w.s.feed(b)
	return len(b), nil
}

type stderrWriter struct{ s *Stream }

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
func (s *Stream) feed(b []byte) {
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
func (s *Stream) line(line string, now time.Time) {
	if s.closed || strings.TrimSpace(line) == "" {
		return
	}
	s.lastLine = now
	for _, r := range s.recs {
		r.lines++
	}
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
			s.fileHeader = strings.TrimSpace(text) + "," + HostTimeColumn + "," + NodeColumn
			s.keys.Line(s.fileHeader)
			for _, r := range s.recs {
				r.write(s.fileHeader)
			}
		case norm != s.header && !s.badNode[node]:
			s.badNode[node] = true
			s.warn(fmt.Sprintf("node %q printed a different header; its lines are left out: %s", node, clip(text, 200)))
		}
		s.nodeHeader[node] = true
		return
	}
	if !s.nodeHeader[node] || s.badNode[node] {
		s.preamble++
		if s.preamble <= 3 {
			s.warn("line before the CSV header: " + clip(text, 200))
		}
		return
	}
	out := text + "," + FormatHostTime(now) + "," + node
	var key string
	for _, r := range s.recs {
		if smp, ok := r.write(out); ok {
			key = smp.Key()
		}
	}
	if key == "" {
		if smp, ok := s.keys.Sample(out); ok {
			key = smp.Key()
		}
	}
	if key == "" {
		return
	}
	if _, seen := s.latest[key]; !seen {
		s.order = append(s.order, key)
	}
	s.latest[key] = out
	s.lastSample = now
	s.firstOnce.Do(func() { close(s.first) })
}

func normHeader(fields []string) string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = strings.TrimSpace(f)
	}
	return strings.Join(out, ",")
}

func (s *Stream) warn(w string) {
	if len(s.warnings) < 20 {
		s.warnings = append(s.warnings, w)
	}
}

// Close stops the tool. It signals the process and leaves it to exit in the background: a
// tool stuck in the driver may never exit, and nothing here waits for it.
func (s *Stream) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for _, r := range s.recs {
		r.close()
	}
	s.recs = nil
	if p := s.proc; p != nil && !isClosed(s.done) {
		_ = p.Signal(syscall.SIGTERM)
		done := s.done
		time.AfterFunc(2*time.Second, func() {
			if !isClosed(done) {
				_ = p.Signal(syscall.SIGKILL)
			}
		})
	}
}

// Recording is one point's share of a stream, written to its own file.
type Recording struct {
	s       *Stream
	w       *bufio.Writer
	f       *os.File
	parser  *Parser
	last    map[string]float64 // latest sample time per device
	upd     chan struct{}
	lines   int
	wait    time.Duration
	problem string
	message string
}

// Record opens a point's file: the tool's header and the newest reading of every GPU (so a
// window that opens right away is still bracketed), then every line from now on. Only the
// first recording of a stream waits, for the stream's first sample, and at most one
// sampling interval: a tool that hangs costs a server launch one interval, a missing one
// nothing.
func (s *Stream) Record(path string) *Recording {
	clk := s.opt.Clock
	t0 := clk.Now()
	s.mu.Lock()
	waitFirst := !s.recorded
	s.recorded = true
	s.mu.Unlock()
	if waitFirst {
		select {
		case <-s.first:
		case <-s.done:
		default:
			select {
			case <-s.first:
			case <-s.done:
			case <-clk.After(s.iv):
			}
		}
	}
	r := &Recording{s: s, parser: NewParser(nil), last: map[string]float64{}, upd: make(chan struct{}, 1)}
	r.wait = clk.Now().Sub(t0)
	f, err := os.Create(path)
	if err != nil {
		r.problem, r.message = ProblemFile, err.Error()
		return r
	}
	r.f, r.w = f, bufio.NewWriterSize(f, 64*1024)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		r.close()
		return r
	}
	if s.fileHeader != "" {
		r.write(s.fileHeader)
		for _, k := range s.order {
			r.write(s.latest[k])
		}
	}
	s.recs = append(s.recs, r)
	return r
}

// write adds a line to the file and parses it; s.mu is held.
func (r *Recording) write(line string) (Sample, bool) {
	if r.w == nil {
		return Sample{}, false
	}
	if _, err := r.w.WriteString(line + "\n"); err != nil && r.problem == "" {
		r.problem, r.message = ProblemFile, err.Error()
	}
	smp, ok := r.parser.Line(line)
	if ok {
		if t, seen := r.last[smp.Key()]; !seen || smp.Time > t {
			r.last[smp.Key()] = smp.Time
		}
		select {
		case r.upd <- struct{}{}:
		default:
		}
	}
	return smp, ok
}

// close flushes and closes the file; s.mu is held.
func (r *Recording) close() {
	if r.w == nil {
		return
	}
	if err := r.w.Flush(); err != nil && r.problem == "" {
		r.problem, r.message = ProblemFile, err.Error()
	}
	if err := r.f.Close(); err != nil && r.problem == "" {
		r.problem, r.message = ProblemFile, err.Error()
	}
	r.w = nil
}

// Stop ends the recording after its window closed at end. A healthy tool is given until its
// next sample on every GPU is past end (the window must be bracketed), but never longer than
// two intervals after its last sample arrived, nor three after Stop was called; a tool that
// has printed nothing for two intervals, has exited or never started is not waited for at
// all. The stream goes on.
func (r *Recording) Stop(end time.Time) Summary {
	s, clk := r.s, r.s.opt.Clock
	t0 := clk.Now()
	endUnix := unix(end)
	limit := t0.Add(3 * s.iv) // whatever the tool prints, Stop returns by then
	for {
		s.mu.Lock()
		wait, deadline := r.needWait(endUnix, clk.Now())
		s.mu.Unlock()
		if deadline.After(limit) {
			deadline = limit
		}
		now := clk.Now()
		if !wait || !now.Before(deadline) {
			break
		}
		// Each sample moves the deadline: the wait is for the sample due after the last one.
		select {
		case <-r.upd:
			continue
		case <-s.done:
		case <-clk.After(deadline.Sub(now)):
		}
		break
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := clk.Now()
	s.recs = slices.DeleteFunc(s.recs, func(x *Recording) bool { return x == r })
	r.close()
	sum := Summary{Tool: s.tool.Name(), Command: s.command, IntervalS: s.iv.Seconds(), Lines: r.lines,
		Preamble: s.preamble, Warnings: slices.Clone(s.warnings), Problem: s.problem, Message: s.message,
		StartWaitS: r.wait.Seconds(), StopWaitS: now.Sub(t0).Seconds()}
	running := !isClosed(s.done)
	switch {
	case sum.Problem != "" || !running:
	case r.problem != "":
		sum.Problem, sum.Message = r.problem, r.message
	case s.lastLine.IsZero():
		sum.Problem = ProblemStalled
		sum.Message = fmt.Sprintf("%s printed nothing", s.tool.Name())
	case now.Sub(s.lastLine) > 2*s.iv:
		sum.Problem = ProblemStalled
		sum.Message = fmt.Sprintf("%s printed nothing for the last %.1fs", s.tool.Name(), now.Sub(s.lastLine).Seconds())
	case s.header == "":
		sum.Problem = ProblemNoHeader
		sum.Message = fmt.Sprintf("%s printed %d lines but no CSV header", s.tool.Name(), sum.Lines)
	}
	if sum.Problem != "" && len(s.stderr) > 0 && !strings.Contains(sum.Message, "stderr") {
		sum.Message += "; stderr: " + strings.Join(s.stderr, " | ")
	}
	res := r.parser.Result()
	sum.Samples, sum.Issues = len(res.Samples), len(res.Issues)
	sum.GPUs = []string{}
	for k := range r.last {
		sum.GPUs = append(sum.GPUs, k)
	}
	slices.Sort(sum.GPUs)
	return sum
}

// needWait reports whether Stop should wait for a bracketing sample, and until when at the
// latest; s.mu is held.
func (r *Recording) needWait(end float64, now time.Time) (bool, time.Time) {
	s := r.s
	if isClosed(s.done) || s.closed || len(r.last) == 0 || s.lastSample.IsZero() {
		return false, now
	}
	deadline := s.lastSample.Add(2 * s.iv)
	for _, t := range r.last {
		if t < end {
			return now.Before(deadline), deadline
		}
	}
	return false, now
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
