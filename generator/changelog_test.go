package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/testkit"
)

// The generator's own test binary doubles as the generator for scripts that need an
// executable (the conformance runner, act): started with GENERATOR_TEST_HELPER=1 it runs
// the subcommand given after "--" and exits.
func TestHelperGenerator(t *testing.T) {
	if os.Getenv("GENERATOR_TEST_HELPER") != "1" {
		t.Skip("helper process")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	e := env{os.Stdin, os.Stdout, os.Stderr, os.Getenv}
	args, err := expandArgsFromEnv(args, e.getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "generator: error:", err)
		os.Exit(exitUsage)
	}
	var code int
	switch {
	case len(args) > 0 && args[0] == "changelog":
		code = cmdChangelog(context.Background(), e, args[1:])
	case len(args) > 0 && args[0] == "validate":
		code = cmdValidate(context.Background(), e, args[1:])
	default:
		code = dispatch(context.Background(), e, args)
	}
	os.Exit(code)
}

// helperGenerator writes an executable script that runs this test binary as the
// generator, and returns its path.
func helperGenerator(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	script := filepath.Join(t.TempDir(), "generator")
	body := "#!/bin/sh\nGENERATOR_TEST_HELPER=1 exec '" + self + "' -test.run='^TestHelperGenerator$' -- \"$@\"\n"
	require.NoError(t, os.WriteFile(script, []byte(body), 0o755))
	return script
}

// TestChangelogConformance runs the shared changelog conformance vectors against
// `generator changelog`.
func TestChangelogConformance(t *testing.T) {
	t.Parallel()
	runner := testkit.Shared(t, "conformance/changelog/run.sh")
	if _, err := execx.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	if _, err := execx.LookPath("python3"); err != nil {
		t.Skip("python3 not installed (the conformance runner compares JSON with it)")
	}
	res, err := execx.OS{}.Run(context.Background(), execx.Cmd{Name: "sh", Args: []string{runner, "--verbose", helperGenerator(t), "changelog"}, Dir: t.TempDir()})
	out := string(res.Stdout) + string(res.Stderr)
	t.Logf("%s", out)
	require.NoError(t, err, "conformance runner")
	assert.Contains(t, out, "10 passed, 0 failed")
}

func TestArgsFromEnv(t *testing.T) {
	t.Parallel()
	getenv := func(k string) string {
		return map[string]string{"A": `--base-ref '$(touch pwned)' --head-ref "; rm -rf /"`, "BAD": `'open`, "NESTED": "--args-from-env A"}[k]
	}
	tests := []struct {
		in      []string
		want    []string
		wantErr string
	}{
		{in: []string{"--args-from-env", "A", "--y"}, want: []string{"--base-ref", "$(touch pwned)", "--head-ref", "; rm -rf /", "--y"}},
		{in: []string{"--args-from-env=A", "--args-from-env", "A"}, want: []string{"--base-ref", "$(touch pwned)", "--head-ref", "; rm -rf /", "--base-ref", "$(touch pwned)", "--head-ref", "; rm -rf /"}},
		{in: []string{"--args-from-env", "UNSET"}, want: nil},
		// Only leading words count: the option cannot come from a variable's value or
		// after the subcommand, so an input cannot read other variables.
		{in: []string{"--args-from-env", "NESTED"}, want: []string{"--args-from-env", "A"}},
		{in: []string{"changelog", "--args-from-env", "A"}, want: []string{"changelog", "--args-from-env", "A"}},
		{in: []string{"--args-from-env"}, wantErr: "expected one argument"},
		{in: []string{"--args-from-env", "BAD"}, wantErr: "unterminated single quote"},
	}
	for _, tt := range tests {
		got, err := expandArgsFromEnv(tt.in, getenv)
		if tt.wantErr != "" {
			if assert.Error(t, err, "%q", tt.in) {
				assert.Contains(t, err.Error(), tt.wantErr, "%q", tt.in)
			}
			continue
		}
		if assert.NoError(t, err, "%q", tt.in) {
			assert.Equal(t, strings.Join(tt.want, "\x00"), strings.Join(got, "\x00"), "%q", tt.in)
		}
	}
}

// runCmd runs a subcommand in-process with the given environment.
func runCmd(t *testing.T, fn func(context.Context, env, []string) int, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := env{strings.NewReader(""), &stdout, &stderr, func(k string) string { return vars[k] }}
	code := fn(context.Background(), e, args)
	return code, stdout.String(), stderr.String()
}

