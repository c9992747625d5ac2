package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/diag"
	"github.com/inferbench/inferbench/internal/testkit"
)

// The reference's 2026-02 configs load with the figures docs/generator.md#anchor-figures
// gives for them.
func TestAnchorConfigsLoad(t *testing.T) {
	t.Parallel()
	anchorDir := testkit.Shared(t, "anchor/inferencex-2026-02-09")
	m, diags := LoadMaster(filepath.Join(anchorDir, "nvidia-master.yaml"), filepath.Join(anchorDir, "amd-master.yaml"))
	require.False(t, diags.HasErrors(), "%v", diags)
	counts := map[string]int{}
	settings := 0
	for _, e := range m.Entries {
		counts[e.File[len(e.File)-15:]+map[bool]string{true: " multi", false: " single"}[e.Multinode]]++
		for _, sl := range e.SeqLens {
			for _, s := range sl.Search {
				if s.Prefill != nil {
					settings += len(s.Prefill.Settings) + len(s.Decode.Settings)
				}
			}
		}
	}
	assert.Equal(t, map[string]int{
		"dia-master.yaml single": 15, // nvidia-master.yaml
		"dia-master.yaml multi":  17,
		"amd-master.yaml single": 10,
		"amd-master.yaml multi":  2,
	}, counts, "entries per file and kind")
	assert.Equal(t, 500, settings, "additional-settings strings")
	r, diags := LoadRunners(filepath.Join(anchorDir, "runners.yaml"))
	require.False(t, diags.HasErrors(), "runners: %v", diags)
	assert.Len(t, r.Types, 13, "runner types")
	// h200-multinode-slurm is used by two configs but not defined
	// (docs/generator.md#quirk-unknown-runner).
	lint := Lint(m, r)
	require.Len(t, lint, 2, "lint = %v, want two warnings about h200-multinode-slurm", lint)
	assert.False(t, lint.HasErrors(), "lint findings are warnings: %v", lint)
	assert.Contains(t, lint[0].Message, "h200-multinode-slurm")
}

func TestWorkerKeyOrderAndSettingsMode(t *testing.T) {
	t.Parallel()
	es, diags := ParseMaster("x.yaml", []byte(`
k:
  image: i
  model: m
  model-prefix: p
  precision: fp4
  framework: f
  runner: r
  multinode: true
  seq-len-configs:
  - isl: 1
    osl: 1
    search-space:
    - conc-list: [1]
      decode: { tp: 8, num-worker: 1, ep: 8, dp-attn: false, additional-settings: null }
      prefill: { dp-attn: true, ep: 4, tp: 4, num-worker: 0 }
`))
	require.False(t, diags.HasErrors(), "%v", diags)
	s := es[0].SeqLens[0].Search[0]
	assert.Equal(t, []string{"tp", "num-worker", "ep", "dp-attn", "additional-settings"}, s.Decode.Keys, "decode keys in file order")
	assert.Equal(t, SettingsNull, s.Decode.SettingsMode, "decode additional-settings: null")
	assert.Equal(t, SettingsAbsent, s.Prefill.SettingsMode, "prefill without additional-settings")
	assert.Equal(t, int64(0), s.Prefill.NumWorker)
}

// Every problem of every file is reported, positioned, in one run.
func TestAllProblemsOfAllFilesCollected(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yaml")
	b := filepath.Join(dir, "b.yaml")
	write(t, a, `
one:
  image: i
  model: m
  model-prefix: p
  precision: fp8
  framework: f
  runner: r
  multinode: false
  seq-len-configs:
  - isl: 1024
    osl: "1024"
    search-space:
    - { tp: 0, conc-start: 8, conc-end: 4 }
two:
  image: i
  model: m
  model-prefix: p
  precision: fp8
  framework: f
  runner: r
  multinode: yes
  seq-len-configs: []
`)
	write(t, b, "one: {}\n")
	m, diags := LoadMaster(a, b, filepath.Join(dir, "missing.yaml"))
	require.Nil(t, m, "LoadMaster returned a Master despite errors")
	diags.Sort()
	var got []string
	for _, d := range diags {
		got = append(got, strings.TrimPrefix(d.String(), dir+"/"))
	}
	want := []string{
		"a.yaml:12:10: Master config entry 'one' failed validation: seq-len-configs[0].osl: must be an integer, got the quoted string \"1024\"",
		"a.yaml:14:13: Master config entry 'one' failed validation: seq-len-configs[0].search-space[0].tp: must be at least 1, got 0",
		"a.yaml:22:14: Master config entry 'two' failed validation: multinode: must be true or false, got 'yes'",
		"a.yaml:23:20: Master config entry 'two' failed validation: seq-len-configs: cannot be an empty list",
		"b.yaml:1:1: Duplicate configuration keys found in '" + b + "': one (already defined at " + a + ":2:1)",
		"b.yaml:1:1: Master config entry 'one' failed validation: missing required field(s) 'image', 'model', 'model-prefix', 'precision', 'framework', 'runner', 'multinode', 'seq-len-configs'",
		"missing.yaml: Input file '" + filepath.Join(dir, "missing.yaml") + "' does not exist.",
	}
	assert.ElementsMatch(t, want, got)
	for _, d := range diags {
		assert.NotEmpty(t, d.Hint, "no hint for %s", d)
	}
}

func TestRunnersProblems(t *testing.T) {
	t.Parallel()
	_, diags := ParseRunners("r.yaml", []byte("a: x\nb: []\nc: [1, ok, ok]\nb: [z]\n"))
	diags.Sort()
	want := []string{
		"r.yaml:1:4: Runner config entry 'a' must be a list, got str",
		"r.yaml:2:4: Runner config entry 'b' cannot be an empty list",
		"r.yaml:3:5: Runner config entry 'c' must contain only strings (got the integer 1)",
		"r.yaml:3:12: Runner config entry 'c' lists node 'ok' twice (first at line 3)",
		"r.yaml:4:1: b: duplicate key 'b' (first at line 2)",
	}
	assert.Equal(t, strings.Join(want, "\n"), render(diags))
	for _, in := range []string{"", "# only a comment\n", "[a, b]\n", "x\n"} {
		_, diags := ParseRunners("r.yaml", []byte(in))
		assert.Contains(t, render(diags), "Runner config file 'r.yaml' must contain a mapping", "input %q", in)
	}
}

func render(l diag.List) string {
	var s []string
	for _, d := range l {
		s = append(s, d.String())
	}
	return strings.Join(s, "\n")
}

func write(t *testing.T, path, text string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
}
