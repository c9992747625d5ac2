package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/diag"
	"github.com/inferbench/inferbench/internal/testkit"
)

// whole decodes a master config the way a file that cannot be streamed is decoded.
func whole(file string, data []byte) (*streamed, bool) {
	var diags diag.List
	root := parseRoot(file, data, &diags)
	if root == nil {
		return nil, false
	}
	g, at, _ := masterGeneration(root)
	entries, keys := decodeMaster(file, root, g, &diags)
	return &streamed{gen: g, genPos: at, entries: entries, keys: keys, diags: diags}, true
}

// sameStreamAndWhole checks that where streamMaster reads a file, it gives what decoding
// the whole file gives; it reports whether streamMaster read it.
func sameStreamAndWhole(t *testing.T, file string, data []byte) bool {
	t.Helper()
	s := streamMaster(file, data)
	if s == nil {
		return false
	}
	w, ok := whole(file, data)
	require.True(t, ok, "%s: streamed what does not parse", file)
	if len(s.entries) == 0 {
		s.entries = nil // decodeMaster leaves no entries as nil
	}
	assert.Equal(t, w, s, file)
	return true
}

func TestStreamEqualsWholeFile(t *testing.T) {
	t.Parallel()
	root := testkit.RepoRoot(t)
	sets := map[string]func(t *testing.T) (dir string, patterns, streamed []string){
		"repository": func(t *testing.T) (string, []string, []string) {
			return root, []string{"configs/*.yaml", "testdata/configs-2026-02/*.yaml", "generator/testdata/*/configs/*.yaml"},
				[]string{"configs/nvidia-master.yaml", "configs/amd-master.yaml", "testdata/configs-2026-02/nvidia-master.yaml"}
		},
		"reference": func(t *testing.T) (string, []string, []string) {
			return testkit.Shared(t, "anchor"), []string{"*/*-master.yaml"},
				[]string{"inferencex-2026-08-21/nvidia-master.yaml", "inferencex-2026-08-21/amd-master.yaml", "inferencex-2026-02-09/nvidia-master.yaml"}
		},
		"conformance": func(t *testing.T) (string, []string, []string) {
			return testkit.Shared(t, "conformance"), []string{"case*/*.yaml", "v2026-08/case*/*.yaml"}, nil
		},
	}
	for name, set := range sets {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir, patterns, mustStream := set(t)
			read := 0
			eachFile(t, dir, patterns, func(f string, data []byte) {
				if sameStreamAndWhole(t, f, data) {
					read++
				}
			})
			eachFile(t, dir, mustStream, func(f string, data []byte) {
				assert.NotNil(t, streamMaster(f, data), "%s should be read entry by entry", f)
			})
			t.Logf("%d files read entry by entry", read)
		})
	}
}

// An entry in the 2026-08 schema; name is its key.
func entry0208(name, extra string) string {
	return name + ":\n  image: i\n  model: m\n  model-prefix: p\n  precision: fp8\n  framework: sglang\n  runner: h100\n  multinode: false\n" + extra +
		"  scenarios:\n    fixed-seq-len:\n    - {isl: 1024, osl: 1024, search-space: [{tp: 8, conc-list: [4, 8]}]}\n"
}

// Files with problems: within an entry they are found entry by entry, each entry's own
// nodes reused for the next; at the top level the whole file is read, as before.
func TestStreamProblems(t *testing.T) {
	t.Parallel()
	pad := strings.Repeat("# a comment line that makes the file large enough to be cut in pieces\n", 1000)
	cases := []struct {
		name   string
		text   string
		stream bool
	}{
		{"valid entries", entry0208("a", "") + entry0208("b", "  router: x\n"), true},
		{"problems inside entries", entry0208("a", "  bogus: 1\n") + entry0208("b", "") + entry0208("c", "  runner: [x]\n"), true},
		{"a wildcard key (text fastParse leaves to yaml.v3)", entry0208("a*", "") + entry0208("b", ""), false},
		{"a large file cut in pieces", pad + entry0208("a", "  bogus: 1\n") + pad + entry0208("b", "") + pad + entry0208("c", "  tp: 3\n"), true},
		{"a 2026-02 entry", "k:\n  image: i\n  seq-len-configs:\n  - {isl: 1, osl: 1, search-space: [{tp: 1, conc-list: [1]}]}\n", true},
		{"a key defined twice", entry0208("a", "") + entry0208("a", ""), false},
		{"a key defined twice in two pieces", pad + entry0208("a", "") + pad + entry0208("b", "") + pad + entry0208("a", ""), false},
		{"entries of two generations", entry0208("a", "") + "b:\n  seq-len-configs: []\n", false},
		{"an entry that shows no generation", "a:\n  image: i\n" + entry0208("b", ""), false},
		{"an entry that is not a mapping", "a: 1\n" + entry0208("b", ""), false},
		{"a key that is not text", entry0208("1", "") + entry0208("b", ""), false},
		{"an indented root", "  " + strings.ReplaceAll(entry0208("a", ""), "\n", "\n  "), false},
		{"a syntax error", entry0208("a", "  x: [1\n"), false},
		{"a block scalar", entry0208("a", "  note: |\n    text\n"), false},
		{"an empty file", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, c.stream, sameStreamAndWhole(t, "f.yaml", []byte(c.text)))
		})
	}
}

// An entry decoded without message paths (decodeEntry's first pass) decodes to what it
// decodes to with them, and has a problem exactly when it has one with them.
func TestDecodingWithoutPathsAlike(t *testing.T) {
	t.Parallel()
	var files []string
	for _, set := range []struct{ dir, pattern string }{
		{testkit.RepoRoot(t), "configs/*-master.yaml"},
		{testkit.Shared(t, "anchor"), "*/*-master.yaml"},
		{testkit.Shared(t, "conformance"), "v2026-08/case*/*.yaml"},
		{testkit.Shared(t, "conformance"), "case*/*.yaml"},
	} {
		fs, err := filepath.Glob(filepath.Join(set.dir, set.pattern))
		require.NoError(t, err)
		files = append(files, fs...)
	}
	entries, problems := 0, 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		var diags diag.List
		root := parseRoot(f, data, &diags)
		if root == nil || resolve(root).Kind != yaml.MappingNode {
			continue
		}
		g, _, _ := masterGeneration(root)
		fields, _ := (&decoder{file: f, diags: &diags}).mapping(root, "", "master config", nil)
		for _, fd := range fields {
			var withPaths, without diag.List
			want := (&decoder{file: f, diags: &withPaths, gen: g, schema: schemaOf(g)}).entry(fd)
			got := (&decoder{file: f, diags: &without, gen: g, schema: schemaOf(g), noPaths: true}).entry(fd)
			assert.Equal(t, want, got, "%s: %s", f, fd.key)
			assert.Equal(t, len(withPaths), len(without), "%s: %s", f, fd.key)
			entries++
			if len(withPaths) > 0 {
				problems++
			}
		}
	}
	t.Logf("%d entries, %d with problems", entries, problems)
	assert.Positive(t, problems)
}
