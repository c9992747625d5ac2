package changelog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/diag"
)

var testKeys = []string{
	"dsr1-fp8-h200-sglang", "dsr1-fp8-mi300x-sglang", "dsr1-fp4-gb200-dynamo-trt",
	"gptoss-fp4-h200-vllm", "gptoss-fp4-b200-vllm", "gptoss-fp4-mi355x-vllm",
}

// fakeExpand records its calls and returns one single-node row per key (and one
// multi-node row for keys with "dynamo"), tagging run-eval with evalsOnly.
type fakeExpand struct{ calls []string }

func (f *fakeExpand) expand(keys []string, evalsOnly bool) ([]json.RawMessage, error) {
	f.calls = append(f.calls, fmt.Sprintf("%v evals-only=%v", keys, evalsOnly))
	var rows []json.RawMessage
	for _, k := range keys {
		if strings.Contains(k, "dynamo") {
			rows = append(rows, json.RawMessage(fmt.Sprintf(`{"image":"i","model":"m","model-prefix":%q,"precision":"fp4","framework":"dynamo-trt","spec-decoding":"none","runner":"gb200","isl":1024,"osl":1024,"prefill":{"num-worker":1,"tp":4,"ep":4,"dp-attn":true},"decode":{"num-worker":1,"tp":8,"ep":8,"dp-attn":false,"additional-settings":["A=1"]},"conc":[1,2],"max-model-len":2248,"exp-name":"x_1k1k","disagg":true,"run-eval":false}`, k)))
			continue
		}
		rows = append(rows, json.RawMessage(fmt.Sprintf(`{"image":"i","model":"m","model-prefix":%q,"precision":"fp8","framework":"sglang","spec-decoding":"none","runner":"h200","isl":1024,"osl":8192,"tp":8,"ep":1,"dp-attn":false,"conc":4,"max-model-len":9416,"exp-name":"x_1k8k","disagg":false,"run-eval":%v}`, k, evalsOnly)))
	}
	return rows, nil
}

func processRepo(t *testing.T, r *repo, base, head string, f *fakeExpand) (*Output, error) {
	t.Helper()
	return Process(context.Background(), Request{
		Git: r.gitter(), BaseRef: base, HeadRef: head, File: "perf-changelog.yaml",
		Keys: testKeys, Expand: f.expand,
	})
}

func TestProcessAppend(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("base", map[string]string{"perf-changelog.yaml": entry(1, false, "dsr1-fp8-h200-sglang")})
	r.git("tag", "base")
	r.commit("head", map[string]string{"perf-changelog.yaml": entry(1, false, "dsr1-fp8-h200-sglang") + "\n" + entry(2, false, "dsr1-fp8-mi300x-sglang")})
	f := &fakeExpand{}
	out, err := processRepo(t, r, "base", "main", f)
	require.NoError(t, err)
	assert.Equal(t, []string{"[dsr1-fp8-mi300x-sglang] evals-only=false"}, f.calls, "only the added entry is expanded")
	require.Len(t, out.Metadata.Entries, 1)
	assert.Equal(t, "https://github.com/inferbench/inferbench/pull/2", out.Metadata.Entries[0].PRLink)
	assert.Equal(t, 7, out.Metadata.Entries[0].Line, "the entry's line in the head file")
	b, err := out.Encode()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(b), `{"single_node":{"1k8k":[{"image":"i"`), "output %s", b)
	assert.Contains(t, string(b), `"multi_node":{},"changelog_metadata":{"base_ref":"base","head_ref":"main","entries":[{"config-keys":["dsr1-fp8-mi300x-sglang"]`)
	assert.Equal(t, 1, strings.Count(string(b), "\n"), "output is not one line: %q", b)
}

