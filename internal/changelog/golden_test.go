package changelog

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestOutputGolden pins the whole output of a realistic change: bucket order of first
// use, rows in entry then key order, canonical keys, metadata with unresolved patterns,
// compact one-line JSON with raw UTF-8 and unescaped <>&.
func TestOutputGolden(t *testing.T) {
	r := newRepo(t)
	one := entry(1, false, "dsr1-fp8-h200-sglang")
	r.commit("base", map[string]string{"perf-changelog.yaml": one})
	r.git("tag", "base")
	head := one +
		"- config-keys:\n    - 'dsr1-fp4-gb200-dynamo-*'\n    - '{gptoss-fp4-b200-vllm,dsr1-fp8-h200-sglang}'\n" +
		"  description:\n    - \"Quoted 'text' with <angle> & ampersand, and non-ASCII: é\"\n  pr-link: https://github.com/inferbench/inferbench/pull/2\n" +
		entry(3, true, "gptoss-fp4-b200-vllm", "gptoss-fp4-mi355x-vllm")
	r.commit("head", map[string]string{"perf-changelog.yaml": head})
	out, err := processRepo(t, r, "base", "main", &fakeExpand{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := out.Encode()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "output.golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestOutputGolden -update)", err)
	}
	if string(got) != string(want) {
		t.Fatalf("output differs from %s (rerun with -update if intended)\ngot:  %s\nwant: %s", path, got, want)
	}
}
