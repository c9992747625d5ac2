package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedFiles adds the conformance vectors' hand-made configs and our configs/ to a
// fuzz corpus, when they are present.
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
	seedFiles(f, "../../../shared/conformance/case*/*.yaml", "../../configs/amd-master.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		es, diags := ParseMaster("f.yaml", data)
		if diags.HasErrors() {
			if es != nil {
				t.Fatal("entries returned with errors")
			}
			for _, d := range diags {
				if d.File != "f.yaml" || d.Line < 0 || d.Col < 0 || d.Message == "" || d.Hint == "" {
					t.Fatalf("malformed diagnostic %+v", d)
				}
			}
			return
		}
		for _, e := range es {
			if e.Key == "" || strings.Contains(e.Key, "*") || len(e.SeqLens) == 0 {
				t.Fatalf("incomplete entry %+v", e)
			}
			for _, sl := range e.SeqLens {
				for _, s := range sl.Search {
					if !s.HasRange && len(s.ConcList) == 0 {
						t.Fatalf("entry %s: search-space entry without concurrencies", e.Key)
					}
					if s.HasRange && (s.ConcStart < 1 || s.ConcStart > s.ConcEnd) {
						t.Fatalf("entry %s: impossible range accepted", e.Key)
					}
					if e.Multinode && (s.Prefill == nil || s.Decode == nil) {
						t.Fatalf("entry %s: multi-node entry without workers", e.Key)
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
	seedFiles(f, "../../../shared/conformance/case33/*.yaml", "../../configs/runners.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		r, diags := ParseRunners("r.yaml", data)
		if diags.HasErrors() != (r == nil) {
			t.Fatalf("runners %v with diagnostics %v", r, diags)
		}
		if r != nil {
			for _, rt := range r.Types {
				if len(rt.Nodes) == 0 {
					t.Fatalf("runner type %s without nodes accepted", rt.Name)
				}
			}
		}
	})
}
