package rowrun

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/config"
	"github.com/inferbench/inferbench/internal/inventory"
	"github.com/inferbench/inferbench/internal/recipe"
	"github.com/inferbench/inferbench/internal/testkit"
)

// launchVector is one config key's recorded reference launches, one per matrix row.
type launchVector struct {
	Key  string      `json:"key"`
	Rows []vectorRow `json:"rows"`
}

type vectorRow struct {
	Script string          `json:"script"`
	Row    json.RawMessage `json:"row"`
	Engine struct {
		Argv  []string          `json:"argv"`
		Env   map[string]string `json:"env"`
		Files map[string]string `json:"files"`
	} `json:"engine"`
	Client struct {
		Argv []string `json:"argv"`
	} `json:"client"`
	Setup [][]string `json:"setup"`
}

// referenceNodeEnv is the engine environment the reference's node launchers added on top
// of the scripts' (the vectors hold only what the scripts set), per node family; the
// launchers not listed added only plumbing.
var referenceNodeEnv = map[string]map[string]string{
	"b200-dgxc":  {"NCCL_GRAPH_REGISTER": "0", "TORCH_CUDA_ARCH_LIST": "10.0", "CUDA_DEVICE_ORDER": "PCI_BUS_ID", "PYTHONPYCACHEPREFIX": "/tmp/pycache/"},
	"h100-cr":    {"TORCH_CUDA_ARCH_LIST": "9.0", "CUDA_DEVICE_ORDER": "PCI_BUS_ID", "PYTHONPYCACHEPREFIX": "/tmp/pycache/"},
	"mi300x-amd": {"PYTHONPYCACHEPREFIX": "/tmp/pycache/"},
	"mi300x-cr":  {"PYTHONPYCACHEPREFIX": "/tmp/pycache/"},
}

// rowResult is the comparison of one vector row with our plan.
type rowResult struct {
	Key   string
	Index int
	Label string
	Diffs []difference
}

func (r rowResult) material() []difference {
	var out []difference
	for _, d := range r.Diffs {
		if !d.Minor && d.Deliberate == "" {
			out = append(out, d)
		}
	}
	return out
}

// compareRow plans the vector's row on node and compares the launch with the reference's.
func compareRow(key string, vr vectorRow, node string, recipes *recipe.Set, inv *inventory.Inventory) []difference {
	row, err := ParseRow(vr.Row)
	if err != nil {
		return []difference{{Setting: "row", Reference: string(vr.Row), Ours: err.Error()}}
	}
	p, err := PlanRow(Options{Row: row, RunnerName: node, OutDir: "/tmp/inferbench-conformance", Recipes: recipes,
		Inventory: inv, RunID: "conformance", NumWarmups: -1})
	if err != nil {
		return []difference{{Setting: "plan", Reference: "a launch", Ours: err.Error()}}
	}
	if len(p.Launches) != 1 || len(p.Launches[0].Points) != 1 {
		return []difference{{Setting: "plan", Reference: "one launch", Ours: fmt.Sprintf("%d launches", len(p.Launches))}}
	}
	l := p.Launches[0]
	fam, _ := inv.Family(node)
	var out []difference
	add := func(setting, ref, ours string) {
		out = append(out, difference{Setting: setting, Reference: ref, Ours: ours})
	}

	ref, ours := parseCmdline(vr.Engine.Argv), parseCmdline(l.Engine.Argv)
	if a, b := strings.Join(ref.Program, " "), strings.Join(ours.Program, " "); a != b {
		add("engine command", a, b)
	}
	if a, b := modelOf(ref), modelOf(ours); a != b {
		add("model", a, b)
	}
	if a, b := strings.Join(rest(ref.Positionals), " "), strings.Join(rest(ours.Positionals), " "); a != b {
		add("positional arguments", a, b)
	}
	out = append(out, compareConfigFiles(ref, vr.Engine.Files, ours, l.Engine.Files)...)
	out = append(out, compareFlags(ref.Engine, ref.Flags, ours.Flags)...)

	refEnv := map[string]string{}
	for k, v := range referenceNodeEnv[fam.Name] {
		refEnv[k] = v
	}
	for k, v := range vr.Engine.Env {
		refEnv[k] = v
	}
	for _, k := range unionKeys(refEnv, l.Engine.Env) {
		if ignoredEnv[k] {
			continue
		}
		r, rok := refEnv[k]
		o, ook := l.Engine.Env[k]
		if rok != ook || r != o {
			out = append(out, difference{Setting: "env " + k, Reference: r, Ours: o, Minor: minorEnvKey(k)})
		}
	}

	out = append(out, compareClient(parseCmdline(vr.Client.Argv).Flags, l.Points[0].Client)...)

	var refSetup, ourSetup []string
	for _, s := range vr.Setup {
		refSetup = append(refSetup, strings.Join(s, " "))
	}
	for _, s := range l.Engine.Setup {
		if s.Run != nil { // source patches are not recorded in the vectors
			ourSetup = append(ourSetup, strings.Join(s.Run, " "))
		}
	}
	for _, s := range refSetup {
		if !containsStr(ourSetup, s) {
			add("setup", s, "")
		}
	}
	for _, s := range ourSetup {
		if !containsStr(refSetup, s) {
			add("setup", "", s)
		}
	}
	for i := range out {
		out[i].Deliberate, _ = allowed(key, out[i].Setting, out[i].Reference, out[i].Ours)
	}
	return out
}

