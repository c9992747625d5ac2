package matrix

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/config"
	"github.com/inferbench/inferbench/internal/testkit"
)

var ourDir = filepath.Join("..", "..", "configs")

func load(t testing.TB, dir string, files ...string) (*config.Master, *config.Runners) {
	t.Helper()
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(dir, f)
	}
	m, diags := config.LoadMaster(paths...)
	require.False(t, diags.HasErrors(), "load %v: %v", paths, diags)
	r, diags := config.LoadRunners(filepath.Join(dir, "runners.yaml"))
	require.False(t, diags.HasErrors(), "load runners: %v", diags)
	return m, r
}

// The reference's full-sweep figures for its 2026-02 configs
// (docs/generator.md#anchor-figures).
func TestAnchorSweepCounts(t *testing.T) {
	t.Parallel()
	anchorDir := testkit.Shared(t, "anchor/inferencex-2026-02-09")
	m, r := load(t, anchorDir, "nvidia-master.yaml", "amd-master.yaml")
	tests := []struct {
		kind        Kind
		rows, evals int
	}{
		{kind: SingleNode, rows: 711, evals: 45},
		{kind: MultiNode, rows: 386, evals: 0},
	}
	for _, tt := range tests {
		rows, err := FullSweep(m, r, SweepOptions{Kind: tt.kind, Evals: EvalsRun})
		require.NoError(t, err)
		assert.Len(t, rows, tt.rows, "kind %d rows", tt.kind)
		assert.Len(t, OnlyEvals(rows), tt.evals, "kind %d eval rows", tt.kind)
	}
}

// TestOurConfigs checks that configs/ is valid, uses only the reference's schema (every
// key path it uses also occurs in the anchor files), covers the models, precisions,
// GPUs, engines and sequence lengths the project benchmarks, and that a full sweep of
// it expands without error.
func TestOurConfigs(t *testing.T) {
	t.Parallel()
	m, r := load(t, ourDir, "nvidia-master.yaml", "amd-master.yaml")
	assert.Empty(t, config.Lint(m, r), "lint")
	assert.GreaterOrEqual(t, len(m.Entries), 25, "entries")
	assert.LessOrEqual(t, len(m.Entries), 40, "entries")
	keyRE := regexp.MustCompile(`^(dsr1|gptoss)-(fp4|fp8)-([a-z0-9]+)-([a-z-]+)$`)
	seen := map[string]map[string]bool{"model": {}, "precision": {}, "gpu": {}, "framework": {}, "seq": {}, "kind": {}}
	for _, e := range m.Entries {
		g := keyRE.FindStringSubmatch(e.Key)
		if g == nil || g[1] != e.ModelPrefix || g[2] != e.Precision || !strings.HasPrefix(g[4], e.Framework) {
			assert.Failf(t, "key does not follow the naming scheme", "%s: key does not follow <model>-<precision>-<gpu>-<framework> (model-prefix %s, precision %s, framework %s)",
				e.Key, e.ModelPrefix, e.Precision, e.Framework)
			continue
		}
		seen["model"][e.Model] = true
		seen["precision"][e.Precision] = true
		seen["gpu"][g[3]] = true
		seen["framework"][e.Framework] = true
		seen["kind"][fmt.Sprint(e.Multinode)] = true
		for _, sl := range e.SeqLens {
			seen["seq"][SeqLenName(sl.ISL, sl.OSL)] = true
		}
	}
	want := map[string][]string{
		"model":     {"deepseek-ai/DeepSeek-R1-0528", "openai/gpt-oss-120b"},
		"precision": {"fp4", "fp8"},
		"gpu":       {"b200", "b300", "h100", "h200", "gb200", "gb300", "mi300x", "mi325x", "mi355x"},
		"framework": {"sglang", "vllm", "trt", "atom", "dynamo-trt", "dynamo-sglang"},
		"seq":       {"1k1k", "1k8k", "8k1k"},
		"kind":      {"true", "false"},
	}
	for what, values := range want {
		for _, v := range values {
			assert.True(t, seen[what][v], "no entry covers %s %s", what, v)
		}
	}
	for _, kind := range []Kind{SingleNode, MultiNode} {
		rows, err := FullSweep(m, r, SweepOptions{Kind: kind, Evals: EvalsRun})
		assert.NoError(t, err, "full sweep kind %d", kind)
		assert.NotEmpty(t, rows, "full sweep kind %d", kind)
		if kind == SingleNode {
			assert.NotEmpty(t, OnlyEvals(rows), "full sweep marks no eval rows")
		}
	}
	rows, err := TestConfig(m, nil, TestConfigOptions{Keys: m.Keys(), Evals: EvalsRun})
	assert.NoError(t, err, "test-config of every key")
	assert.NotEmpty(t, rows, "test-config of every key")
}

// TestOurConfigsUseTheReferenceSchema: every key path of our configs occurs in the
// reference's configs of the same generation (configs/ is 2026-08; its 2026-02 version
// under testdata is compared with the 2026-02 reference).
func TestOurConfigsUseTheReferenceSchema(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ ours, anchor string }{
		{ourDir, "anchor/inferencex-2026-08-21"},
		{filepath.Join("..", "..", "testdata", "configs-2026-02"), "anchor/inferencex-2026-02-09"},
	} {
		t.Run(tt.anchor, func(t *testing.T) {
			t.Parallel()
			anchor := testkit.Shared(t, tt.anchor)
			ref := map[string]bool{}
			for _, f := range []string{"nvidia-master.yaml", "amd-master.yaml"} {
				for _, p := range keyPaths(t, filepath.Join(anchor, f)) {
					ref[p] = true
				}
			}
			var extra []string
			for _, f := range []string{"nvidia-master.yaml", "amd-master.yaml"} {
				for _, p := range keyPaths(t, filepath.Join(tt.ours, f)) {
					if !ref[p] {
						extra = append(extra, f+": "+p)
					}
				}
			}
			assert.Empty(t, extra, "key paths the reference's configs never use")
		})
	}
}

// keyPaths lists the key paths of a master config below the config keys, e.g.
// "seq-len-configs[].search-space[].prefill.tp".
func keyPaths(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var root yaml.Node
	require.NoError(t, yaml.Unmarshal(data, &root), path)
	set := map[string]bool{}
	var walk func(n *yaml.Node, p string)
	walk = func(n *yaml.Node, p string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				q := strings.TrimPrefix(p+"."+n.Content[i].Value, ".")
				set[q] = true
				walk(n.Content[i+1], q)
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, p+"[]")
			}
		}
	}
	for i := 1; i < len(root.Content[0].Content); i += 2 {
		walk(root.Content[0].Content[i], "")
	}
	paths := slices.Collect(func(yield func(string) bool) {
		for k := range set {
			if !yield(k) {
				return
			}
		}
	})
	sort.Strings(paths)
	return paths
}
