package rowrun

import (
	"encoding/json"
	"fmt"
	"path"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The comparison rules of the launch conformance test: what counts as the same engine
// launch as the reference's (docs/launch-fidelity.md says why each rule is what it is).

// deliberateDiff is a difference from the reference's launch that we keep on purpose
// because it cannot change the measured numbers. Every entry is explained, under its ID, in
// docs/launch-fidelity.md; a test checks the two agree.
type deliberateDiff struct {
	ID string
	// Keys are the config keys it applies to (nil: all).
	Keys []string
	// Setting is the compared setting it covers, as the comparison names it.
	Setting string
	// Reference and Ours are the values allowed on either side ("" matches anything).
	Reference, Ours string
}

// deliberate is the one list of deliberate differences. Entries without a Setting are not
// visible in a row's launch (they concern how rows run) and are listed for completeness.
var deliberate = []deliberateDiff{
	// Consecutive points whose rendered launch is identical share one server; the reference
	// restarted it for every point.
	{ID: "server-reuse"},
	// A failing setup step stops the launch; the reference's scripts carried on.
	{ID: "setup-fails-loudly"},
	// The reference's mi355x launcher stopped every container on the node before its run;
	// we remove only what our run started.
	{ID: "no-foreign-container-kill"},
	// Our client sends random token ids: exact input lengths, no tokenizer round trip. The
	// reference decoded random ids to text, which the server re-tokenizes to the same length
	// within a few tokens. ATOM accepts only text, so its recipes ask for text.
	{ID: "token-id-prompts", Setting: "client.prompt_form", Reference: "text", Ours: "token-ids",
		Keys: []string{"dsr1-fp4-b200-sglang", "dsr1-fp4-b200-trt", "dsr1-fp4-b200-trt-mtp", "dsr1-fp4-mi355x-sglang",
			"dsr1-fp8-b200-sglang", "dsr1-fp8-b200-sglang-mtp", "dsr1-fp8-b200-trt", "dsr1-fp8-b200-trt-mtp", "dsr1-fp8-h200-sglang",
			"dsr1-fp8-h200-trt", "dsr1-fp8-h200-trt-mtp", "dsr1-fp8-mi300x-sglang", "dsr1-fp8-mi325x-sglang", "dsr1-fp8-mi355x-sglang",
			"gptoss-fp4-b200-trt", "gptoss-fp4-b200-vllm", "gptoss-fp4-h100-vllm", "gptoss-fp4-h200-trt", "gptoss-fp4-h200-vllm",
			"gptoss-fp4-mi300x-vllm", "gptoss-fp4-mi325x-vllm", "gptoss-fp4-mi355x-vllm"}},
	// With --use-chat-template the reference templated the text itself and sent it to the
	// completions endpoint; we have no tokenizer, so the server applies the same template on
	// its chat endpoint. The engine sees the same templated tokens either way.
	{ID: "chat-template-on-chat-endpoint", Setting: "client.endpoint", Reference: "/v1/completions", Ours: "/v1/chat/completions",
		Keys: []string{"dsr1-fp4-b200-trt-mtp", "dsr1-fp8-b200-sglang-mtp", "dsr1-fp8-b200-trt-mtp", "dsr1-fp8-h200-trt-mtp"}},
	// The reference installed datasets/pandas for its Python client after the server was
	// ready; our client is built in, and nothing installed after the server started can
	// change the running server.
	{ID: "client-pip-after-ready", Setting: "setup", Reference: "pip install -q datasets pandas", Ours: "",
		Keys: []string{"dsr1-fp4-b200-sglang", "dsr1-fp8-b200-sglang", "dsr1-fp8-b200-sglang-mtp", "gptoss-fp4-b200-vllm", "gptoss-fp4-h100-vllm"}},
}

// allowed reports whether a difference is deliberate, and which entry allows it.
func allowed(key, setting, ref, ours string) (string, bool) {
	for _, d := range deliberate {
		if d.Setting != setting || (d.Keys != nil && !slices.Contains(d.Keys, key)) {
			continue
		}
		if (d.Reference == "" || d.Reference == ref) && (d.Ours == "" || d.Ours == ours) {
			return d.ID, true
		}
	}
	return "", false
}

// Environment variables the comparison ignores: the workflow's own (what the reference
// passed every script), plumbing (where things are, not how the engine runs) and tokens.
var ignoredEnv = set("MODEL", "TP", "CONC", "ISL", "OSL", "MAX_MODEL_LEN", "EP_SIZE", "DP_ATTENTION", "SPEC_DECODING",
	"FRAMEWORK", "PRECISION", "EXP_NAME", "IMAGE", "PORT", "RANDOM_RANGE_RATIO", "RESULT_FILENAME", "RUN_EVAL", "RUNNER_TYPE",
	"HF_HUB_CACHE", "PYTHONPYCACHEPREFIX", "CUDA_VISIBLE_DEVICES", "UCX_NET_DEVICES", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")

// minorEnv may differ; differences are listed, not failed.
var minorEnv = set("PYTHONNOUSERSITE", "TORCH_CUDA_ARCH_LIST", "CUDA_DEVICE_ORDER", "OMP_NUM_THREADS", "HSA_NO_SCRATCH_RECLAIM")

func minorEnvKey(k string) bool {
	return minorEnv[k] || strings.HasPrefix(k, "INFERBENCH_") || strings.HasPrefix(k, "HF_")
}

// plumbingFlags are ignored: where the server listens and what it calls the model.
var plumbingFlags = set("--host", "--port", "--server-port", "--served-model-name")

// modelFlags carry the model: compared as the model name.
var modelFlags = set("--model-path", "--model")

// minorFlags may differ (logging, trusting the model repository's code).
var minorFlags = set("--decode-log-interval", "--disable-log-requests", "--trust-remote-code", "--trust_remote_code")

// minorConfigKeys are config-file keys that may differ (logging).
var minorConfigKeys = set("print_iter_log")

// configFileFlags point the engine at a config file; the file's content is compared.
var configFileFlags = set("--extra_llm_api_options", "--config")

// boolFlags take no value, so a following word is not theirs.
var boolFlags = set("--trust-remote-code", "--trust_remote_code", "--disable-radix-cache", "--enable-flashinfer-allreduce-fusion",
	"--enable-symm-mem", "--enable-dp-attention", "--disable-log-requests", "--no-enable-prefix-caching", "--async-scheduling",
	"--enable-expert-parallel", "--oversubscribe", "--allow-run-as-root")

// engineDefaults are documented engine defaults: a flag absent on one side and set to its
// default on the other is the same launch.
var engineDefaults = map[string]map[string]string{
	"sglang.launch_server": {"--data-parallel-size": "1", "--ep-size": "1", "--tensor-parallel-size": "1"},
	"vllm serve":           {"--gpu-memory-utilization": "0.9", "--tensor-parallel-size": "1"},
	"trtllm-serve":         {"--pp_size": "1", "--tp_size": "1"},
}

func set(xs ...string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// cmdline is an engine command line taken apart.
type cmdline struct {
	// Program is the launcher prefix and the engine entry point (mpirun ... trtllm-serve,
	// python3 -m sglang.launch_server, vllm serve).
	Program []string
	// Engine names the entry point ("trtllm-serve", "sglang.launch_server", "vllm serve").
	Engine      string
	Positionals []string
	Flags       map[string]string
}

// parseCmdline splits argv into program, positionals and flags; a flag without a value is
// "true".
func parseCmdline(argv []string) cmdline {
	c := cmdline{Flags: map[string]string{}}
	i := 0
	for ; i < len(argv); i++ {
		a := argv[i]
		if a == "trtllm-serve" {
			c.Engine = a
			break
		}
		if a == "-m" && i+1 < len(argv) {
			i++
			c.Engine = argv[i]
			break
		}
		if a == "serve" && i > 0 && path.Base(argv[i-1]) == "vllm" {
			c.Engine = "vllm serve"
			break
		}
	}
	if i >= len(argv) {
		i = 0 // no known entry point: the first word is the program
		c.Engine = path.Base(argv[0])
	}
	c.Program, argv = argv[:i+1], argv[i+1:]
	for j := 0; j < len(argv); j++ {
		a := argv[j]
		if !strings.HasPrefix(a, "-") {
			c.Positionals = append(c.Positionals, a)
			continue
		}
		if name, val, ok := strings.Cut(a, "="); ok {
			c.Flags[name] = val
			continue
		}
		if !boolFlags[a] && j+1 < len(argv) && !strings.HasPrefix(argv[j+1], "-") {
			c.Flags[a] = argv[j+1]
			j++
			continue
		}
		c.Flags[a] = "true"
	}
	return c
}

// difference is one compared setting that is not the same.
type difference struct {
	Setting, Reference, Ours string
	// Minor differences are allowed and listed; Deliberate names the entry that allows one.
	Minor      bool
	Deliberate string
}

func (d difference) String() string {
	return fmt.Sprintf("%s: reference %s, ours %s", d.Setting, show(d.Reference), show(d.Ours))
}

func show(s string) string {
	if s == "" {
		return "(absent)"
	}
	return strconv.Quote(s)
}

// sameValue compares two setting values: numbers by value, JSON documents by content.
func sameValue(a, b string) bool {
	if a == b {
		return true
	}
	fa, ea := strconv.ParseFloat(a, 64)
	fb, eb := strconv.ParseFloat(b, 64)
	if ea == nil && eb == nil {
		return fa == fb
	}
	if strings.EqualFold(a, b) && (strings.EqualFold(a, "true") || strings.EqualFold(a, "false")) {
		return true
	}
	var ja, jb any
	if json.Unmarshal([]byte(a), &ja) == nil && json.Unmarshal([]byte(b), &jb) == nil {
		return reflect.DeepEqual(ja, jb)
	}
	return false
}

// compareFlags compares the engine flags (after config-file flags were taken out).
func compareFlags(engine string, ref, ours map[string]string) []difference {
	var out []difference
	defaults := engineDefaults[engine]
	for _, k := range unionKeys(ref, ours) {
		if plumbingFlags[k] || modelFlags[k] || configFileFlags[k] {
			continue
		}
		r, rok := ref[k]
		o, ook := ours[k]
		switch {
		case rok && ook && sameValue(r, o):
			continue
		case !rok && sameValue(o, defaults[k]) && defaults[k] != "", !ook && sameValue(r, defaults[k]) && defaults[k] != "":
			continue
		}
		out = append(out, difference{Setting: "flag " + k, Reference: r, Ours: o, Minor: minorFlags[k]})
	}
	return out
}

// compareTree compares two parsed config documents key by key.
func compareTree(prefix string, ref, ours any) []difference {
	rm, rok := ref.(map[string]any)
	om, ook := ours.(map[string]any)
	if rok && ook {
		var out []difference
		for _, k := range unionKeys(rm, om) {
			rv, rin := rm[k]
			ov, oin := om[k]
			p := prefix + "." + k
			switch {
			case rin && oin:
				out = append(out, compareTree(p, rv, ov)...)
			default:
				out = append(out, difference{Setting: p, Reference: yamlText(rv, rin), Ours: yamlText(ov, oin), Minor: minorConfigKeys[k]})
			}
		}
		return out
	}
	if reflect.DeepEqual(normalizeYAML(ref), normalizeYAML(ours)) || sameValue(fmt.Sprint(ref), fmt.Sprint(ours)) {
		return nil
	}
	last := prefix[strings.LastIndex(prefix, ".")+1:]
	return []difference{{Setting: prefix, Reference: yamlText(ref, true), Ours: yamlText(ours, true), Minor: minorConfigKeys[last]}}
}

// normalizeYAML makes numbers comparable across int and float decodings.
func normalizeYAML(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = normalizeYAML(x[i])
		}
		return out
	}
	return v
}

func yamlText(v any, present bool) string {
	if !present {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func parseYAMLDoc(text string) (any, error) {
	var v any
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		return nil, err
	}
	if v == nil {
		v = map[string]any{}
	}
	return v, nil
}

func unionKeys[V any](a, b map[string]V) []string {
	m := map[string]bool{}
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