func containsStr(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// modelOf is the model a command line serves: the first positional, else --model-path or
// --model.
func modelOf(c cmdline) string {
	if c.Engine == "trtllm-serve" || c.Engine == "vllm serve" {
		if len(c.Positionals) > 0 {
			return c.Positionals[0]
		}
	}
	for k := range modelFlags {
		if v, ok := c.Flags[k]; ok {
			return v
		}
	}
	return ""
}

func rest(pos []string) []string {
	if len(pos) > 0 {
		return pos[1:]
	}
	return nil
}

// compareConfigFiles compares the files the config-file flags point at, key by key. vLLM
// reads a --config file's keys as if they were flags, so they join the flags instead.
func compareConfigFiles(ref cmdline, refFiles map[string]string, ours cmdline, ourFiles map[string]string) []difference {
	var out []difference
	for flag := range configFileFlags {
		rName, rok := ref.Flags[flag]
		oName, ook := ours.Flags[flag]
		if !rok && !ook {
			continue
		}
		rDoc, rerr := fileDoc(refFiles, rName, rok)
		oDoc, oerr := fileDoc(ourFiles, oName, ook)
		if rerr != nil || oerr != nil {
			out = append(out, difference{Setting: "file of " + flag, Reference: errText(rerr), Ours: errText(oerr)})
			continue
		}
		if ref.Engine == "vllm serve" && flag == "--config" {
			mergeConfigFlags(ref.Flags, rDoc)
			mergeConfigFlags(ours.Flags, oDoc)
			continue
		}
		out = append(out, compareTree("file "+flag, rDoc, oDoc)...)
	}
	return out
}

func fileDoc(files map[string]string, name string, present bool) (any, error) {
	if !present {
		return map[string]any{}, nil
	}
	for k, v := range files {
		if path.Base(k) == path.Base(name) {
			return parseYAMLDoc(v)
		}
	}
	return nil, fmt.Errorf("config file %s is not among the written files", name)
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func mergeConfigFlags(flags map[string]string, doc any) {
	m, _ := doc.(map[string]any)
	for k, v := range m {
		s := fmt.Sprint(v)
		if b, ok := v.(bool); ok {
			s = strconv.FormatBool(b)
		}
		flags["--"+k] = s
	}
}

// compareClient compares the load the reference's client command line produced with ours.
func compareClient(ref map[string]string, c Client) []difference {
	var out []difference
	cmp := func(setting, r, o string) {
		if !sameValue(r, o) {
			out = append(out, difference{Setting: "client." + setting, Reference: r, Ours: o})
		}
	}
	flag := func(k string) string { return ref[k] }
	_, chat := ref["--use-chat-template"]
	_, ignoreEOS := ref["--ignore-eos"]
	cmp("backend", flag("--backend"), c.Backend)
	// Every backend the reference used sends OpenAI completions requests with text prompts.
	cmp("endpoint", "/v1/completions", c.Endpoint)
	cmp("prompt_form", "text", c.PromptForm)
	cmp("chat_template", strconv.FormatBool(chat), strconv.FormatBool(c.ChatTemplate))
	cmp("ignore_eos", strconv.FormatBool(ignoreEOS), strconv.FormatBool(c.IgnoreEOS))
	cmp("input_len", flag("--random-input-len"), strconv.Itoa(c.InputLen))
	cmp("output_len", flag("--random-output-len"), strconv.Itoa(c.OutputLen))
	cmp("random_range_ratio", flag("--random-range-ratio"), strconv.FormatFloat(c.RandomRangeRatio, 'g', -1, 64))
	cmp("max_concurrency", flag("--max-concurrency"), strconv.Itoa(c.MaxConcurrency))
	cmp("num_prompts", flag("--num-prompts"), strconv.Itoa(c.NumPrompts))
	cmp("num_warmups", flag("--num-warmups"), strconv.Itoa(c.NumWarmups))
	rate, _ := json.Marshal(c.RequestRate)
	cmp("request_rate", flag("--request-rate"), strings.Trim(string(rate), `"`))
	return out
}

func loadVectors(t *testing.T) []launchVector {
	t.Helper()
	dir := testkit.Shared(t, "conformance/launch")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no launch vectors in %s", dir)
	var out []launchVector
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var v launchVector
		require.NoError(t, json.Unmarshal(b, &v), f)
		out = append(out, v)
	}
	return out
}

// referenceNodes maps each runner type of the reference's runners.yaml to its first node,
// the node the vectors' rows are compared as run on.
func referenceNodes(t *testing.T) map[string]string {
	t.Helper()
	r, diags := config.LoadRunners(testkit.Shared(t, "anchor/inferencex-2026-02-09/runners.yaml"))
	require.False(t, diags.HasErrors(), "%v", diags)
	out := map[string]string{}
	for _, name := range r.Names() {
		if nodes, _ := r.Nodes(name); len(nodes) > 0 {
			out[name] = nodes[0]
		}
	}
	return out
}

func repoRecipesAndInventory(t testing.TB) (*recipe.Set, *inventory.Inventory) {
	t.Helper()
	root := testkit.RepoRoot(t)
	recipes, err := recipe.LoadFile(filepath.Join(root, "configs", "recipes.yaml"))
	require.NoError(t, err)
	inv, err := inventory.LoadFile(filepath.Join(root, "configs", "inventory.yaml"))
	require.NoError(t, err)
	return recipes, inv
}

// TestLaunchesReproduceTheReference renders every row of the reference's recorded launches
// through the planning path `agent run` uses, on the node the reference ran it on, and
// fails on every material difference: engine flags, config-file keys, environment,
// setup, client settings. Minor differences are logged; deliberate ones must be listed in
// the deliberate table.
func TestLaunchesReproduceTheReference(t *testing.T) {
	t.Parallel()
	vectors := loadVectors(t)
	nodes := referenceNodes(t)
	recipes, inv := repoRecipesAndInventory(t)
	var results []rowResult
	for _, v := range vectors {
		for i, vr := range v.Rows {
			var row Row
			_ = json.Unmarshal(vr.Row, &row)
			node, ok := nodes[row.Runner]
			label := fmt.Sprintf("conc %d isl %d osl %d tp %d ep %d dp-attn %t", firstConc(row.Conc), row.ISL, row.OSL, row.TP, row.EP, row.DPAttn)
			if !ok {
				results = append(results, rowResult{v.Key, i, label, []difference{{Setting: "runner", Reference: row.Runner, Ours: "no such runner type in the reference's runners.yaml"}}})
				continue
			}
			results = append(results, rowResult{v.Key, i, label + " on " + node, compareRow(v.Key, vr, node, recipes, inv)})
		}
	}
	report := summarize(results)
	t.Log(report.text)
	assert.LessOrEqual(t, report.badRows, 0, "%d of %d keys, %d of %d rows launch differently from the reference in settings that change performance:\n%s", report.badKeys, report.keys, report.badRows, report.rows, report.failures)
}

type summary struct {
	keys, rows, badKeys, badRows int
	text, failures               string
}

// summarize counts keys and rows with material differences, lists every material
// difference of the first rows of each key (and counts the rest by setting) and the minor
// ones by setting.
func summarize(results []rowResult) summary {
	var s summary
	var fail, minor strings.Builder
	deliberateUsed := map[string]int{}
	byKey := map[string][]rowResult{}
	var keys []string
	for _, r := range results {
		if _, ok := byKey[r.Key]; !ok {
			keys = append(keys, r.Key)
		}
		byKey[r.Key] = append(byKey[r.Key], r)
	}
	sort.Strings(keys)
	const shown = 3
	for _, k := range keys {
		s.keys++
		bad, counts, minors := 0, map[string]int{}, map[string]int{}
		for _, r := range byKey[k] {
			s.rows++
			for _, d := range r.Diffs {
				if d.Minor {
					minors[d.Setting+" ("+d.String()+")"]++
				}
				if d.Deliberate != "" {
					deliberateUsed[d.Deliberate]++
				}
			}
			m := r.material()
			if len(m) == 0 {
				continue
			}
			bad++
			if bad <= shown {
				for _, d := range m {
					fmt.Fprintf(&fail, "  %s row %d (%s): %s\n", k, r.Index, r.Label, d)
				}
				continue
			}
			for _, d := range m {
				counts[d.Setting]++
			}
		}
		if bad > shown {
			fmt.Fprintf(&fail, "  %s: %d more row(s) differ in: %s\n", k, bad-shown, countList(counts))
		}
		if bad > 0 {
			s.badKeys++
			s.badRows += bad
		}
		if len(minors) > 0 {
			fmt.Fprintf(&minor, "  %s: %s\n", k, countList(minors))
		}
	}
	s.failures = fail.String()
	s.text = fmt.Sprintf("launch conformance: %d/%d keys and %d/%d rows with material differences\ndeliberate differences (docs/launch-fidelity.md): %s\nminor differences (allowed):\n%s",
		s.badKeys, s.keys, s.badRows, s.rows, countList(deliberateUsed), minor.String())
	return s
}

func countList(m map[string]int) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for i, k := range ks {
		ks[i] = fmt.Sprintf("%s ×%d", k, m[k])
	}
	return strings.Join(ks, "; ")
}

