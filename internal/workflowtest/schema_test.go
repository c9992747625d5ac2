package workflowtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/inferbench/inferbench/internal/config"
	"github.com/inferbench/inferbench/internal/matrix"
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
	name   string
	schema rowSchema
}

// rowSchemas reads the row schema twice: from the reference's own output in the shared
// conformance vectors (all three subcommands, both kinds, changelog buckets;
// docs/generator.md#rows, docs/generator.md#changelog-output) and from this repository's generator (internal/matrix) expanding
// configs/*-master.yaml. A field the workflows read must be in both.
func rowSchemas(t *testing.T) []schemaSource {
	t.Helper()
	ref := rowSchema{single: map[string]bool{}, multi: map[string]bool{}}
	for _, f := range conformanceOutputs(t) {
		ref.add(t, rowsOf(t, f))
	}
	ours := rowSchema{single: map[string]bool{}, multi: map[string]bool{}}
	ours.add(t, generatedRows(t))
	ref.complete(t, "shared/conformance")
	ours.complete(t, "internal/matrix")
	return []schemaSource{{"reference generator (shared/conformance)", ref}, {"internal/matrix on configs/", ours}}
}

// loadRowSchema is the schema both sources agree on.
func loadRowSchema(t *testing.T) rowSchema {
	t.Helper()
	srcs := rowSchemas(t)
	both := rowSchema{single: map[string]bool{}, multi: map[string]bool{}}
	for p := range srcs[0].schema.single {
		if srcs[1].schema.single[p] {
			both.single[p] = true
		}
	}
	for p := range srcs[0].schema.multi {
		if srcs[1].schema.multi[p] {
			both.multi[p] = true
		}
	}
	return both
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
	if len(s.single) == 0 || len(s.multi) == 0 {
		t.Fatalf("%s: found no single-node or no multi-node row", source)
	}
}

func conformanceOutputs(t *testing.T) []string {
	t.Helper()
	conf := filepath.Join(repoRoot(t), "..", "shared", "conformance")
	var files []string
	for _, pattern := range []string{"case*/expected.json", "changelog/cl*/expected.json"} {
		m, err := filepath.Glob(filepath.Join(conf, pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skipf("no reference generator output to read the row schema from under %s", conf)
	}
	return files
}

// generatedRows runs this repository's generator in-process: a full sweep of both kinds
// over configs/, serialized exactly as the generator prints it.
func generatedRows(t *testing.T) []map[string]any {
	t.Helper()
	cfg := filepath.Join(repoRoot(t), "configs")
	m, diags := config.LoadMaster(filepath.Join(cfg, "nvidia-master.yaml"), filepath.Join(cfg, "amd-master.yaml"))
	r, rdiags := config.LoadRunners(filepath.Join(cfg, "runners.yaml"))
	if diags.HasErrors() || rdiags.HasErrors() || m == nil || r == nil {
		t.Fatalf("configs/ do not load: %v %v", diags, rdiags)
	}
	var out []map[string]any
	for _, kind := range []matrix.Kind{matrix.SingleNode, matrix.MultiNode} {
		rows, err := matrix.FullSweep(m, r, matrix.SweepOptions{Kind: kind, Evals: matrix.EvalsRun})
		if err != nil {
			t.Fatal(err)
		}
		var decoded []map[string]any
		if err := json.Unmarshal(matrix.AppendJSON(nil, rows), &decoded); err != nil {
			t.Fatal(err)
		}
		out = append(out, decoded...)
	}
	return out
}

// rowsOf returns the rows of one generator output: a JSON array of rows, or the changelog's
// {"single_node": {seq: [rows]}, "multi_node": {...}} object.
func rowsOf(t *testing.T, file string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var arr []map[string]any
	if json.Unmarshal(data, &arr) == nil {
		return arr
	}
	var buckets map[string]json.RawMessage
	if err := json.Unmarshal(data, &buckets); err != nil {
		t.Fatalf("%s: neither a row array nor changelog buckets: %v", file, err)
	}
	var out []map[string]any
	for _, kind := range []string{"single_node", "multi_node"} {
		var bySeq map[string][]map[string]any
		if raw, ok := buckets[kind]; ok {
			if err := json.Unmarshal(raw, &bySeq); err != nil {
				t.Fatalf("%s: %s: %v", file, kind, err)
			}
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
