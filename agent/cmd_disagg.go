package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/inferbench/inferbench/internal/disagg"
	"github.com/inferbench/inferbench/internal/execx"
)

// cmdDisagg runs this node's share of a disaggregated deployment: `agent run` writes the
// plan and starts one copy per node of the allocation.
func cmdDisagg(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("agent disagg", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, `usage: agent disagg --plan FILE [flags]

Starts this node's processes of a disaggregated deployment (frontend, prefill and decode
workers) from the plan agent run wrote, and supervises them: when one exits the others are
stopped and the command exits non-zero; SIGTERM and SIGINT are passed on. The node comes
from SLURM_NODEID and the allocation's hosts from SLURM_JOB_NODELIST (one node on
127.0.0.1 without Slurm).

flags:`)
		fs.PrintDefaults()
	}
	planPath := fs.String("plan", "", "deployment plan file (JSON, written by agent run)")
	nodeList := fs.String("nodelist", "", "the allocation's nodes, e.g. gb200-[01-04] (default $SLURM_JOB_NODELIST)")
	nodeID := fs.String("node-id", "", "this node's position in the allocation (default $SLURM_NODEID, else 0)")
	grace := fs.Duration("stop-grace", 30*time.Second, "time processes get between the stop signal and SIGKILL")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(e.stderr, disagg.FatalPrefix+" "+format+"\n", a...)
		return code
	}
	if fs.NArg() > 0 || *planPath == "" {
		return fail(exitUsage, "usage: agent disagg --plan FILE (unexpected %q)", fs.Args())
	}
	b, err := os.ReadFile(*planPath)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	plan, err := disagg.ParsePlan(b)
	if err != nil {
		return fail(exitUsage, "%s: %v", *planPath, err)
	}
	list := *nodeList
	if list == "" {
		list = e.getenv("SLURM_JOB_NODELIST")
	}
	id := *nodeID
	if id == "" {
		id = e.getenv("SLURM_NODEID")
	}
	node := 0
	if id != "" {
		if node, err = strconv.Atoi(id); err != nil {
			return fail(exitUsage, "node id %q is not a number", id)
		}
	}
	hosts := []string{"127.0.0.1"}
	if list != "" {
		if hosts, err = disagg.ExpandNodeList(list); err != nil {
			return fail(exitUsage, "%v", err)
		}
	}
	if plan.Nodes == 1 && len(hosts) != 1 {
		// A co-located deployment started outside a one-node allocation (a local launch by
		// an agent that itself runs inside a Slurm job) stays on this machine.
		hosts, node = []string{"127.0.0.1"}, 0
	}
	procs, err := plan.ForNode(node, hosts)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	l := &disagg.Launcher{Starter: execx.OS{}, Environ: e.environment(), Out: e.stdout, Err: e.stderr, Grace: *grace}
	// Signals arrive on sigs, which tells SIGINT from SIGTERM; the context main cancels on
	// either would not.
	return l.Run(context.WithoutCancel(ctx), node, procs, sigs)
}
