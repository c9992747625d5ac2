package workflowtest

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
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
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
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
		if err != nil {
			t.Fatal(err)
		}
		var a compositeAction
		if err := yaml.Unmarshal(data, &a); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
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
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestNoExpressionsInScripts: no ${{ }} inside any run: script. GitHub substitutes
// expressions into the script text before the shell parses it, so user-controlled text
// (the command box, a branch name, a PR title) would become shell code; everything goes
// through env: instead. The rule is absolute so that nobody has to judge what is
// "user-controlled".
func TestNoExpressionsInScripts(t *testing.T) {
	all := scripts(t)
	if len(all) < 5 {
		t.Fatalf("found only %d run: scripts; the scan is broken", len(all))
	}
	for _, s := range all {
		if strings.Contains(s.run, "${{") {
			t.Errorf("%s: run: script contains ${{ }}; pass the value through env: instead:\n%s", s.where, s.run)
		}
	}
}

// TestActionsPinnedBySHA: every action that is not in this repository is pinned by commit.
func TestActionsPinnedBySHA(t *testing.T) {
	n := 0
	check := func(where, uses string) {
		if strings.HasPrefix(uses, "./") || uses == "" {
			return
		}
		n++
		if !pinnedUses.MatchString(uses) {
			t.Errorf("%s: %q is not pinned by a full commit SHA", where, uses)
		}
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
	if n == 0 {
		t.Fatal("found no third-party action at all; the scan is broken")
	}
}

// TestPermissionsReadOnly: every workflow sets top-level permissions, and nothing anywhere
// asks for write access.
func TestPermissionsReadOnly(t *testing.T) {
	for _, w := range parseWorkflows(t) {
		if w.wf.Permissions == nil {
			t.Errorf("%s: no top-level permissions: the token would get the repository default", w.name)
		}
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
	if p.All != nil && p.All.Value != "read-all" && p.All.Value != "{}" {
		t.Errorf("%s: permissions: %s", where, p.All.Value)
	}
	for name, s := range p.Scopes {
		if s.Value.Value != "read" && s.Value.Value != "none" {
			t.Errorf("%s: permission %s: %s; only read is allowed", where, name, s.Value.Value)
		}
	}
}

// TestSelfHostedJobsRefuseForks: a job that can land on a self-hosted runner carries the
// fork guard itself, whoever calls it.
func TestSelfHostedJobsRefuseForks(t *testing.T) {
	n := 0
	for _, w := range parseWorkflows(t) {
		for id, job := range w.wf.Jobs {
			if job.RunsOn == nil || !selfHosted(job.RunsOn) {
				continue
			}
			n++
			if job.If == nil || !strings.Contains(job.If.Value, forkGuard) {
				t.Errorf("%s job %s runs on a self-hosted runner without the fork guard %q", w.name, id, forkGuard)
			}
		}
	}
	if n == 0 {
		t.Fatal("no job runs on a self-hosted runner; the scan is broken")
	}
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
	for _, w := range parseWorkflows(t) {
		if strings.Contains(string(w.src), "secrets: inherit") {
			t.Errorf("%s: secrets: inherit hands every secret to the callee", w.name)
		}
		for id, job := range w.wf.Jobs {
			for k, v := range envOf(job.Env) {
				if strings.Contains(v, "secrets.") {
					t.Errorf("%s job %s: job-level env %s holds a secret; every step would see it", w.name, id, k)
				}
			}
			for _, s := range job.Steps {
				agent := false
				if r, ok := s.Exec.(*actionlint.ExecRun); ok && r.Run != nil {
					agent = strings.Contains(r.Run.Value, " run --entry")
				}
				if a, ok := s.Exec.(*actionlint.ExecAction); ok {
					for name, in := range a.Inputs {
						if in.Value != nil && strings.Contains(in.Value.Value, "secrets.") {
							t.Errorf("%s job %s: input %s of %s holds a secret", w.name, id, name, a.Uses.Value)
						}
					}
				}
				for k, v := range envOf(s.Env) {
					if strings.Contains(v, "secrets.") && !agent {
						t.Errorf("%s job %s: step env %s holds a secret but the step does not run the agent", w.name, id, k)
					}
				}
			}
		}
	}
}

// TestJobsHaveTimeouts: every job that runs steps has a timeout.
func TestJobsHaveTimeouts(t *testing.T) {
	for _, w := range parseWorkflows(t) {
		for id, job := range w.wf.Jobs {
			if job.WorkflowCall == nil && job.TimeoutMinutes == nil {
				t.Errorf("%s job %s has no timeout-minutes", w.name, id)
			}
		}
	}
}
