// Command generator turns benchmark configs into GitHub Actions matrix JSON. It is a
// drop-in for the reference's generate_sweep_configs.py: same subcommands, options,
// exit statuses and output (docs/generator.md), with positioned validation errors.
//
// It reads the files of both InferenceX generations, 2026-02 and 2026-08, recognised from
// their contents, and behaves as that generation's reference does; migrate rewrites
// 2026-02 files into the 2026-08 schema (docs/generator-generations.md).
//
// Additions to the reference, none of which changes its default behaviour:
//
//   - every problem of every input file is reported as "file:line:col: message" with a
//     hint, and as ::error annotations when GITHUB_ACTIONS=true;
//   - with $GITHUB_OUTPUT set, the matrix is also written as the step output "matrix"
//     (stdout is unchanged);
//   - --max-jobs N prints the rows split into shards of at most N rows:
//     {"shard_count": K, "shard_index": [0, ..., K-1], "shards": [[row, ...], ...]}.
//     GitHub runs at most 256 jobs per matrix; a workflow fans out over shard_index
//     with an outer matrix and hands shards[i] to a reusable workflow as its inner
//     matrix, so a sweep of any size runs. The shape is the same for any row count
//     (one shard when the rows fit), so workflows need no second code path; no rows give
//     {"shard_count": 0, "shard_index": [], "shards": []}, so a workflow guarded by
//     shard_count > 0 (or fanning out over the empty shard_index) starts no job.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/inferbench/inferbench/internal/diag"
)

// env is what a subcommand may touch of the process: its streams and environment.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// Exit statuses, as the reference's: 2 for usage errors found by the argument parser,
// 1 for everything else.
const (
	exitOK    = 0
	exitFail  = 1 // invalid or missing files, selection errors
	exitUsage = 2 // bad command line
)

// command is one subcommand. run gets the words after the subcommand name.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e env, args []string) int
}

// commands lists the subcommands in the order help shows them. Adding a subcommand
// is one line here plus its cmd function in its own file.
var commands = []command{
	{"full-sweep", "expand every config that passes the filters", cmdFullSweep},
	{"runner-model-sweep", "one representative point of each config on every node of a runner type", cmdRunnerModelSweep},
	{"test-config", "expand the named config keys completely", cmdTestConfig},
	{"changelog", "expand the perf-changelog entries added between two git refs", cmdChangelog},
	{"validate", "check the master configs, runner file and perf-changelog without expanding", cmdValidate},
	{"migrate", "rewrite 2026-02 master configs and runner files into the 2026-08 schema", cmdMigrate},
}

func main() {
	// A run allocates a few MB and ends within milliseconds: collecting garbage would
	// only cost time. The limit keeps pathological inputs bounded.
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(1 << 30)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, env{os.Stdin, os.Stdout, os.Stderr, os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

func dispatch(ctx context.Context, e env, args []string) int {
	args, err := expandArgsFromEnv(args, e.getenv)
	if err != nil {
		fmt.Fprintf(e.stderr, "generator: error: %s\n", diag.Clean(err.Error()))
		return exitUsage
	}
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		topUsage(e.stdout, true)
		return exitOK
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		topUsage(e.stderr, false)
		fmt.Fprintln(e.stderr, "generator: error: the following arguments are required: command")
		return exitUsage
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	topUsage(e.stderr, false)
	fmt.Fprintf(e.stderr, "generator: error: argument command: invalid choice: '%s' (choose from %s)\n", diag.Clean(args[0]), quoteJoin(commandNames()))
	return exitUsage
}

func commandNames() []string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return names
}

func topUsage(w io.Writer, long bool) {
	fmt.Fprintf(w, "usage: generator [-h] {%s} ...\n", strings.Join(commandNames(), ","))
	if !long {
		return
	}
	fmt.Fprintln(w, "\nTurn benchmark configs into GitHub Actions matrix JSON.\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-20s  %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'generator <command> -h' for the options of a command.")
}
