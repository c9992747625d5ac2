package local

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/procfs"
)

// An engine child that calls setsid() leaves the process group Stop signals; it still
// carries the launch token, by which Stop finds and ends it.
func TestHostile12SetsidChildDoesNotSurviveStop(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("setsid is not installed")
	}
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	b := New(Config{Environ: []string{"PATH=" + os.Getenv("PATH")}, StopGrace: 2 * time.Second})
	token := fmt.Sprintf("setsid-%d", time.Now().UnixNano())
	script := "setsid sh -c 'echo $$ > " + pidFile + "; trap \"\" TERM; exec sleep 300' & wait"
	srv, err := b.Start(context.Background(), engine.Spec{Name: "s", RunID: "r", Argv: []string{"sh", "-c", script},
		LogPath: filepath.Join(dir, "log"), Token: token, Env: []string{engine.EnvLaunch + "=" + token}})
	require.NoError(t, err)
	var pid int
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(pidFile)
		pid = atoi(strings.TrimSpace(string(b)))
		return pid > 0 && alive(pid)
	}, 30*time.Second, 20*time.Millisecond, "the setsid child never started")
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	p, err := procfs.Host.Read(pid)
	require.NoError(t, err)
	require.Equal(t, pid, p.SID, "the child must have its own session for this test to mean anything")

	require.NoError(t, srv.Stop(context.Background()))

	assert.False(t, alive(pid), "the setsid child %d survived Stop", pid)
}

// Processes whose agent is gone are killed with their whole launch; a live agent's are not.
func TestHostile09ReapOnlyProcessesOfGoneAgents(t *testing.T) {
	t.Parallel()
	self := procfs.Host.Self()
	parent, err := procfs.Host.Read(os.Getppid())
	require.NoError(t, err)
	live := procfs.Owner{Host: self.Host, PID: parent.PID, Start: parent.StartTicks, Boot: self.Boot}
	exited := procfs.Owner{Host: self.Host, PID: 99_999_999, Start: 1, Boot: self.Boot}
	start := func(owner procfs.Owner, token string) *exec.Cmd {
		cmd := exec.Command("sleep", "300")
		cmd.Env = []string{engine.EnvOwner + "=" + owner.String(), engine.EnvLaunch + "=" + token}
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	tag := fmt.Sprintf("%d", time.Now().UnixNano())
	orphan := start(exited, "orphan-"+tag)
	orphanChild := start(exited, "orphan-"+tag)
	kept := start(live, "live-"+tag)
	b := New(Config{})

	lines, err := b.Reap(context.Background(), self.String())

	require.NoError(t, err)
	for _, c := range []*exec.Cmd{orphan, orphanChild} {
		_ = c.Wait()
		assert.Equal(t, "signal: killed", c.ProcessState.String())
	}
	assert.True(t, alive(kept.Process.Pid), "a live agent's engine was killed")
	joined := strings.Join(lines, "\n")
	assert.Contains(t, joined, fmt.Sprintf("killed leftover engine process pid %d (sleep 300): its agent (pid 99999999) has exited", orphan.Process.Pid))
	assert.NotContains(t, joined, fmt.Sprintf("pid %d ", kept.Process.Pid))
}
