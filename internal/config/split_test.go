package config

import (
	"fmt"
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

// shape renders a tree without its comments: what the decoder reads, positions included.
func shape(n *yaml.Node) string {
	var b strings.Builder
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		fmt.Fprintf(&b, "%*s%d %s %d %q @%d:%d\n", depth, "", n.Kind, n.Tag, n.Style, n.Value, n.Line, n.Column)
		for _, c := range n.Content {
			walk(c, depth+1)
		}
	}
	walk(n, 0)
	return b.String()
}

// The fast parse (comment lines blanked, pieces in parallel) gives the tree the plain
// parse gives, on real configs and on texts where a shortcut would change the meaning.
func TestParseMappingEqualsPlainParse(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("# filler comment line that makes the file large enough to be cut\n", 1100)
	entry := func(k string) string {
		return k + ":\n  image: i # trailing\n  # a comment line\n  model: m\n  list:\n  # between items\n  - a\n  - b\n"
	}
	texts := map[string]string{
		"entries and comments":                 big + entry("a") + entry("b") + entry("c"),
		"a '#' line inside double-quoted text": big + entry("a") + "b:\n  d: \"one\n  # not a comment\n  two\"\n" + entry("c"),
		"a '#' line inside single-quoted text": big + entry("a") + "b:\n  d: 'it''s\n   # text\n  '\n" + entry("c"),
		"a block scalar":                       big + entry("a") + "b:\n  d: |\n    # text\n    more\n" + entry("c"),
		"an alias to another entry":            big + "a: &x\n  v: 1\n" + entry("b") + "c: *x\n",
		"flow text over a cut":                 big + "a: [1,\n2]\n" + entry("b"),
		"a syntax error":                       big + entry("a") + "b:\n  - x\n  y: z\n" + entry("c"),
	}
	t.Run("reference configs", func(t *testing.T) {
		t.Parallel()
		for _, dir := range []string{"anchor/inferencex-2026-08-21", "anchor/inferencex-2026-02-09"} {
			d := testkit.Shared(t, dir)
			for _, f := range []string{"nvidia-master.yaml", "amd-master.yaml"} {
				data, err := os.ReadFile(filepath.Join(d, f))
				require.NoError(t, err)
				samePlainAndFast(t, string(data))
			}
		}
	})
	for name, text := range texts {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			samePlainAndFast(t, text)
		})
	}
}

// samePlainAndFast checks that parseMapping gives what parseDocument gives.
func samePlainAndFast(t *testing.T, text string) {
	t.Helper()
	{
		{
			var d1, d2 diag.List
			plain, ok1 := parseDocument("f.yaml", []byte(text), &d1)
			fast, ok2 := parseMapping("f.yaml", []byte(text), &d2)
			require.Equal(t, ok1, ok2)
			assert.Equal(t, d1, d2)
			if ok1 {
				require.NotNil(t, fast)
				assert.Equal(t, shape(plain), shape(fast))
			}
		}
	}
}

// The shortcuts are taken where they are safe: a large config loses its comment lines
// and is cut.
func TestFastParseShortcutsApply(t *testing.T) {
	t.Parallel()
	data := []byte(strings.Repeat("# c\nk: v\n", 3) + "x:\n  - |\n    # kept\n")
	_, blanked := withoutCommentLines(data)
	assert.Nil(t, blanked, "a file with a block scalar keeps its comment lines")
	for text, want := range map[string]bool{"k: |\n": true, "k: >-\n": true, "- |2 # c\n": true, "k: |": true,
		"k: a|b\n": false, "k: 'x > y'\n": false, "k: v # a > b\n": false, "k: [a, b]\n": false} {
		assert.Equal(t, want, hasBlockScalar([]byte(text)), text)
	}
	src, blanked := withoutCommentLines([]byte("# c\nk: v\n  # d\nj: w\n"))
	assert.Equal(t, []int{1, 3}, blanked)
	assert.Equal(t, "\nk: v\n\nj: w\n", string(src))
	big := []byte(strings.Repeat("k0: v\n", 1) + strings.Repeat("# pad pad pad pad pad pad pad pad pad pad pad pad pad pad pad\n", 1200) + "k1: v\nk2: v\n")
	assert.NotNil(t, parseSplit(big), "a large block mapping is cut into pieces")
}
