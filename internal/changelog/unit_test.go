package changelog

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDiff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		diff        string
		wantAdded   []Line
		wantDeleted []Line
		wantNoNL    bool
		wantErr     string
	}{
		{
			name:      "append after context",
			diff:      "diff --git a/f b/f\nindex 1..2 100644\n--- a/f\n+++ b/f\n@@ -4,2 +4,4 @@\n   pr-link: x\n \n+- config-keys:\n+    - a\n",
			wantAdded: []Line{{6, "- config-keys:"}, {7, "    - a"}},
		},
		{
			// Content starting with "--" and "++" inside a hunk is a change, not a header
			// (docs/generator.md#quirk-diff-hunks).
			name:        "lines that look like file headers",
			diff:        "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n---\n+++ added\n x\n",
			wantAdded:   []Line{{1, "++ added"}},
			wantDeleted: []Line{{1, "--"}},
		},
		{
			name:        "deletion-only hunk points at the gap",
			diff:        "--- a/f\n+++ b/f\n@@ -3,2 +2,0 @@\n-gone\n-also\n",
			wantDeleted: []Line{{3, "gone"}, {3, "also"}},
		},
		{
			name:        "no newline at end of the base",
			diff:        "--- a/f\n+++ b/f\n@@ -1 +1,2 @@\n-last\n\\ No newline at end of file\n+last\n+next\n",
			wantAdded:   []Line{{1, "last"}, {2, "next"}},
			wantDeleted: []Line{{1, "last"}},
			wantNoNL:    true,
		},
		{
			name:      "new file",
			diff:      "diff --git a/f b/f\nnew file mode 100644\n--- /dev/null\n+++ b/f\n@@ -0,0 +1,2 @@\n+a\n+b\n",
			wantAdded: []Line{{1, "a"}, {2, "b"}},
		},
		{
			name:      "two hunks",
			diff:      "--- a/f\n+++ b/f\n@@ -1 +1,2 @@\n x\n+y\n@@ -10,0 +11 @@\n+z\n",
			wantAdded: []Line{{2, "y"}, {11, "z"}},
		},
		{name: "empty", diff: ""},
		{name: "malformed hunk header", diff: "@@ nonsense @@\n", wantErr: "malformed hunk header"},
		{name: "truncated hunk", diff: "@@ -1,3 +1,3 @@\n x\n", wantErr: "ends inside a hunk"},
		{name: "binary", diff: "Binary files a/f and b/f differ\n", wantErr: "binary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ch, err := ParseDiff(tt.diff)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantAdded, ch.Added, "added lines")
			assert.Equal(t, tt.wantDeleted, ch.Deleted, "deleted lines")
			assert.Equal(t, tt.wantNoNL, ch.BaseNoNewline, "base without final newline")
		})
	}
}

