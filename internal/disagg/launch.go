package disagg

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/inferbench/inferbench/internal/execx"
)

// FatalPrefix starts the line the launcher prints when the deployment breaks; recipes list
// it in fatal-log so the agent stops waiting or benchmarking at once.
const FatalPrefix = "FATAL: inferbench-disagg:"

// Launcher starts one node's processes of a deployment and supervises them: the node's
// share of the deployment lives and dies as one. When any process exits the launcher stops
// the others and exits non-zero; SIGTERM and SIGINT are passed on to every process.
type Launcher struct {
	Starter execx.Starter
	// Environ is the node's environment; each process gets it plus its own variables.
	Environ []string
	// Out receives the processes' standard output and the launcher's own lines; Err their
	// standard error. An *os.File is handed to the processes as it is.
	Out, Err io.Writer
	// Grace is how long processes get between the stop signal and SIGKILL; 0 means 30s.
	Grace time.Duration
	// After starts the grace timer; nil means time.After.
	After func(time.Duration) <-chan time.Time
}

type exited struct {
	i   int
	res execx.Result
	err error
}

// Run starts procs (the processes of node) and supervises them until one exits, a signal
// arrives on signals or ctx ends. It returns the launcher's exit status: the status of
// the process that ended the deployment (1 when that was 0 or unknown), or 128 plus the
// signal number after a signal (SIGTERM for ctx).
func (l *Launcher) Run(ctx context.Context, node int, procs []Process, signals <-chan os.Signal) int {
	logf := func(format string, a ...any) {
		fmt.Fprintf(l.Out, "inferbench-disagg: node %d: "+format+"\n", append([]any{node}, a...)...)
	}
	done := make(chan exited, len(procs))
	var started []execx.Process
	for i, p := range procs {
		logf("%s", describe(p))
		env := append(append([]string{}, l.Environ...), p.Env...)
		cmd := execx.Cmd{Name: p.Argv[0], Args: p.Argv[1:], Env: env, Stdout: l.Out, Stderr: l.Err,
			Passthrough: true, KillWithParent: true}
		// The processes outlive ctx: the launcher stops them itself, with a grace period.
		proc, err := l.Starter.Start(context.WithoutCancel(ctx), cmd)
		if err != nil {
			fmt.Fprintf(l.Out, "%s could not start the %s worker %d on node %d: %v; stopping the rest\n", FatalPrefix, p.Role, p.Index, node, err)
			l.stop(started, make([]bool, len(started)), done, syscall.SIGTERM)
			return 1
		}
		started = append(started, proc)
		go func() {
			res, err := proc.Wait()
			done <- exited{i, res, err}
		}()
	}
	if len(procs) == 0 {
		logf("no process of the deployment runs on this node; waiting until the deployment is stopped")
	}
	gone := make([]bool, len(started))
	select {
	case e := <-done:
		gone[e.i] = true
		p := procs[e.i]
		how := fmt.Sprintf("exit status %d", e.res.ExitCode)
		if e.res.ExitCode < 0 && e.err != nil {
			how = e.err.Error()
		}
		fmt.Fprintf(l.Out, "%s a deployment component on node %d exited (%s worker %d, %s: %s); stopping the rest\n",
			FatalPrefix, node, p.Role, p.Index, p.Argv[0], how)
		l.stop(started, gone, done, syscall.SIGTERM)
		if e.res.ExitCode > 0 {
			return e.res.ExitCode
		}
		return 1
	case sig := <-signals:
		logf("received %v: stopping %d process(es)", sig, len(started))
		l.stop(started, gone, done, sig)
		return 128 + signalNumber(sig)
	case <-ctx.Done():
		logf("cancelled: stopping %d process(es)", len(started))
		l.stop(started, gone, done, syscall.SIGTERM)
		return 128 + int(syscall.SIGTERM)
	}
}

// stop sends sig to every process still running, waits for them for the grace period and
// kills what is left.
func (l *Launcher) stop(ps []execx.Process, gone []bool, done <-chan exited, sig os.Signal) {
	left := 0
	for i, p := range ps {
		if !gone[i] {
			_ = p.Signal(sig)
			left++
		}
	}
	if left == 0 {
		return
	}
	grace := l.Grace
	if grace == 0 {
		grace = 30 * time.Second
	}
	after := l.After
	if after == nil {
		after = time.After
	}
	timer := after(grace)
	for left > 0 {
		select {
		case e := <-done:
			gone[e.i] = true
			left--
		case <-timer:
			fmt.Fprintf(l.Out, "inferbench-disagg: %d process(es) still running %v after %v: killing them\n", left, grace, sig)
			for i, p := range ps {
				if !gone[i] {
					_ = p.Signal(syscall.SIGKILL)
				}
			}
			timer = nil
		}
	}
}

func signalNumber(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return int(n)
	}
	return int(syscall.SIGTERM)
}

// describe is the log line of a starting process.
func describe(p Process) string {
	head := ""
	for _, kv := range p.Env {
		if v, ok := strings.CutPrefix(kv, "WORKER_HEAD="); ok {
			head = v
		}
	}
	s := fmt.Sprintf("%s worker %d (rank %d of %d, head %s", p.Role, p.Index, p.Rank, p.NNodes, head)
	if p.Devices != "" {
		s += ", gpus " + p.Devices
	}
	return s + "): " + execx.Cmd{Name: p.Argv[0], Args: p.Argv[1:]}.String()
}
