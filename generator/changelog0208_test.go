package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/testkit"
)

// The 2026-08 changelog processing over small 2026-08 configs. Its goldens were checked
// against the 2026-08 reference's process_changelog.py on the same repository.
func TestChangelog0208(t *testing.T) {
	const three = "- config-keys:\n    - \"sn-*\"\n    - ag-h100-sglang\n  description:\n    - \"first\"\n  pr-link: https://example.invalid/2\n" +
		"- config-keys:\n    - \"*-dynamo-*\"\n    - ag-h100-sglang\n    - am-mi355x-vllm\n  all-evals: true\n  scenario-type: [fixed-seq-len]\n" +
		"  description:\n    - \"second, non-ASCII é\"\n  pr-link: https://example.invalid/3\n" +
		"- config-keys:\n    - mn-gb200-dynamo-trt\n  evals-only: true\n  eval-min-prefill-ep: 8\n  description:\n    - \"third\"\n  pr-link: https://example.invalid/4\n"
	const appendOnly = "- config-keys:\n    - ag-h100-sglang\n  append-only: true\n  description:\n    - \"more\"\n  pr-link: https://example.invalid/5\n"
	const cl = "perf-changelog.yaml"
	const nv = "configs/nvidia-master.yaml"
	addConc := replace("conc-list: [1, 16, 32]", "conc-list: [1, 16, 32, 64]")
	tests := []struct {
		name   string
		edits  map[string]func(string) string
		args   string
		golden string // file under testdata/golden, or "" for an error
		code   int
		phrase string
	}{
		{name: "scenario-type, all-evals, evals-only, eval-min-prefill-ep", edits: map[string]func(string) string{cl: appendText(three)}, golden: "changelog-2026-08"},
		{name: "--trim-conc", edits: map[string]func(string) string{cl: appendText(three)}, args: "--trim-conc", golden: "changelog-2026-08-trim-conc"},
		{name: "append-only: only the added point", edits: map[string]func(string) string{cl: appendText(appendOnly), nv: addConc}, golden: "changelog-2026-08-append-only"},
		{name: "append-only may not remove a point", edits: map[string]func(string) string{cl: appendText(appendOnly), nv: replace("conc-list: [1, 16, 32]", "conc-list: [1, 32, 64]")},
			code: exitFail, phrase: "append-only may not remove existing concurrency points: [16]"},
		{name: "append-only may not change other configs", edits: map[string]func(string) string{cl: appendText(appendOnly), nv: func(s string) string { return replace("conc-list: [16, 64]", "conc-list: [16, 65]")(addConc(s)) }},
			code: exitFail, phrase: "append-only PR changed configs not selected by its changelog entry: ['mn-gb200-dynamo-trt']"},
		{name: "append-only with regular entries", edits: map[string]func(string) string{cl: appendText(appendOnly + three), nv: addConc},
			code: exitFail, phrase: "append-only entries cannot share a sweep with regular changelog entries"},
		{name: "append-only with an eval field", edits: map[string]func(string) string{cl: appendText(appendOnly + "  evals-only: true\n")},
			code: exitFail, phrase: "append-only cannot be combined with eval selection fields"},
		{name: "unknown scenario", edits: map[string]func(string) string{cl: appendText(appendOnly[:len(appendOnly)-len("  pr-link: https://example.invalid/5\n")] + "  pr-link: x\n  scenario-type: [bogus]\n")},
			code: exitFail, phrase: "'scenario-type' items must be fixed-seq-len or agentic-coding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden, err := filepath.Abs(filepath.Join("testdata", "golden", tt.golden+".json"))
			require.NoError(t, err)
			r := newGitRepoFrom(t, filepath.Join("testdata", "changelog-2026-08"))
			r.change(tt.edits)
			t.Chdir(r.dir)
			args := append([]string{"--base-ref", "base", "--head-ref", "HEAD", "--changelog-file", cl}, strings.Fields(tt.args)...)
			code, stdout, stderr := runCmd(t, cmdChangelog, nil, args...)
			if tt.golden == "" {
				require.Equal(t, tt.code, code, stderr)
				assert.Contains(t, stderr, tt.phrase)
				return
			}
			require.Equal(t, exitOK, code, stderr)
			require.True(t, json.Valid([]byte(stdout)), stdout)
			testkit.Golden(t, golden, []byte(stdout))
		})
	}
}
