// Command agent runs on a GPU runner: it launches an engine, drives load against it,
// and writes, collects, compares and reports the results.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"syscall"
)

// env is what a subcommand may touch of the process: its streams and environment.
// Subcommands never read os.Args, os.Getenv or os.Environ themselves, so tests can hand in
// fakes; the processes they start (engines, the generator, eval harnesses) inherit the
// environment they are given here.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// environ is the whole environment, for engines that inherit it; nil means none.
	environ func() []string
	// hurry is closed on a second interrupt: finish now (kill, do not wait out graces).
	hurry <-chan struct{}
}

// Exit statuses shared by all subcommands.
const (
	exitOK        = 0
	exitBenchFail = 1 // the benchmark ran but did not meet its bar (failed requests, eval below threshold)
	exitUsage     = 2 // bad command line or input
	exitEngine    = 3 // the engine did not start, died or could not be reached
	exitInternal  = 4 // anything else: I/O errors, a backend that misbehaved
	exitPower     = 5 // power was required (--require-power) and its telemetry did not validate
)

type command struct {
	summary string
	run     func(ctx context.Context, e env, args []string) int
}

var commands = map[string]command{
	"run":       {"run one matrix row: launch the engine, benchmark every concurrency point, clean up", cmdRun},
	"bench":     {"drive load against an OpenAI-compatible endpoint and write the result", cmdBench},
	"serve-sim": {"serve the built-in OpenAI-compatible engine simulator", cmdServeSim},
	"disagg":    {"run this node's share of a disaggregated deployment (started by agent run)", cmdDisagg},
	"sim-smi":   {"print a simulator's GPUs as nvidia-smi or amd-smi would (power telemetry without a GPU)", cmdSimSMI},
	"eval":      {"run an accuracy eval against an endpoint with the built-in scorer", cmdEval},
	"collect":   {"aggregate the results of a sweep into agg_bmk.json, agg_eval_all.json, run_stats.json", cmdCollect},
	"compare":   {"compare two result sets and flag regressions", cmdCompare},
	"report":    {"write a self-contained HTML report with charts", cmdReport},
	"demo":      {"the whole flow on this machine: matrix, runs on the simulator, collect, report", cmdDemo},
	"plan":      {"what a sweep will cost before it runs: launches, GPU-hours, makespan; the matrix to run", cmdPlan},
}

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	hurry := make(chan struct{})
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go onSignals(sigs, cancel, hurry, os.Stderr)
	code := dispatch(ctx, env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, environ: os.Environ, hurry: hurry}, os.Args[1:])
	signal.Stop(sigs)
	os.Exit(code)
}

// onSignals maps the CI runner's cancellation onto the agent: the first SIGINT or SIGTERM
// cancels the work (the engine is stopped with its grace, results and status records are
// written), the second says the runner is about to kill us (kill the engine now), the third
// exits at once. GitHub's runner sends SIGINT, then SIGTERM 7.5 s later, then SIGKILL 2.5 s
// after that (docs/robustness.md).
func onSignals(sigs <-chan os.Signal, cancel context.CancelCauseFunc, hurry chan<- struct{}, stderr io.Writer) {
	n := 0
	for s := range sigs {
		n++
		switch n {
		case 1:
			fmt.Fprintf(stderr, "agent: %v: cancelling; stopping the engine and writing the status records\n", s)
			cancel(fmt.Errorf("cancelled by %v", s))
		case 2:
			fmt.Fprintf(stderr, "agent: %v again: killing the engine now\n", s)
			close(hurry)
		default:
			fmt.Fprintf(stderr, "agent: %v a third time: exiting without cleanup\n", s)
			os.Exit(exitInternal)
		}
	}
}

func dispatch(ctx context.Context, e env, args []string) (code int) {
	// A crash below main still ends with a message and the "anything else" status; the
	// subcommands have written what records they could (agent run records it per point).
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(e.stderr, "agent: internal error (a bug, please report it): %v\n%s", p, debug.Stack())
			code = exitInternal
		}
	}()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "agent: unknown command %q\n", args[0])
		usage(e.stderr)
		return exitUsage
	}
	return c.run(ctx, e, args[1:])
}

// environment is the environment a subcommand hands on to what it starts.
func (e env) environment() []string {
	if e.environ == nil {
		return nil
	}
	return e.environ()
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: agent <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'agent <command> -h' for the flags of one command.")
}