// A PR branched before main gained an entry: the two-tree diff would show main's entry
// as deleted; the merge-base diff shows only the PR's own entry
// (docs/generator.md#quirk-merge-base).
func TestProcessUsesMergeBase(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	one := entry(1, false, "dsr1-fp8-h200-sglang")
	r.commit("base", map[string]string{"perf-changelog.yaml": one})
	r.git("checkout", "-q", "-b", "pr")
	r.commit("pr entry", map[string]string{"perf-changelog.yaml": one + entry(3, false, "gptoss-fp4-b200-vllm")})
	r.git("checkout", "-q", "main")
	r.commit("main entry", map[string]string{"perf-changelog.yaml": one + entry(2, false, "dsr1-fp8-mi300x-sglang")})

	f := &fakeExpand{}
	out, err := processRepo(t, r, "main", "pr", f)
	require.NoError(t, err)
	assert.Equal(t, []string{"[gptoss-fp4-b200-vllm] evals-only=false"}, f.calls)
	assert.Len(t, out.Metadata.Entries, 1)
	// The plain two-tree diff is what the reference did, and it fails here.
	raw, err := r.gitter().Diff(context.Background(), "main", "pr", "perf-changelog.yaml")
	require.NoError(t, err)
	ch, _ := ParseDiff(raw)
	assert.NotEmpty(t, deletions("perf-changelog.yaml", ch),
		"expected the two-tree diff to contain deletions; the test no longer shows the merge-base difference")
}

func TestProcessErrors(t *testing.T) {
	t.Parallel()
	one := entry(1, false, "dsr1-fp8-h200-sglang")
	tests := []struct {
		name       string
		base, head string // changelog contents
		baseRef    string
		headRef    string
		wantErr    string
		wantLine   int // position of the single diagnostic, 0 when a plain error
	}{
		{name: "edited line", base: one, head: strings.Replace(one, `"entry"`, `"edited"`, 1) + entry(2, false, "gptoss-fp4-b200-vllm"),
			wantErr: `Deletions are not allowed in perf-changelog.yaml. Only additions to the changelog are permitted. Found deleted line:     - "entry"`, wantLine: 4},
		{name: "deleted entry", base: one + entry(2, false, "gptoss-fp4-b200-vllm"), head: one, wantErr: "Deletions are not allowed", wantLine: 6},
		{name: "deleted document marker", base: "---\n" + one, head: one + entry(2, false, "gptoss-fp4-b200-vllm"), wantErr: "Found deleted line: --", wantLine: 1},
		{name: "no trailing newline", base: strings.TrimSuffix(one, "\n"), head: one + entry(2, false, "gptoss-fp4-b200-vllm"), wantErr: "did not end with a newline", wantLine: 5},
		{name: "nothing added", base: one, head: one, wantErr: "No additions found in the changelog file"},
		{name: "only blank lines added", base: one, head: one + "\n  \n", wantErr: "No additions found in the changelog file"},
		{name: "only comments added", base: one, head: one + "# just a note\n", wantErr: "No valid YAML entries found in the changelog additions"},
		{name: "bad base ref", base: one, head: one + entry(2, false, "gptoss-fp4-b200-vllm"), baseRef: "no-such-ref", wantErr: `git ref "no-such-ref" does not name a commit`},
		{name: "ref looking like an option", base: one, head: one + entry(2, false, "gptoss-fp4-b200-vllm"), baseRef: "--output=/tmp/x", wantErr: `git ref "--output=/tmp/x" does not name a commit`},
		{name: "missing pr-link", base: one, head: one + "- config-keys: [gptoss-fp4-b200-vllm]\n  description: [x]\n", wantErr: "lacks the required field 'pr-link'", wantLine: 6},
		{name: "unknown key", base: one, head: one + entry(2, false, "gptoss-fp4-h100-vllm"), wantErr: "Config key 'gptoss-fp4-h100-vllm' not found in master configs (entry at line 6)", wantLine: 7},
		{name: "pattern without match", base: one, head: one + entry(2, false, "'llama70b-*'"), wantErr: "No config keys matched the wildcard pattern 'llama70b-*' in master configs", wantLine: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRepo(t)
			r.commit("base", map[string]string{"perf-changelog.yaml": tt.base})
			r.git("tag", "base")
			r.commit("head", map[string]string{"perf-changelog.yaml": tt.head})
			base, head := "base", "main"
			if tt.baseRef != "" {
				base = tt.baseRef
			}
			_, err := processRepo(t, r, base, head, &fakeExpand{})
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.wantErr)
			var f *Failure
			require.Equal(t, tt.wantLine > 0, errors.As(err, &f), "err %T %v: is it positioned?", err, err)
			if f != nil {
				require.Len(t, f.Diags, 1, "diags %v", f.Diags)
				assert.Equal(t, tt.wantLine, f.Diags[0].Line)
				assert.Equal(t, "perf-changelog.yaml", f.Diags[0].File)
			}
		})
	}
}

