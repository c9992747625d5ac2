package changelog

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/testkit"
)

// TestOutputGolden pins the whole output of a realistic change: bucket order of first
// use, rows in entry then key order, canonical keys, metadata with unresolved patterns,
// compact one-line JSON with raw UTF-8 and unescaped <>&.
func TestOutputGolden(t *testing.T) {
	t.Parallel()
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
	require.NoError(t, err)
	got, err := out.Encode()
	require.NoError(t, err)
	testkit.Golden(t, filepath.Join("testdata", "output.golden.json"), got)
}
