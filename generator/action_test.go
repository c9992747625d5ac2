package main

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/testkit"
)

// These tests run the root action.yml under nektos/act (`-P ubuntu-latest=-self-hosted`
// runs the jobs on this machine, no Docker). act cannot fetch remote actions, so the test
// workflows use run: steps and the local ./ action only, and HTTPS_PROXY points at a dead
// loopback port to keep any stray fetch off the network.

// requireAct returns act's path, behind the integration gate.
func requireAct(t *testing.T) string {
	t.Helper()
	p, err := execx.LookPath("act")
	testkit.Integration(t, "act", err == nil, "go install github.com/nektos/act@v0.2.89")
	return p
}

// The changelog file name and the inputs carry shell metacharacters. If any of them
// reached a shell, `pwned` would appear or `victim` would vanish.
const (
	evilFile   = `pwn $(touch pwned) "; rm -rf victim".yaml`
	evilQuoted = `'pwn $(touch pwned) "; rm -rf victim".yaml'`
)

const actionWorkflow = `name: action-under-test
on: push
jobs:
  generate:
    runs-on: ubuntu-latest
    steps:
      - name: Check out (copy of the test repository)
        run: cp -a "$SRC/." .

      - name: changelog through the action
        id: cl
        uses: ./
        with:
          generator: ${{ env.GEN }}
          command: changelog --base-ref base --head-ref HEAD --changelog-file perf-changelog.yaml --max-jobs 2
          args: --config-files configs/amd-master.yaml configs/nvidia-master.yaml --runner-config configs/runners.yaml

      - name: injection attempts reach the generator as text
        id: inj
        continue-on-error: true
        uses: ./
        with:
          generator: ${{ env.GEN }}
          command: changelog --base-ref '$(touch pwned)' --head-ref "\"; rm -rf victim; echo \"" --changelog-file perf-changelog.yaml
          args: --config-files configs/amd-master.yaml configs/nvidia-master.yaml --runner-config configs/runners.yaml

      - name: unquoted injection attempts are words, not code
        id: inj2
        continue-on-error: true
        uses: ./
        with:
          generator: ${{ env.GEN }}
          command: validate $(touch pwned) ; rm -rf victim ` + "`touch pwned`" + ` && touch pwned | touch pwned

      - name: a file name full of metacharacters is read literally
        id: lit
        uses: ./
        with:
          generator: ${{ env.GEN }}
          command: validate --changelog-file ` + evilQuoted + `
          args: --config-files configs/amd-master.yaml configs/nvidia-master.yaml --runner-config configs/runners.yaml

      - name: report
        if: always()
        env:
          HAS_WORK: ${{ steps.cl.outputs.has-work }}
          MATRIX: ${{ steps.cl.outputs.matrix }}
          SINGLE_1K1K: ${{ steps.cl.outputs.single-node-1k1k }}
          MULTI_1K1K: ${{ steps.cl.outputs.multi-node-1k1k }}
          METADATA: ${{ steps.cl.outputs.changelog-metadata }}
          INJ_OUTCOME: ${{ steps.inj.outcome }}
          INJ2_OUTCOME: ${{ steps.inj2.outcome }}
          LIT_OUTCOME: ${{ steps.lit.outcome }}
          LIT_ENTRIES: ${{ steps.lit.outputs.added-entries }}
        run: |
          for v in HAS_WORK MATRIX SINGLE_1K1K MULTI_1K1K METADATA INJ_OUTCOME INJ2_OUTCOME LIT_OUTCOME LIT_ENTRIES; do
            printf '%s' "${!v}" > "$REPORT/$v"
          done
          if [ -e pwned ]; then echo yes > "$REPORT/PWNED"; fi
          if [ -f victim/keep ]; then echo yes > "$REPORT/VICTIM_KEPT"; fi
`

func TestActionUnderAct(t *testing.T) {
	t.Parallel()
	act := requireAct(t)
	src := t.TempDir()
	r := &gitRepo{t: t, dir: src, env: gitEnv(t)}
	copyTree(t, filepath.Join("testdata", "changelog"), src)
	copyFile(t, filepath.Join("..", "action.yml"), filepath.Join(src, "action.yml"))
	writeFile(t, filepath.Join(src, ".github", "workflows", "action.yml"), actionWorkflow)
	writeFile(t, filepath.Join(src, "victim", "keep"), "")
	r.git("init", "-q", "-b", "main")
	r.git("add", "-A")
	r.git("commit", "-q", "-m", "base")
	r.git("tag", "base")
	r.change(map[string]func(string) string{
		"perf-changelog.yaml": appendText(newEntry + "- config-keys: ['gptoss-fp4-*-dynamo-trt']\n  description: [multi-node]\n  pr-link: https://x\n"),
	})
	writeFile(t, filepath.Join(src, evilFile), r.read("perf-changelog.yaml"))

	report := t.TempDir()
	res, err := runAct(t, act, src, "--env", "SRC="+src, "--env", "GEN="+helperGenerator(t), "--env", "REPORT="+report)
	log := string(res.Stdout) + string(res.Stderr)
	require.NoError(t, err, "act:\n%s", log)
	got := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(report, name))
		return string(b)
	}
	require.Empty(t, got("PWNED"), "an input was executed by a shell: pwned exists\n%s", log)
	require.NotEmpty(t, got("VICTIM_KEPT"), "an input was executed by a shell: victim removed\n%s", log)
	checks := []struct{ what, got, want string }{
		{"has-work", got("HAS_WORK"), "true"},
		{"injection step outcome", got("INJ_OUTCOME"), "failure"},
		{"unquoted injection step outcome", got("INJ2_OUTCOME"), "failure"},
		{"literal file name step outcome", got("LIT_OUTCOME"), "success"},
		{"literal file name: added entries (no refs: 0)", got("LIT_ENTRIES"), "0"},
	}
	for _, c := range checks {
		assert.Equal(t, c.want, c.got, c.what)
	}
	for _, p := range []struct{ output, got, prefix string }{
		{output: "matrix", got: got("MATRIX"), prefix: `{"shard_count":1,"shard_index":[0],"shards":[[{"image":"vllm/vllm-openai:v0.13.0"`},
		{output: "single-node-1k1k", got: got("SINGLE_1K1K"), prefix: `[]`},
		{output: "changelog-metadata", got: got("METADATA"), prefix: `{"base_ref":"base","head_ref":"HEAD","entries":[{"config-keys":["gptoss-fp4-b200-vllm"]`},
	} {
		assert.True(t, strings.HasPrefix(p.got, p.prefix), "output %s = %q does not start with %q", p.output, p.got, p.prefix)
	}
	assert.Contains(t, got("MULTI_1K1K"), `"prefill":{"num-worker":1`, "multi-node-1k1k")
	// The generator saw the refs verbatim: its own error message quotes them.
	for _, lit := range []string{
		`git ref "$(touch pwned)" does not name a commit`,
		`git ref "\"; rm -rf victim; echo \"" does not name a commit`,
		"unrecognized arguments: $(touch pwned) ; rm -rf victim `touch pwned` && touch pwned | touch pwned",
	} {
		assert.Contains(t, log, lit, "act log")
	}
}

