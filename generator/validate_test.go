package main

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/execx"
)

// gitRepo is a throw-away repository holding a copy of testdata/changelog.
type gitRepo struct {
	t   *testing.T
	dir string
	env []string
}

func newGitRepo(t *testing.T) *gitRepo {
	t.Helper()
	return newGitRepoFrom(t, filepath.Join("testdata", "changelog"))
}

// newGitRepoFrom makes a repository holding the files under src, committed and tagged base.
func newGitRepoFrom(t *testing.T, src string) *gitRepo {
	t.Helper()
	if _, err := execx.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	home := t.TempDir()
	r := &gitRepo{t: t, dir: dir, env: []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + filepath.Join(home, "gitconfig"),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid",
	}}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return r.write(rel, string(data))
	})
	require.NoError(t, err)
	r.git("init", "-q", "-b", "main")
	r.git("add", "-A")
	r.git("commit", "-q", "-m", "base")
	r.git("tag", "base")
	return r
}

func (r *gitRepo) write(rel, body string) error {
	p := filepath.Join(r.dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(body), 0o644)
}

func (r *gitRepo) read(rel string) string {
	b, err := os.ReadFile(filepath.Join(r.dir, rel))
	require.NoError(r.t, err)
	return string(b)
}

func (r *gitRepo) git(args ...string) {
	r.t.Helper()
	_, err := (execx.OS{}).Run(context.Background(), execx.Cmd{Name: "git", Args: args, Dir: r.dir, Env: r.env})
	require.NoError(r.t, err, "git %v", args)
}

// change rewrites files (rel path -> function of the old content) and commits.
func (r *gitRepo) change(edits map[string]func(string) string) {
	r.t.Helper()
	for rel, edit := range edits {
		require.NoError(r.t, r.write(rel, edit(r.read(rel))))
	}
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", "head")
}

const newEntry = "- config-keys:\n    - gptoss-fp4-b200-vllm\n  description:\n    - \"Bump vLLM\"\n  pr-link: https://github.com/inferbench/inferbench/pull/2\n"

func appendText(s string) func(string) string { return func(old string) string { return old + s } }

func replace(old, new string) func(string) string {
	return func(s string) string { return strings.Replace(s, old, new, 1) }
}

var diagLine = regexp.MustCompile(`^(\S+?):(\d+)(?::(\d+))?: (.*)$`)

