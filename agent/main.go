// Command agent runs on a GPU runner: it launches an engine, drives load against it,
// and writes, collects, compares and reports the results.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// env is what a subcommand may touch of the process: its streams and environment.
// Subcommands never read os.Args or os.Getenv themselves, so tests can hand in fakes.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// Exit statuses shared by all subcommands.
const (
	exitOK        = 0
	exitBenchFail = 1 // the benchmark ran but did not meet its bar (failed requests, eval below threshold)
	exitUsage     = 2 // bad command line or input
	exitEngine    = 3 // the engine did not start, died or could not be reached
	exitInternal  = 4 // anything else: I/O errors, a backend that misbehaved
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
	"eval":      {"run an accuracy eval against an endpoint with the built-in scorer", cmdEval},
	"collect":   {"aggregate the results of a sweep into agg_bmk.json, agg_eval_all.json, run_stats.json", cmdCollect},
	"compare":   {"compare two result sets and flag regressions", cmdCompare},
	"report":    {"write a self-contained HTML report with charts", cmdReport},
	"demo":      {"the whole flow on this machine: matrix, runs on the simulator, collect, report", cmdDemo},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, env{os.Stdin, os.Stdout, os.Stderr, os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

func dispatch(ctx context.Context, e env, args []string) int {
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