func runAct(t *testing.T, act, dir string, extra ...string) (execx.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append([]string{"push", "-W", ".github/workflows/action.yml", "-P", "ubuntu-latest=-self-hosted"}, extra...)
	// act keeps each run's workspace under $XDG_CACHE_HOME/act; a temporary cache home
	// cleans it up with the test. GOCACHE stays where it was, so go build stays warm.
	gocache, err := execx.OS{}.Run(ctx, execx.Cmd{Name: "go", Args: []string{"env", "GOCACHE"}})
	require.NoError(t, err, "go env GOCACHE")
	env := append(os.Environ(), "HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "NO_PROXY=",
		"XDG_CACHE_HOME="+t.TempDir(), "GOCACHE="+strings.TrimSpace(string(gocache.Stdout)))
	return execx.OS{}.Run(ctx, execx.Cmd{Name: act, Args: args, Dir: dir, Env: env})
}

func gitEnv(t *testing.T) []string {
	home := t.TempDir()
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + filepath.Join(home, "gitconfig"),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid",
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	writeFile(t, to, string(b))
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		copyFile(t, p, filepath.Join(to, rel))
		return nil
	})
	require.NoError(t, err)
}

const buildWorkflow = `name: action-under-test
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - name: Check out (copy of the test repository)
        run: cp -a "$SRC/." .
      - name: the action builds the generator from its own source
        id: gen
        uses: ./
        with:
          command: test-config --config-keys gptoss-fp4-h200-vllm --config-files configs/nvidia-master.yaml --runner-config configs/runners.yaml
      - name: report
        env:
          MATRIX: ${{ steps.gen.outputs.matrix }}
        run: printf '%s' "$MATRIX" > "$REPORT/MATRIX"
`

// TestActionBuildsGenerator runs the action without a prebuilt binary: it must build
// ./generator from the action's own source and run it.
func TestActionBuildsGenerator(t *testing.T) {
	t.Parallel()
	act := requireAct(t)
	if testing.Short() {
		t.Skip("builds the generator under act")
	}
	src := t.TempDir()
	copyModuleSource(t, src)
	copyTree(t, filepath.Join("testdata", "changelog", "configs"), filepath.Join(src, "configs"))
	copyFile(t, filepath.Join("..", "action.yml"), filepath.Join(src, "action.yml"))
	writeFile(t, filepath.Join(src, ".github", "workflows", "action.yml"), buildWorkflow)
	report := t.TempDir()
	res, err := runAct(t, act, src, "--env", "SRC="+src, "--env", "REPORT="+report)
	log := string(res.Stdout) + string(res.Stderr)
	require.NoError(t, err, "act:\n%s", log)
	got, _ := os.ReadFile(filepath.Join(report, "MATRIX"))
	assert.True(t, strings.HasPrefix(string(got), `[{"image": "vllm/vllm-openai:v0.13.0"`), "matrix output = %q\n%s", got, log)
}

// copyModuleSource copies go.mod, go.sum and the non-test Go files of every package of
// this module that ./generator needs, so that the copy builds it.
func copyModuleSource(t *testing.T, to string) {
	t.Helper()
	res, err := execx.OS{}.Run(context.Background(), execx.Cmd{Name: "go", Args: []string{"list", "-deps",
		"-f", "{{if .Module}}{{if .Module.Main}}{{.Dir}}{{end}}{{end}}", "."}})
	require.NoError(t, err, "go list")
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	for _, f := range []string{"go.mod", "go.sum"} {
		copyFile(t, filepath.Join(root, f), filepath.Join(to, f))
	}
	for _, dir := range strings.Fields(string(res.Stdout)) {
		rel, err := filepath.Rel(root, dir)
		require.NoError(t, err)
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if !strings.HasSuffix(f, "_test.go") {
				copyFile(t, f, filepath.Join(to, rel, filepath.Base(f)))
			}
		}
	}
}
