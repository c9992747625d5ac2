package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/testkit"
)

// TestConformance runs the shared generator conformance vectors (strict mode) against
// this generator: the 43 cases of the 2026-02 reference and the 40 of the 2026-08 one.
func TestConformance(t *testing.T) {
	t.Parallel()
	if _, err := execx.LookPath("python3"); err != nil {
		t.Skip("python3 not installed (the conformance runners compare JSON with it)")
	}
	for _, tt := range []struct{ runner, want string }{
		{runner: "conformance/run.sh", want: "43 passed, 0 failed"},
		{runner: "conformance/v2026-08/run.sh", want: "40 passed, 0 failed"},
	} {
		t.Run(tt.runner, func(t *testing.T) {
			t.Parallel()
			runner := testkit.Shared(t, tt.runner)
			res, err := execx.OS{}.Run(context.Background(), execx.Cmd{Name: "sh", Args: []string{runner, "--verbose", helperGenerator(t)}, Dir: t.TempDir()})
			out := string(res.Stdout) + string(res.Stderr)
			require.NoError(t, err, out)
			require.Contains(t, out, tt.want, out)
		})
	}
}

// Our configs/ in the 2026-08 schema and their 2026-02 version kept for that schema's tests.
const (
	files0208 = "--config-files ../configs/nvidia-master.yaml ../configs/amd-master.yaml --runner-config ../configs/runners.yaml"
	files0202 = "--config-files ../testdata/configs-2026-02/nvidia-master.yaml ../testdata/configs-2026-02/amd-master.yaml --runner-config ../testdata/configs-2026-02/runners.yaml"
)

// TestGolden runs commands over our configs in both generations and compares stdout with
// golden files.
func TestGolden(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, cmd, files string }{
		{name: "readme", cmd: "full-sweep --single-node --model-prefix dsr1 --runner-type b200 --max-conc 16", files: files0202},
		{name: "multi-node", cmd: "full-sweep --multi-node --seq-lens 1k1k 8k1k", files: files0202},
		{name: "single-node-evals", cmd: "full-sweep --single-node --evals-only", files: files0202},
		{name: "node-filter", cmd: "full-sweep --single-node --runner-node-filter amds_1 --framework atom --min-conc 64", files: files0202},
		{name: "runner-model-sweep", cmd: "runner-model-sweep --multi-node --runner-type gb200", files: files0202},
		{name: "test-config", cmd: "test-config --config-keys gptoss-fp4-gb200-trt dsr1-fp8-mi355x-sglang-disagg --run-evals", files: files0202},
		{name: "shards", cmd: "test-config --config-keys gptoss-fp4-gb200-trt --max-jobs 4", files: files0202},
		{name: "2026-08-readme", cmd: "full-sweep --single-node --model-prefix dsr1 --runner-type b200 --max-conc 16", files: files0208},
		{name: "2026-08-both-kinds", cmd: "full-sweep --model-prefix dsr1 --runner-type b200 b200-multinode --seq-lens 8k1k", files: files0208},
		{name: "2026-08-evals-only", cmd: "full-sweep --evals-only", files: files0208},
		{name: "2026-08-all-evals", cmd: "test-config --config-keys dsr1-fp8-mi355x-sglang-disagg gptoss-fp4-h100* --all-evals", files: files0208},
		{name: "2026-08-node-filter", cmd: "test-config --config-keys *-mi355x-* --runner-node-filter amds_1 --seq-lens 1k1k --no-evals", files: files0208},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCmd(t, dispatch, nil, strings.Fields(tt.cmd+" "+tt.files)...)
			require.Equal(t, exitOK, code, stderr)
			require.Empty(t, stderr)
			require.Equal(t, 1, strings.Count(stdout, "\n"), "stdout is not exactly one line")
			testkit.Golden(t, filepath.Join("testdata", "golden", tt.name+".json"), []byte(stdout))
		})
	}
}

