package disagg

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Roles of the processes of a deployment.
const (
	RoleFrontend = "frontend"
	RolePrefill  = "prefill"
	RoleDecode   = "decode"
)

// Side is one side of the deployment: how many workers, how many GPUs each (its tensor
// parallelism) and how many nodes the side occupies.
type Side struct {
	Workers, TP, Nodes int
}

// Layout is the shape of a whole deployment.
type Layout struct {
	// Nodes is the size of the allocation; GPUsPerNode how many GPUs each node has.
	Nodes, GPUsPerNode int
	Prefill, Decode    Side
	// Devices gives each worker that shares a node its own CUDA_VISIBLE_DEVICES. Off for
	// launches without GPUs (the simulator).
	Devices bool
}

// Slot is one worker's share of one node: a worker wider than a node has one slot per
// node (rank 0 on its head node), a narrower one exactly one.
type Slot struct {
	Role  string `json:"role"`
	Index int    `json:"index"`
	// Node is the node (0-based position in the allocation) the process runs on.
	Node int `json:"node"`
	// Rank is the slot's position among its worker's nodes; NNodes how many nodes the
	// worker spans; Head the node of its rank 0.
	Rank   int `json:"rank"`
	NNodes int `json:"nnodes"`
	Head   int `json:"head"`
	// Devices is the CUDA_VISIBLE_DEVICES of the slot; empty leaves the node's own.
	Devices string `json:"devices,omitempty"`
}

// Slots places the frontend on node 0, the prefill workers on the first Prefill.Nodes
// nodes and the decode workers on the next Decode.Nodes. A one-node allocation holds
// everything (each worker on its own GPUs when Devices is set). It reports every problem
// of the layout at once: a worker that does not fit is an error, never silently dropped.
func (l Layout) Slots() ([]Slot, error) {
	var errs []error
	if l.Nodes < 1 {
		errs = append(errs, fmt.Errorf("the deployment needs at least one node, got %d", l.Nodes))
	}
	if l.GPUsPerNode < 1 {
		errs = append(errs, fmt.Errorf("GPUs per node must be at least 1, got %d", l.GPUsPerNode))
	}
	for _, s := range []struct {
		name string
		side Side
	}{{RolePrefill, l.Prefill}, {RoleDecode, l.Decode}} {
		if s.side.Workers < 1 || s.side.TP < 1 {
			errs = append(errs, fmt.Errorf("%s: %d worker(s) of tp %d: both must be at least 1", s.name, s.side.Workers, s.side.TP))
		}
		if l.Nodes > 1 && s.side.Nodes < 1 {
			errs = append(errs, fmt.Errorf("%s: occupies %d nodes of a %d-node allocation: each side needs at least one", s.name, s.side.Nodes, l.Nodes))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slots := []Slot{{Role: RoleFrontend, NNodes: 1}}
	if l.Nodes == 1 {
		return l.colocated(slots)
	}
	if n := l.Prefill.Nodes + l.Decode.Nodes; n > l.Nodes {
		return nil, fmt.Errorf("prefill (%d nodes) and decode (%d nodes) need %d nodes, the allocation has %d", l.Prefill.Nodes, l.Decode.Nodes, n, l.Nodes)
	}
	p, perr := l.side(RolePrefill, l.Prefill, 0)
	d, derr := l.side(RoleDecode, l.Decode, l.Prefill.Nodes)
	if err := errors.Join(perr, derr); err != nil {
		return nil, err
	}
	return append(append(slots, p...), d...), nil
}

// colocated puts every worker on the one node, each on GPUs of its own when it can.
func (l Layout) colocated(slots []Slot) ([]Slot, error) {
	next := 0
	if need := l.Prefill.Workers*l.Prefill.TP + l.Decode.Workers*l.Decode.TP; l.Devices && need > l.GPUsPerNode {
		return nil, fmt.Errorf("one node with %d GPUs cannot hold %d prefill worker(s) of tp %d and %d decode worker(s) of tp %d (%d GPUs): give the deployment more nodes",
			l.GPUsPerNode, l.Prefill.Workers, l.Prefill.TP, l.Decode.Workers, l.Decode.TP, need)
	}
	for _, s := range []struct {
		role string
		side Side
	}{{RolePrefill, l.Prefill}, {RoleDecode, l.Decode}} {
		for w := 0; w < s.side.Workers; w++ {
			sl := Slot{Role: s.role, Index: w, NNodes: 1}
			if l.Devices {
				sl.Devices = deviceRange(next, s.side.TP)
				next += s.side.TP
			}
			slots = append(slots, sl)
		}
	}
	return slots, nil
}

// side places one side's workers on nodes [first, first+s.Nodes).
func (l Layout) side(role string, s Side, first int) ([]Slot, error) {
	gpn := l.GPUsPerNode
	var out []Slot
	if s.TP >= gpn {
		per := (s.TP + gpn - 1) / gpn
		if need := s.Workers * per; need > s.Nodes {
			return nil, fmt.Errorf("%s: %d worker(s) of tp %d span %d node(s) each (%d GPUs per node), %d nodes in all; the side has %d",
				role, s.Workers, s.TP, per, gpn, need, s.Nodes)
		}
		for w := 0; w < s.Workers; w++ {
			head := first + w*per
			for r := 0; r < per; r++ {
				out = append(out, Slot{Role: role, Index: w, Node: head + r, Rank: r, NNodes: per, Head: head})
			}
		}
		return out, nil
	}
	per := gpn / s.TP
	if need := (s.Workers + per - 1) / per; need > s.Nodes {
		return nil, fmt.Errorf("%s: %d worker(s) of tp %d, %d per node (%d GPUs per node), need %d nodes; the side has %d",
			role, s.Workers, s.TP, per, gpn, need, s.Nodes)
	}
	for w := 0; w < s.Workers; w++ {
		node := first + w/per
		sl := Slot{Role: role, Index: w, Node: node, NNodes: 1, Head: node}
		if l.Devices {
			sl.Devices = deviceRange((w%per)*s.TP, s.TP)
		}
		out = append(out, sl)
	}
	return out, nil
}

// deviceRange lists n device indexes from first: "4,5,6,7".
func deviceRange(first, n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = strconv.Itoa(first + i)
	}
	return strings.Join(s, ",")
}