func TestResolveWildcardForms(t *testing.T) {
	t.Parallel()
	keys := []string{
		"dsr1-fp8-mi300x-sglang", "dsr1-fp8-mi325x-sglang", "gptoss-fp4-b200-trt", "gptoss-fp4-h200-trt",
		"gptoss-fp4-gb200-dynamo-trt", "gptoss-fp4-b200-vllm", "dsr1-fp4-b200-sglang",
	}
	r := Resolver{Keys: keys, File: "cl.yaml"}
	tests := []struct {
		keys    []string
		want    []string
		wantErr string
	}{
		// '*' keeps the reference meaning: any run of characters, '-' included.
		{keys: []string{"gptoss-fp4-*-trt"}, want: []string{"gptoss-fp4-b200-trt", "gptoss-fp4-h200-trt", "gptoss-fp4-gb200-dynamo-trt"}},
		{keys: []string{"*-mi3*-*"}, want: []string{"dsr1-fp8-mi300x-sglang", "dsr1-fp8-mi325x-sglang"}},
		{keys: []string{"dsr1*"}, want: []string{"dsr1-fp8-mi300x-sglang", "dsr1-fp8-mi325x-sglang", "dsr1-fp4-b200-sglang"}},
		{keys: []string{"**"}, want: keys},
		{keys: []string{"dsr1-fp8-mi3?5x-sglang"}, want: []string{"dsr1-fp8-mi325x-sglang"}},
		{keys: []string{"dsr1-fp8-mi3[02]*"}, want: []string{"dsr1-fp8-mi300x-sglang", "dsr1-fp8-mi325x-sglang"}},
		{keys: []string{"dsr1-fp8-mi3[!0]*"}, want: []string{"dsr1-fp8-mi325x-sglang"}},
		{keys: []string{"gptoss-fp4-{b200,h200}-trt"}, want: []string{"gptoss-fp4-b200-trt", "gptoss-fp4-h200-trt"}},
		// Literal first, then a pattern that names it again: each key once, first-mention order.
		{keys: []string{"gptoss-fp4-b200-vllm", "gptoss-*", "gptoss-fp4-b200-vllm"}, want: []string{"gptoss-fp4-b200-vllm", "gptoss-fp4-b200-trt", "gptoss-fp4-h200-trt", "gptoss-fp4-gb200-dynamo-trt"}},
		// Matching covers the whole key and is case-sensitive; '.' and '+' are literal.
		{keys: []string{"gptoss"}, wantErr: "Config key 'gptoss' not found"},
		{keys: []string{"GPTOSS-*"}, wantErr: "No config keys matched the wildcard pattern 'GPTOSS-*'"},
		{keys: []string{"dsr1.fp8*"}, wantErr: "No config keys matched the wildcard pattern 'dsr1.fp8*'"},
		{keys: []string{"gptoss-[fp4*"}, wantErr: "config key pattern 'gptoss-[fp4*' is malformed"},
		{keys: []string{"gptoss-fp4-b200-trtt"}, wantErr: "closest existing keys: gptoss-fp4-b200-trt,"},
		{keys: []string{"llama70b-*"}, wantErr: "No config keys matched"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.keys, ","), func(t *testing.T) {
			t.Parallel()
			e := Entry{ConfigKeys: tt.keys, Line: 3, Col: 3}
			got, diags := r.Resolve(e)
			if tt.wantErr != "" {
				require.Len(t, diags, 1, "diags %v", diags)
				assert.Contains(t, diags[0].Message+" "+diags[0].Hint, tt.wantErr)
				assert.Equal(t, 3, diags[0].Line, "diagnostic not positioned at the entry")
				assert.Contains(t, diags[0].Message, "(entry at line 3)")
				return
			}
			assert.Empty(t, diags)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestClosestHint(t *testing.T) {
	t.Parallel()
	r := Resolver{Keys: []string{"dsr1-fp8-mi300x-sglang", "dsr1-fp8-mi325x-sglang", "gptoss-fp4-h200-vllm", "llama-fp8-h200-vllm"}}
	got := r.closestHint("dsr1-fp8-mi999x-sglang")
	assert.True(t, strings.HasPrefix(got, "closest existing keys: dsr1-fp8-mi300x-sglang, dsr1-fp8-mi325x-sglang, "), got)
	got = r.closestHint("llama*")
	assert.True(t, strings.HasPrefix(got, "closest existing keys: llama-fp8-h200-vllm"), got)
}

func TestParseEntries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		text    string
		want    []string // diag "line:col message" fragments, in order
		entries int
		noYAML  bool
	}{
		{name: "valid", text: "- config-keys: [a, 'b*']\n  description: [x]\n  pr-link: https://x\n  evals-only: true\n", entries: 1},
		{name: "comments only", text: "# nothing\n\n", noYAML: true},
		{name: "explicit null", text: "~\n", noYAML: true},
		{name: "top-level mapping", text: "config-keys: [a]\n", want: []string{"1:1: the changelog must be a YAML list of entries, found a mapping"}},
		{name: "entry is a string", text: "- just text\n", want: []string{"1:3: changelog entry must be a mapping, found \"just text\""}},
		{name: "number as pr-link", text: "- config-keys: [a]\n  description: [x]\n  pr-link: 12\n", want: []string{"3:12: 'pr-link' must be a string, found the number 12"}},
		{name: "number in keys", text: "- config-keys: [a, 7]\n  description: [x]\n  pr-link: x\n", want: []string{"1:20: 'config-keys' items must be strings, found the number 7"}},
		{name: "yes is not a boolean", text: "- config-keys: [a]\n  description: [x]\n  pr-link: x\n  evals-only: yes\n", want: []string{"4:15: 'evals-only' must be true or false"}},
		{name: "misspelt optional field", text: "- config-keys: [a]\n  description: [x]\n  pr-link: x\n  evals_only: true\n", want: []string{"4:3: unknown field 'evals_only'"}},
		{name: "missing everything", text: "- {}\n", want: []string{"1:3: changelog entry lacks the required field 'config-keys'", "1:3: changelog entry lacks the required field 'description'", "1:3: changelog entry lacks the required field 'pr-link'"}},
		{name: "syntax error", text: "- config-keys: [a\n  description: [x]\n", want: []string{"invalid YAML"}},
		{name: "second document", text: "- config-keys: [a]\n  description: [x]\n  pr-link: x\n---\n- x\n", want: []string{"4:1: unexpected second YAML document"}, entries: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			entries, diags, err := ParseEntries(Source{File: "f", Text: tt.text})
			require.Equal(t, tt.noYAML, err == ErrNoEntries, "err = %v", err)
			assert.Len(t, entries, tt.entries)
			require.Len(t, diags, len(tt.want), "diags %v", diags)
			for i, d := range diags {
				assert.Contains(t, strings.TrimPrefix(d.String(), "f:"), tt.want[i])
			}
		})
	}
}

// Positions of entries parsed from cut-out additions point at the file's lines.
func TestSourceLineMapping(t *testing.T) {
	t.Parallel()
	src := Source{File: "f", Text: "- config-keys: [a]\n  description: [x]\n  pr-link: 5\n", Lines: []int{40, 41, 45}}
	_, diags, _ := ParseEntries(src)
	require.Len(t, diags, 1, "diags %v", diags)
	assert.Equal(t, 45, diags[0].Line)
	assert.Equal(t, 12, diags[0].Col)
}

