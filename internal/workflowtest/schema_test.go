package workflowtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// rowSchema is the set of field paths ("conc", "prefill.tp") that occur in generator rows,
// per kind. It is read from data, not written down here, so that the contract follows the
// generator rather than a copy of it.
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

// schemaSources are the generator outputs the schema is read from: the reference's own
// output in the shared conformance vectors (spec generator.md §5.1, §5.2) for all three
// subcommands and both kinds, and the changelog buckets (§6.6).
func schemaSources(t *testing.T) []string {
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
		t.Skipf("no generator output to read the row schema from under %s", conf)
	}
	return files
}

func loadRowSchema(t *testing.T) rowSchema {
	t.Helper()
	s := rowSchema{single: map[string]bool{}, multi: map[string]bool{}}
	rows := 0
	for _, f := range schemaSources(t) {
		for _, row := range rowsOf(t, f) {
			kind := s.single
			if _, ok := row["prefill"]; ok {
				kind = s.multi
			}
			addPaths(kind, "", row)
			rows++
		}
	}
	if len(s.single) == 0 || len(s.multi) == 0 {
		t.Fatalf("read %d rows but found no single-node or no multi-node row", rows)
	}
	return s
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
