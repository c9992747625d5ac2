package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/testkit"
)

// seedFiles adds the files matching the patterns to a fuzz corpus.
func seedFiles(f *testing.F, patterns ...string) {
	for _, p := range patterns {
		files, _ := filepath.Glob(p)
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil && len(data) < 64<<10 {
				f.Add(data)
			}
		}
	}
}

var masterSeeds = []string{
	"",
	"[]",
	"k: 1",
	"k: {image: i, model: m, model-prefix: p, precision: fp8, framework: f, runner: r, multinode: false, seq-len-configs: [{isl: 1, osl: 1, search-space: [{tp: 1, conc-list: [1]}]}]}",
	"k: {multinode: true, seq-len-configs: [{isl: 1, osl: 1, search-space: [{conc-start: 1, conc-end: 9, prefill: {num-worker: 1, tp: 1, ep: 1, dp-attn: true, additional-settings: [A=1]}, decode: null}]}]}",
	"a: &x [*x]",
	"a: &a [1]\nb: &b [*a, *a]\nc: [*b, *b]\n",
	"k: {<<: {image: i}}",
	"k:\n  image: i\n  image: j\n",
	"? [a]\n: b\n",
	"k: {tp: 0x10, ep: 010, conc-start: 1_000, dp-attn: on}",
	"--- a\n--- b\n",
	"k: !!binary aGVsbG8=",
	"k: {seq-len-configs: [{isl: 99999999999999999999}]}",
}

// FuzzParseMaster checks that no input crashes or hangs the decoder, that problems are
// reported with the file name, and that an accepted file yields complete entries.
func FuzzParseMaster(f *testing.F) {
	for _, s := range masterSeeds {
		f.Add([]byte(s))
	}
	seedFiles(f, "../../configs/amd-master.yaml")
	// The conformance vectors' hand-made configs, where the reference material is present.
	if dir, ok := testkit.LookupShared(f, "conformance"); ok {
		seedFiles(f, filepath.Join(dir, "case*", "*.yaml"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		es, diags := ParseMaster("f.yaml", data)
		if diags.HasErrors() {
			require.Nil(t, es, "entries returned with errors")
			for _, d := range diags {
				wellFormed := d.File == "f.yaml" && d.Line >= 0 && d.Col >= 0 && d.Message != "" && d.Hint != ""
				require.True(t, wellFormed, "malformed diagnostic %+v", d)
			}
			return
		}
		for _, e := range es {
			complete := e.Key != "" && !strings.Contains(e.Key, "*") && len(e.SeqLens) > 0
			require.True(t, complete, "incomplete entry %+v", e)
			for _, sl := range e.SeqLens {
				for _, s := range sl.Search {
					require.True(t, s.HasRange || len(s.ConcList) > 0, "entry %s: search-space entry without concurrencies", e.Key)
					if s.HasRange {
						require.True(t, s.ConcStart >= 1 && s.ConcStart <= s.ConcEnd, "entry %s: impossible range accepted", e.Key)
					}
					if e.Multinode {
						require.True(t, s.Prefill != nil && s.Decode != nil, "entry %s: multi-node entry without workers", e.Key)
					}
				}
			}
		}
	})
}

func FuzzParseRunners(f *testing.F) {
	for _, s := range []string{"", "a: [x]", "a: x", "a: []", "a: [x, x]", "a: &n [x]\nb: *n\n", "- a"} {
		f.Add([]byte(s))
	}
	seedFiles(f, "../../configs/runners.yaml")
	if dir, ok := testkit.LookupShared(f, "conformance/case33"); ok {
		seedFiles(f, filepath.Join(dir, "*.yaml"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, diags := ParseRunners("r.yaml", data)
		require.Equal(t, diags.HasErrors(), r == nil, "runners %v with diagnostics %v", r, diags)
		if r != nil {
			for _, rt := range r.Types {
				require.NotEmpty(t, rt.Nodes, "runner type %s without nodes accepted", rt.Name)
			}
		}
	})
}
