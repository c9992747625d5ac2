package workflowtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rhysd/actionlint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/execx"
)

// fakeGH answers the GitHub API calls of run-sweep.yml's "Find the sweep to reuse" from a
// canned table (the path argument selects the answer; --jq has been applied already).
const fakeGH = `#!/bin/bash
echo "$*" >> "$GH_LOG"
case "$2" in
  repos/o/r/commits/abc/pulls) echo 12 ;;
  repos/o/r/pulls/12) echo feature ;;
  repos/o/r/actions/workflows/run-sweep.yml/runs*) printf '55\n44\n33\n' ;;
  repos/o/r/actions/runs/55/artifacts*) echo 0 ;;
  repos/o/r/actions/runs/44/artifacts*) echo 3 ;;
  *) echo "unexpected gh call: $*" >&2; exit 1 ;;
esac
`

// TestFindTheSweepToReuse runs the step that picks the run whose results a sweep reuses: for
// a push, the pull request the commit came from, its newest finished sweep that left
// results; for a pull request, its own; nothing when gh is missing or finds nothing.
func TestFindTheSweepToReuse(t *testing.T) {
	t.Parallel()
	var script string
	for _, s := range workflowNamed(t, "run-sweep.yml").wf.Jobs["setup"].Steps {
		if s.ID != nil && s.ID.Value == "reuse" {
			script = s.Exec.(*actionlint.ExecRun).Run.Value
		}
	}
	require.NotEmpty(t, script, "run-sweep.yml: setup has no step with id reuse")
	bin := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bin, "gh"), []byte(fakeGH), 0o755))
	for _, tc := range []struct {
		name  string
		env   []string
		path  string
		want  string
		calls int
	}{
		{"a push finds the merged pull request's sweep", []string{"EVENT=push", "PR_NUMBER="}, bin, "run-id=44", 5},
		{"a pull request finds its own earlier sweep", []string{"EVENT=pull_request", "PR_NUMBER=12"}, bin, "run-id=44", 4},
		{"no gh, no reuse", []string{"EVENT=push"}, "/nonexistent", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out, log := filepath.Join(dir, "out"), filepath.Join(dir, "gh.log")
			env := append([]string{"PATH=" + tc.path + ":/usr/bin:/bin", "GITHUB_REPOSITORY=o/r", "GITHUB_RUN_ID=99", "HEAD_SHA=abc",
				"GITHUB_OUTPUT=" + out, "GH_LOG=" + log, "GH_TOKEN=x"}, tc.env...)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := execx.OS{}.Run(ctx, execx.Cmd{Name: "/bin/bash", Args: []string{"-eo", "pipefail", "-c", script}, Env: env, Dir: dir})
			require.NoError(t, err, "%s%s", res.Stdout, res.Stderr)
			got, _ := os.ReadFile(out)
			assert.Equal(t, tc.want, strings.TrimSpace(string(got)), "%s", res.Stdout)
			calls, _ := os.ReadFile(log)
			assert.Equal(t, tc.calls, strings.Count(string(calls), "\n"), "%s", calls)
		})
	}
}
