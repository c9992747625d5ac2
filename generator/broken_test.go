package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goodSingle and goodMulti are valid entries that the broken cases below mutate. The
// line numbers of the cases refer to these texts.
const goodSingle = `k:
  image: img
  model: org/m
  model-prefix: mp
  precision: fp8
  framework: vllm
  runner: h100
  multinode: false
  seq-len-configs:
  - isl: 1024
    osl: 1024
    search-space:
    - { tp: 8, ep: 8, dp-attn: true, conc-start: 4, conc-end: 64 }
`

const goodMulti = `m:
  image: img
  model: org/m
  model-prefix: mp
  precision: fp4
  framework: dynamo-trt
  runner: gb200
  multinode: true
  seq-len-configs:
  - isl: 1024
    osl: 1024
    search-space:
    - conc-list: [4, 8]
      prefill:
        num-worker: 1
        tp: 4
        ep: 4
        dp-attn: true
        additional-settings: ["A=1"]
      decode:
        num-worker: 1
        tp: 8
        ep: 8
        dp-attn: false
`

const goodRunners = "h100: [h100-a_0]\ngb200: [gb200-a_0]\n"

func edit(base, old, new string) string {
	if !strings.Contains(base, old) {
		panic("test case edits text that is not there: " + old)
	}
	return strings.Replace(base, old, new, 1)
}

