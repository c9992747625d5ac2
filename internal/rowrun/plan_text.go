package rowrun

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// WriteText writes the plan for people: the row and runner, then per launch the engine
// command line, its environment, config files and setup steps, and the points run
// against it. The JSON form (encoding/json) holds the same and the backend's request.
func (p *Plan) WriteText(w io.Writer) error {
	var b strings.Builder
	row := p.Row
	fmt.Fprintf(&b, "row: %s %s %s %s", row.ExpName, row.Model, row.Precision, row.Framework)
	if row.Multinode() {
		fmt.Fprintf(&b, " prefill %dx tp%d ep%d, decode %dx tp%d ep%d", row.Prefill.NumWorkers, row.Prefill.TP, row.Prefill.EP,
			row.Decode.NumWorkers, row.Decode.TP, row.Decode.EP)
	} else {
		fmt.Fprintf(&b, " tp%d ep%d dp-attn %t", row.TP, row.EP, row.DPAttn)
	}
	fmt.Fprintf(&b, " spec-decoding %s, isl %d osl %d, conc %s\n", row.SpecDecoding, row.ISL, row.OSL, joinConcs(row.Conc, " "))
	fmt.Fprintf(&b, "runner: %s (family %s, %s backend, gpu %s), port %d", p.Runner.Name, p.Runner.Family, p.Runner.Backend, p.Runner.GPU, p.Runner.Port)
	if p.Runner.PortAtRunTime {
		b.WriteString(" (a free port is picked when it runs)")
	}
	fmt.Fprintf(&b, "\nrecipe: %s (%s)\n", p.Recipe.Name, p.Recipe.Source)
	for _, h := range p.Runner.HostSetup {
		fmt.Fprintf(&b, "host setup: %s\n", strings.Join(h, " "))
	}
	for i, l := range p.Launches {
		e := l.Engine
		concs := make([]string, len(l.Points))
		for j, pt := range l.Points {
			concs[j] = fmt.Sprint(pt.Conc)
		}
		fmt.Fprintf(&b, "\nlaunch %d of %d (fingerprint %s): conc %s\n", i+1, len(p.Launches), l.Fingerprint, strings.Join(concs, " "))
		if e.Image != "" {
			fmt.Fprintf(&b, "  image:   %s\n", e.Image)
		}
		fmt.Fprintf(&b, "  gpus:    %d x %d node(s), ready within %s, health %s\n", e.GPUs, e.Nodes, e.ReadyTimeout, e.Health)
		for _, st := range e.Setup {
			fmt.Fprintf(&b, "  setup:   %s\n", st)
		}
		fmt.Fprintf(&b, "  engine:  %s\n", strings.Join(e.Argv, " "))
		for _, k := range sortedKeys(e.Env) {
			fmt.Fprintf(&b, "  env:     %s=%s\n", k, e.Env[k])
		}
		for _, k := range e.ForwardEnv {
			fmt.Fprintf(&b, "  env:     %s (from the agent's environment)\n", k)
		}
		if e.InheritsAgentEnv {
			b.WriteString("  env:     ... and the agent's own environment\n")
		}
		for _, name := range sortedKeys(e.Files) {
			fmt.Fprintf(&b, "  file %s:\n", name)
			for _, line := range strings.Split(strings.TrimRight(e.Files[name], "\n"), "\n") {
				fmt.Fprintf(&b, "    %s\n", line)
			}
		}
		if len(l.Points) > 0 {
			c := l.Points[0].Client
			rate := fmt.Sprint(float64(c.RequestRate))
			if math.IsInf(float64(c.RequestRate), 1) {
				rate = "inf"
			}
			fmt.Fprintf(&b, "  client:  %s %s, %s prompts, chat template %t, isl %d osl %d range ratio %g, ignore-eos %t, rate %s\n",
				c.Backend, c.Endpoint, c.PromptForm, c.ChatTemplate, c.InputLen, c.OutputLen, c.RandomRangeRatio, c.IgnoreEOS, rate)
		}
		for _, pt := range l.Points {
			fmt.Fprintf(&b, "  point:   conc %d, %d prompts, %d warm-ups -> %s\n", pt.Conc, pt.Client.NumPrompts, pt.Client.NumWarmups, pt.ResultFilename)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
