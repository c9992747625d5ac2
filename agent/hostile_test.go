package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/rowrun"
)

// countingServer counts the requests it gets; it answers none of them usefully.
func countingServer(t *testing.T) (string, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

func TestHostile03BenchHugeNumPromptsRefusedBeforeSending(t *testing.T) {
	t.Parallel()
	url, hits := countingServer(t)
	code, _, stderr := bench(t, "--base-url", url, "--model", "m", "--max-concurrency", "4", "--num-prompts", "922337203685477580",
		"--result-dir", t.TempDir(), "--progress", "none")
	assert.Equal(t, exitUsage, code, stderr)
	assert.Contains(t, stderr, "number of prompts 922337203685477580 must be within [1, 1000000]")
	assert.NotContains(t, stderr, "panic")
	assert.Zero(t, hits.Load(), "requests were sent")
}

func TestHostile12BenchResultDirCheckedBeforeTheLoad(t *testing.T) {
	t.Parallel()
	url, hits := countingServer(t)
	notADir := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(notADir, nil, 0o644))

	code, _, stderr := bench(t, "--base-url", url, "--model", "m", "--max-concurrency", "1", "--num-prompts", "2",
		"--result-dir", notADir, "--progress", "none")

	assert.Equal(t, exitUsage, code, stderr)
	assert.Contains(t, stderr, "--result-dir")
	assert.Zero(t, hits.Load(), "the load ran although its results could not be written")

	// A missing directory is created before the load.
	nested := filepath.Join(t.TempDir(), "a", "b")
	code, _, stderr = bench(t, "--base-url", url, "--model", "m", "--max-concurrency", "1", "--num-prompts", "2",
		"--result-dir", nested, "--result-filename", "r.json", "--progress", "none")
	assert.Equal(t, exitBenchFail, code, stderr)
	assert.FileExists(t, filepath.Join(nested, "r.json"))
}

func TestHostile07BenchResultFilenameConfined(t *testing.T) {
	t.Parallel()
	url, hits := countingServer(t)
	dir := t.TempDir()
	code, _, stderr := bench(t, "--base-url", url, "--model", "m", "--max-concurrency", "1", "--num-prompts", "2",
		"--result-dir", filepath.Join(dir, "out"), "--result-filename", "../../escaped.json", "--progress", "none")
	assert.Equal(t, exitUsage, code, stderr)
	assert.Contains(t, stderr, `--result-filename "../../escaped.json" must be a plain file name`)
	assert.Zero(t, hits.Load())
}

func TestHostile12RunFlagsCheckedBeforeAnythingStarts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--num-prompts", "-5"}, "--num-prompts -5 must be within"},
		{[]string{"--timeout", "-1s"}, "--timeout -1s must be positive"},
		{[]string{"--num-warmups", "-7"}, "--num-warmups -7 must be within"},
		{[]string{"--stop-grace", "-1s"}, "--stop-grace -1s must not be negative"},
		{[]string{"--stall-timeout", "-1m"}, "--stall-timeout -1m0s must not be negative"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stderr bytes.Buffer
			code := cmdRun(context.Background(), env{stdout: &bytes.Buffer{}, stderr: &stderr, getenv: func(string) string { return "" }}, tt.args)
			assert.Equal(t, exitUsage, code)
			assert.Contains(t, stderr.String(), tt.want)
		})
	}
}

func TestHostile12RunDefaultStopGraceFitsTheRunnersWindow(t *testing.T) {
	t.Parallel()
	// The runner sends SIGTERM 7.5 s after SIGINT: stopping the engine with this grace, and
	// removing it, must fit before that.
	assert.Less(t, rowrun.DefaultStopGrace.Seconds(), 7.5-2)
}

func TestHostile03CrashBelowMainExitsWithItsCause(t *testing.T) {
	commands["crash-for-test"] = command{"", func(context.Context, env, []string) int {
		var m map[string]int
		m["x"]++ // a nil map write: a bug
		return exitOK
	}}
	defer delete(commands, "crash-for-test")
	var stderr bytes.Buffer
	code := dispatch(context.Background(), env{stdout: &bytes.Buffer{}, stderr: &stderr, getenv: func(string) string { return "" }}, []string{"crash-for-test"})
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, stderr.String(), "agent: internal error (a bug, please report it): assignment to entry in nil map")
}
