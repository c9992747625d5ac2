package recipe

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func repoRecipes(t *testing.T) *Set {
	t.Helper()
	s, err := LoadFile(filepath.Join("..", "..", "configs", "recipes.yaml"))
	require.NoError(t, err, "configs/recipes.yaml")
	return s
}

func TestRepoRecipesLoad(t *testing.T) {
	t.Parallel()
	s := repoRecipes(t)
	require.GreaterOrEqual(t, len(s.Recipes), 10, "recipes")
	for _, r := range s.Recipes {
		if r.BaseOnly {
			continue
		}
		_, err := r.Render(SampleValues(), "img")
		assert.NoError(t, err, "%s", r.Name)
	}
}

const testRecipes = `x-fatal: &fatal ['OOM']
recipes:
  - name: generic
    match: {framework: vllm}
    command: [vllm, serve]
    args: ["{{.Model}}", "--port={{.Port}}", "--max-num-seqs={{.Conc}}"]
  - name: gptoss-h100
    match: {framework: vllm, model-prefix: gptoss, gpu: [h100, h200]}
    command: [vllm, serve]
    args:
      - "{{.Model}}"
      - --port={{.Port}}
      - --block-size=16
      - '{{if gt .EP 1}}--enable-expert-parallel{{end}}'
      - --interval={{if ge .Conc 16}}30{{else}}10{{end}}
    env: {B: "{{.TP}}", A: x}
    overrides:
      - when: {seq-len: 8k1k, tp: [4]}
        args: [--block-size=64, --extra]
        env: {A: y}
      - when: {conc-min: 100}
        args: [--huge]
    files:
      - {path: c.yaml, content: "bs: {{.Conc}}\n"}
    fatal-log: *fatal
  - name: tie-a
    match: {framework: sglang, gpu: b200}
    command: [a]
  - name: tie-b
    match: {framework: sglang, precision: fp8}
    command: [b]
  - name: disagg
    match: {framework: vllm, model-prefix: gptoss}
    multinode: true
    command: [launch.sh]
    args: ["--config={{.Setting \"CONFIG_FILE\"}}", "--prefill={{.Prefill.NumWorkers}}x{{.Prefill.TP}}", "--decode={{.Decode.NumWorkers}}x{{.Decode.TP}}", "--conc={{.ConcList}}"]
`

func testSet(t *testing.T) *Set {
	t.Helper()
	s, err := Parse("r.yaml", []byte(testRecipes))
	require.NoError(t, err)
	return s
}

