package recipe

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A base recipe and two that extend it, exercising every merge rule, vars changed by
// overrides, a structured config file and setup steps.
const inheritRecipes = `recipes:
  - name: base
    command: [serve]
    vars:
      bs: "{{.Conc}}"
      moe: TRTLLM
      piecewise: false
      tokens: "{{max 8192 (roundUp (add .Var.bs .ISL) 64)}}"
      capture: "[{{join (concat (list 1 2) (seq 256 256 .Var.tokens)) \", \"}}]"
    args:
      - "{{.Model}}"
      - --port={{.Port}}
      - --trust
      - --batch={{.Var.bs}}
    env: {A: "1", B: "2"}
    files:
      - path: extra.yml
        yaml:
          cuda_graph_config: {enable_padding: true, max_batch_size: "{{.Var.bs}}"}
          kv_cache_config: {dtype: fp8, fraction: 0.8}
          moe_config: {backend: "{{.Var.moe}}"}
          label: !!str '{{.Conc}}'
          compile: "{{if .Var.piecewise}}{capture: {{.Var.capture}}, enabled: true}{{end}}"
    overrides:
      - when: {dp-attn: true}
        files:
          - path: extra.yml
            yaml: {attention_dp_config: {enable_balance: true}}
  - name: child
    base: base
    match: {framework: trt, gpu: b200}
    vars: {moe: CUTLASS}
    args: ["!--trust", --batch=7, --extra]
    env: {B: "3", C: "4"}
    files:
      - path: extra.yml
        yaml:
          kv_cache_config: {fraction: 0.7}
          label: null
    setup:
      - run: [pip, install, "it's"]
      - delete-line: {file: /usr/lib/x.py, line: 417}
    chat-template: true
    overrides:
      - when: {conc: [32, 64], isl: [1024]}
        vars: {piecewise: true}
      - when: {ep-min: 2, dp-attn: true}
        vars: {bs: "{{div .Conc 4}}"}
        env: {D: x}
  - name: grandchild
    base: child
    match: {framework: trt, gpu: h200}
    args: [--batch=9]
`

func inheritSet(t *testing.T) *Set {
	t.Helper()
	s, err := Parse("r.yaml", []byte(inheritRecipes))
	require.NoError(t, err)
	return s
}

func TestBaseRecipesMergeEveryField(t *testing.T) {
	t.Parallel()
	s := inheritSet(t)
	child, err := s.Lookup(Key{"trt", "dsr1", "fp8", "b200", "none", false})
	require.NoError(t, err)
	v := SampleValues()
	v.Model, v.Conc, v.ISL, v.EP, v.DPAttn = "m", 4, 1024, 1, false
	out, err := child.Render(v, "img")
	require.NoError(t, err)
	assert.Equal(t, "serve m --port=8888 --batch=7 --extra", strings.Join(out.Argv, " "), "! removes, --flag= replaces, others append")
	assert.Equal(t, []string{"A=1", "B=3", "C=4"}, out.Env, "env keys merge, the child's win")
	assert.Equal(t, "cuda_graph_config:\n  enable_padding: true\n  max_batch_size: 4\nkv_cache_config:\n  dtype: fp8\n  fraction: 0.7\nmoe_config:\n  backend: CUTLASS\n",
		out.Files["extra.yml"], "structured files merge key by key, null removes a key, an empty render drops one")
	assert.True(t, out.ChatTemplate)
	assert.Equal(t, []Step{{Run: []string{"pip", "install", "it's"}}, {DeleteLine: &DeleteLine{File: "/usr/lib/x.py", Line: 417}}}, out.Setup)

	// Overrides: a var changed by one feeds the vars derived from it and the files.
	v.Conc, v.EP, v.DPAttn = 64, 4, true
	out, err = child.Render(v, "img")
	require.NoError(t, err)
	assert.Equal(t, []string{"A=1", "B=3", "C=4", "D=x"}, out.Env)
	assert.Contains(t, out.Files["extra.yml"], "max_batch_size: 16\n")
	assert.Contains(t, out.Files["extra.yml"], "compile:\n  capture: [1, 2, 256, 512")
	assert.Contains(t, out.Files["extra.yml"], "attention_dp_config:\n  enable_balance: true\n", "the base's overrides still apply")

	// The base keeps its own settings, and a !!str scalar stays a string.
	base, err := s.ByName("grandchild")
	require.NoError(t, err)
	out, err = base.Render(SampleValues(), "img")
	require.NoError(t, err)
	assert.Contains(t, strings.Join(out.Argv, " "), "--batch=9 --extra")
}

