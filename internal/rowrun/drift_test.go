package rowrun

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/inventory"
	"github.com/inferbench/inferbench/internal/recipe"
	"github.com/inferbench/inferbench/internal/testkit"
)

// masterEntry is the part of a master-config entry that decides recipe and runner.
type masterEntry struct {
	ModelPrefix   string         `yaml:"model-prefix"`
	Precision     string         `yaml:"precision"`
	Framework     string         `yaml:"framework"`
	Runner        string         `yaml:"runner"`
	Multinode     bool           `yaml:"multinode"`
	SeqLenConfigs []seqLenConfig `yaml:"seq-len-configs"`
	// Scenarios is where a 2026-08 entry keeps its seq-len configs.
	Scenarios struct {
		FixedSeqLen []seqLenConfig `yaml:"fixed-seq-len"`
	} `yaml:"scenarios"`
}

type seqLenConfig struct {
	SearchSpace []searchSpace `yaml:"search-space"`
}

type searchSpace struct {
	SpecDecoding string `yaml:"spec-decoding"`
}

// configSets are the master configs the drift check runs against: the repository's own and
// the reference's at the anchor.
func configSets(t *testing.T) map[string]string {
	t.Helper()
	sets := map[string]string{"repo": filepath.Join("..", "..", "configs")}
	if dir, ok := testkit.LookupShared(t, "anchor/inferencex-2026-02-09"); ok {
		sets["anchor"] = dir
	}
	return sets
}

// TestNoDriftBetweenConfigsRecipesAndInventory fails when a master-config entry, single-node
// or multi-node, has no engine recipe of its kind on some node of its runner type, or a
// runner node has no inventory entry: the drift the reference's bash scripts accumulated
// (docs/recipes.md#drift-check).
func TestNoDriftBetweenConfigsRecipesAndInventory(t *testing.T) {
	t.Parallel()
	recipes, err := recipe.LoadFile(filepath.Join("..", "..", "configs", "recipes.yaml"))
	require.NoError(t, err)
	inv, err := inventory.LoadFile(filepath.Join("..", "..", "configs", "inventory.yaml"))
	require.NoError(t, err)
	for set, dir := range configSets(t) {
		t.Run(set, func(t *testing.T) {
			runners := readRunners(t, filepath.Join(dir, "runners.yaml"))
			var problems []string
			for _, file := range []string{"nvidia-master.yaml", "amd-master.yaml"} {
				var entries map[string]masterEntry
				readYAML(t, filepath.Join(dir, file), &entries)
				for _, key := range sortedKeys(entries) {
					problems = append(problems, checkEntry(file, key, entries[key], runners, recipes, inv)...)
				}
			}
			for _, nodes := range runners {
				for _, n := range nodes {
					if _, err := inv.Family(n); err != nil {
						problems = append(problems, "runners.yaml: "+err.Error())
					}
				}
			}
			problems = dedupe(problems)
			if set == "anchor" {
				problems = withoutKnownAnchorDrift(t, problems)
			}
			assert.Empty(t, problems, "%d drift problem(s):\n  %s", len(problems), strings.Join(problems, "\n  "))
		})
	}
}

// knownAnchorDrift is drift in the reference itself that no recipe or inventory entry can
// fix: two master-config entries name a runner type runners.yaml lacks (the generator
// skips them: docs/generator.md#quirk-unknown-runner), so their rows are never scheduled there.
var knownAnchorDrift = []string{"runner type h200-multinode-slurm is not in runners.yaml"}

func withoutKnownAnchorDrift(t *testing.T, problems []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range problems {
		known := false
		for _, k := range knownAnchorDrift {
			if strings.Contains(p, k) {
				known, seen[k] = true, true
			}
		}
		if !known {
			out = append(out, p)
		}
	}
	for _, k := range knownAnchorDrift {
		assert.True(t, seen[k], "known anchor drift %q no longer occurs: remove it from knownAnchorDrift", k)
	}
	return out
}