func TestLookup(t *testing.T) {
	t.Parallel()
	s := testSet(t)
	tests := []struct {
		key     Key
		want    string
		wantErr string
	}{
		{Key{"vllm", "gptoss", "fp4", "h100", "none", false}, "gptoss-h100", ""},
		{Key{"vllm", "gptoss", "fp4", "b200", "none", false}, "generic", ""},
		{Key{"vllm", "dsr1", "fp8", "h100", "none", false}, "generic", ""},
		{Key{"vllm", "gptoss", "fp4", "h100", "mtp", false}, "", "no engine recipe for framework=vllm model-prefix=gptoss precision=fp4 gpu=h100 spec-decoding=mtp"},
		{Key{"trt", "dsr1", "fp8", "b200", "none", false}, "", "no engine recipe"},
		{Key{"sglang", "dsr1", "fp8", "b200", "none", false}, "", "several recipes match"},
		// Multi-node rows see only multinode recipes, and single-node rows never do.
		{Key{"vllm", "gptoss", "fp4", "h100", "none", true}, "disagg", ""},
		{Key{"vllm", "dsr1", "fp4", "h100", "none", true}, "", "no engine multi-node recipe (multinode: true) for framework=vllm model-prefix=dsr1"},
	}
	for _, tt := range tests {
		r, err := s.Lookup(tt.key)
		if tt.wantErr != "" {
			assert.ErrorContains(t, err, tt.wantErr, "%s", tt.key)
			continue
		}
		assert.NoError(t, err, "%s", tt.key)
		assert.Equal(t, tt.want, r.Name, "%s", tt.key)
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	s := testSet(t)
	r, _ := s.Lookup(Key{"vllm", "gptoss", "fp4", "h100", "none", false})
	v := SampleValues()
	v.Model, v.Port, v.TP, v.EP, v.Conc, v.ISL, v.OSL = "openai/gpt-oss-120b", 9000, 4, 1, 8, 8192, 1024
	out, err := r.Render(v, "img:1")
	require.NoError(t, err)
	wantArgv := "vllm serve openai/gpt-oss-120b --port=9000 --block-size=64 --interval=10 --extra"
	assert.Equal(t, wantArgv, strings.Join(out.Argv, " "))
	assert.Equal(t, "A=y B=4", strings.Join(out.Env, " "), "env")
	assert.Equal(t, "bs: 8\n", out.Files["c.yaml"], "rendered")
	assert.Equal(t, "img:1", out.Image, "rendered")
	assert.Equal(t, 4, out.GPUs, "rendered")
	assert.Equal(t, "/health", out.Health, "rendered")
	assert.Equal(t, "/v1/completions", out.Endpoint, "rendered")
	assert.Equal(t, "vllm", out.ClientBackend, "rendered")
	assert.Equal(t, "OOM", out.FatalLog[0], "rendered")
	v.EP, v.Conc, v.ISL = 4, 128, 1024
	out, _ = r.Render(v, "img:1")
	assert.Equal(t, "vllm serve openai/gpt-oss-120b --port=9000 --block-size=16 --enable-expert-parallel --interval=30 --huge", strings.Join(out.Argv, " "), "argv")
}

func TestRenderMultinode(t *testing.T) {
	t.Parallel()
	s := testSet(t)
	r, err := s.Lookup(Key{"vllm", "gptoss", "fp4", "h100", "none", true})
	require.NoError(t, err)
	v := SampleValues()
	v.Settings = map[string]string{"CONFIG_FILE": "recipes/a.yaml"}
	v.Prefill.NumWorkers, v.Prefill.TP, v.Decode.TP, v.ConcList = 3, 2, 16, "2x4"
	v.TotalGPUs, v.GPUsPerNode, v.Nodes = 22, 4, 6
	out, err := r.Render(v, "img")
	require.NoError(t, err)
	assert.Equal(t, "launch.sh --config=recipes/a.yaml --prefill=3x2 --decode=1x16 --conc=2x4", strings.Join(out.Argv, " "), "argv")
	// Defaults for a multi-node recipe: one node's GPUs per node, the runner's node count.
	assert.Equal(t, 4, out.GPUs)
	assert.Equal(t, 6, out.Nodes)
	v.Settings = nil
	out, _ = r.Render(v, "img")
	assert.Equal(t, "--config=", out.Argv[1], "a missing setting renders empty")
	// Single-node recipes occupy one node.
	g, _ := s.Lookup(Key{"vllm", "dsr1", "fp8", "h100", "none", false})
	out, _ = g.Render(SampleValues(), "img")
	assert.Equal(t, 1, out.Nodes, "single-node recipe nodes")
}

func TestFingerprintFollowsConcDependence(t *testing.T) {
	t.Parallel()
	s := testSet(t)
	r, _ := s.Lookup(Key{"vllm", "gptoss", "fp4", "h100", "none", false})
	v := SampleValues()
	at := func(conc int) Rendered {
		v.Conc = conc
		out, err := r.Render(v, "img")
		require.NoError(t, err)
		return out
	}
	// Config file content depends on conc, so every conc differs here...
	assert.NotEqual(t, at(8).Fingerprint(), at(4).Fingerprint(), "different config files, same fingerprint")
	d := at(8).Diff(at(32))
	assert.Contains(t, d, "---interval=10 +--interval=30")
	assert.Contains(t, d, "config files differ (c.yaml: -bs: 8 +bs: 32)")
	// ...while the generic recipe differs only through --max-num-seqs.
	g, _ := s.Lookup(Key{"vllm", "dsr1", "fp8", "h100", "none", false})
	v.Conc = 4
	a, _ := g.Render(v, "img")
	b, _ := g.Render(v, "img")
	assert.Equal(t, b.Fingerprint(), a.Fingerprint(), "same inputs, different launches")
	assert.Equal(t, "identical", a.Diff(b), "same inputs, different launches")
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown field", "recipes:\n  - name: a\n    match: {framework: x}\n    command: [a]\n    argz: []\n", []string{"r.yaml: line 5: field argz not found"}},
		{"collected problems with positions", "recipes:\n  - name: a\n    match: {}\n    args: ['{{.Nope}}']\n    fatal-log: ['(']\n    client-backend: grpc\n    health: health\n",
			[]string{"r.yaml:2:5: recipe \"a\": match.framework is required", "command is required", "can't evaluate field Nope", "fatal-log \"(\"", "client-backend \"grpc\"", "path \"health\" must start with /"}},
		{"bad template syntax", "recipes:\n  - {name: a, match: {framework: x}, command: ['{{.Model']}\n", []string{"r.yaml:2:5", "unclosed action"}},
		{"duplicate names", "recipes:\n  - {name: a, match: {framework: x}, command: [a]}\n  - {name: a, match: {framework: y}, command: [a]}\n", []string{"r.yaml:3:5: recipe name \"a\" already used at r.yaml:2:5"}},
		{"bad duration", "recipes:\n  - {name: a, match: {framework: x}, command: [a], ready-timeout: soon}\n", []string{"not a duration"}},
		{"stray key", "recepies: []\n", []string{"r.yaml:1:1: unknown top-level key \"recepies\""}},
		{"zero nodes", "recipes:\n  - {name: a, match: {framework: x}, command: [a], nodes: '0'}\n", []string{"nodes renders to \"0\", want a count of at least 1"}},
		{"file path escapes", "recipes:\n  - {name: a, match: {framework: x}, command: [a], files: [{path: ../x, content: y}]}\n", []string{"must be relative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("r.yaml", []byte(tt.yaml))
			require.Error(t, err, "no error")
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w, "error %q lacks %q", err, w)
			}
		})
	}
}