func TestCanonicalRow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		multi  bool
		bucket string
		want   string
	}{
		{
			name:   "single-node, generator key order",
			in:     `{"image": "i", "model": "m", "model-prefix": "p", "precision": "fp8", "framework": "f", "runner": "r", "isl": 2048, "osl": 128, "tp": 8, "conc": 4, "max-model-len": 2376, "ep": 1, "dp-attn": false, "spec-decoding": "mtp", "exp-name": "p_2048_128", "disagg": false, "run-eval": true}`,
			bucket: "2048_128",
			want:   `{"image":"i","model":"m","model-prefix":"p","precision":"fp8","framework":"f","spec-decoding":"mtp","runner":"r","isl":2048,"osl":128,"tp":8,"ep":1,"dp-attn":false,"conc":4,"max-model-len":2376,"exp-name":"p_2048_128","disagg":false,"run-eval":true}`,
		},
		{
			name:   "multi-node, settings absent / null / list",
			in:     `{"image": "i", "model": "m", "model-prefix": "p", "precision": "fp4", "framework": "f", "runner": "r", "isl": 8192, "osl": 1024, "spec-decoding": "none", "prefill": {"tp": 4, "num-worker": 1, "ep": 4, "dp-attn": true}, "decode": {"num-worker": 2, "tp": 8, "ep": 8, "dp-attn": false, "additional-settings": null}, "conc": [1, 2], "max-model-len": 9416, "exp-name": "p_8k1k", "disagg": true, "run-eval": false}`,
			multi:  true,
			bucket: "8k1k",
			want:   `{"image":"i","model":"m","model-prefix":"p","precision":"fp4","framework":"f","spec-decoding":"none","runner":"r","isl":8192,"osl":1024,"prefill":{"num-worker":1,"tp":4,"ep":4,"dp-attn":true,"additional-settings":[]},"decode":{"num-worker":2,"tp":8,"ep":8,"dp-attn":false,"additional-settings":null},"conc":[1,2],"max-model-len":9416,"exp-name":"p_8k1k","disagg":true,"run-eval":false}`,
		},
		{
			name:   "null prefill is single-node",
			in:     `{"prefill": null, "isl": 1024, "osl": 8192, "image": "<&>é"}`,
			bucket: "1k8k",
			want:   `{"image":"<&>é","model":"","model-prefix":"","precision":"","framework":"","spec-decoding":"","runner":"","isl":1024,"osl":8192,"tp":0,"ep":0,"dp-attn":false,"conc":0,"max-model-len":0,"exp-name":"","disagg":false,"run-eval":false}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			multi, bucket, out, err := canonicalRow(json.RawMessage(tt.in))
			require.NoError(t, err)
			assert.Equal(t, tt.multi, multi, "multi-node")
			assert.Equal(t, tt.bucket, bucket)
			assert.Equal(t, tt.want, string(out))
		})
	}
	t.Run("quoted number", func(t *testing.T) {
		t.Parallel()
		_, _, _, err := canonicalRow(json.RawMessage(`{"tp": "8"}`))
		assert.Error(t, err, "a quoted number must not pass as an int")
	})
}

func TestSeqLenName(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		isl, osl int64
		want     string
	}{
		{isl: 1024, osl: 1024, want: "1k1k"},
		{isl: 1024, osl: 8192, want: "1k8k"},
		{isl: 8192, osl: 1024, want: "8k1k"},
		{isl: 8192, osl: 8192, want: "8192_8192"}, // no short name: plain numbers
		{isl: 2048, osl: 128, want: "2048_128"},
	} {
		assert.Equal(t, c.want, SeqLenName(c.isl, c.osl), "SeqLenName(%d, %d)", c.isl, c.osl)
	}
}

func TestCheckFile(t *testing.T) {
	t.Parallel()
	good := "- config-keys: [a]\n  description: [x]\n  pr-link: x\n"
	_, diags := CheckFile("f", []byte(good), false)
	assert.Empty(t, diags)
	_, diags = CheckFile("f", []byte(strings.TrimSuffix(good, "\n")), false)
	require.Len(t, diags, 1, "diags %v", diags)
	assert.Equal(t, 3, diags[0].Line)
	assert.Contains(t, diags[0].Message, "does not end with a newline")
	_, diags = CheckFile("f", []byte("# empty\n"), false)
	require.Len(t, diags, 1, "diags %v", diags)
	assert.False(t, diags.HasErrors(), "an empty log is a warning: %v", diags)
}

// FuzzParseDiff: any input gives changes or an error, never a panic, and every added
// line number lies within the hunk it came from.
func FuzzParseDiff(f *testing.F) {
	f.Add("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n---\n+++ added\n x\n")
	f.Add("@@ -3,2 +2,0 @@\n-gone\n-also\n")
	f.Add("@@ -1 +1,2 @@\n-last\n\\ No newline at end of file\n+last\n+next\n")
	f.Fuzz(func(t *testing.T, s string) {
		ch, err := ParseDiff(s)
		if err != nil {
			return
		}
		for _, l := range ch.Added {
			require.GreaterOrEqual(t, l.Num, 1, "added line number in %q", s)
		}
	})
}
