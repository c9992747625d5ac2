package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/config"
	"github.com/inferbench/inferbench/internal/diag"
)

// hostileFiles writes a master config and the runner file into a fresh directory and
// returns the generator arguments that read them.
func hostileFiles(t *testing.T, master string) []string {
	t.Helper()
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "c.yaml"), master)
	writeTestFile(t, filepath.Join(dir, "runners.yaml"), goodRunners)
	return []string{"--config-files", filepath.Join(dir, "c.yaml"), "--runner-config", filepath.Join(dir, "runners.yaml")}
}

// Issue 14 item 11: a 50 MB scalar was echoed whole to stderr, and a 50 MB config took a
// gigabyte, seconds and printed tens of MB. Files over config.MaxFileSize are refused
// unread; quoted values are clipped; at most diag.Shown problems are printed. Each case
// runs through the fast reader and through yaml.v3 (a tag makes the file yaml.v3's).
func TestHostile11BigInputsGiveShortOutput(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("a", 1<<20)
	var many strings.Builder
	for i := range 500 {
		many.WriteString(edit(edit(goodSingle, "k:", fmt.Sprintf("k%d:", i)), "conc-end: 64", "conc-end: 64, bogus: 1"))
	}
	for _, tc := range []struct {
		name      string
		master    string
		want      []string
		maxStderr int
	}{
		{"a 1 MiB scalar where a number belongs is clipped", edit(goodSingle, "tp: 8", `tp: "`+big+`"`),
			[]string{"must be an integer, got the string", "bytes left out"}, 4096},
		{"a 1 MiB file name-like value is clipped", edit(goodSingle, "model-prefix: mp", "model-prefix: "+big+"/x"),
			[]string{"has '/' at byte 1048576", "bytes left out"}, 4096},
		{"500 problems print the first ones and a count", many.String(),
			[]string{"unknown field 'bogus'", fmt.Sprintf("... and %d more problems (500 in all", 500-diag.Shown)}, 64 << 10},
	} {
		for _, path := range []string{"fast reader", "yaml.v3"} {
			t.Run(tc.name+"/"+path, func(t *testing.T) {
				t.Parallel()
				master := tc.master
				if path == "yaml.v3" {
					master = strings.Replace(master, "image: img", "image: !!str img", 1)
				}
				code, stdout, stderr := runCmd(t, dispatch, nil, append([]string{"full-sweep", "--single-node"}, hostileFiles(t, master)...)...)
				assert.Equal(t, exitFail, code)
				assert.Empty(t, stdout)
				for _, w := range tc.want {
					assert.Contains(t, stderr, w)
				}
				assert.Less(t, len(stderr), tc.maxStderr, "stderr: %.2000s", stderr)
			})
		}
	}

	t.Run("a file over the size limit is not read", func(t *testing.T) {
		t.Parallel()
		args := hostileFiles(t, goodSingle)
		require.NoError(t, os.Truncate(args[1], 50<<20)) // sparse: costs no disk
		code, stdout, stderr := runCmd(t, dispatch, map[string]string{"GITHUB_ACTIONS": "true"}, append([]string{"full-sweep", "--single-node"}, args...)...)
		assert.Equal(t, exitFail, code)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, fmt.Sprintf("it is 52428800 bytes (50.0 MiB); the generator reads at most %d MiB", config.MaxFileSize>>20))
		assert.Less(t, len(stderr), 2048)
	})

	t.Run("annotations are capped like the text", func(t *testing.T) {
		t.Parallel()
		_, _, stderr := runCmd(t, dispatch, map[string]string{"GITHUB_ACTIONS": "true"}, append([]string{"full-sweep", "--single-node"}, hostileFiles(t, many.String())...)...)
		assert.Equal(t, diag.Shown, strings.Count(stderr, "\n::error "), "one annotation per printed problem")
	})
}

// Issue 14 item 12: a newline inside a word of the workflow_dispatch command box (passed
// with --args-from-env) made diagnostics print lines of their own, which the runner reads
// as workflow commands: "::add-mask::" hid text from every later log line and "::error"
// forged annotations. Every text the generator prints is escaped (diag.Clean) and the
// annotations' data by go-githubactions.
func TestHostile12CommandBoxWordsCannotEmitWorkflowCommands(t *testing.T) {
	t.Parallel()
	const payload = "x\n::add-mask::SECRET\n##[warning]INJECTED\r::error::INJECTED"
	files := hostileFiles(t, goodSingle)
	quote := func(s string) string { return "'" + s + "'" }
	for _, tc := range []struct{ name, box string }{
		{"a config key", "test-config --config-keys " + quote(payload) + " " + strings.Join(files, " ")},
		{"a config file", "full-sweep --single-node --config-files " + quote(payload) + " --runner-config " + files[3]},
		{"a runner file", "full-sweep --single-node --config-files " + files[1] + " --runner-config " + quote(payload)},
		{"an option's choice", "full-sweep --single-node --seq-lens " + quote(payload) + " " + strings.Join(files, " ")},
		{"an unknown option", "full-sweep --single-node " + quote("--"+payload) + " " + strings.Join(files, " ")},
		{"a subcommand", quote(payload)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{"GITHUB_ACTIONS": "true", "BOX": tc.box}
			code, stdout, stderr := runCmd(t, dispatch, vars, "--args-from-env", "BOX")
			assert.NotEqual(t, exitOK, code)
			out := stdout + stderr
			assert.Contains(t, out, "SECRET", "the word is reported")
			for _, line := range strings.FieldsFunc(out, func(r rune) bool { return r == '\n' || r == '\r' }) {
				trimmed := strings.TrimSpace(line)
				assert.False(t, strings.HasPrefix(trimmed, "::add-mask") || strings.HasPrefix(trimmed, "::error::INJECTED"),
					"a line of its own for the word's text: %q", line)
				assert.NotContains(t, line, "##[", "the older command syntax works anywhere in a line")
			}
		})
	}
}