func firstConc(c Concs) int {
	if len(c) == 0 {
		return 0
	}
	return c[0]
}

// TestComparisonFindsEachKindOfDifference makes sure the launch test can fail: a reference
// launch made from our own plan compares clean, and each kind of change to it is reported
// as a material difference naming the setting and both values.
func TestComparisonFindsEachKindOfDifference(t *testing.T) {
	t.Parallel()
	recipes, inv := repoRecipesAndInventory(t)
	rowJSON := `{"image": "img", "model": "deepseek-ai/DeepSeek-R1-0528", "model-prefix": "dsr1", "precision": "fp8", "framework": "trt",
		"runner": "b200-trt", "isl": 1024, "osl": 1024, "tp": 8, "conc": 64, "max-model-len": 2248, "ep": 1, "dp-attn": false,
		"spec-decoding": "none", "exp-name": "dsr1_1k1k", "disagg": false, "run-eval": false}`
	row, err := ParseRow([]byte(rowJSON))
	require.NoError(t, err)
	p, err := PlanRow(Options{Row: row, RunnerName: "b200-nv_0", OutDir: "/tmp/x", Recipes: recipes, Inventory: inv, RunID: "t", NumWarmups: -1})
	require.NoError(t, err)
	l := p.Launches[0]
	base := func() vectorRow {
		var vr vectorRow
		vr.Row = json.RawMessage(rowJSON)
		vr.Engine.Argv = append([]string(nil), l.Engine.Argv...)
		vr.Engine.Env = map[string]string{}
		for k, v := range l.Engine.Env {
			vr.Engine.Env[k] = v
		}
		vr.Engine.Files = map[string]string{}
		for k, v := range l.Engine.Files {
			vr.Engine.Files[k] = v
		}
		vr.Client.Argv = []string{"python3", "benchmark_serving.py", "--model", row.Model, "--backend", "openai", "--random-input-len", "1024",
			"--random-output-len", "1024", "--random-range-ratio", "0.8", "--num-prompts", "640", "--max-concurrency", "64",
			"--request-rate", "inf", "--ignore-eos", "--num-warmups", "128"}
		return vr
	}
	material := func(vr vectorRow) []string {
		var out []string
		for _, d := range compareRow("k", vr, "b200-nv_0", recipes, inv) {
			if !d.Minor && d.Deliberate == "" {
				out = append(out, d.String())
			}
		}
		return out
	}
	assert.Equal(t, []string{`client.prompt_form: reference "text", ours "token-ids"`}, material(base()),
		"our own launch compares clean but for the prompt form, which is deliberate only for the reference's keys")

	tests := []struct {
		name   string
		change func(*vectorRow)
		want   string
	}{
		{"flag value", func(vr *vectorRow) { replaceArg(vr.Engine.Argv, "--max_num_tokens=", "--max_num_tokens=9000") },
			`flag --max_num_tokens: reference "9000", ours "8192"`},
		{"flag only in the reference", func(vr *vectorRow) {
			vr.Engine.Argv = append(vr.Engine.Argv, "--kv_cache_free_gpu_memory_fraction=0.5")
		},
			`flag --kv_cache_free_gpu_memory_fraction: reference "0.5", ours (absent)`},
		{"environment", func(vr *vectorRow) { vr.Engine.Env["TLLM_OVERRIDE_LAYER_NUM"] = "60" },
			`env TLLM_OVERRIDE_LAYER_NUM: reference "60", ours "61"`},
		{"config file key", func(vr *vectorRow) {
			for k, v := range vr.Engine.Files {
				vr.Engine.Files[k] = strings.Replace(v, "backend: TRTLLM", "backend: CUTLASS", 1)
			}
		}, `file --extra_llm_api_options.moe_config.backend: reference "\"CUTLASS\"", ours "\"TRTLLM\""`},
		{"chat template", func(vr *vectorRow) { vr.Client.Argv = append(vr.Client.Argv, "--use-chat-template") },
			`client.chat_template: reference "true", ours "false"`},
		{"pip step", func(vr *vectorRow) { vr.Setup = [][]string{{"pip", "install", "x"}} }, `setup: reference "pip install x", ours (absent)`},
		{"engine program", func(vr *vectorRow) { vr.Engine.Argv[2] = "2" }, `engine command: reference "mpirun -n 2`},
	}
	for _, tt := range tests {
		vr := base()
		tt.change(&vr)
		got := strings.Join(material(vr), "\n")
		assert.Contains(t, got, tt.want, tt.name)
	}
	// Engine defaults count as equal, minor flags are allowed.
	vr := base()
	vr.Engine.Argv = append(vr.Engine.Argv, "--pp_size=1")
	replaceArg(vr.Engine.Argv, "--trust_remote_code", "--pp_size=1")
	assert.Len(t, material(vr), 1, "--pp_size 1 is trtllm-serve's default, --trust_remote_code is minor")
}

func replaceArg(argv []string, prefix, with string) {
	for i, a := range argv {
		if strings.HasPrefix(a, prefix) {
			argv[i] = with
		}
	}
}

// Every deliberate difference is explained in docs/launch-fidelity.md under its ID.
func TestDeliberateDifferencesAreDocumented(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(testkit.RepoRoot(t), "docs", "launch-fidelity.md"))
	require.NoError(t, err)
	for _, d := range deliberate {
		assert.Contains(t, string(b), "`"+d.ID+"`", "docs/launch-fidelity.md must explain %s", d.ID)
	}
}
