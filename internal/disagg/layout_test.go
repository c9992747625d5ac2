package disagg

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var frontend = Slot{Role: RoleFrontend, NNodes: 1}

func TestLayoutSlots(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		layout Layout
		want   []Slot
	}{
		{
			name:   "one node without GPUs: everything co-located, no device split",
			layout: Layout{Nodes: 1, GPUsPerNode: 8, Prefill: Side{Workers: 1, TP: 1}, Decode: Side{Workers: 2, TP: 1}},
			want: []Slot{frontend, {Role: RolePrefill, NNodes: 1}, {Role: RoleDecode, NNodes: 1},
				{Role: RoleDecode, Index: 1, NNodes: 1}},
		},
		{
			name:   "one node with GPUs: each worker on GPUs of its own, prefill first",
			layout: Layout{Nodes: 1, GPUsPerNode: 8, Devices: true, Prefill: Side{Workers: 1, TP: 2}, Decode: Side{Workers: 2, TP: 2}},
			want: []Slot{frontend, {Role: RolePrefill, NNodes: 1, Devices: "0,1"}, {Role: RoleDecode, NNodes: 1, Devices: "2,3"},
				{Role: RoleDecode, Index: 1, NNodes: 1, Devices: "4,5"}},
		},
		{
			name: "four nodes, one worker per node on each side",
			layout: Layout{Nodes: 4, GPUsPerNode: 4, Devices: true, Prefill: Side{Workers: 2, TP: 4, Nodes: 2},
				Decode: Side{Workers: 2, TP: 4, Nodes: 2}},
			want: []Slot{frontend,
				{Role: RolePrefill, Node: 0, NNodes: 1, Head: 0}, {Role: RolePrefill, Index: 1, Node: 1, NNodes: 1, Head: 1},
				{Role: RoleDecode, Node: 2, NNodes: 1, Head: 2}, {Role: RoleDecode, Index: 1, Node: 3, NNodes: 1, Head: 3}},
		},
		{
			name: "wide workers span nodes: rank per node, head on the first",
			layout: Layout{Nodes: 6, GPUsPerNode: 4, Devices: true, Prefill: Side{Workers: 2, TP: 8, Nodes: 4},
				Decode: Side{Workers: 1, TP: 6, Nodes: 2}},
			want: []Slot{frontend,
				{Role: RolePrefill, Node: 0, Rank: 0, NNodes: 2, Head: 0}, {Role: RolePrefill, Node: 1, Rank: 1, NNodes: 2, Head: 0},
				{Role: RolePrefill, Index: 1, Node: 2, Rank: 0, NNodes: 2, Head: 2}, {Role: RolePrefill, Index: 1, Node: 3, Rank: 1, NNodes: 2, Head: 2},
				{Role: RoleDecode, Node: 4, Rank: 0, NNodes: 2, Head: 4}, {Role: RoleDecode, Node: 5, Rank: 1, NNodes: 2, Head: 4}},
		},
		{
			name: "narrow workers share a node, each with its own GPUs",
			layout: Layout{Nodes: 3, GPUsPerNode: 8, Devices: true, Prefill: Side{Workers: 3, TP: 2, Nodes: 1},
				Decode: Side{Workers: 3, TP: 4, Nodes: 2}},
			want: []Slot{frontend,
				{Role: RolePrefill, Node: 0, NNodes: 1, Head: 0, Devices: "0,1"},
				{Role: RolePrefill, Index: 1, Node: 0, NNodes: 1, Head: 0, Devices: "2,3"},
				{Role: RolePrefill, Index: 2, Node: 0, NNodes: 1, Head: 0, Devices: "4,5"},
				{Role: RoleDecode, Node: 1, NNodes: 1, Head: 1, Devices: "0,1,2,3"},
				{Role: RoleDecode, Index: 1, Node: 1, NNodes: 1, Head: 1, Devices: "4,5,6,7"},
				{Role: RoleDecode, Index: 2, Node: 2, NNodes: 1, Head: 2, Devices: "0,1,2,3"}},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.layout.Slots()
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestLayoutRejectsWhatDoesNotFit(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		layout Layout
		want   []string
	}{
		{"one node too small for its workers", Layout{Nodes: 1, GPUsPerNode: 4, Devices: true, Prefill: Side{Workers: 1, TP: 4}, Decode: Side{Workers: 1, TP: 4}},
			[]string{"one node with 4 GPUs cannot hold", "(8 GPUs)"}},
		{"wide workers need more nodes than the side has", Layout{Nodes: 3, GPUsPerNode: 4, Prefill: Side{Workers: 2, TP: 8, Nodes: 2}, Decode: Side{Workers: 1, TP: 4, Nodes: 1}},
			[]string{"prefill: 2 worker(s) of tp 8 span 2 node(s) each", "4 nodes in all; the side has 2"}},
		{"narrow workers need more nodes than the side has", Layout{Nodes: 2, GPUsPerNode: 8, Prefill: Side{Workers: 1, TP: 8, Nodes: 1}, Decode: Side{Workers: 3, TP: 4, Nodes: 1}},
			[]string{"decode: 3 worker(s) of tp 4, 2 per node", "need 2 nodes; the side has 1"}},
		{"sides larger than the allocation", Layout{Nodes: 2, GPUsPerNode: 8, Prefill: Side{Workers: 1, TP: 8, Nodes: 2}, Decode: Side{Workers: 1, TP: 8, Nodes: 1}},
			[]string{"need 3 nodes, the allocation has 2"}},
		{"every problem at once", Layout{Nodes: 0, GPUsPerNode: 0, Prefill: Side{Workers: 0, TP: 1}, Decode: Side{Workers: 1, TP: 0}},
			[]string{"at least one node", "GPUs per node", "prefill: 0 worker(s)", "decode: 1 worker(s) of tp 0"}},
		{"a side without nodes", Layout{Nodes: 2, GPUsPerNode: 8, Prefill: Side{Workers: 1, TP: 8, Nodes: 2}, Decode: Side{Workers: 1, TP: 8}},
			[]string{"decode: occupies 0 nodes"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.layout.Slots()
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}
