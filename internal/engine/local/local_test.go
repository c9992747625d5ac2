package local

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/testkit"
)

func TestProcessLogsAndExit(t *testing.T) {
	t.Parallel()
	log := filepath.Join(t.TempDir(), "server.log")
	b := New(Config{Environ: []string{"PATH=" + os.Getenv("PATH")}})
	srv, err := b.Start(context.Background(), engine.Spec{Name: "s", RunID: "r", Argv: []string{"sh", "-c", "echo hello $X; echo oops >&2; exit 3"},
		Env: []string{"X=world"}, LogPath: log})
	require.NoError(t, err)
	<-srv.Done()
	e := srv.Exit()
	assert.Equal(t, 3, e.Code, "exit")
	logged, err := os.ReadFile(log)
	require.NoError(t, err)
	assert.Equal(t, "hello world\noops\n", string(logged), "log")
}

// Stop must reach the children the engine started (a launcher script, mpirun, workers).
func TestStopKillsTheProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	b := New(Config{StopGrace: 500 * time.Millisecond})
	// The child ignores SIGTERM, so only the SIGKILL after the grace ends it.
	script := "sh -c 'trap \"\" TERM; echo $$ > " + pidFile + "; while :; do sleep 0.1; done' & wait"
	srv, err := b.Start(context.Background(), engine.Spec{Name: "s", RunID: "r", Argv: []string{"sh", "-c", script}, LogPath: filepath.Join(dir, "log")})
	require.NoError(t, err)
	var pid int
	for i := 0; i < 50 && pid == 0; i++ {
		time.Sleep(50 * time.Millisecond)
		b, _ := os.ReadFile(pidFile)
		pid = atoi(strings.TrimSpace(string(b)))
	}
	require.NotEqual(t, 0, pid, "child never started")
	start := time.Now()
	require.NoError(t, b.Cleanup(context.Background(), "r"))
	<-srv.Done()
	took := time.Since(start)
	t.Run("timing", func(t *testing.T) {
		testkit.Stress(t)
		assert.LessOrEqual(t, took, 5*time.Second, "stop took")
	})
	// The killed child is reaped by init, which may take a moment on a busy machine.
	if !assert.Eventually(t, func() bool { return !alive(pid) }, 30*time.Second, 20*time.Millisecond, "child survived Stop: pid %d", pid) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// alive reports whether pid runs; a zombie (killed, waiting for init to reap it) does not.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+1:])
	return len(f) > 0 && f[0] != "Z"
}
