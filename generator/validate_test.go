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
	if err != nil {
		t.Fatal(err)
	}
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
	if err != nil {
		r.t.Fatal(err)
	}
	return string(b)
}

func (r *gitRepo) git(args ...string) {
	r.t.Helper()
	if _, err := (execx.OS{}).Run(context.Background(), execx.Cmd{Name: "git", Args: args, Dir: r.dir, Env: r.env}); err != nil {
		r.t.Fatalf("git %v: %v", args, err)
	}
}

// change rewrites files (rel path -> function of the old content) and commits.
func (r *gitRepo) change(edits map[string]func(string) string) {
	r.t.Helper()
	for rel, edit := range edits {
		if err := r.write(rel, edit(r.read(rel))); err != nil {
			r.t.Fatal(err)
		}
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
		{"edited line", map[string]func(string) string{cl: func(s string) string {
			return replace("Introduce the configs", "Introduce the new configs")(s) + newEntry
		}}, cl + ":4", "Deletions are not allowed"},
		{"deleted entry", map[string]func(string) string{cl: func(string) string { return "" }}, cl + ":1", "Deletions are not allowed"},
		{"missing pr-link", map[string]func(string) string{cl: appendText("- config-keys: [gptoss-fp4-b200-vllm]\n  description: [x]\n")}, cl + ":6", "lacks the required field 'pr-link'"},
		{"misspelt field", map[string]func(string) string{cl: appendText(strings.Replace(newEntry, "pr-link", "pr_link", 1))}, cl + ":10", "unknown field 'pr_link'"},
		{"duplicate field", map[string]func(string) string{cl: appendText(newEntry + "  pr-link: https://x\n")}, cl + ":11", "duplicate field 'pr-link'"},
		{"evals-only not a boolean", map[string]func(string) string{cl: appendText(newEntry + "  evals-only: yes\n")}, cl + ":11", "'evals-only' must be true or false"},
		{"empty config-keys", map[string]func(string) string{cl: appendText("- config-keys: []\n  description: [x]\n  pr-link: https://x\n")}, cl + ":6", "'config-keys' must not be empty"},
		{"description not a list", map[string]func(string) string{cl: appendText(strings.Replace(newEntry, "description:\n    - \"Bump vLLM\"", "description: Bump vLLM", 1))}, cl + ":8", "'description' must be a list of strings"},
		{"unknown key", map[string]func(string) string{cl: appendText(strings.Replace(newEntry, "b200", "h100", 1))}, cl + ":7", "Config key 'gptoss-fp4-h100-vllm' not found in master configs"},
		{"pattern without match", map[string]func(string) string{cl: appendText(strings.Replace(newEntry, "gptoss-fp4-b200-vllm", "'llama70b-*'", 1))}, cl + ":7", "No config keys matched the wildcard pattern 'llama70b-*'"},
		{"malformed pattern", map[string]func(string) string{cl: appendText(strings.Replace(newEntry, "gptoss-fp4-b200-vllm", "'gptoss-[fp4'", 1))}, cl + ":7", "is malformed"},
		{"no trailing newline", map[string]func(string) string{cl: appendText(strings.TrimSuffix(newEntry, "\n"))}, cl + ":10", "does not end with a newline"},
		{"YAML syntax error", map[string]func(string) string{cl: appendText("- config-keys: [gptoss-fp4-b200-vllm\n  description: [x]\n")}, cl + ":6", "invalid YAML"},
		{"only a comment added", map[string]func(string) string{cl: appendText("# nothing to run\n")}, cl + ":6", "No valid YAML entries found in the changelog additions"},
		{"quoted number in a master config", map[string]func(string) string{"configs/amd-master.yaml": replace("tp: 8", `tp: "8"`)}, "configs/amd-master.yaml:13", "failed validation"},
		{"empty runner list", map[string]func(string) string{"configs/runners.yaml": replace("b200:\n- 'b200-nv_0'", "b200: []")}, "configs/runners.yaml:5", "cannot be an empty list"},
		// A warning for the sweeps (spec Q-13, TestUnknownRunnerIsAWarning), an error in the PR gate.
		{"unknown runner in a master config", map[string]func(string) string{"configs/amd-master.yaml": replace("runner: mi300x", "runner: mi300x-slurm")}, "configs/amd-master.yaml:5:11", "uses runner 'mi300x-slurm', which is not a runner type in configs/runners.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newGitRepo(t)
			r.change(tt.edits)
			t.Chdir(r.dir)
			code, stdout, stderr := runCmd(t, cmdValidate, nil, "--base-ref", "base", "--head-ref", "HEAD",
				"--config-files", "configs/amd-master.yaml", "configs/nvidia-master.yaml")
			if code != exitFail {
				t.Fatalf("exit %d, want 1\n%s", code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			var msgs []string
			for _, l := range strings.Split(stderr, "\n") {
				if diagLine.MatchString(l) {
					msgs = append(msgs, l)
				}
			}
			if len(msgs) != 1 {
				t.Fatalf("%d positioned messages, want 1:\n%s", len(msgs), stderr)
			}
			if !strings.HasPrefix(msgs[0], tt.where+":") || !strings.Contains(msgs[0], tt.phrase) {
				t.Fatalf("message %q, want it at %s and containing %q", msgs[0], tt.where, tt.phrase)
			}
		})
	}
}

func TestValidateOK(t *testing.T) {
	tests := []struct {
		name    string
		edits   map[string]func(string) string
		hasWork string
	}{
		{"nothing changed", nil, "false"},
		{"config change only", map[string]func(string) string{"configs/runners.yaml": appendText("h100:\n- 'h100-cw_0'\n")}, "false"},
		{"new entry", map[string]func(string) string{"perf-changelog.yaml": appendText("\n" + newEntry)}, "true"},
		{"whitespace-only lines removed", map[string]func(string) string{"perf-changelog.yaml": func(s string) string { return s + newEntry }}, "true"},
		{"evals-only on a multi-node key", map[string]func(string) string{"perf-changelog.yaml": appendText(
			"- config-keys: ['gptoss-*-dynamo-*']\n  description: [x]\n  pr-link: https://x\n  evals-only: true\n")}, "false"},
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
			if code != exitOK {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			got, _ := os.ReadFile(out)
			if !regexp.MustCompile(`(?s)has-work<<\S+\n` + tt.hasWork + `\n`).Match(got) {
				t.Fatalf("GITHUB_OUTPUT lacks has-work=%s:\n%s", tt.hasWork, got)
			}
		})
	}
}

// TestValidateRepo: this repository's own configs and changelog pass the gate, in the
// 2026-08 schema of configs/ and in the 2026-02 schema of their copy under testdata.
func TestValidateRepo(t *testing.T) {
	for _, p := range []string{"../perf-changelog.yaml", "../configs/runners.yaml"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s not there yet", p)
		}
	}
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
	annotation := regexp.MustCompile(`(?m)^::error col=7,file=perf-changelog.yaml,line=7::Config key 'gptoss-fp4-h100-vllm' not found`)
	if code != exitFail || !annotation.MatchString(stderr) {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
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
	annotation := regexp.MustCompile(`(?m)^::error col=7,file=perf-changelog.yaml,line=7::Config key 'gptoss-fp4-h100-vllm' not found`)
	if code != exitFail || !annotation.MatchString(stderr) {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
}