// TestChangelogCommand runs `generator changelog` in-process on a real repository and
// checks stdout, exit codes and the step outputs the workflows read.
func TestChangelogCommand(t *testing.T) {
	configs := []string{"--config-files", "configs/amd-master.yaml", "configs/nvidia-master.yaml", "--runner-config", "configs/runners.yaml"}
	r := newGitRepo(t)
	r.change(map[string]func(string) string{"perf-changelog.yaml": appendText(newEntry +
		"- config-keys: ['gptoss-*-dynamo-*', 'dsr1-fp8-mi300x-sglang']\n  description: [x]\n  pr-link: https://x\n")})
	t.Chdir(r.dir)

	t.Run("outputs", func(t *testing.T) {
		ghOut := filepath.Join(t.TempDir(), "out")
		code, stdout, stderr := runCmd(t, cmdChangelog, map[string]string{"GITHUB_OUTPUT": ghOut},
			append([]string{"--base-ref", "base", "--head-ref", "HEAD", "--changelog-file", "perf-changelog.yaml"}, configs...)...)
		require.Equal(t, exitOK, code, stderr)
		require.True(t, strings.HasPrefix(stdout, `{"single_node":{"1k8k":[{"image":"vllm/vllm-openai:v0.13.0"`), "stdout %s", stdout)
		require.Equal(t, 1, strings.Count(stdout, "\n"), "stdout is not one line: %s", stdout)
		outputs := readGitHubOutput(t, ghOut)
		want := map[string]string{
			"search-space-config": strings.TrimSuffix(stdout, "\n"),
			"has-work":            "true",
			"has-single-node":     "true",
			"has-multi-node":      "true",
			"single-node-1k1k":    "[]",
			"multi-node-8k1k":     "[]",
		}
		for k, v := range want {
			assert.Equal(t, v, outputs[k], "output %s", k)
		}
		// matrix: every row, single-node buckets first (gptoss-b200 then mi300x conc 4 and 8), then multi-node.
		var rows []map[string]any
		require.NoError(t, json.Unmarshal([]byte(outputs["matrix"]), &rows), "matrix %q", outputs["matrix"])
		require.Len(t, rows, 4, "matrix rows %v", rows)
		assert.Equal(t, "gptoss", rows[0]["model-prefix"], "first row")
		assert.NotNil(t, rows[3]["prefill"], "the last row is multi-node")
		assert.Contains(t, outputs["changelog-metadata"], `"config-keys":["gptoss-*-dynamo-*","dsr1-fp8-mi300x-sglang"]`)
	})
	t.Run("sharded matrix", func(t *testing.T) {
		ghOut := filepath.Join(t.TempDir(), "out")
		code, _, stderr := runCmd(t, cmdChangelog, map[string]string{"GITHUB_OUTPUT": ghOut},
			append([]string{"--base-ref", "base", "--head-ref", "HEAD", "--changelog-file", "perf-changelog.yaml", "--max-jobs", "3"}, configs...)...)
		require.Equal(t, exitOK, code, stderr)
		var sh struct {
			Count  int                 `json:"shard_count"`
			Index  []int               `json:"shard_index"`
			Shards [][]json.RawMessage `json:"shards"`
		}
		m := readGitHubOutput(t, ghOut)["matrix"]
		require.NoError(t, json.Unmarshal([]byte(m), &sh), m)
		assert.Equal(t, 2, sh.Count, "shard_count")
		assert.Len(t, sh.Index, 2, "shard_index")
		require.Len(t, sh.Shards, 2)
		assert.Len(t, sh.Shards[0], 3, "first shard")
		assert.Len(t, sh.Shards[1], 1, "second shard")
	})
	errors := []struct {
		name string
		args []string
		code int
		want string
	}{
		{name: "bad ref", args: []string{"--base-ref", "nope", "--head-ref", "HEAD", "--changelog-file", "perf-changelog.yaml"},
			code: exitFail, want: `git ref "nope" does not name a commit`},
		{name: "missing option", args: []string{"--base-ref", "base", "--changelog-file", "perf-changelog.yaml"},
			code: exitUsage, want: "the following arguments are required: --head-ref"},
		{name: "no additions", args: []string{"--base-ref", "HEAD", "--head-ref", "HEAD", "--changelog-file", "perf-changelog.yaml"},
			code: exitFail, want: "No additions found in the changelog file"},
		{name: "broken config", args: []string{"--base-ref", "base", "--head-ref", "HEAD", "--changelog-file", "perf-changelog.yaml", "--config-files", "perf-changelog.yaml"},
			code: exitFail, want: "perf-changelog.yaml:1:1:"},
	}
	for _, tt := range errors {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if !slices.Contains(args, "--config-files") {
				args = append(args, configs...)
			}
			code, stdout, stderr := runCmd(t, cmdChangelog, nil, args...)
			assert.Equal(t, tt.code, code, "exit status; stderr:\n%s", stderr)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, tt.want)
		})
	}
}

// readGitHubOutput parses the name<<DELIM ... DELIM blocks go-githubactions writes.
func readGitHubOutput(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	out := map[string]string{}
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			continue
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		out[name] = strings.Join(val, "\n")
	}
	return out
}
