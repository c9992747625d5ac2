package changelog

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/inferbench/inferbench/internal/execx"
)

// Git runs the few git commands the changelog needs, in one working directory.
type Git struct {
	Exec execx.Executor
	// Dir is the repository's working directory; empty means the current one.
	Dir string
	// Env, when non-nil, is the complete environment for git (see execx.Cmd.Env).
	Env []string
}

// GitError is a git command that failed; Error carries git's own message.
type GitError struct {
	Args   []string
	Stderr string
	Err    error
}

func (e *GitError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("git %s failed: %s", strings.Join(e.Args, " "), msg)
}

func (e *GitError) Unwrap() error { return e.Err }

func (g Git) run(ctx context.Context, args ...string) (string, error) {
	res, err := g.Exec.Run(ctx, execx.Cmd{Name: "git", Args: args, Dir: g.Dir, Env: g.Env})
	if err != nil {
		return "", &GitError{Args: args, Stderr: string(res.Stderr), Err: err}
	}
	return string(res.Stdout), nil
}

// Commit resolves ref to a commit id. A ref that does not name a commit is an error that says
// so, instead of the empty diff the reference silently got
// (docs/generator.md#quirk-git-errors).
func (g Git) Commit(ctx context.Context, ref string) (string, error) {
	if ref == "" {
		return "", errors.New("empty git ref")
	}
	out, err := g.run(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", ref+"^{commit}")
	if err != nil {
		var ee *execx.ExitError
		if errors.As(err, &ee) && ee.ExitCode == 1 && strings.TrimSpace(ee.Stderr) == "" {
			// --quiet turns "unknown revision" into a bare exit status 1.
			return "", fmt.Errorf("git ref %q does not name a commit in this repository (fetch it, or fix the name)", ref)
		}
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// MergeBase returns the best common ancestor of two commits.
func (g Git) MergeBase(ctx context.Context, a, b string) (string, error) {
	out, err := g.run(ctx, "merge-base", a, b)
	if err != nil {
		var ee *execx.ExitError
		if errors.As(err, &ee) && ee.ExitCode == 1 {
			return "", fmt.Errorf("commits %s and %s have no common ancestor (is the clone shallow? check out with fetch-depth: 0)", short(a), short(b))
		}
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// Diff returns `git diff` of one path between two commits, in a format that user or
// system configuration cannot change (no colour, no external diff or textconv driver).
func (g Git) Diff(ctx context.Context, from, to, path string) (string, error) {
	return g.run(ctx, "diff", "--no-color", "--no-ext-diff", "--no-textconv", "--text",
		"--no-renames", "--src-prefix=a/", "--dst-prefix=b/", from, to, "--", path)
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// Show returns the contents of path (relative to the working directory) at commit.
func (g Git) Show(ctx context.Context, commit, path string) ([]byte, error) {
	out, err := g.run(ctx, "show", "--no-textconv", commit+":./"+filepath.ToSlash(path))
	return []byte(out), err
}

// FileSize returns the size of path (relative to the working directory) at commit, and
// whether it is a file there at all.
func (g Git) FileSize(ctx context.Context, commit, path string) (int64, bool, error) {
	out, err := g.run(ctx, "ls-tree", "-l", commit, "--", filepath.ToSlash(path))
	if err != nil {
		return 0, false, err
	}
	// <mode> SP <type> SP <object> SP+ <size> TAB <path>
	meta, _, _ := strings.Cut(out, "\t")
	f := strings.Fields(meta)
	if len(f) != 4 || f[1] != "blob" {
		return 0, false, nil
	}
	size, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("git ls-tree: size %q of %s: %w", f[3], path, err)
	}
	return size, true, nil
}