// TestValidateBroken: every broken change gives exactly one positioned message.
func TestValidateBroken(t *testing.T) {
	const cl = "perf-changelog.yaml"
	tests := []struct {
		name   string
		edits  map[string]func(string) string
		where  string // file:line of the message
		phrase string
	}{
		{name: "edited line", edits: map[string]func(string) string{cl: func(s string) string {
			return replace("Introduce the configs", "Introduce the new configs")(s) + newEntry
		}}, where: cl + ":4", phrase: "Deletions are not allowed"},
		{name: "deleted entry", edits: map[string]func(string) string{cl: func(string) string { return "" }},
			where: cl + ":1", phrase: "Deletions are not allowed"},
		{name: "missing pr-link", edits: map[string]func(string) string{cl: appendText("- config-keys: [gptoss-fp4-b200-vllm]\n  description: [x]\n")},
			where: cl + ":6", phrase: "lacks the required field 'pr-link'"},
		{name: "misspelt field", edits: map[string]func(string) string{cl: appendText(strings.Replace(newEntry, "pr-link", "pr_link", 1))},
			where: cl + ":10", phrase: "unknown field 'pr_link'"},
		{name: "duplicate field", edits: map[string]func(string) string{cl: appendText(newEntry + "  pr-link: https://x\n")},
			where: cl + ":11", phrase: "duplicate field 'pr-link'"},
		{name: "evals-only not a boolean", edits: map[string]func(string) string{cl: appendText(newEntry + "  evals-only: yes\n")},
			where: cl + ":11", phrase: "'evals-only' must be true or false"},
		{name: "empty config-keys", edits: map[string]func(string) string{cl: appendText("- config-keys: []\n  description: [x]\n  pr-link: https://x\n")},
			where: cl + ":6", phrase: "'config-keys' must not be empty"},
		{name: "description not a list", edits: map[string]func(string) string{cl: appendText(strings.Replace(newEntry, "description:\n    - \"Bump vLLM\"", "description: Bump vLLM", 1))},
			where: cl + ":8", phrase: "'description' must be a list of strings"},
		{name: "unknown key", edits: map[string]func(string) string{cl: appendText(strings.Replace(newEntry, "b200", "h100", 1))},
			where: cl + ":7", phrase: "Config key 'gptoss-fp4-h100-vllm' not found in master configs"},
		{name: "pattern without match", edits: map[string]func(string) string{cl: appendText(strings.Replace(newEntry, "gptoss-fp4-b200-vllm", "'llama70b-*'", 1))},
			where: cl + ":7", phrase: "No config keys matched the wildcard pattern 'llama70b-*'"},
		{name: "malformed pattern", edits: map[string]func(string) string{cl: appendText(strings.Replace(newEntry, "gptoss-fp4-b200-vllm", "'gptoss-[fp4'", 1))},
			where: cl + ":7", phrase: "is malformed"},
		{name: "no trailing newline", edits: map[string]func(string) string{cl: appendText(strings.TrimSuffix(newEntry, "\n"))},
			where: cl + ":10", phrase: "does not end with a newline"},
		{name: "YAML syntax error", edits: map[string]func(string) string{cl: appendText("- config-keys: [gptoss-fp4-b200-vllm\n  description: [x]\n")},
			where: cl + ":6", phrase: "invalid YAML"},
		{name: "only a comment added", edits: map[string]func(string) string{cl: appendText("# nothing to run\n")},
			where: cl + ":6", phrase: "No valid YAML entries found in the changelog additions"},
		{name: "quoted number in a master config", edits: map[string]func(string) string{"configs/amd-master.yaml": replace("tp: 8", `tp: "8"`)},
			where: "configs/amd-master.yaml:13", phrase: "failed validation"},
		{name: "empty runner list", edits: map[string]func(string) string{"configs/runners.yaml": replace("b200:\n- 'b200-nv_0'", "b200: []")},
			where: "configs/runners.yaml:5", phrase: "cannot be an empty list"},
		// A warning for the sweeps (docs/generator.md#quirk-unknown-runner,
		// TestUnknownRunnerIsAWarning), an error in the PR gate.
		{name: "unknown runner in a master config", edits: map[string]func(string) string{"configs/amd-master.yaml": replace("runner: mi300x", "runner: mi300x-slurm")},
			where: "configs/amd-master.yaml:5:11", phrase: "uses runner 'mi300x-slurm', which is not a runner type in configs/runners.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newGitRepo(t)
			r.change(tt.edits)
			t.Chdir(r.dir)
			code, stdout, stderr := runCmd(t, cmdValidate, nil, "--base-ref", "base", "--head-ref", "HEAD",
				"--config-files", "configs/amd-master.yaml", "configs/nvidia-master.yaml")
			require.Equal(t, exitFail, code, stderr)
			assert.Empty(t, stdout)
			var msgs []string
			for _, l := range strings.Split(stderr, "\n") {
				if diagLine.MatchString(l) {
					msgs = append(msgs, l)
				}
			}
			require.Len(t, msgs, 1, "positioned messages in:\n%s", stderr)
			assert.True(t, strings.HasPrefix(msgs[0], tt.where+":"), "message %q, want it at %s", msgs[0], tt.where)
			assert.Contains(t, msgs[0], tt.phrase)
		})
	}
}

func TestValidateOK(t *testing.T) {
	tests := []struct {
		name    string
		edits   map[string]func(string) string
		hasWork string
	}{
		{name: "nothing changed", edits: nil, hasWork: "false"},
		{name: "config change only", edits: map[string]func(string) string{"configs/runners.yaml": appendText("h100:\n- 'h100-cw_0'\n")}, hasWork: "false"},
		{name: "new entry", edits: map[string]func(string) string{"perf-changelog.yaml": appendText("\n" + newEntry)}, hasWork: "true"},
		{name: "whitespace-only lines removed", edits: map[string]func(string) string{"perf-changelog.yaml": func(s string) string { return s + newEntry }}, hasWork: "true"},
		{name: "evals-only on a multi-node key", edits: map[string]func(string) string{"perf-changelog.yaml": appendText(
			"- config-keys: ['gptoss-*-dynamo-*']\n  description: [x]\n  pr-link: https://x\n  evals-only: true\n")}, hasWork: "false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newGitRepo(t)
			if tt.name == "whitespace-only lines removed" {
				// The base gets trailing blank lines that the head drops.
				r.change(map[string]func(string) string{"perf-changelog.yaml": appendText("\n  \n\n")})
				r.git("tag", "-f", "base")
				tt.edits = map[string]func(string) string{"perf-changelog.yaml": func(s string) string { return strings.TrimRight(s, " \n") + "\n" + newEntry }}
			}
			r.change(tt.edits)
			t.Chdir(r.dir)
			out := filepath.Join(t.TempDir(), "github_output")
			code, _, stderr := runCmd(t, cmdValidate, map[string]string{"GITHUB_OUTPUT": out},
				"--base-ref", "base", "--head-ref", "HEAD", "--config-files", "configs/amd-master.yaml", "configs/nvidia-master.yaml")
			require.Equal(t, exitOK, code, stderr)
			got, _ := os.ReadFile(out)
			assert.Regexp(t, `(?s)has-work<<\S+\n`+tt.hasWork+`\n`, string(got), "GITHUB_OUTPUT has-work")
		})
	}
}

