package matrix

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/config"
)

// fixtureYAML is a small master config exercising both kinds of entries.
const fixtureYAML = `
sn:
  image: img
  model: m
  model-prefix: mp
  runner: h100
  precision: fp8
  framework: vllm
  multinode: false
  seq-len-configs:
  - isl: 1024
    osl: 8192
    search-space:
    - { tp: 2, conc-start: 4, conc-end: 64 }
    - { tp: 8, ep: 8, conc-start: 4, conc-end: 16 }
    - { tp: 4, conc-list: [32, 8, 16] }
  - isl: 1024
    osl: 1024
    search-space:
    - { tp: 4, dp-attn: true, conc-start: 4, conc-end: 8, conc-list: [] }
  - isl: 2048
    osl: 128
    search-space:
    - { tp: 1, spec-decoding: draft_model, conc-list: [2] }
mn:
  image: img-mn
  model: m
  model-prefix: mp
  runner: gb200
  precision: fp4
  framework: dynamo-trt
  multinode: true
  disagg: true
  seq-len-configs:
  - isl: 1024
    osl: 1024
    search-space:
    - conc-list: [64, 16]
      prefill: { tp: 4, num-worker: 1, ep: 4, dp-attn: true }
      decode: { num-worker: 1, tp: 8, ep: 8, dp-attn: false, additional-settings: ["A=1"] }
    - spec-decoding: mtp
      conc-start: 4
      conc-end: 16
      conc-list: null
      prefill: { num-worker: 2, tp: 4, ep: 4, dp-attn: true, additional-settings: null }
      decode: { num-worker: 1, tp: 8, ep: 8, dp-attn: false, additional-settings: [] }
`

const fixtureRunners = `
h100: [h100-a_0, h100-b_0]
gb200: [gb200-a_0]
`

func fixture(t testing.TB) (*config.Master, *config.Runners) {
	t.Helper()
	entries, diags := config.ParseMaster("fixture.yaml", []byte(fixtureYAML))
	require.False(t, diags.HasErrors(), "fixture: %v", diags)
	r, diags := config.ParseRunners("runners.yaml", []byte(fixtureRunners))
	require.False(t, diags.HasErrors(), "fixture runners: %v", diags)
	return config.NewMaster(entries), r
}

// summary renders rows compactly for comparisons: "runner tp conc" or "runner [concs]".
func summary(rows []Row) string {
	parts := make([]string, len(rows))
	for i, r := range rows {
		eval := ""
		if r.RunEval {
			eval = "*"
		}
		if r.Kind == MultiNode {
			parts[i] = fmt.Sprintf("%s %s%v%s", r.Runner, SeqLenName(r.ISL, r.OSL), r.ConcList, eval)
		} else {
			parts[i] = fmt.Sprintf("%s %s tp%d ep%d c%d%s", r.Runner, SeqLenName(r.ISL, r.OSL), r.TP, r.EP, r.Conc, eval)
		}
	}
	return strings.Join(parts, "; ")
}

func p64(v int64) *int64 { return &v }
