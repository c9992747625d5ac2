package changelog

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestParseDiff(t *testing.T) {
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
			// content starting with "--" and "++" inside a hunk is a change, not a header.
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
			ch, err := ParseDiff(tt.diff)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ch.Added, tt.wantAdded) || !slices.Equal(ch.Deleted, tt.wantDeleted) || ch.BaseNoNewline != tt.wantNoNL {
				t.Fatalf("got added %v deleted %v nonl %v\nwant added %v deleted %v nonl %v",
					ch.Added, ch.Deleted, ch.BaseNoNewline, tt.wantAdded, tt.wantDeleted, tt.wantNoNL)
			}
		})
	}
}

func TestResolveWildcardForms(t *testing.T) {
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
		e := Entry{ConfigKeys: tt.keys, Line: 3, Col: 3}
		got, diags := r.Resolve(e)
		if tt.wantErr != "" {
			if len(diags) != 1 || !strings.Contains(diags[0].Message+" "+diags[0].Hint, tt.wantErr) {
				t.Errorf("%q: diags %v, want one containing %q", tt.keys, diags, tt.wantErr)
			}
			if len(diags) == 1 && (diags[0].Line != 3 || !strings.Contains(diags[0].Message, "(entry at line 3)")) {
				t.Errorf("%q: diagnostic not positioned at the entry: %v", tt.keys, diags[0])
			}
			continue
		}
		if len(diags) != 0 || !slices.Equal(got, tt.want) {
			t.Errorf("%q: got %q %v, want %q", tt.keys, got, diags, tt.want)
		}
	}
}

func TestClosestHint(t *testing.T) {
	r := Resolver{Keys: []string{"dsr1-fp8-mi300x-sglang", "dsr1-fp8-mi325x-sglang", "gptoss-fp4-h200-vllm", "llama-fp8-h200-vllm"}}
	got := r.closestHint("dsr1-fp8-mi999x-sglang")
	if !strings.HasPrefix(got, "closest existing keys: dsr1-fp8-mi300x-sglang, dsr1-fp8-mi325x-sglang, ") {
		t.Fatal(got)
	}
	if got := r.closestHint("llama*"); !strings.HasPrefix(got, "closest existing keys: llama-fp8-h200-vllm") {
		t.Fatal(got)
	}
}

func TestParseEntries(t *testing.T) {
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
			entries, diags, err := ParseEntries(Source{File: "f", Text: tt.text})
			if (err == ErrNoEntries) != tt.noYAML {
				t.Fatalf("err = %v", err)
			}
			if len(entries) != tt.entries {
				t.Errorf("%d entries, want %d", len(entries), tt.entries)
			}
			if len(diags) != len(tt.want) {
				t.Fatalf("diags %v, want %d", diags, len(tt.want))
			}
			for i, d := range diags {
				s := strings.TrimPrefix(d.String(), "f:")
				if !strings.Contains(s, tt.want[i]) {
					t.Errorf("diag %q, want it to contain %q", s, tt.want[i])
				}
			}
		})
	}
}

// Positions of entries parsed from cut-out additions point at the file's lines.
func TestSourceLineMapping(t *testing.T) {
	src := Source{File: "f", Text: "- config-keys: [a]\n  description: [x]\n  pr-link: 5\n", Lines: []int{40, 41, 45}}
	_, diags, _ := ParseEntries(src)
	if len(diags) != 1 || diags[0].Line != 45 || diags[0].Col != 12 {
		t.Fatalf("diags %v, want one at 45:12", diags)
	}
}

func TestCanonicalRow(t *testing.T) {
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
			multi, bucket, out, err := canonicalRow(json.RawMessage(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if multi != tt.multi || bucket != tt.bucket || string(out) != tt.want {
				t.Fatalf("got %v %s\n%s\nwant %v %s\n%s", multi, bucket, out, tt.multi, tt.bucket, tt.want)
			}
		})
	}
	if _, _, _, err := canonicalRow(json.RawMessage(`{"tp": "8"}`)); err == nil {
		t.Fatal("a quoted number must not pass as an int")
	}
}

func TestSeqLenName(t *testing.T) {
	for _, c := range []struct {
		isl, osl int64
		want     string
	}{{1024, 1024, "1k1k"}, {1024, 8192, "1k8k"}, {8192, 1024, "8k1k"}, {8192, 8192, "8192_8192"}, {2048, 128, "2048_128"}} {
		if got := SeqLenName(c.isl, c.osl); got != c.want {
			t.Errorf("SeqLenName(%d, %d) = %s, want %s", c.isl, c.osl, got, c.want)
		}
	}
}

func TestCheckFile(t *testing.T) {
	good := "- config-keys: [a]\n  description: [x]\n  pr-link: x\n"
	if _, diags := CheckFile("f", []byte(good), false); len(diags) != 0 {
		t.Fatal(diags)
	}
	_, diags := CheckFile("f", []byte(strings.TrimSuffix(good, "\n")), false)
	if len(diags) != 1 || diags[0].Line != 3 || !strings.Contains(diags[0].Message, "does not end with a newline") {
		t.Fatal(diags)
	}
	_, diags = CheckFile("f", []byte("# empty\n"), false)
	if len(diags) != 1 || diags.HasErrors() {
		t.Fatalf("an empty log is a warning: %v", diags)
	}
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
			if l.Num < 1 {
				t.Fatalf("added line number %d < 1 in %q", l.Num, s)
			}
		}
	})
}