// TestBrokenConfigs feeds one kind of mistake per case through the CLI and checks that
// it fails with exit status 1, prints nothing on stdout, and reports the mistake as
// "file:line:col: message" followed by a hint saying what to do. Cases named "(quirk-...)"
// are the reference behaviours docs/generator.md describes under that name. The cases
// change directory, so they do not run in parallel.
func TestBrokenConfigs(t *testing.T) {
	tests := []struct {
		name    string
		master  string // bad.yaml; goodSingle when empty
		runners string // runners.yaml; goodRunners when empty
		extra   string // a second master config, extra.yaml
		file    string // file the message names; bad.yaml when empty
		line    int
		want    string // substring of the message
		noCol   bool   // yaml.v3 reports syntax errors by line only
	}{
		{name: "unknown field", master: edit(goodSingle, "  runner: h100\n", "  runner: h100\n  gpus: 8\n"), line: 8, want: "unknown field 'gpus' in config entry"},
		{name: "misspelled field", master: edit(goodSingle, "conc-end: 64", "conc-ed: 64"), line: 13, want: "unknown field 'conc-ed'"},
		{name: "duplicate key in a mapping", master: edit(goodSingle, "  model: org/m\n", "  model: org/m\n  image: other\n"), line: 4, want: "duplicate key 'image' (first at line 2)"},
		{name: "quoted number", master: edit(goodSingle, "tp: 8,", `tp: "8",`), line: 13, want: `tp: must be an integer, got the quoted string "8"`},
		{name: "float for an integer", master: edit(goodSingle, "tp: 8,", "tp: 8.0,"), line: 13, want: "tp: must be an integer, got the number 8.0"},
		{name: "YAML 1.1 boolean", master: edit(goodSingle, "multinode: false", "multinode: no"), line: 8, want: "multinode: must be true or false, got 'no'"},
		{name: "quoted boolean", master: edit(goodSingle, "dp-attn: true", `dp-attn: "true"`), line: 13, want: "dp-attn: must be a boolean, got the quoted string"},
		{name: "leading-zero integer", master: edit(goodSingle, "conc-start: 4", "conc-start: 010"), line: 13, want: "'010' is not a plain decimal integer"},
		{name: "YAML 1.1 on as a boolean (quirk-yaml-1-2)", master: edit(goodSingle, "dp-attn: true", "dp-attn: on"), line: 13, want: "dp-attn: must be true or false, got 'on'"},
		{name: "YAML 1.1 sexagesimal integer (quirk-yaml-1-2)", master: edit(goodSingle, "conc-start: 4", "conc-start: 1:30"), line: 13, want: `conc-start: must be an integer, got the string "1:30"`},
		{name: "underscore integer", master: edit(goodSingle, "conc-end: 64", "conc-end: 1_000"), line: 13, want: "'1_000' is not a plain decimal integer"},
		{name: "string field given a number", master: edit(goodSingle, "precision: fp8", "precision: 8"), line: 5, want: "precision: must be a string, got the integer 8"},
		{name: "empty string", master: edit(goodSingle, "image: img", `image: ""`), line: 2, want: "image: must not be empty"},
		{name: "missing fields", master: edit(goodSingle, "  image: img\n  model: org/m\n", ""), line: 1, want: "missing required field(s) 'image', 'model'"},
		{name: "range start above end", master: edit(goodSingle, "conc-start: 4", "conc-start: 128"), line: 13, want: "'conc-start' (128) must be <= 'conc-end' (64)."},
		{name: "range start zero (quirk-conc-positive)", master: edit(goodSingle, "conc-start: 4", "conc-start: 0"), line: 13, want: "conc-start: must be at least 1, got 0"},
		{name: "list and range", master: edit(goodSingle, "conc-end: 64 }", "conc-end: 64, conc-list: [4] }"), line: 13, want: "Cannot specify both 'conc-list' list and 'conc-start'/'conc-end'"},
		{name: "no concurrency", master: edit(goodSingle, ", conc-start: 4, conc-end: 64", ""), line: 13, want: "Must specify either 'conc-list' list or both 'conc-start' and 'conc-end'."},
		{name: "range without end", master: edit(goodSingle, ", conc-end: 64", ""), line: 13, want: "('conc-end' is missing)"},
		{name: "empty conc-list", master: edit(goodSingle, "conc-start: 4, conc-end: 64", "conc-list: []"), line: 13, want: "'conc-list' cannot be an empty list"},
		{name: "non-positive conc-list entry", master: edit(goodSingle, "conc-start: 4, conc-end: 64", "conc-list: [4, -8]"), line: 13, want: "conc-list[1]: Input 'conc-list' entries must be greater than 0."},
		{name: "empty search-space", master: edit(goodSingle, "    search-space:\n    - { tp: 8, ep: 8, dp-attn: true, conc-start: 4, conc-end: 64 }\n", "    search-space: []\n"), line: 12, want: "search-space: cannot be an empty list"},
		{name: "empty seq-len-configs", master: goodSingle[:strings.Index(goodSingle, "  seq-len-configs:")] + "  seq-len-configs: []\n", line: 9, want: "seq-len-configs: cannot be an empty list"},
		{name: "zero isl", master: edit(goodSingle, "isl: 1024", "isl: 0"), line: 10, want: "isl: must be at least 1, got 0"},
		{name: "bad spec-decoding", master: edit(goodSingle, "dp-attn: true,", "dp-attn: true, spec-decoding: eagle,"), line: 13, want: `spec-decoding: must be one of mtp, draft_model, none; got the string "eagle"`},
		{name: "mapping where a list belongs", master: edit(goodSingle, "    search-space:\n    - {", "    search-space:\n      {"), line: 13, want: "search-space: must be a list, got a mapping"},
		{name: "prefill on a single-node entry", master: edit(goodSingle, "dp-attn: true,", "dp-attn: true, prefill: {},"), line: 13, want: "unknown field 'prefill' in single-node search-space entry"},
		{name: "tp on a multi-node entry", master: edit(goodMulti, "    - conc-list: [4, 8]\n", "    - conc-list: [4, 8]\n      tp: 8\n"), line: 14, want: "unknown field 'tp' in multi-node search-space entry"},
		{name: "missing worker block", master: goodMulti[:strings.Index(goodMulti, "      decode:")], line: 13, want: "missing required field 'decode'"},
		{name: "missing worker field", master: edit(goodMulti, "        ep: 8\n", ""), line: 21, want: "missing required field 'ep'"},
		{name: "negative num-worker", master: edit(goodMulti, "num-worker: 1\n        tp: 8", "num-worker: -1\n        tp: 8"), line: 21, want: "num-worker: must be at least 0, got -1"},
		{name: "unsafe additional setting (quirk-settings-shell-safe)", master: edit(goodMulti, `["A=1"]`, `["A=1 && rm -rf /"]`), line: 19, want: "'A=1 && rm -rf /' is not a shell-safe NAME=VALUE setting"},
		{name: "wildcard in a key", master: edit(goodSingle, "k:", "k-*:"), line: 1, want: "Wildcard '*' is not allowed in master config keys: 'k-*'"},
		{name: "root is not a mapping (quirk-master-root)", master: "- a\n- b\n", line: 1, want: "Config file 'bad.yaml' must contain a dictionary"},
		// yaml.v3 prints this parser error's line 0-based (12); the message says 13.
		{name: "YAML syntax error", master: edit(goodSingle, "conc-end: 64 }", "conc-end: 64"), line: 13, want: "YAML syntax error", noCol: true},
		{name: "two YAML documents", master: goodSingle + "---\nx: 1\n", line: 14, want: "file holds more than one YAML document"},
		{name: "alias cycle", master: "a: &x [*x]\n", line: 1, want: "YAML aliases expand to a cyclic or too large document"},
		{name: "merge key", master: edit(goodSingle, "{ tp: 8,", "{ <<: {ep: 1}, tp: 8,"), line: 13, want: "merge key '<<' is not supported"},
		{name: "key defined in two files", master: goodSingle, extra: goodSingle, file: "extra.yaml", line: 1, want: "Duplicate configuration keys found in 'extra.yaml': k (already defined at bad.yaml:1:1)"},
		{name: "runner type with an empty list", runners: "h100: []\n", file: "runners.yaml", line: 1, want: "Runner config entry 'h100' cannot be an empty list"},
		{name: "runner type not a list", runners: "h100: h100-a_0\n", file: "runners.yaml", line: 1, want: "Runner config entry 'h100' must be a list, got str"},
		{name: "runner node listed twice", runners: "h100:\n- h100-a_0\n- h100-a_0\n", file: "runners.yaml", line: 3, want: "lists node 'h100-a_0' twice"},
		{name: "runner type defined twice", runners: "h100: [a]\nh100: [b]\n", file: "runners.yaml", line: 2, want: "duplicate key 'h100' (first at line 1)"},
		{name: "empty runner file (quirk-runner-file-shape)", runners: "# nothing yet\n", file: "runners.yaml", line: 1, want: "Runner config file 'runners.yaml' must contain a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			master, runners := tt.master, tt.runners
			if master == "" {
				master = goodSingle
			}
			if runners == "" {
				runners = goodRunners
			}
			writeTestFile(t, filepath.Join(dir, "bad.yaml"), master)
			writeTestFile(t, filepath.Join(dir, "runners.yaml"), runners)
			args := []string{"full-sweep", "--single-node", "--config-files", "bad.yaml", "--runner-config", "runners.yaml"}
			if tt.extra != "" {
				writeTestFile(t, filepath.Join(dir, "extra.yaml"), tt.extra)
				args = append(args[:4], "extra.yaml", "--runner-config", "runners.yaml")
			}
			code, stdout, stderr := runCmd(t, dispatch, nil, args...)
			require.Equal(t, exitFail, code, "exit status; stderr:\n%s", stderr)
			require.Empty(t, stdout)
			file := tt.file
			if file == "" {
				file = "bad.yaml"
			}
			col := `:\d+`
			if tt.noCol {
				col = ""
			}
			re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(file) + `:` + strconv.Itoa(tt.line) + col + `: (.*)\n    hint: \S.*$`)
			found := false
			for _, m := range re.FindAllStringSubmatch(stderr, -1) {
				found = found || strings.Contains(m[1], tt.want)
			}
			assert.True(t, found, "stderr lacks %s:%d%s: ...%s... with a hint line; got:\n%s", file, tt.line, col, tt.want, stderr)
			assert.NotContains(t, stderr, "goroutine", "stack trace in stderr")
			assert.NotContains(t, stderr, "panic", "stack trace in stderr")
		})
	}
	assert.GreaterOrEqual(t, len(tests), 25, "kinds of mistakes covered")
}

// An unknown runner in a master config is a positioned warning, not an error: the
// reference accepts it and sweeps keep working (docs/generator.md#quirk-unknown-runner).
func TestUnknownRunnerIsAWarning(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	writeTestFile(t, filepath.Join(dir, "c.yaml"), edit(goodSingle, "runner: h100", "runner: h100-slurm"))
	writeTestFile(t, filepath.Join(dir, "runners.yaml"), goodRunners)
	code, stdout, stderr := runCmd(t, dispatch, nil, "full-sweep", "--single-node", "--config-files", "c.yaml", "--runner-config", "runners.yaml", "--max-conc", "4")
	require.Equal(t, exitOK, code, stderr)
	require.True(t, strings.HasPrefix(stdout, `[{"image": "img"`), "stdout %q", stdout)
	assert.Contains(t, stderr, "c.yaml:7:11: warning: config entry 'k' uses runner 'h100-slurm', which is not a runner type in runners.yaml\n    hint: add 'h100-slurm' to runners.yaml")
}

func writeTestFile(t *testing.T, path, text string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
}
