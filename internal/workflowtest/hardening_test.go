package workflowtest

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// pinnedUses is a third-party action pinned by a full commit SHA.
var pinnedUses = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$`)

// forkGuard is the condition that keeps pull requests from forks off self-hosted runners.
const forkGuard = "github.event.pull_request.head.repo.full_name == github.repository"

// script is one run: block of a workflow or of a composite action.
type script struct {
	where string // file:line
	run   string
	env   map[string]string
}

// scripts returns every run: script of the workflows and of the root action.yml.
func scripts(t *testing.T) []script {
	t.Helper()
	var out []script
	for _, w := range parseWorkflows(t) {
		for _, job := range w.wf.Jobs {
			for _, s := range job.Steps {
				r, ok := s.Exec.(*actionlint.ExecRun)
				if !ok || r.Run == nil {
					continue
				}
				out = append(out, script{where: w.name + ":" + strconv.Itoa(r.Run.Pos.Line), run: r.Run.Value, env: envOf(s.Env)})
			}
		}
	}
	return append(out, actionScripts(t)...)
}

func envOf(e *actionlint.Env) map[string]string {
	out := map[string]string{}
	if e == nil {
		return out
	}
	for _, v := range e.Vars {
		out[v.Name.Value] = v.Value.Value
	}
	return out
}

// compositeAction is the part of an action.yml these tests look at.
type compositeAction struct {
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			Run  string            `yaml:"run"`
			Uses string            `yaml:"uses"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

// rootAction reads the root action.yml; ok is false while it does not exist yet.
func rootAction(t *testing.T) (a compositeAction, ok bool) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "action.yml"))
	if os.IsNotExist(err) {
		return a, false
	}
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(data, &a), "action.yml")
	return a, true
}

func actionScripts(t *testing.T) []script {
	var out []script
	if a, ok := rootAction(t); ok {
		for i, s := range a.Runs.Steps {
			if s.Run != "" {
				out = append(out, script{where: "action.yml step " + strconv.Itoa(i+1), run: s.Run, env: s.Env})
			}
		}
	}
	for _, f := range localActions(t) {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		var a compositeAction
		require.NoError(t, yaml.Unmarshal(data, &a), "%s", f)
		rel, _ := filepath.Rel(repoRoot(t), f)
		for i, s := range a.Runs.Steps {
			if s.Run != "" {
				out = append(out, script{where: rel + " step " + strconv.Itoa(i+1), run: s.Run, env: s.Env})
			}
		}
	}
	return out
}

// localActions are the composite actions the workflows use from .github/actions.
func localActions(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(t), ".github", "actions", "*", "action.yml"))
	require.NoError(t, err)
	return files
}

// TestNoExpressionsInScripts: no ${{ }} inside any run: script. GitHub substitutes
// expressions into the script text before the shell parses it, so user-controlled text
// (the command box, a branch name, a PR title) would become shell code; everything goes
// through env: instead. The rule is absolute so that nobody has to judge what is
// "user-controlled".
func TestNoExpressionsInScripts(t *testing.T) {
	t.Parallel()
	all := scripts(t)
	require.GreaterOrEqual(t, len(all), 5, "found only %d run: scripts; the scan is broken", len(all))
	for _, s := range all {
		assert.NotContains(t, s.run, "${{", "%s: run: script contains ${{ }}; pass the value through env", s.where)
	}
}

// TestActionsPinnedBySHA: every action that is not in this repository is pinned by commit.
func TestActionsPinnedBySHA(t *testing.T) {
	t.Parallel()
	n := 0
	check := func(where, uses string) {
		if strings.HasPrefix(uses, "./") || uses == "" {
			return
		}
		n++
		assert.True(t, pinnedUses.MatchString(uses), "%s: %q is not pinned by a full commit SHA", where, uses)
	}
	for _, w := range parseWorkflows(t) {
		for _, job := range w.wf.Jobs {
			if job.WorkflowCall != nil {
				check(w.name, job.WorkflowCall.Uses.Value)
			}
			for _, s := range job.Steps {
				if a, ok := s.Exec.(*actionlint.ExecAction); ok {
					check(w.name+":"+strconv.Itoa(a.Uses.Pos.Line), a.Uses.Value)
				}
			}
		}
	}
	if a, ok := rootAction(t); ok {
		for i, s := range a.Runs.Steps {
			check("action.yml step "+strconv.Itoa(i+1), s.Uses)
		}
	}
	require.NotEqual(t, 0, n, "found no third-party action at all; the scan is broken")
}

