package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/diag"
	"github.com/inferbench/inferbench/internal/limits"
)

// hostile0202 is a valid 2026-02 master config with a single-node and a multi-node entry.
const hostile0202 = `sn:
  image: i
  model: m
  model-prefix: p
  precision: fp8
  framework: sglang
  runner: h100
  multinode: false
  seq-len-configs:
  - isl: 1024
    osl: 1024
    search-space:
    - { tp: 8, ep: 1, conc-start: 4, conc-end: 64 }
    - { tp: 4, conc-list: [1, 2] }
mn:
  image: i
  model: m
  model-prefix: q
  precision: fp4
  framework: dynamo-trt
  runner: gb200
  multinode: true
  disagg: true
  seq-len-configs:
  - isl: 8192
    osl: 1024
    search-space:
    - conc-list: [16]
      prefill: { num-worker: 1, tp: 4, ep: 4, dp-attn: true }
      decode: { num-worker: 2, tp: 8, ep: 8, dp-attn: false }
`

// hostileEdit turns a valid config into one with one bad value: old is replaced by new
// (old must occur once), and the diagnostic must point at the first occurrence of at
// within new.
type hostileEdit struct {
	name, old, new, at string
	want               string // part of the message
}

// hostileCheck applies the edits to base and checks that each is reported, positioned,
// with a hint, in one run: by the entry-by-entry fast reader and by yaml.v3 (the file with
// a tag the fast reader leaves to yaml.v3).
func hostileCheck(t *testing.T, base string, edits []hostileEdit) {
	t.Helper()
	doc := base
	for _, e := range edits {
		require.Equal(t, 1, strings.Count(doc, e.old), "%s: %q must occur once", e.name, e.old)
		doc = strings.Replace(doc, e.old, e.new, 1)
	}
	where := func(e hostileEdit, doc string) (int, int) {
		i := strings.Index(doc, e.new)
		require.GreaterOrEqual(t, i, 0, e.name)
		i += strings.Index(e.new, e.at)
		line := strings.Count(doc[:i], "\n") + 1
		return line, i - strings.LastIndex(doc[:i], "\n")
	}
	check := func(path string, diags diag.List, doc string) {
		require.Len(t, diags.Errors(), len(edits), "%s: one problem per edit, all at once:\n%v", path, diags)
		for _, e := range edits {
			line, col := where(e, doc)
			found := false
			for _, d := range diags {
				if d.Line == line && d.Col == col && strings.Contains(d.Message, e.want) {
					found = true
					assert.NotEmpty(t, d.Hint, "%s: %s: the hint says what to do", path, e.name)
				}
			}
			assert.True(t, found, "%s: %s: want %q at %d:%d in\n%v", path, e.name, e.want, line, col, diags)
		}
	}

	s := streamMaster("m.yaml", []byte(doc))
	require.NotNil(t, s, "the fast reader reads the file")
	check("fast reader", s.diags, doc)

	// A tag is left to yaml.v3 by the fast reader.
	tagged := strings.Replace(doc, "image: i", "image: !!str i", 1)
	require.Nil(t, streamMaster("m.yaml", []byte(tagged)), "the tagged file is yaml.v3's")
	_, diags := ParseMaster("m.yaml", []byte(tagged))
	check("yaml.v3", diags, tagged)
}

// Issue 14 items 3 and 4: conc 922337203685477580 crashed the agent and isl 2e9 exhausted
// the host; the generator accepted both. Every value a row carries is now bounded by the
// agent's own limits, in both generations, and every bad value is reported at once.
func TestHostile04RowValuesBoundedInBothGenerations(t *testing.T) {
	t.Parallel()
	over := func(v int) string { return fmt.Sprint(v + 1) }
	t.Run("2026-02", func(t *testing.T) {
		t.Parallel()
		hostileCheck(t, hostile0202, []hostileEdit{
			{"conc-end beyond the agent's in-flight limit", "conc-end: 64", "conc-end: 922337203685477580", "922", "must be at most 65536"},
			{"conc-start beyond it", "conc-start: 4", "conc-start: " + over(limits.MaxConcurrency), over(limits.MaxConcurrency), "must be at most 65536"},
			{"a conc-list value beyond it", "conc-list: [1, 2]", "conc-list: [1, 100000000]", "100000000", "must be at most 65536"},
			{"isl of 2e9 tokens", "isl: 1024", "isl: 2000000000", "2000000000", "must be at most 1048576"},
			{"osl beyond the load generator", "osl: 1024\n    search-space:\n    - { tp: 8", "osl: 1048577\n    search-space:\n    - { tp: 8", "1048577", "must be at most 1048576"},
			{"tp", "{ tp: 4,", "{ tp: 65537,", "65537", "must be at most 65536"},
			{"ep", "ep: 1, conc", "ep: 99999999, conc", "99999999", "must be at most 65536"},
			{"num-worker of a side", "num-worker: 2", "num-worker: 70000", "70000", "must be at most 65536"},
			{"a worker's tp", "tp: 4, ep: 4", "tp: 4000000, ep: 4", "4000000", "must be at most 65536"},
		})
	})
	t.Run("2026-08", func(t *testing.T) {
		t.Parallel()
		hostileCheck(t, good0208, []hostileEdit{
			{"conc-end", "conc-end: 64", "conc-end: 922337203685477580", "922", "must be at most 65536"},
			{"an agentic conc-list value", "conc-list: [1, 2]", "conc-list: [1, 65537]", "65537", "must be at most 65536"},
			{"isl", "isl: 8192\n      osl: 1024\n      search-space:\n      - { tp: 8", "isl: 2000000000\n      osl: 1024\n      search-space:\n      - { tp: 8", "2000000000", "must be at most 1048576"},
			{"pp", "pp: 1, dcp", "pp: 100000, dcp", "100000", "must be at most 65536"},
			{"an agentic tp", "tp: 4, kv", "tp: 65537, kv", "65537", "must be at most 65536"},
			{"a worker's pp", "pp: 2", "pp: 65537", "65537", "must be at most 65536"},
			{"a worker's ep", "ep: 8, dp-attn: false", "ep: 80000, dp-attn: false", "80000", "must be at most 65536"},
		})
	})
}

