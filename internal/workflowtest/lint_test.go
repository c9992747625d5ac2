package workflowtest

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rhysd/actionlint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/config"
	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/testkit"
)

// shellcheckPath is where Debian's shellcheck package installs it (.ci/services.sh installs it).
const shellcheckPath = "/usr/bin/shellcheck"

// TestActionlint runs actionlint, with shellcheck on every run: script, over the repository's
// workflows (and, through them, the local actions they use) and requires zero findings.
func TestActionlint(t *testing.T) {
	t.Parallel()
	sc := shellcheck(t)
	root := repoRoot(t)
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{Shellcheck: sc, WorkingDir: root})
	require.NoError(t, err)
	// An explicit project, not LintRepository: that one needs a .git directory, which a
	// source tarball or a copied tree lacks. The project still reads .github/actionlint.yaml.
	proj, err := actionlint.NewProject(root)
	require.NoError(t, err)
	require.NotNil(t, proj.Config(), ".github/actionlint.yaml was not read")
	errs, err := l.LintFiles(workflowFiles(t), proj)
	require.NoError(t, err)
	for _, e := range errs {
		assert.Fail(t, "actionlint", "%s:%d:%d: %s [%s]", e.Filepath, e.Line, e.Column, e.Message, e.Kind)
	}
}

// TestActionlintCatches keeps TestActionlint honest: the same linter setup must report a
// shellcheck finding and an untrusted expression in a deliberately bad workflow.
func TestActionlintCatches(t *testing.T) {
	t.Parallel()
	sc := shellcheck(t)
	bad := []byte(`name: bad
on: pull_request
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - run: echo ${{ github.event.pull_request.title }}; cd $HOME
`)
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{Shellcheck: sc, WorkingDir: repoRoot(t)})
	require.NoError(t, err)
	errs, err := l.Lint(".github/workflows/bad.yml", bad, nil)
	require.NoError(t, err)
	kinds := map[string]bool{}
	for _, e := range errs {
		kinds[e.Kind] = true
	}
	for _, want := range []string{"shellcheck", "expression"} {
		assert.True(t, kinds[want], "actionlint reported no %q finding on a bad workflow; got %v", want, errs)
	}
}

// shellcheck returns the shellcheck executable; a missing one skips unless
// INFERBENCH_INTEGRATION=1, because a lint without it would silently check less.
func shellcheck(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(shellcheckPath); err == nil {
		return shellcheckPath
	}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if p := filepath.Join(dir, "shellcheck"); isFile(p) {
			return p
		}
	}
	testkit.Integration(t, "shellcheck", false, "apt-get install shellcheck")
	return ""
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// TestShellcheckActionScripts runs shellcheck on the run: scripts of composite actions,
// which actionlint does not check: the root action.yml, .github/actions and the act stand-ins.
func TestShellcheckActionScripts(t *testing.T) {
	t.Parallel()
	sc := shellcheck(t)
	files, _ := filepath.Glob(filepath.Join("testdata", "actions", "*", "action.yml"))
	files = append(files, localActions(t)...)
	if isFile(filepath.Join(repoRoot(t), "action.yml")) {
		files = append(files, filepath.Join(repoRoot(t), "action.yml"))
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		var a compositeAction
		require.NoError(t, yaml.Unmarshal(data, &a), "%s", f)
		for i, s := range a.Runs.Steps {
			if s.Run == "" {
				continue
			}
			n++
			// GitHub runs `shell: bash` as bash --noprofile --norc -eo pipefail {0}.
			script := filepath.Join(t.TempDir(), "step.sh")
			require.NoError(t, os.WriteFile(script, []byte("#!/bin/bash\nset -eo pipefail\n"+s.Run), 0o644))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			res, err := execx.OS{}.Run(ctx, execx.Cmd{Name: sc, Args: []string{"--norc", "-s", "bash", "-f", "gcc", script}})
			cancel()
			assert.NoError(t, err, "%s step %d: shellcheck: %v\n%s", f, i+1, err, res.Stdout)
		}
	}
	require.NotEqual(t, 0, n, "no composite action scripts found; the scan is broken")
}

// TestRunnerLabelsMatchRunnerTypes: actionlint's self-hosted labels are the runner types of
// configs/runners.yaml, so a new runner type (a multi-node one included) is not reported as
// an unknown label, and a removed one does not linger.
func TestRunnerLabelsMatchRunnerTypes(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	var cfg struct {
		SelfHostedRunner struct {
			Labels []string `yaml:"labels"`
		} `yaml:"self-hosted-runner"`
	}
	readYAML(t, filepath.Join(root, ".github", "actionlint.yaml"), &cfg)
	r, diags := config.LoadRunners(filepath.Join(root, "configs", "runners.yaml"))
	require.False(t, diags.HasErrors(), "configs/runners.yaml: %v", diags)
	runners := map[string]bool{}
	for _, name := range r.Names() {
		runners[name] = true
	}
	labels := map[string]bool{}
	for _, l := range cfg.SelfHostedRunner.Labels {
		labels[l] = true
		assert.True(t, runners[l], ".github/actionlint.yaml: label %q is not a runner type of configs/runners.yaml", l)
	}
	for r := range runners {
		assert.True(t, labels[r], ".github/actionlint.yaml: runner type %q of configs/runners.yaml is not a self-hosted label", r)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, v), "%s", path)
}