// TestPermissionsReadOnly: every workflow sets top-level permissions, and nothing anywhere
// asks for write access.
func TestPermissionsReadOnly(t *testing.T) {
	t.Parallel()
	for _, w := range parseWorkflows(t) {
		assert.NotNil(t, w.wf.Permissions, "%s: no top-level permissions: the token would get the repository default", w.name)
		checkPerms(t, w.name, w.wf.Permissions)
		for id, job := range w.wf.Jobs {
			checkPerms(t, w.name+" job "+id, job.Permissions)
		}
	}
}

func checkPerms(t *testing.T, where string, p *actionlint.Permissions) {
	t.Helper()
	if p == nil {
		return
	}
	assert.False(t, p.All != nil && p.All.Value != "read-all" && p.All.Value != "{}", "%s: permissions", where)
	for name, s := range p.Scopes {
		assert.False(t, s.Value.Value != "read" && s.Value.Value != "none", "%s: permission %s", where, name)
	}
}

// TestSelfHostedJobsRefuseForks: a job that can land on a self-hosted runner carries the
// fork guard itself, whoever calls it.
func TestSelfHostedJobsRefuseForks(t *testing.T) {
	t.Parallel()
	n := 0
	for _, w := range parseWorkflows(t) {
		for id, job := range w.wf.Jobs {
			if job.RunsOn == nil || !selfHosted(job.RunsOn) {
				continue
			}
			n++
			require.NotNil(t, job.If, "%s job %s runs on a self-hosted runner", w.name, id)
			assert.Contains(t, job.If.Value, forkGuard, "%s job %s runs on a self-hosted runner", w.name, id)
		}
	}
	require.NotEqual(t, 0, n, "no job runs on a self-hosted runner; the scan is broken")
}

// selfHosted: the labels name self-hosted or come from an expression (a matrix row).
func selfHosted(r *actionlint.Runner) bool {
	if r.LabelsExpr != nil {
		return true
	}
	for _, l := range r.Labels {
		if l.Value == "self-hosted" || strings.Contains(l.Value, "${{") {
			return true
		}
	}
	return false
}

// TestSecretsOnlyWhereNeeded: secrets are never inherited wholesale, never set for a whole
// job, and the only step that sees one is the step that runs the agent.
func TestSecretsOnlyWhereNeeded(t *testing.T) {
	t.Parallel()
	for _, w := range parseWorkflows(t) {
		assert.NotContains(t, string(w.src), "secrets: inherit", "%s: secrets: inherit hands every secret to the callee", w.name)
		for id, job := range w.wf.Jobs {
			for k, v := range envOf(job.Env) {
				assert.NotContains(t, v, "secrets.", "%s job %s: job-level env %s holds a secret; every step would see it", w.name, id, k)
			}
			for _, s := range job.Steps {
				agent := false
				if r, ok := s.Exec.(*actionlint.ExecRun); ok && r.Run != nil {
					agent = strings.Contains(r.Run.Value, " run --entry")
				}
				if a, ok := s.Exec.(*actionlint.ExecAction); ok {
					for name, in := range a.Inputs {
						assert.False(t, in.Value != nil && strings.Contains(in.Value.Value, "secrets."), "%s job %s: input %s", w.name, id, name)
					}
				}
				for k, v := range envOf(s.Env) {
					assert.False(t, strings.Contains(v, "secrets.") && !agent, "%s job %s: step env %s holds a secret but the step does not run the agent", w.name, id, k)
				}
			}
		}
	}
}

// TestJobsHaveTimeouts: every job that runs steps has a timeout.
func TestJobsHaveTimeouts(t *testing.T) {
	t.Parallel()
	for _, w := range parseWorkflows(t) {
		for id, job := range w.wf.Jobs {
			assert.False(t, job.WorkflowCall == nil && job.TimeoutMinutes == nil, "%s job %s has no timeout-minutes", w.name, id)
		}
	}
}