func TestStructuredFileKeepsTaggedStrings(t *testing.T) {
	t.Parallel()
	s, err := Parse("r.yaml", []byte("recipes:\n  - name: a\n    match: {framework: x}\n    command: [a]\n    files:\n      - path: c.yml\n        yaml: {label: !!str '{{.Conc}}', n: '{{.Conc}}', list: '[{{.TP}}, 2]', gone: '{{if false}}x{{end}}'}\n"))
	require.NoError(t, err)
	out, err := s.Recipes[0].Render(SampleValues(), "img")
	require.NoError(t, err)
	assert.Equal(t, "label: \"64\"\nn: 64\nlist: [8, 2]\n", out.Files["c.yml"])
}

func TestBaseOnlyRecipesAreNeverPicked(t *testing.T) {
	t.Parallel()
	s := inheritSet(t)
	_, err := s.ByName("base")
	assert.ErrorContains(t, err, "only a base for other recipes")
	_, err = s.Lookup(Key{"", "dsr1", "fp8", "b200", "none", false})
	assert.ErrorContains(t, err, "no engine recipe")
}

func TestWhenConditions(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	v := SampleValues() // isl 1024 osl 1024 tp 8 ep 1 conc 64 gpu b200 fp8 dsr1 none
	tests := []struct {
		name string
		when When
		want bool
	}{
		{"empty holds", When{}, true},
		{"seq-len", When{SeqLen: StringList{"1k1k"}}, true},
		{"other seq-len", When{SeqLen: StringList{"8k1k"}}, false},
		{"isl", When{ISL: []int{1024}}, true},
		{"osl", When{OSL: []int{8192}}, false},
		{"conc listed", When{Conc: []int{32, 64}}, true},
		{"conc not listed", When{Conc: []int{32}}, false},
		{"conc range", When{ConcMin: 64, ConcMax: 64}, true},
		{"conc below min", When{ConcMin: 65}, false},
		{"ep-min", When{EPMin: 2}, false},
		{"dp-attn false", When{DPAttn: &no}, true},
		{"dp-attn true", When{DPAttn: &yes}, false},
		{"gpu and precision", When{GPU: StringList{"b200"}, Precision: StringList{"fp8"}}, true},
		{"model prefix", When{ModelPrefix: StringList{"gptoss"}}, false},
		{"spec decoding", When{SpecDecoding: StringList{"mtp"}}, false},
		{"all of them", When{TP: []int{8}, EP: []int{1}, SeqLen: StringList{"1k1k"}, ConcMax: 63}, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.when.holds(v), tt.name)
	}
}

