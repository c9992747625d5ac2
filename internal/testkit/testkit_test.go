package testkit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is a testing.TB that records failures instead of stopping the real test.
type recorder struct {
	testing.TB
	failed, skipped bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(f string, a ...any) {
	r.failed, r.msg = true, f
	panic(r)
}
func (r *recorder) Errorf(f string, a ...any) { r.failed, r.msg = true, f }
func (r *recorder) FailNow()                  { r.failed = true; panic(r) }
func (r *recorder) Skipf(f string, a ...any) {
	r.skipped, r.msg = true, f
	panic(r)
}

func run(t *testing.T, f func(tb testing.TB)) *recorder {
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil && p != r {
				panic(p)
			}
		}()
		f(r)
	}()
	return r
}

// TestGolden runs both modes whatever the command line said (go test ./... -update must
// pass here too); it is not parallel because it sets the flag.
func TestGolden(t *testing.T) {
	defer func(was bool) { *update = was }(*update)
	*update = false
	dir := t.TempDir()
	path := filepath.Join(dir, "x.golden")
	require.NoError(t, os.WriteFile(path, []byte("a\nb\n"), 0o644))

	assert.False(t, run(t, func(tb testing.TB) { Golden(tb, path, []byte("a\nb\n")) }).failed)
	assert.True(t, run(t, func(tb testing.TB) { Golden(tb, path, []byte("a\nc\n")) }).failed)
	missing := run(t, func(tb testing.TB) { Golden(tb, filepath.Join(dir, "none"), nil) })
	assert.True(t, missing.failed)
	assert.Contains(t, missing.msg, "-update")

	*update = true
	assert.False(t, run(t, func(tb testing.TB) { Golden(tb, path, []byte("a\nc\n")) }).failed)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "a\nc\n", string(b), "-update rewrites the golden")
}

func TestIntegration(t *testing.T) {
	t.Setenv("INFERBENCH_INTEGRATION", "")
	assert.True(t, run(t, func(tb testing.TB) { Integration(tb, "docker", false, "x") }).skipped)
	assert.False(t, run(t, func(tb testing.TB) { Integration(tb, "docker", true, "x") }).skipped)
	t.Setenv("INFERBENCH_INTEGRATION", "1")
	assert.True(t, run(t, func(tb testing.TB) { Integration(tb, "docker", false, "x") }).failed)
}

func TestShared(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "conformance", "case1"), 0o755))
	t.Setenv("INFERBENCH_SHARED", dir)
	skipLog := filepath.Join(t.TempDir(), "skipped")
	t.Setenv(SkipLogEnv, skipLog)
	r := run(t, func(tb testing.TB) { Shared(tb, "conformance/nothing") })
	assert.True(t, r.skipped)
	assert.Equal(t, filepath.Join(dir, "conformance", "case1"), Shared(t, "conformance/case1"))

	_, ok := LookupShared(t, "conformance/nothing")
	assert.False(t, ok, "a missing directory is reported missing")
	p, ok := LookupShared(t, "conformance/case1")
	assert.True(t, ok)
	assert.Equal(t, filepath.Join(dir, "conformance", "case1"), p)

	// Both misses, and only they, are in the skip log, named by package and test.
	b, err := os.ReadFile(skipLog)
	require.NoError(t, err)
	assert.Equal(t, "internal/testkit TestShared: needs conformance/nothing\n"+
		"internal/testkit TestShared: needs conformance/nothing\n", string(b))
}
