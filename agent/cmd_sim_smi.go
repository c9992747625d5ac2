package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/inferbench/inferbench/internal/sim"
)

// cmdSimSMI imitates nvidia-smi or amd-smi for a running simulator, so the power
// telemetry of `agent run` and `agent demo` works without a GPU.
func cmdSimSMI(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("agent sim-smi", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, `usage: agent sim-smi --url URL [flags] nvidia-smi|amd-smi [TOOL ARGUMENTS]

Prints the simulated GPUs of the simulator at URL (its GET /sim/gpus) in the real tool's
format, for the command lines the agent's power sampler uses:

  agent sim-smi --url http://127.0.0.1:8000 nvidia-smi --query-gpu=timestamp,index,power.draw --format=csv --loop-ms=100
  agent sim-smi --url http://127.0.0.1:8000 amd-smi metric -p -c -t -u -E -w 1 --csv

flags:`)
		fs.PrintDefaults()
	}
	url := fs.String("url", "", "base URL of the simulator (agent serve-sim)")
	energyField := fs.String("energy-field", "", "name of an energy-counter field the fake nvidia-smi offers (none by default, like the real one)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *url == "" || fs.NArg() == 0 {
		fmt.Fprintln(e.stderr, "agent sim-smi: give --url and the tool to imitate (nvidia-smi or amd-smi)")
		return exitUsage
	}
	client := &http.Client{Timeout: 2 * time.Second}
	base := strings.TrimRight(*url, "/")
	smi := sim.SMI{EnergyField: *energyField, Stdout: e.stdout, Stderr: e.stderr,
		Read: func(ctx context.Context) (sim.GPUState, error) {
			var st sim.GPUState
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/sim/gpus", nil)
			if err != nil {
				return st, err
			}
			resp, err := client.Do(req)
			if err != nil {
				return st, err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return st, fmt.Errorf("GET %s/sim/gpus: %s", base, resp.Status)
			}
			return st, json.NewDecoder(resp.Body).Decode(&st)
		}}
	return smi.Run(ctx, fs.Args())
}
