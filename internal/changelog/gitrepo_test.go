package changelog

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/execx"
)

// repo is a throw-away git repository for tests.
type repo struct {
	t   *testing.T
	dir string
	env []string
}

func newRepo(t *testing.T) *repo {
	t.Helper()
	dir := t.TempDir()
	home := t.TempDir()
	r := &repo{t: t, dir: dir, env: []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + filepath.Join(home, "gitconfig"),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid",
		"GIT_AUTHOR_DATE=2026-02-09T00:00:00Z", "GIT_COMMITTER_DATE=2026-02-09T00:00:00Z",
	}}
	r.git("init", "-q", "-b", "main")
	return r
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	res, err := execx.OS{}.Run(context.Background(), execx.Cmd{Name: "git", Args: args, Dir: r.dir, Env: r.env})
	require.NoError(r.t, err, "git %s", strings.Join(args, " "))
	return strings.TrimSpace(string(res.Stdout))
}

// commit writes the files and commits them; it returns the commit id.
func (r *repo) commit(msg string, files map[string]string) string {
	r.t.Helper()
	for name, body := range files {
		p := filepath.Join(r.dir, name)
		require.NoError(r.t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(r.t, os.WriteFile(p, []byte(body), 0o644))
	}
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

func (r *repo) gitter() Git { return Git{Exec: execx.OS{}, Dir: r.dir, Env: r.env} }

// entry renders one changelog entry.
func entry(pr int, evalsOnly bool, keys ...string) string {
	var b strings.Builder
	b.WriteString("- config-keys:\n")
	for _, k := range keys {
		b.WriteString("    - " + k + "\n")
	}
	b.WriteString("  description:\n    - \"entry\"\n")
	b.WriteString("  pr-link: https://github.com/inferbench/inferbench/pull/" + strconv.Itoa(pr) + "\n")
	if evalsOnly {
		b.WriteString("  evals-only: true\n")
	}
	return b.String()
}