func checkEntry(file, key string, e masterEntry, runners map[string][]string, recipes *recipe.Set, inv *inventory.Inventory) []string {
	nodes, ok := runners[e.Runner]
	if !ok {
		return []string{file + ": " + key + ": runner type " + e.Runner + " is not in runners.yaml"}
	}
	specs := map[string]bool{}
	for _, s := range append(e.SeqLenConfigs, e.Scenarios.FixedSeqLen...) {
		for _, ss := range s.SearchSpace {
			sd := ss.SpecDecoding
			if sd == "" {
				sd = "none"
			}
			specs[sd] = true
		}
	}
	if len(specs) == 0 {
		// An unread schema must not pass for a clean one.
		return []string{file + ": " + key + ": no fixed-seq-len search space found (seq-len-configs or scenarios.fixed-seq-len)"}
	}
	var out []string
	for _, n := range nodes {
		fam, err := inv.Family(n)
		if err != nil {
			out = append(out, file+": "+key+": "+err.Error())
			continue
		}
		for sd := range specs {
			k := recipe.Key{Framework: e.Framework, ModelPrefix: e.ModelPrefix, Precision: e.Precision, GPU: fam.GPU, SpecDecoding: sd, Multinode: e.Multinode}
			if _, err := recipes.Lookup(k); err != nil {
				out = append(out, file+": "+key+" on "+fam.Name+": "+err.Error())
			}
		}
	}
	return out
}

// readRunners reads a runner file of either generation: runner types at the top level
// (2026-02) or under labels (2026-08).
func readRunners(t *testing.T, path string) map[string][]string {
	var file struct {
		Labels map[string][]string `yaml:"labels"`
	}
	readYAML(t, path, &file)
	if file.Labels != nil {
		return file.Labels
	}
	var runners map[string][]string
	readYAML(t, path, &runners)
	return runners
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, v), "%s", path)
}

func dedupe(l []string) []string {
	sort.Strings(l)
	var out []string
	for i, s := range l {
		if i == 0 || s != l[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// TestDriftCheckCatchesAMissingRecipe makes sure the drift test can fail.
func TestDriftCheckCatchesAMissingRecipe(t *testing.T) {
	t.Parallel()
	recipes, err := recipe.Parse("r.yaml", []byte("recipes:\n  - {name: a, match: {framework: vllm}, command: [x]}\n"))
	require.NoError(t, err)
	inv, err := inventory.Parse("i.yaml", []byte("families:\n  h100-cr: {gpu: h100, vendor: nvidia, backend: docker}\n"))
	require.NoError(t, err)
	runners := map[string][]string{"h100": {"h100-cr_0", "h100-cw_0"}}
	e := masterEntry{ModelPrefix: "gptoss", Precision: "fp4", Framework: "sglang", Runner: "h100"}
	e.SeqLenConfigs = []seqLenConfig{{SearchSpace: []searchSpace{{}}}}
	got := checkEntry("m.yaml", "k", e, runners, recipes, inv)
	want := []string{"no engine recipe for framework=sglang", `no family "h100-cw"`}
	require.Len(t, got, 2)
	for i, w := range want {
		assert.Contains(t, got[i], w, "problem %d", i)
	}
	// A multi-node entry needs a multinode recipe; a single-node one of the same framework
	// does not count.
	e = masterEntry{ModelPrefix: "gptoss", Precision: "fp4", Framework: "vllm", Runner: "h100", Multinode: true}
	e.SeqLenConfigs = []seqLenConfig{{SearchSpace: []searchSpace{{}}}}
	runners = map[string][]string{"h100": {"h100-cr_0"}}
	got = checkEntry("m.yaml", "mn", e, runners, recipes, inv)
	require.Len(t, got, 1, "multi-node entry")
	assert.Contains(t, got[0], "no engine multi-node recipe", "multi-node entry")
}
