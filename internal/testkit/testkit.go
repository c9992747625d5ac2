// Package testkit holds the helpers every test package shares: golden files with one
// -update flag, the integration gate, and the way tests find the reference vectors beside
// the repository. Only tests import it.
package testkit

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// update is the one -update flag: `go test ./... -update` rewrites every golden file.
var update = flag.Bool("update", false, "rewrite golden files instead of comparing with them")

// Golden compares got with the file at path (relative to the test's package directory) and
// fails with a line diff when they differ; with -update it writes got there instead.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Fatalf("golden file %s does not exist: run `go test -run '%s' -update` to create it", path, t.Name())
	}
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "golden file %s differs (- golden, + got); rerun with -update if the change is intended", path)
}

// IntegrationRequired reports whether missing real components (Docker, Slurm, Chromium,
// act, shellcheck) fail tests instead of skipping them: INFERBENCH_INTEGRATION=1, as CI sets.
func IntegrationRequired() bool { return os.Getenv("INFERBENCH_INTEGRATION") == "1" }

// Integration skips the test when the component it needs is not available, or fails it
// under INFERBENCH_INTEGRATION=1, where a silently skipped integration test would hide a
// broken CI machine. why says how to get the component.
func Integration(t testing.TB, component string, available bool, why string) {
	t.Helper()
	if available {
		return
	}
	if IntegrationRequired() {
		t.Fatalf("%s is not available and INFERBENCH_INTEGRATION=1 requires it: %s", component, why)
	}
	t.Skipf("%s is not available (%s); set INFERBENCH_INTEGRATION=1 to make this a failure", component, why)
}

// RepoRoot is the directory holding go.mod, found upwards from the test's directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "no go.mod above the test directory")
		dir = parent
	}
}

// Shared returns rel under the directory "shared" beside the repository: the reference's
// conformance vectors and files, which exist on the project's own machines but not in a fork
// or on a hosted runner. Where it is missing the test is skipped with a message naming what was skipped;
// INFERBENCH_SHARED overrides the location.
func Shared(t testing.TB, rel string) string {
	t.Helper()
	p, err := sharedPath(t, rel)
	if err != nil {
		noteSkipped(t, rel)
		t.Skipf("skipping %s: %v", t.Name(), err)
	}
	return p
}

// LookupShared is Shared for a test that still has something to check without the reference
// material: it returns false where rel is missing, and logs that the checks against it were
// skipped.
func LookupShared(t testing.TB, rel string) (string, bool) {
	t.Helper()
	p, err := sharedPath(t, rel)
	if err != nil {
		noteSkipped(t, rel)
		t.Logf("%s: skipping the checks against the reference: %v", t.Name(), err)
		return "", false
	}
	return p, true
}

// SkipLogEnv names a file to which Shared and LookupShared append one line per test that
// skipped checks for lack of the reference material, so that a CI run can list them at
// the end (.ci/run does) instead of leaving them to be found among the test output.
const SkipLogEnv = "INFERBENCH_SKIP_LOG"

// noteSkipped appends "<package dir> <test>: needs <rel>" to the skip log, if one is set.
// A log that cannot be written is reported but fails nothing: the skip itself is logged
// by the test either way.
func noteSkipped(t testing.TB, rel string) {
	t.Helper()
	path := os.Getenv(SkipLogEnv)
	if path == "" {
		return
	}
	pkg := "."
	if wd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(RepoRoot(t), wd); err == nil {
			pkg = filepath.ToSlash(r)
		}
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		// One short write per line: O_APPEND keeps lines from parallel test binaries whole.
		_, err = fmt.Fprintf(f, "%s %s: needs %s\n", pkg, t.Name(), rel)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		t.Logf("could not note the skip in %s=%s: %v", SkipLogEnv, path, err)
	}
}

func sharedPath(t testing.TB, rel string) (string, error) {
	t.Helper()
	root := os.Getenv("INFERBENCH_SHARED")
	if root == "" {
		root = filepath.Join(filepath.Dir(RepoRoot(t)), "shared")
	}
	p := filepath.Join(root, filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("the reference material %s is not beside the repository (%w)",
			strings.TrimPrefix(p, filepath.Dir(root)+string(filepath.Separator)), err)
	}
	return p, nil
}

// StressRequired reports whether wall-clock checks run: INFERBENCH_STRESS=1, as CI's stress
// step sets (.ci/run).
func StressRequired() bool { return os.Getenv("INFERBENCH_STRESS") == "1" }

// Stress skips the test unless INFERBENCH_STRESS=1. It marks checks of wall-clock time:
// timing accuracy (the client against the simulator's truth), budgets (a render in 2 s)
// and promptness ("stopped within 5 s"). On a busy machine these fail for reasons that are
// not bugs, so the default `go test ./...` leaves them out and CI runs them on their own,
// one package at a time (docs/robustness.md#stress). A test whose functional checks should
// still run by default puts its timing assertions in a subtest that calls Stress.
func Stress(t testing.TB) {
	t.Helper()
	if !StressRequired() {
		t.Skip("wall-clock check: runs with INFERBENCH_STRESS=1 (CI's stress step), not in the default go test ./...")
	}
}
