package recipe

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/inferbench/inferbench/internal/disagg"
)

// PlanFile is the deployment plan a multi-node recipe's launch writes into the work
// directory; `agent disagg` reads it on every node.
const PlanFile = "disagg-plan.json"

// Deployment is the typed description of a disaggregated deployment: the programs of the
// frontend, of each prefill worker and of each decode worker. The agent places the workers
// on the allocation's nodes and renders one command line per process (templates see the
// row's values plus .Worker and .HeadNode); its own launcher, `agent disagg`, starts and
// supervises them on every node. No shell is involved.
type Deployment struct {
	// Env is added to every process of the deployment.
	Env map[string]string `yaml:"env"`
	// Frontend lists the programs of the first node that the deployment is reached through
	// (the OpenAI frontend on the agent's port, and what it needs beside it).
	Frontend []Component `yaml:"frontend"`
	// Prefill and Decode are the program of one worker of each side; a worker wider than a
	// node runs it once per node with .Worker.Rank set.
	Prefill Component `yaml:"prefill"`
	Decode  Component `yaml:"decode"`
}

// Component is one program: its templated arguments (argv[0] is the program) and
// environment. An argument that renders empty is dropped; one that renders to several
// lines becomes one argument per line (a flag repeated for every worker of a side).
type Component struct {
	Argv []string          `yaml:"argv"`
	Env  map[string]string `yaml:"env"`
}

// Worker is the process being rendered, as deployment templates see it (.Worker).
type Worker struct {
	Role                string // frontend, prefill or decode
	Index, Rank, NNodes int
	// Host is the host of the process's node; Head that of the worker's first node, where
	// its rank 0 runs (a distributed worker's rendezvous address). Both are filled in on
	// the node, when the allocation's hosts are known.
	Host, Head string
	// Devices is the worker's own CUDA_VISIBLE_DEVICES when it shares a node, else "".
	Devices string
}

// validate checks the parts of a deployment that need no rendering.
func (d *Deployment) validate() []error {
	var errs []error
	if len(d.Frontend) == 0 {
		errs = append(errs, errors.New("deployment.frontend: list at least the program that serves the endpoint"))
	}
	type named struct {
		name string
		c    Component
	}
	var comps []named
	for i, c := range d.Frontend {
		comps = append(comps, named{fmt.Sprintf("deployment.frontend[%d]", i), c})
	}
	comps = append(comps, named{"deployment.prefill", d.Prefill}, named{"deployment.decode", d.Decode})
	for _, nc := range comps {
		name, c := nc.name, nc.c
		if len(c.Argv) == 0 {
			errs = append(errs, fmt.Errorf("%s: argv is required (the program and its arguments)", name))
		}
		for _, k := range sortedKeys(c.Env) {
			if !envKeyRE.MatchString(k) {
				errs = append(errs, fmt.Errorf("%s: env key %q is not a valid variable name", name, k))
			}
		}
	}
	for _, k := range sortedKeys(d.Env) {
		if !envKeyRE.MatchString(k) {
			errs = append(errs, fmt.Errorf("deployment.env: key %q is not a valid variable name", k))
		}
	}
	return errs
}

// plan places the workers on nodes nodes and renders every process.
func (d *Deployment) plan(v Values, nodes int, devices bool) (*disagg.Plan, error) {
	layout := disagg.Layout{Nodes: nodes, GPUsPerNode: v.GPUsPerNode, Devices: devices,
		Prefill: disagg.Side{Workers: v.Prefill.NumWorkers, TP: v.Prefill.TP, Nodes: v.Prefill.Nodes},
		Decode:  disagg.Side{Workers: v.Decode.NumWorkers, TP: v.Decode.TP, Nodes: v.Decode.Nodes}}
	slots, err := layout.Slots()
	if err != nil {
		return nil, fmt.Errorf("deployment layout: %w", err)
	}
	v.HeadNode = disagg.HostRef(0)
	heads := map[string][]string{}
	for _, s := range slots {
		if s.Rank == 0 && s.Role != disagg.RoleFrontend {
			heads[s.Role] = append(heads[s.Role], disagg.HostRef(s.Head))
		}
	}
	v.Prefill.Heads, v.Decode.Heads = heads[disagg.RolePrefill], heads[disagg.RoleDecode]
	p := &disagg.Plan{Nodes: nodes}
	var errs []error
	for _, s := range slots {
		v.Worker = Worker{Role: s.Role, Index: s.Index, Rank: s.Rank, NNodes: s.NNodes, Host: disagg.HostRef(s.Node),
			Head: disagg.HostRef(s.Head), Devices: s.Devices}
		comps := d.Frontend
		switch s.Role {
		case disagg.RolePrefill:
			comps = []Component{d.Prefill}
		case disagg.RoleDecode:
			comps = []Component{d.Decode}
		}
		for _, c := range comps {
			pr, err := d.process(c, s, v)
			if err != nil {
				errs = append(errs, fmt.Errorf("deployment %s worker %d: %w", s.Role, s.Index, err))
				continue
			}
			p.Processes = append(p.Processes, pr)
		}
		if len(errs) > 0 {
			break // the same template fails for every worker: say it once
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, p.Validate()
}

func (d *Deployment) process(c Component, s disagg.Slot, v Values) (disagg.Process, error) {
	pr := disagg.Process{Slot: s}
	for _, t := range c.Argv {
		out, err := render(t, v)
		if err != nil {
			return pr, err
		}
		for _, a := range strings.Split(out, "\n") {
			if a = strings.TrimSpace(a); a != "" {
				pr.Argv = append(pr.Argv, a)
			}
		}
	}
	if len(pr.Argv) == 0 {
		return pr, fmt.Errorf("argv %q renders empty", c.Argv)
	}
	env := map[string]string{}
	for k, t := range d.Env {
		env[k] = t
	}
	for k, t := range c.Env {
		env[k] = t
	}
	for _, k := range sortedKeys(env) {
		val, err := render(env[k], v)
		if err != nil {
			return pr, err
		}
		pr.Env = append(pr.Env, k+"="+val)
	}
	return pr, nil
}

// renderDeployment fills out (whose GPUs and Nodes are set) with the launcher command
// and the plan file.
func (d *Deployment) renderDeployment(out *Rendered, v Values) error {
	p, err := d.plan(v, out.Nodes, out.GPUs > 0)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if out.Files == nil {
		out.Files = map[string]string{}
	}
	out.Files[PlanFile] = string(b) + "\n"
	out.Argv = []string{v.Agent, "disagg", "--plan", path.Join(v.Workdir, PlanFile)}
	return nil
}