// A conc-list longer than one job runs is refused where it is written, not by the agent.
func TestHostile04ConcListLength(t *testing.T) {
	t.Parallel()
	many := strings.Repeat("1, ", limits.MaxPoints) + "1"
	hostileCheck(t, hostile0202, []hostileEdit{
		{"1025 concurrencies", "conc-list: [1, 2]", "conc-list: [" + many + "]", "[", "lists 1025 concurrencies"},
	})
}

// Issue 14 item 7: a model-prefix of "../../x" made result names that escape the agent's
// output directory. The fields result files are named after accept only file-name-safe
// text, in both generations.
func TestHostile07ResultNameFieldsAreFileNameSafe(t *testing.T) {
	t.Parallel()
	t.Run("2026-02", func(t *testing.T) {
		t.Parallel()
		hostileCheck(t, hostile0202, []hostileEdit{
			{"model-prefix with a path", "model-prefix: p", `model-prefix: "../../x"`, `"`, `"../../x" has '/' at byte 2`},
			{"model-prefix that is a parent", "model-prefix: q", "model-prefix: ..", "..", "starts with a dot"},
			{"precision with a space", "precision: fp8", `precision: "fp 8"`, `"`, `has ' ' at byte 2`},
			{"framework with a backslash", "framework: dynamo-trt", `framework: 'a\b'`, `'`, `has '\\' at byte 1`},
		})
	})
	t.Run("2026-08", func(t *testing.T) {
		t.Parallel()
		hostileCheck(t, good0208, []hostileEdit{
			{"model-prefix with '..' inside", "model-prefix: p\n  precision: fp8", "model-prefix: a..b\n  precision: fp8", "a..b", `contains ".."`},
			{"framework with a newline", "framework: sglang", `framework: "sg\nlang"`, `"`, `has '\n' at byte 2`},
			{"model-prefix with a colon", "model-prefix: p\n  precision: fp4", `model-prefix: "a:b"` + "\n  precision: fp4", `"`, `has ':' at byte 1`},
		})
	})
}

// Issue 14 item 12: yaml.v3 reports invalid UTF-8 and control characters without a line,
// and no syntax error with a column; each is now positioned at its first bad byte, in
// master configs and runner files alike.
func TestHostile12YAMLErrorsArePositioned(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", 10001) + strings.Repeat("]", 10001)
	for _, tc := range []struct {
		name, doc string
		line, col int
		want      string
	}{
		{"invalid UTF-8", "k:\n  image: i\n  model: \"m\xff\xfe\"\n", 3, 12, "invalid leading UTF-8 octet"},
		{"a NUL byte", "k:\n  image: i\n  model: m\x00\n", 3, 11, "control characters are not allowed"},
		{"a control character after multi-byte text", "k:\n  image: \"é\x01\"\n", 2, 12, "control characters are not allowed"},
		{"nesting beyond yaml.v3's depth limit", "k:\n  image: !!str i\n  model: " + deep + "\n", 3, 10010, "exceeded max depth of 10000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, diags := ParseMaster("m.yaml", []byte(tc.doc))
			require.Len(t, diags, 1, "%v", diags)
			assert.Equal(t, fmt.Sprintf("m.yaml:%d:%d", tc.line, tc.col), diags[0].Location(), "%v", diags)
			assert.Contains(t, diags[0].Message, tc.want)
			_, diags = ParseRunners("r.yaml", []byte(tc.doc))
			require.NotEmpty(t, diags)
			assert.Equal(t, fmt.Sprintf("r.yaml:%d:%d", tc.line, tc.col), diags[0].Location(), "%v", diags)
		})
	}
}
