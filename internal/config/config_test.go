package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferbench/inferbench/internal/diag"
)

var anchorDir = filepath.Join("..", "..", "..", "shared", "anchor", "inferencex-2026-02-09")

func needAnchor(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(anchorDir); err != nil {
		if os.Getenv("INFERBENCH_INTEGRATION") == "1" {
			t.Fatalf("anchor configs missing: %v", err)
		}
		t.Skipf("anchor configs not present: %v", err)
	}
}

// The figures of spec §8.
func TestAnchorConfigsLoad(t *testing.T) {
	needAnchor(t)
	m, diags := LoadMaster(filepath.Join(anchorDir, "nvidia-master.yaml"), filepath.Join(anchorDir, "amd-master.yaml"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
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
	want := map[string]int{"dia-master.yaml single": 15, "dia-master.yaml multi": 17, "amd-master.yaml single": 10, "amd-master.yaml multi": 2}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("%s: %d entries, want %d (all: %v)", k, counts[k], v, counts)
		}
	}
	if settings != 500 {
		t.Errorf("%d additional-settings strings, want 500", settings)
	}
	r, diags := LoadRunners(filepath.Join(anchorDir, "runners.yaml"))
	if diags.HasErrors() || len(r.Types) != 13 {
		t.Fatalf("runners: %d types, %v", len(r.Types), diags)
	}
	// h200-multinode-slurm is used by two configs but not defined (spec §8, Q-13).
	lint := Lint(m, r)
	if len(lint) != 2 || lint.HasErrors() || !strings.Contains(lint[0].Message, "h200-multinode-slurm") {
		t.Errorf("lint = %v, want two warnings about h200-multinode-slurm", lint)
	}
}

func TestWorkerKeyOrderAndSettingsMode(t *testing.T) {
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
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	s := es[0].SeqLens[0].Search[0]
	if got := strings.Join(s.Decode.Keys, ","); got != "tp,num-worker,ep,dp-attn,additional-settings" {
		t.Errorf("decode keys %s", got)
	}
	if s.Decode.SettingsMode != SettingsNull || s.Prefill.SettingsMode != SettingsAbsent || s.Prefill.NumWorker != 0 {
		t.Errorf("settings modes %v %v, num-worker %d", s.Decode.SettingsMode, s.Prefill.SettingsMode, s.Prefill.NumWorker)
	}
}

// Every problem of every file is reported, positioned, in one run.
func TestAllProblemsOfAllFilesCollected(t *testing.T) {
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
	if m != nil {
		t.Fatal("LoadMaster returned a Master despite errors")
	}
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
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			t.Errorf("missing %q", w)
		}
	}
	for _, d := range diags {
		if d.Hint == "" {
			t.Errorf("no hint for %s", d)
		}
	}
}

func TestRunnersProblems(t *testing.T) {
	_, diags := ParseRunners("r.yaml", []byte("a: x\nb: []\nc: [1, ok, ok]\nb: [z]\n"))
	diags.Sort()
	want := []string{
		"r.yaml:1:4: Runner config entry 'a' must be a list, got str",
		"r.yaml:2:4: Runner config entry 'b' cannot be an empty list",
		"r.yaml:3:5: Runner config entry 'c' must contain only strings (got the integer 1)",
		"r.yaml:3:12: Runner config entry 'c' lists node 'ok' twice (first at line 3)",
		"r.yaml:4:1: b: duplicate key 'b' (first at line 2)",
	}
	if got := render(diags); got != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
	for _, in := range []string{"", "# only a comment\n", "[a, b]\n", "x\n"} {
		_, diags := ParseRunners("r.yaml", []byte(in))
		if !strings.Contains(render(diags), "Runner config file 'r.yaml' must contain a mapping") {
			t.Errorf("%q: %s", in, render(diags))
		}
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
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