// TestValidateRepo: this repository's own configs and changelog pass the gate, in the
// 2026-08 schema of configs/ and in the 2026-02 schema of their copy under testdata.
func TestValidateRepo(t *testing.T) {
	t.Chdir("..")
	for _, tt := range []struct{ dir, gen string }{{"configs", "2026-08"}, {"testdata/configs-2026-02", "2026-02"}} {
		code, _, stderr := runCmd(t, cmdValidate, nil, "--config-files", tt.dir+"/amd-master.yaml", tt.dir+"/nvidia-master.yaml",
			"--runner-config", tt.dir+"/runners.yaml")
		require.Equal(t, exitOK, code, "%s (%s): %s", tt.dir, tt.gen, stderr)
		t.Log(stderr)
	}
}

// 2026-08 changelog fields belong to 2026-08 configs: with 2026-02 ones they are unknown
// fields, with a hint that says why.
func TestValidateFieldsOfTheOtherGeneration(t *testing.T) {
	r := newGitRepo(t)
	r.change(map[string]func(string) string{"perf-changelog.yaml": appendText(newEntry + "  scenario-type: [fixed-seq-len]\n")})
	t.Chdir(r.dir)
	code, _, stderr := runCmd(t, cmdValidate, nil, "--config-files", "configs/amd-master.yaml", "configs/nvidia-master.yaml")
	require.Equal(t, exitFail, code, stderr)
	assert.Contains(t, stderr, "unknown field 'scenario-type' in changelog entry")
	assert.Contains(t, stderr, "belongs to 2026-08 changelogs")
	code, _, stderr = runCmd(t, cmdChangelog, nil, "--base-ref", "base", "--head-ref", "HEAD", "--changelog-file", "perf-changelog.yaml",
		"--config-files", "configs/amd-master.yaml", "configs/nvidia-master.yaml", "--trim-conc")
	require.Equal(t, exitUsage, code, stderr)
	assert.Contains(t, stderr, "argument --trim-conc: the configs are 2026-02")
}

// TestValidateAnnotations: inside GitHub Actions problems become ::error annotations.
func TestValidateAnnotations(t *testing.T) {
	r := newGitRepo(t)
	r.change(map[string]func(string) string{"perf-changelog.yaml": appendText(strings.Replace(newEntry, "b200", "h100", 1))})
	t.Chdir(r.dir)
	code, _, stderr := runCmd(t, cmdValidate, map[string]string{"GITHUB_ACTIONS": "true"},
		"--base-ref", "base", "--head-ref", "HEAD", "--config-files", "configs/amd-master.yaml", "configs/nvidia-master.yaml")
	require.Equal(t, exitFail, code, stderr)
	assert.Regexp(t, `(?m)^::error col=7,file=perf-changelog.yaml,line=7::Config key 'gptoss-fp4-h100-vllm' not found`, stderr)
}

// An absolute path ($GITHUB_WORKSPACE/perf-changelog.yaml) is annotated relative to the
// workspace, or GitHub would not attach the annotation to the file of the change.
func TestValidateAnnotationsAbsolutePath(t *testing.T) {
	r := newGitRepo(t)
	r.change(map[string]func(string) string{"perf-changelog.yaml": appendText(strings.Replace(newEntry, "b200", "h100", 1))})
	t.Chdir(r.dir)
	vars := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": r.dir}
	code, _, stderr := runCmd(t, cmdValidate, vars, "--base-ref", "base", "--head-ref", "HEAD",
		"--changelog-file", filepath.Join(r.dir, "perf-changelog.yaml"),
		"--config-files", filepath.Join(r.dir, "configs", "amd-master.yaml"), "configs/nvidia-master.yaml")
	require.Equal(t, exitFail, code, stderr)
	assert.Regexp(t, `(?m)^::error col=7,file=perf-changelog.yaml,line=7::Config key 'gptoss-fp4-h100-vllm' not found`, stderr)
}