// With --max-jobs the rows are split into shards of at most N that concatenate to the
// unsharded output.
func TestMaxJobsShards(t *testing.T) {
	t.Parallel()
	args := strings.Fields("full-sweep --single-node " + files0208)
	_, plain, _ := runCmd(t, dispatch, nil, args...)
	code, sharded, stderr := runCmd(t, dispatch, nil, append(args, "--max-jobs", "256")...)
	require.Equal(t, exitOK, code, stderr)
	var rows []json.RawMessage
	var out struct {
		Count  int                 `json:"shard_count"`
		Index  []int               `json:"shard_index"`
		Shards [][]json.RawMessage `json:"shards"`
	}
	require.NoError(t, json.Unmarshal([]byte(plain), &rows))
	require.NoError(t, json.Unmarshal([]byte(sharded), &out))
	require.Greater(t, len(rows), 256, "the test needs more than 256 rows")
	require.Len(t, out.Index, len(out.Shards), "one shard_index per shard")
	var joined []json.RawMessage
	for i, s := range out.Shards {
		assert.NotEmpty(t, s, "shard %d", i)
		assert.LessOrEqual(t, len(s), 256, "shard %d", i)
		assert.Equal(t, i, out.Index[i], "shard_index of shard %d", i)
		joined = append(joined, s...)
	}
	assert.Equal(t, len(out.Shards), out.Count, "shard_count")
	assert.Equal(t, (len(rows)+255)/256, out.Count, "shard_count for %d rows", len(rows))
	a, _ := json.Marshal(rows)
	b, _ := json.Marshal(joined)
	assert.True(t, bytes.Equal(a, b), "shards do not concatenate to the unsharded rows")
}

// A selection with no rows gives no shards, on stdout and in the step output "matrix",
// so a workflow fanning out over shard_index starts no job on an empty matrix.
func TestMaxJobsNoRowsNoShards(t *testing.T) {
	t.Parallel()
	outFile := filepath.Join(t.TempDir(), "github_output")
	vars := map[string]string{"GITHUB_OUTPUT": outFile}
	code, stdout, stderr := runCmd(t, dispatch, vars, strings.Fields("full-sweep --single-node --model-prefix no-such-model --max-jobs 256 --config-files ../configs/nvidia-master.yaml --runner-config ../configs/runners.yaml")...)
	const want = `{"shard_count": 0, "shard_index": [], "shards": []}`
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, want+"\n", stdout)
	got, err := os.ReadFile(outFile)
	require.NoError(t, err)
	assert.Contains(t, string(got), "\n"+want+"\n", "GITHUB_OUTPUT holds the matrix")
}

// In GitHub Actions the matrix also becomes the step output "matrix", stdout stays
// the same, and problems become annotations.
func TestGitHubActions(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	writeTestFile(t, "c.yaml", goodSingle)
	writeTestFile(t, "runners.yaml", goodRunners)
	outFile := filepath.Join(dir, "github_output")
	vars := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": outFile}
	args := []string{"test-config", "--config-keys", "k", "--config-files", "c.yaml", "--runner-config", "runners.yaml", "--conc", "4"}
	_, plain, _ := runCmd(t, dispatch, nil, args...)
	code, stdout, stderr := runCmd(t, dispatch, vars, args...)
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, plain, stdout, "stdout is the same under GitHub Actions")
	assert.Empty(t, stderr)
	got, err := os.ReadFile(outFile)
	require.NoError(t, err)
	assert.Regexp(t, `^matrix<<(\S+)\n`+regexp.QuoteMeta(strings.TrimSuffix(plain, "\n"))+`\n(\S+)\n$`, string(got), "GITHUB_OUTPUT")

	writeTestFile(t, "c.yaml", edit(goodSingle, "conc-start: 4", "conc-start: 128"))
	code, stdout, stderr = runCmd(t, dispatch, vars, args...)
	assert.Equal(t, exitFail, code, stderr)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "::error col=50,file=c.yaml,line=13::Master config entry 'k' failed validation: seq-len-configs[0].search-space[0]: 'conc-start' (128) must be <= 'conc-end' (64).%0Aswap the two values, or make conc-end at least conc-start\n", "annotation")
}

// The runner file defaults to configs/runners.yaml and is loaded by every subcommand, even
// test-config, which ignores --runner-node-filter
// (docs/generator.md#quirk-runner-file-always).
func TestDefaultRunnerConfig(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	writeTestFile(t, "c.yaml", goodSingle)
	args := []string{"test-config", "--config-keys", "k", "--config-files", "c.yaml", "--conc", "4", "--runner-node-filter", "zz"}
	code, _, stderr := runCmd(t, dispatch, nil, args...)
	assert.Equal(t, exitFail, code, "without configs/: %s", stderr)
	assert.Contains(t, stderr, "Runner config file 'configs/runners.yaml' does not exist.", "without configs/")
	require.NoError(t, os.Mkdir("configs", 0o755))
	writeTestFile(t, "configs/runners.yaml", goodRunners)
	code, stdout, stderr := runCmd(t, dispatch, nil, args...)
	assert.Equal(t, exitOK, code, "with configs/: %s", stderr)
	assert.Contains(t, stdout, `"runner": "h100"`, "with configs/")
}
