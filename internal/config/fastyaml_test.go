package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/testkit"
)

// plainTree parses with yaml.v3 alone: the tree fastParse must give, or nil when
// yaml.v3 refuses the text.
func plainTree(data []byte) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

// Where fastParse reads a file, its tree is yaml.v3's; and it reads the master configs and
// runner files, ours and the reference's.
func TestFastParseEqualsYAMLv3(t *testing.T) {
	t.Parallel()
	root := testkit.RepoRoot(t)
	sets := map[string]func(t *testing.T) (dir string, patterns, fast []string){
		"repository": func(t *testing.T) (string, []string, []string) {
			return root, []string{"configs/*.yaml", "testdata/configs-2026-02/*.yaml", "generator/testdata/*/configs/*.yaml", "internal/workflowtest/testdata/*/*.yaml"},
				[]string{"configs/nvidia-master.yaml", "configs/amd-master.yaml", "configs/runners.yaml"}
		},
		"reference": func(t *testing.T) (string, []string, []string) {
			dir := testkit.Shared(t, "anchor")
			var fast []string
			for _, a := range []string{"inferencex-2026-02-09", "inferencex-2026-08-21"} {
				for _, f := range []string{"nvidia-master.yaml", "amd-master.yaml", "runners.yaml"} {
					fast = append(fast, filepath.Join(a, f))
				}
			}
			return dir, []string{"*/*.yaml"}, fast
		},
		"conformance": func(t *testing.T) (string, []string, []string) {
			return testkit.Shared(t, "conformance"), []string{"case*/*.yaml", "v2026-08/case*/*.yaml"}, nil
		},
	}
	for name, set := range sets {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir, patterns, fast := set(t)
			read := 0
			eachFile(t, dir, patterns, func(f string, data []byte) {
				got := fastParse(data)
				if got == nil {
					return
				}
				read++
				plain := plainTree(data)
				require.NotNil(t, plain, "%s: fastParse read what yaml.v3 refuses", f)
				assert.Equal(t, shape(plain), shape(got), f)
			})
			eachFile(t, dir, fast, func(f string, data []byte) {
				assert.NotNil(t, fastParse(data), "%s should take the fast path", f)
			})
			t.Logf("%d files read by fastParse", read)
		})
	}
}

// eachFile calls fn with every file under dir that one of patterns matches, and its
// contents; a pattern may be a plain relative path.
func eachFile(t *testing.T, dir string, patterns []string, fn func(path string, data []byte)) {
	t.Helper()
	for _, pattern := range patterns {
		files, err := filepath.Glob(filepath.Join(dir, pattern))
		require.NoError(t, err)
		for _, f := range files {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			fn(f, data)
		}
	}
}

// Texts at the edges of what fastParse reads: it either gives yaml.v3's tree or gives up.
func TestFastParseEdges(t *testing.T) {
	t.Parallel()
	for _, text := range fastSeeds {
		fast := fastParse([]byte(text))
		if fast == nil {
			continue
		}
		plain := plainTree([]byte(text))
		require.NotNil(t, plain, "fastParse read what yaml.v3 refuses:\n%s", text)
		assert.Equal(t, shape(plain), shape(fast), text)
	}
	assert.NotNil(t, fastParse([]byte("k:\n  a: [1, 'x', \"y\\\"z\"]\n  b:\n  - {c: d}\n  - e: f\n    g: 2_000\nl:\n- x\n")))
	assert.Nil(t, fastParse([]byte("k: &a 1\nl: *a\n")), "aliases are yaml.v3's")
	assert.Nil(t, fastParse([]byte("k: |\n  text\n")), "block scalars are yaml.v3's")
}

var fastSeeds = []string{
	"k: v\n", "k: v # c\n", "k:\n  a: 1\n", "k:\n- a\n- b\n", "k:\n  - a\n", "- a\n", "k: [a, b]\n", "k: {a: 1}\n",
	"k: {a: {b: [1, 2]}, c: 'x'}\n", "k: ''\n", "k: \"\"\n", "k: 'a''b'\n", "k: \"a\\\\b\"\n", "k:\n", "k:   # c\nl: 1\n",
	"k: 1.5\n", "k: .5\n", "k: .inf\n", "k: -.inf\n", "k: 0x10\n", "k: 010\n", "k: 1_000\n", "k: 1e3\n", "k: 2026-08-21\n",
	"k: true\n", "k: True\n", "k: yes\n", "k: ~\n", "k: null\n", "k: 1.2.0\n", "k: -5\n", "k: +5\n", "k: -\n", "k: - a\n",
	"k: a: b\n", "k: a:b\n", "k: http://x\n", "k: [a, ]\n", "k: [a,, b]\n", "k: {a: }\n", "k: {a}\n", "k: [a\n", "k: 'a\n",
	"k: \"a\n", "k: x\n  y\n", "k:\n  a: 1\n b: 2\n", "k:\n   a: 1\n  b: 2\n", "- - a\n", "-\n  a\n", "k: é\n", "é: k\n",
	"k: {a: é, b: [ü]}\n", "k:\n- a: 1\n  b: 2\n- c: 3\n", "k:\n-  a: 1\n   b: 2\n", "? a\n: b\n", "k: !!str 1\n", "---\nk: v\n",
	"k: v\n...\n", "%YAML 1.2\n---\nk: v\n", "k:\tv\n", "k: v\r\n", "k: # c\n  - a\n", "k: [a, b] # c\n", "k: [a, b]# c\n",
	"k: \"a\"b\n", "k: 'a' b\n", "a: 1\na: 2\n", "k: {a: 1, a: 2}\n", "k:\n- {tp: 8, ep: 8, dp-attn: true, conc-start: 4, conc-end: 64}\n",
	"- k\n", "k\n", "", "# only\n", "k: v\n# c\n", "  k: v\n", "k: [ ]\n", "k: { }\n", "k: [[1], [2]]\n", "k: <<\n", "<<: v\n",
}

// FuzzFastParse: for any input, fastParse either gives up or gives yaml.v3's tree, and
// streamMaster either gives up or decodes what decoding the whole file decodes.
func FuzzFastParse(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(entry0208("a", "  bogus: 1\n") + entry0208("b", "  router: [x]\n")))
	f.Fuzz(func(t *testing.T, data []byte) {
		sameStreamAndWhole(t, "f.yaml", data)
		fast := fastParse(data)
		if fast == nil {
			return
		}
		plain := plainTree(data)
		require.NotNil(t, plain, "fastParse read what yaml.v3 refuses:\n%q", data)
		require.Equal(t, shape(plain), shape(fast), "trees differ for %q (- yaml.v3, + fast)", data)
	})
}
