package disagg

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Plan is a whole deployment, rendered when the run is planned: every process of every
// node with its command line and environment. Only host names are left open, because
// Slurm picks the nodes when the job starts; they appear as host references (HostRef)
// that the launcher on each node replaces.
type Plan struct {
	Nodes     int       `json:"nodes"`
	Processes []Process `json:"processes"`
}

// Process is one program of the deployment.
type Process struct {
	Slot
	Argv []string `json:"argv"`
	// Env is KEY=VALUE added to the node's environment.
	Env []string `json:"env,omitempty"`
}

// HostRef is how a rendered command names the host of a node of the allocation before
// the allocation exists.
func HostRef(node int) string { return "<node:" + strconv.Itoa(node) + ">" }

var hostRefRE = regexp.MustCompile(`<node:(\d+)>`)

// ParsePlan decodes a plan file and checks that it is usable.
func ParsePlan(b []byte) (*Plan, error) {
	var p Plan
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("deployment plan: %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate reports every problem of the plan at once.
func (p *Plan) Validate() error {
	var errs []error
	if p.Nodes < 1 {
		errs = append(errs, fmt.Errorf("deployment plan: %d nodes, want at least 1", p.Nodes))
	}
	for i, pr := range p.Processes {
		what := fmt.Sprintf("deployment plan: process %d (%s worker %d)", i, pr.Role, pr.Index)
		if len(pr.Argv) == 0 || pr.Argv[0] == "" {
			errs = append(errs, fmt.Errorf("%s: empty command", what))
		}
		if pr.Node < 0 || pr.Node >= p.Nodes || pr.Head < 0 || pr.Head >= p.Nodes {
			errs = append(errs, fmt.Errorf("%s: node %d (head %d) outside the %d-node allocation", what, pr.Node, pr.Head, p.Nodes))
		}
		for _, kv := range pr.Env {
			if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
				errs = append(errs, fmt.Errorf("%s: environment entry %q is not KEY=VALUE", what, kv))
			}
		}
		for _, s := range append(append([]string{}, pr.Argv...), pr.Env...) {
			for _, m := range hostRefRE.FindAllStringSubmatch(s, -1) {
				if n, _ := strconv.Atoi(m[1]); n >= p.Nodes {
					errs = append(errs, fmt.Errorf("%s: %s names a node outside the %d-node allocation", what, m[0], p.Nodes))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// ForNode returns the processes of one node with host references replaced by the
// allocation's host names, and the per-worker environment added: HEAD_NODE (the
// frontend's host), WORKER_INDEX, WORKER_RANK, WORKER_NNODES, WORKER_HEAD and, for a
// worker with GPUs of its own, CUDA_VISIBLE_DEVICES.
func (p *Plan) ForNode(node int, hosts []string) ([]Process, error) {
	if len(hosts) != p.Nodes {
		return nil, fmt.Errorf("the plan is for %d node(s), the allocation has %d (%s): start one launcher per node of an allocation of the planned size",
			p.Nodes, len(hosts), strings.Join(hosts, ","))
	}
	if node < 0 || node >= p.Nodes {
		return nil, fmt.Errorf("node id %d is outside the %d-node allocation", node, p.Nodes)
	}
	resolve := func(s string) string {
		return hostRefRE.ReplaceAllStringFunc(s, func(ref string) string {
			n, _ := strconv.Atoi(hostRefRE.FindStringSubmatch(ref)[1])
			return hosts[n]
		})
	}
	var out []Process
	for _, pr := range p.Processes {
		if pr.Node != node {
			continue
		}
		q := Process{Slot: pr.Slot}
		for _, a := range pr.Argv {
			q.Argv = append(q.Argv, resolve(a))
		}
		q.Env = append(q.Env, "HEAD_NODE="+hosts[0], "WORKER_INDEX="+strconv.Itoa(pr.Index), "WORKER_RANK="+strconv.Itoa(pr.Rank),
			"WORKER_NNODES="+strconv.Itoa(pr.NNodes), "WORKER_HEAD="+hosts[pr.Head])
		if pr.Devices != "" {
			q.Env = append(q.Env, "CUDA_VISIBLE_DEVICES="+pr.Devices)
		}
		for _, kv := range pr.Env {
			q.Env = append(q.Env, resolve(kv))
		}
		out = append(out, q)
	}
	return out, nil
}