func TestFormatErrors(t *testing.T) {
	t.Parallel()
	head := "recipes:\n  - name: a\n    match: {framework: x}\n    command: [a]\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown base", "recipes:\n  - {name: a, base: nope, match: {framework: x}, command: [a]}\n", `r.yaml:2:5: recipe "a": base "nope" is not a recipe`},
		{"base cycle", "recipes:\n  - {name: a, base: b, match: {framework: x}, command: [a]}\n  - {name: b, base: a}\n", "base chain loops back"},
		{"override var not declared", head + "    overrides:\n      - when: {tp: [8]}\n        vars: {bs: 4}\n", `var "bs" (line 7) is not declared`},
		{"override of a declared var", head + "    vars: {bs: 1}\n    overrides:\n      - when: {tp: [8]}\n        vars: {bs: 4}\n", ""},
		{"bad var name", head + "    vars: {a-b: 1}\n", "names are letters, digits and _"},
		{"unknown var read", head + "    args: ['{{.Var.nope}}']\n", `map has no entry for key "nope"`},
		{"file content and yaml", head + "    files: [{path: c, content: x, yaml: {a: 1}}]\n", "exactly one of content (text) and yaml"},
		{"yaml not a mapping", head + "    files: [{path: c, yaml: [1]}]\n", "yaml must be a mapping"},
		{"step with two kinds", head + "    setup: [{run: [x], delete-line: {file: /f, line: 1}}]\n", "exactly one of run"},
		{"copy-env of a bad name", head + "    setup: [{copy-env: {from: 'A B', to: C}}]\n", "both must be variable names"},
		{"relative patch", head + "    setup: [{delete-line: {file: f, line: 0}}]\n", "absolute file and a line number"},
		{"templated yaml that is not yaml", head + "    files: [{path: c, yaml: {a: '{{\"[\"}}'}}]\n", "is not YAML"},
	}
	for _, tt := range tests {
		_, err := Parse("r.yaml", []byte(tt.yaml))
		if tt.want == "" {
			assert.NoError(t, err, tt.name)
			continue
		}
		assert.ErrorContains(t, err, tt.want, tt.name)
	}
}

// The setup prologue runs its steps in order with a POSIX shell and then becomes the
// engine; a failing step stops the launch before the engine starts.
func TestSetupPrologueRunsStepsThenTheEngine(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	tests := []struct {
		name    string
		setup   []Step
		want    string
		wantErr bool
	}{
		{"quoted arguments", []Step{{Run: []string{"printf", "%s|", "it's", "a b"}}}, "it's|a b|engine ran\n", false},
		{"failing step", []Step{{Run: []string{"false"}}}, "", true},
		{"copy-env when set", []Step{{CopyEnv: &CopyEnv{From: "HOME", To: "INFERBENCH_COPY"}}, {Run: []string{"sh", "-c", `printf "%s|" "$INFERBENCH_COPY"`}}},
			os.Getenv("HOME") + "|engine ran\n", false},
		{"copy-env when unset", []Step{{CopyEnv: &CopyEnv{From: "INFERBENCH_UNSET_X", To: "INFERBENCH_COPY"}}, {Run: []string{"sh", "-c", `printf "%s|" "${INFERBENCH_COPY-unset}"`}}},
			"unset|engine ran\n", false},
	}
	for _, tt := range tests {
		r := Rendered{Argv: []string{"echo", "engine ran"}, Setup: tt.setup}
		argv := r.LaunchArgv()
		require.Equal(t, "/bin/sh", argv[0])
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).Output()
		cancel()
		assert.Equal(t, tt.wantErr, err != nil, tt.name)
		assert.Equal(t, tt.want, string(out), tt.name)
	}
	assert.Equal(t, []string{"engine"}, Rendered{Argv: []string{"engine"}}.LaunchArgv(), "no setup, no prologue")
	r := Rendered{Argv: []string{"e"}, Setup: []Step{{DeleteLine: &DeleteLine{File: "/x/it's.py", Line: 3}}}}
	assert.Contains(t, r.LaunchArgv()[2], `sed -i '3d' '/x/it'\''s.py'`)
}

func TestFingerprintCoversSetup(t *testing.T) {
	t.Parallel()
	a := Rendered{Argv: []string{"e"}}
	b := Rendered{Argv: []string{"e"}, Setup: []Step{{Run: []string{"pip", "install", "x"}}}}
	assert.NotEqual(t, a.Fingerprint(), b.Fingerprint())
	assert.Contains(t, a.Diff(b), "setup steps differ")
}
