package recipe

import (
	"path/filepath"
	"strings"
	"testing"
)

func repoRecipes(t *testing.T) *Set {
	t.Helper()
	s, err := LoadFile(filepath.Join("..", "..", "configs", "recipes.yaml"))
	if err != nil {
		t.Fatalf("configs/recipes.yaml: %v", err)
	}
	return s
}

func TestRepoRecipesLoad(t *testing.T) {
	s := repoRecipes(t)
	if len(s.Recipes) < 10 {
		t.Fatalf("only %d recipes", len(s.Recipes))
	}
	for _, r := range s.Recipes {
		if r.BaseOnly {
			continue
		}
		if _, err := r.Render(SampleValues(), "img"); err != nil {
			t.Errorf("%s: %v", r.Name, err)
		}
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
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLookup(t *testing.T) {
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
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want %q", tt.key, err, tt.wantErr)
			}
			continue
		}
		if err != nil || r.Name != tt.want {
			t.Errorf("%s: got %v %v, want %s", tt.key, r, err, tt.want)
		}
	}
}

func TestRender(t *testing.T) {
	s := testSet(t)
	r, _ := s.Lookup(Key{"vllm", "gptoss", "fp4", "h100", "none", false})
	v := SampleValues()
	v.Model, v.Port, v.TP, v.EP, v.Conc, v.ISL, v.OSL = "openai/gpt-oss-120b", 9000, 4, 1, 8, 8192, 1024
	out, err := r.Render(v, "img:1")
	if err != nil {
		t.Fatal(err)
	}
	wantArgv := "vllm serve openai/gpt-oss-120b --port=9000 --block-size=64 --interval=10 --extra"
	if got := strings.Join(out.Argv, " "); got != wantArgv {
		t.Errorf("argv = %s\nwant   %s", got, wantArgv)
	}
	if got := strings.Join(out.Env, " "); got != "A=y B=4" {
		t.Errorf("env = %s", got)
	}
	if out.Files["c.yaml"] != "bs: 8\n" || out.Image != "img:1" || out.GPUs != 4 || out.Health != "/health" ||
		out.Endpoint != "/v1/completions" || out.ClientBackend != "vllm" || out.FatalLog[0] != "OOM" {
		t.Errorf("rendered = %+v", out)
	}
	v.EP, v.Conc, v.ISL = 4, 128, 1024
	out, _ = r.Render(v, "img:1")
	if got := strings.Join(out.Argv, " "); got != "vllm serve openai/gpt-oss-120b --port=9000 --block-size=16 --enable-expert-parallel --interval=30 --huge" {
		t.Errorf("argv = %s", got)
	}
}

func TestRenderMultinode(t *testing.T) {
	s := testSet(t)
	r, err := s.Lookup(Key{"vllm", "gptoss", "fp4", "h100", "none", true})
	if err != nil {
		t.Fatal(err)
	}
	v := SampleValues()
	v.Settings = map[string]string{"CONFIG_FILE": "recipes/a.yaml"}
	v.Prefill.NumWorkers, v.Prefill.TP, v.Decode.TP, v.ConcList = 3, 2, 16, "2x4"
	v.TotalGPUs, v.GPUsPerNode, v.Nodes = 22, 4, 6
	out, err := r.Render(v, "img")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(out.Argv, " "); got != "launch.sh --config=recipes/a.yaml --prefill=3x2 --decode=1x16 --conc=2x4" {
		t.Errorf("argv = %s", got)
	}
	// Defaults for a multi-node recipe: one node's GPUs per node, the runner's node count.
	if out.GPUs != 4 || out.Nodes != 6 {
		t.Errorf("gpus %d nodes %d, want 4 and 6", out.GPUs, out.Nodes)
	}
	v.Settings = nil
	out, _ = r.Render(v, "img")
	if out.Argv[1] != "--config=" {
		t.Errorf("a missing setting renders empty, got %q", out.Argv[1])
	}
	// Single-node recipes occupy one node.
	g, _ := s.Lookup(Key{"vllm", "dsr1", "fp8", "h100", "none", false})
	if out, _ := g.Render(SampleValues(), "img"); out.Nodes != 1 {
		t.Errorf("single-node recipe nodes = %d", out.Nodes)
	}
}

func TestFingerprintFollowsConcDependence(t *testing.T) {
	s := testSet(t)
	r, _ := s.Lookup(Key{"vllm", "gptoss", "fp4", "h100", "none", false})
	v := SampleValues()
	at := func(conc int) Rendered {
		v.Conc = conc
		out, err := r.Render(v, "img")
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// Config file content depends on conc, so every conc differs here...
	if at(4).Fingerprint() == at(8).Fingerprint() {
		t.Errorf("different config files, same fingerprint")
	}
	if d := at(8).Diff(at(32)); !strings.Contains(d, "---interval=10 +--interval=30") || !strings.Contains(d, "config files differ (c.yaml: -bs: 8 +bs: 32)") {
		t.Errorf("diff = %s", d)
	}
	// ...while the generic recipe differs only through --max-num-seqs.
	g, _ := s.Lookup(Key{"vllm", "dsr1", "fp8", "h100", "none", false})
	v.Conc = 4
	a, _ := g.Render(v, "img")
	b, _ := g.Render(v, "img")
	if a.Fingerprint() != b.Fingerprint() || a.Diff(b) != "identical" {
		t.Errorf("same inputs, different launches")
	}
}

func TestParseErrors(t *testing.T) {
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
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestByName(t *testing.T) {
	s := repoRecipes(t)
	r, err := s.ByName("sim")
	if err != nil || r.Name != "sim" {
		t.Fatalf("ByName(sim) = %v, %v", r, err)
	}
	if _, err := s.ByName("no-such-engine"); err == nil || !strings.Contains(err.Error(), "sim") {
		t.Fatalf("ByName of a missing recipe should fail and list the names, got %v", err)
	}
}