func TestProcessNotARepository(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	g := r.gitter()
	g.Dir = t.TempDir()
	_, err := Process(context.Background(), Request{Git: g, BaseRef: "a", HeadRef: "b", File: "perf-changelog.yaml", Keys: testKeys})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a git repository")
}

func TestProcessWhitespaceTolerated(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	one := entry(1, false, "dsr1-fp8-h200-sglang")
	r.commit("base", map[string]string{"perf-changelog.yaml": one + "\n   \n\n"})
	r.git("tag", "base")
	r.commit("head", map[string]string{"perf-changelog.yaml": one + "\n" + entry(2, false, "gptoss-fp4-b200-vllm") + "\n\n"})
	f := &fakeExpand{}
	_, err := processRepo(t, r, "base", "main", f)
	require.NoError(t, err)
	assert.Len(t, f.calls, 1)
}

// Keys named by several entries run once, at their first mention; an evals-only entry
// asks for evals only, and its first mention wins over a later full run
// (docs/generator.md#quirk-changelog-dedup).
func TestProcessDedupAndEvalsOnly(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	one := entry(1, false, "dsr1-fp8-h200-sglang")
	r.commit("base", map[string]string{"perf-changelog.yaml": one})
	r.git("tag", "base")
	head := one +
		entry(2, true, "gptoss-fp4-b200-vllm", "dsr1-fp8-h200-sglang") +
		entry(3, false, "gptoss-fp4-*-vllm", "gptoss-fp4-b200-vllm", "dsr1-fp4-gb200-dynamo-trt") +
		entry(4, false, "dsr1-fp8-h200-sglang", "'gptoss-*'")
	r.commit("head", map[string]string{"perf-changelog.yaml": head})
	f := &fakeExpand{}
	out, err := processRepo(t, r, "base", "main", f)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"[gptoss-fp4-b200-vllm dsr1-fp8-h200-sglang] evals-only=true",
		"[gptoss-fp4-h200-vllm gptoss-fp4-mi355x-vllm dsr1-fp4-gb200-dynamo-trt] evals-only=false",
	}, f.calls)
	require.Len(t, out.Metadata.Entries, 3, "the fully deduplicated entry stays in the metadata")
	assert.Equal(t, "gptoss-fp4-*-vllm", out.Metadata.Entries[1].ConfigKeys[0], "metadata keeps patterns unresolved")
	assert.Equal(t, 4, out.SingleNode.Len(), "single-node buckets %v", out.SingleNode.Names)
	assert.Equal(t, 1, out.MultiNode.Len())
	assert.Equal(t, []string{"1k1k"}, out.MultiNode.Names)
	b, err := out.Encode()
	require.NoError(t, err)
	assert.Contains(t, string(b), `"decode":{"num-worker":1,"tp":8,"ep":8,"dp-attn":false,"additional-settings":["A=1"]}`, "worker blocks not canonical")
	assert.Contains(t, string(b), `"prefill":{"num-worker":1,"tp":4,"ep":4,"dp-attn":true,"additional-settings":[]}`, "worker blocks not canonical")
	// Deterministic: a second run gives the same bytes.
	out2, err := processRepo(t, r, "base", "main", &fakeExpand{})
	require.NoError(t, err)
	b2, err := out2.Encode()
	require.NoError(t, err)
	assert.Equal(t, string(b), string(b2), "output differs between runs")
}

// Entries only resolve against the keys; diag positions point into the head file.
func TestAdditionsPositions(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	one := entry(1, false, "dsr1-fp8-h200-sglang")
	r.commit("base", map[string]string{"perf-changelog.yaml": one})
	r.git("tag", "base")
	r.commit("head", map[string]string{"perf-changelog.yaml": one + "\n# note\n" + entry(2, false, "x-*", "y")})
	_, err := processRepo(t, r, "base", "main", &fakeExpand{})
	var f *Failure
	require.ErrorAs(t, err, &f)
	var got []string
	for _, d := range f.Diags {
		got = append(got, d.Location())
	}
	assert.Equal(t, []string{"perf-changelog.yaml:9:7", "perf-changelog.yaml:10:7"}, got, (&diag.ErrorList{List: f.Diags}).Error())
}
