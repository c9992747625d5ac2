package workflowtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/config"
	"github.com/inferbench/inferbench/internal/matrix"
	"github.com/inferbench/inferbench/internal/testkit"
)

// rowSchema is the set of field paths ("conc", "prefill.tp") that occur in generator rows,
// per kind. It is read from generator output, not written down here, so that the contract
// follows the generators rather than a copy of them.
type rowSchema struct {
	single, multi map[string]bool
}

func (s rowSchema) has(path string) bool { return s.single[path] || s.multi[path] }

// all is every path of both kinds, sorted.
func (s rowSchema) all() []string {
	set := map[string]bool{}
	for p := range s.single {
		set[p] = true
	}
	for p := range s.multi {
		set[p] = true
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// schemaSource is one producer of rows whose field paths the workflows must find.
type schemaSource struct {
	name      string
	gen       string // "2026-02" or "2026-08"
	reference bool   // the reference's own output, rather than ours
	schema    rowSchema
}

// rowSchemas reads the row schema from this repository's generator (internal/matrix) on
// our configs in each generation: configs/ (2026-08, with the 2026-08 changelog goldens,
// which equal the 2026-08 reference's process_changelog.py output) and its 2026-02 copy
// under testdata; and, where the shared conformance vectors are beside the repository,
// from the reference's own output in them, of each generation (all subcommands, both
// kinds, changelog buckets; docs/generator.md#rows, docs/generator.md#changelog-output,
// docs/generator-generations.md).
func rowSchemas(t *testing.T) []schemaSource {
	t.Helper()
	root := repoRoot(t)
	ours02, ours08 := newRowSchema(), newRowSchema()
	ours02.add(t, generatedRows(t, filepath.Join(root, "testdata", "configs-2026-02")))
	ours08.add(t, generatedRows(t, filepath.Join(root, "configs")))
	goldens, err := filepath.Glob(filepath.Join(root, "generator", "testdata", "golden", "changelog-2026-08*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, goldens, "no 2026-08 changelog goldens under generator/testdata/golden")
	for _, f := range goldens {
		ours08.add(t, rowsOf(t, f))
	}
	srcs := []schemaSource{
		{"internal/matrix on testdata/configs-2026-02", "2026-02", false, ours02},
		{"internal/matrix on configs/ and the 2026-08 changelog goldens", "2026-08", false, ours08},
	}
	if conf, ok := testkit.LookupShared(t, "conformance"); ok {
		ref02, ref08 := newRowSchema(), newRowSchema()
		for _, f := range conformanceOutputs(t, conf, "case*/expected.json", "changelog/cl*/expected.json") {
			ref02.add(t, rowsOf(t, f))
		}
		for _, f := range conformanceOutputs(t, conf, "v2026-08/case*/expected.json") {
			ref08.add(t, rowsOf(t, f))
		}
		srcs = append(srcs,
			schemaSource{"reference generator 2026-02 (shared/conformance)", "2026-02", true, ref02},
			schemaSource{"reference generator 2026-08 (shared/conformance/v2026-08)", "2026-08", true, ref08})
	}
	for _, src := range srcs {
		src.schema.complete(t, src.name)
	}
	return srcs
}

func newRowSchema() rowSchema { return rowSchema{single: map[string]bool{}, multi: map[string]bool{}} }

// loadRowSchema is the schema all sources agree on: what every row of its kind has, in
// either generation.
func loadRowSchema(t *testing.T) rowSchema {
	t.Helper()
	srcs := rowSchemas(t)
	both := newRowSchema()
	for p := range srcs[0].schema.single {
		if all(srcs, func(s rowSchema) bool { return s.single[p] }) {
			both.single[p] = true
		}
	}
	for p := range srcs[0].schema.multi {
		if all(srcs, func(s rowSchema) bool { return s.multi[p] }) {
			both.multi[p] = true
		}
	}
	return both
}

func all(srcs []schemaSource, has func(rowSchema) bool) bool {
	for _, s := range srcs {
		if !has(s.schema) {
			return false
		}
	}
	return true
}

func (s rowSchema) add(t *testing.T, rows []map[string]any) {
	t.Helper()
	for _, row := range rows {
		kind := s.single
		if _, ok := row["prefill"]; ok {
			kind = s.multi
		}
		addPaths(kind, "", row)
	}
}

// complete fails unless rows of both kinds were seen.
func (s rowSchema) complete(t *testing.T, source string) {
	t.Helper()
	require.NotEmpty(t, s.single, "%s: found no single-node or no multi-node row", source)
	require.NotEmpty(t, s.multi, "%s: found no single-node or no multi-node row", source)
}

// conformanceOutputs are the reference's outputs under conf matching the patterns
// (defaults: every generation's).
func conformanceOutputs(t *testing.T, conf string, patterns ...string) []string {
	t.Helper()
	if patterns == nil {
		patterns = []string{"case*/expected.json", "changelog/cl*/expected.json", "v2026-08/case*/expected.json"}
	}
	var files []string
	for _, pattern := range patterns {
		m, err := filepath.Glob(filepath.Join(conf, pattern))
		require.NoError(t, err)
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skipf("no reference generator output to read the row schema from under %s", conf)
	}
	return files
}

// generatedRows runs this repository's generator in-process: a full sweep of both kinds
// over the configs in cfg, serialized exactly as the generator prints it.
func generatedRows(t *testing.T, cfg string) []map[string]any {
	t.Helper()
	m, r, _, diags := config.Load([]string{filepath.Join(cfg, "nvidia-master.yaml"), filepath.Join(cfg, "amd-master.yaml")}, filepath.Join(cfg, "runners.yaml"))
	require.False(t, diags.HasErrors(), "%s does not load: %v", cfg, diags)
	require.NotNil(t, m, "%s does not load", cfg)
	require.NotNil(t, r, "%s does not load", cfg)
	var out []map[string]any
	for _, kind := range []matrix.Kind{matrix.SingleNode, matrix.MultiNode} {
		rows, err := matrix.FullSweep(m, r, matrix.SweepOptions{Kind: kind, Evals: matrix.EvalsRun})
		require.NoError(t, err)
		var decoded []map[string]any
		require.NoError(t, json.Unmarshal(matrix.AppendJSON(nil, rows), &decoded))
		out = append(out, decoded...)
	}
	return out
}

// ourRows are the rows of our configs in both generations: configs/ (2026-08) and its
// 2026-02 copy under testdata.
func ourRows(t *testing.T) []map[string]any {
	t.Helper()
	root := repoRoot(t)
	return append(generatedRows(t, filepath.Join(root, "configs")), generatedRows(t, filepath.Join(root, "testdata", "configs-2026-02"))...)
}

// rowsOf returns the rows of one generator output: a JSON array of rows, or the changelog's
// {"single_node": {seq: [rows]}, "multi_node": {...}} object.
func rowsOf(t *testing.T, file string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	var arr []map[string]any
	if json.Unmarshal(data, &arr) == nil {
		return arr
	}
	var buckets map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(data, &buckets), "%s: neither a row array nor changelog buckets", file)
	var out []map[string]any
	for _, kind := range []string{"single_node", "multi_node"} {
		var bySeq map[string][]map[string]any
		if raw, ok := buckets[kind]; ok {
			require.NoError(t, json.Unmarshal(raw, &bySeq), "%s: %s", file, kind)
		}
		for _, rs := range bySeq {
			out = append(out, rs...)
		}
	}
	return out
}

// addPaths records every key path of v; objects nest with ".", lists are leaves.
func addPaths(set map[string]bool, prefix string, v map[string]any) {
	for k, val := range v {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		set[p] = true
		if obj, ok := val.(map[string]any); ok {
			addPaths(set, p, obj)
		}
	}
}

// topLevel drops nested paths.
func topLevel(paths []string) []string {
	var out []string
	for _, p := range paths {
		if !strings.Contains(p, ".") {
			out = append(out, p)
		}
	}
	return out
}
