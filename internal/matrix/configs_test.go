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

	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/config"
	"github.com/inferbench/inferbench/internal/testkit"
)

var (
	anchorDir = filepath.Join("..", "..", "..", "shared", "anchor", "inferencex-2026-02-09")
	ourDir    = filepath.Join("..", "..", "configs")
)

// needAnchor skips the test when ../shared (the reference's data) is not present,
// unless INFERBENCH_INTEGRATION=1, where its absence is a failure.
func needAnchor(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(anchorDir); err != nil {
		if os.Getenv("INFERBENCH_INTEGRATION") == "1" {
			t.Fatalf("anchor configs missing: %v", err)
		}
		t.Skipf("anchor configs not present: %v", err)
	}
}

func load(t testing.TB, dir string, files ...string) (*config.Master, *config.Runners) {
	t.Helper()
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(dir, f)
	}
	m, diags := config.LoadMaster(paths...)
	if diags.HasErrors() {
		t.Fatalf("load %v: %v", paths, diags)
	}
	r, diags := config.LoadRunners(filepath.Join(dir, "runners.yaml"))
	if diags.HasErrors() {
		t.Fatalf("load runners: %v", diags)
	}
	return m, r
}

// The figures of spec §8.
func TestAnchorSweepCounts(t *testing.T) {
	needAnchor(t)
	m, r := load(t, anchorDir, "nvidia-master.yaml", "amd-master.yaml")
	tests := []struct {
		kind        Kind
		rows, evals int
	}{{SingleNode, 711, 45}, {MultiNode, 386, 0}}
	for _, tt := range tests {
		rows, err := FullSweep(m, r, SweepOptions{Kind: tt.kind, Evals: EvalsRun})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(OnlyEvals(rows)); len(rows) != tt.rows || got != tt.evals {
			t.Errorf("kind %d: %d rows with %d evals, want %d with %d", tt.kind, len(rows), got, tt.rows, tt.evals)
		}
	}
}

// TestOurConfigs checks that configs/ is valid, uses only the reference's schema (every
// key path it uses also occurs in the anchor files), covers the models, precisions,
// GPUs, engines and sequence lengths the project benchmarks, and that a full sweep of
// it expands without error.
func TestOurConfigs(t *testing.T) {
	m, r := load(t, ourDir, "nvidia-master.yaml", "amd-master.yaml")
	if w := config.Lint(m, r); len(w) > 0 {
		t.Errorf("lint: %v", w)
	}
	if n := len(m.Entries); n < 25 || n > 40 {
		t.Errorf("%d entries, want 25 to 40", n)
	}
	keyRE := regexp.MustCompile(`^(dsr1|gptoss)-(fp4|fp8)-([a-z0-9]+)-([a-z-]+)$`)
	seen := map[string]map[string]bool{"model": {}, "precision": {}, "gpu": {}, "framework": {}, "seq": {}, "kind": {}}
	for _, e := range m.Entries {
		g := keyRE.FindStringSubmatch(e.Key)
		if g == nil || g[1] != e.ModelPrefix || g[2] != e.Precision || !strings.HasPrefix(g[4], e.Framework) {
			t.Errorf("%s: key does not follow <model>-<precision>-<gpu>-<framework> (model-prefix %s, precision %s, framework %s)",
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
			if !seen[what][v] {
				t.Errorf("no entry covers %s %s", what, v)
			}
		}
	}
	for _, kind := range []Kind{SingleNode, MultiNode} {
		rows, err := FullSweep(m, r, SweepOptions{Kind: kind, Evals: EvalsRun})
		if err != nil || len(rows) == 0 {
			t.Errorf("full sweep kind %d: %d rows, err %v", kind, len(rows), err)
		}
		if kind == SingleNode && len(OnlyEvals(rows)) == 0 {
			t.Errorf("full sweep marks no eval rows")
		}
	}
	rows, err := TestConfig(m, nil, TestConfigOptions{Keys: m.Keys(), Evals: EvalsRun})
	if err != nil || len(rows) == 0 {
		t.Errorf("test-config of every key: %d rows, err %v", len(rows), err)
	}
}

// TestOurConfigsUseTheReferenceSchema: every key path of our configs occurs in the
// reference's configs of the same generation (configs/ is 2026-08; its 2026-02 version
// under testdata is compared with the 2026-02 reference).
func TestOurConfigsUseTheReferenceSchema(t *testing.T) {
	for _, tt := range []struct{ ours, anchor string }{
		{ourDir, "anchor/inferencex-2026-08-21"},
		{filepath.Join("..", "..", "testdata", "configs-2026-02"), "anchor/inferencex-2026-02-09"},
	} {
		t.Run(tt.anchor, func(t *testing.T) {
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
			if extra != nil {
				t.Errorf("key paths the reference's configs never use:\n%s", strings.Join(extra, "\n"))
			}
		})
	}
}

// keyPaths lists the key paths of a master config below the config keys, e.g.
// "seq-len-configs[].search-space[].prefill.tp".
func keyPaths(t *testing.T, path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
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