func TestByName(t *testing.T) {
	t.Parallel()
	s := repoRecipes(t)
	r, err := s.ByName("sim")
	require.NoError(t, err, "ByName(sim)")
	require.Equal(t, "sim", r.Name, "ByName(sim)")
	_, err = s.ByName("no-such-engine")
	require.ErrorContains(t, err, "sim", "ByName of a missing recipe should fail and list the names")
}

// TestDiffExplainsEveryFingerprintField: whatever makes two fingerprints differ, Diff names
// it, so a restart's log line never says "rendered launch differs (identical)".
func TestDiffExplainsEveryFingerprintField(t *testing.T) {
	t.Parallel()
	base := Rendered{Image: "img", Argv: []string{"serve", "--port=8000"}, Env: []string{"A=1"},
		Files: map[string]string{"c.yaml": "x: 1\n"}, Setup: []Step{{Run: []string{"pip", "install", "x"}}},
		GPUs: 8, Nodes: 1, Port: 8000}
	fields := reflect.TypeOf(identity{})
	for i := range fields.NumField() {
		name := fields.Field(i).Name
		t.Run(name, func(t *testing.T) {
			changed := base
			f := reflect.ValueOf(&changed).Elem().FieldByName(name)
			require.True(t, f.IsValid(), "identity.%s is not a field of Rendered", name)
			switch f.Kind() {
			case reflect.String:
				f.SetString(f.String() + "-other")
			case reflect.Int:
				f.SetInt(f.Int() + 1)
			case reflect.Slice:
				f.Set(reflect.Append(reflect.MakeSlice(f.Type(), 0, f.Len()+1), reflect.Zero(f.Type().Elem())))
			case reflect.Map:
				f.Set(reflect.ValueOf(map[string]string{"other.yaml": ""}))
			default:
				require.Failf(t, "no change for this kind", "identity.%s is a %s", name, f.Kind())
			}
			require.NotEqual(t, base.Fingerprint(), changed.Fingerprint(), "changing %s changes the fingerprint", name)
			d := base.Diff(changed)
			assert.NotEqual(t, "identical", d)
			label := map[string]string{"Argv": "args", "Files": "config files", "Setup": "setup"}[name]
			if label == "" {
				label = strings.ToLower(name)
			}
			assert.Contains(t, d, label, "Diff names %s", name)
		})
	}
	for _, tc := range []struct {
		name   string
		change func(*Rendered)
		want   string
	}{
		{"nodes", func(r *Rendered) { r.Nodes = 2 }, "nodes 1 -> 2"},
		{"the same words in another order", func(r *Rendered) { r.Argv = []string{"--port=8000", "serve"} }, `args ["serve" "--port=8000"] -> ["--port=8000" "serve"]`},
		{"the same words split differently", func(r *Rendered) { r.Argv = []string{"serve --port=8000"} }, `args -serve ---port=8000 +serve --port=8000`},
		{"an empty config file added", func(r *Rendered) { r.Files = map[string]string{"c.yaml": "x: 1\n", "d.yaml": ""} }, "config files differ (d.yaml added)"},
		{"a config file removed", func(r *Rendered) { r.Files = map[string]string{} }, "config files differ (c.yaml removed)"},
		{"a config file emptied", func(r *Rendered) { r.Files = map[string]string{"c.yaml": ""} }, "config files differ (c.yaml: -x: 1)"},
		{"a setup step added", func(r *Rendered) { r.Setup = append(r.Setup, Step{CopyEnv: &CopyEnv{From: "A", To: "B"}}) }, "setup steps differ (1 -> 2 steps; step 2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			changed := base
			tc.change(&changed)
			assert.Equal(t, tc.want, base.Diff(changed))
		})
	}
	// Equal steps behind different pointers are the same launch.
	p1 := base
	p1.Setup = []Step{{DeleteLine: &DeleteLine{File: "f.py", Line: 3}}}
	p2 := base
	p2.Setup = []Step{{DeleteLine: &DeleteLine{File: "f.py", Line: 3}}}
	assert.Equal(t, p1.Fingerprint(), p2.Fingerprint())
	assert.Equal(t, "identical", p1.Diff(p2))
}
