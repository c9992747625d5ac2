package procfs

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	_ "github.com/inferbench/inferbench/internal/testkit" // defines -update, so `go test ./... -update` runs here too
)

// fakeProc writes a /proc tree: files relative to its root.
func fakeProc(t *testing.T, files map[string]string) FS {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return FS{Root: root}
}

const tcpHeader = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"

func TestListeners(t *testing.T) {
	t.Parallel()
	fs := fakeProc(t, map[string]string{
		"net/tcp": tcpHeader +
			"   0: 0100007F:22B8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0 100 0 0 10 0\n" +
			"   1: 0100007F:22B8 0100007F:A000 01 00000000:00000000 00:00000000 00000000  1000        0 4343 1 0 100 0 0 10 0\n" +
			"   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5555 1 0 100 0 0 10 0\n",
		"net/tcp6": tcpHeader +
			"   0: 00000000000000000000000000000000:22B8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  0 0 6666 1 0 100 0 0 10 0\n",
	})
	ls, err := fs.Listeners(8888)
	require.NoError(t, err)
	assert.Equal(t, []Listener{{Addr: "127.0.0.1", Port: 8888, Inode: 4242, UID: 1000}, {Addr: "::", Port: 8888, Inode: 6666, UID: 0}}, ls)
	ls, err = fs.Listeners(9999)
	require.NoError(t, err)
	assert.Empty(t, ls)
	_, err = FS{Root: t.TempDir()}.Listeners(1)
	assert.Error(t, err, "no socket tables at all")
}

func TestReadStat(t *testing.T) {
	t.Parallel()
	id := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	fs := fakeProc(t, map[string]string{
		"42/stat":    "42 (python3 (vllm) x) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 987654 0 0",
		"42/cmdline": "python3\x00-m\x00vllm.entrypoints.openai.api_server\x00",
		"42/cgroup":  "12:pids:/docker/" + id + "\n",
		"43/stat":    "43 (defunct) Z 42 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 987655 0 0",
	})
	p, err := fs.Read(42)
	require.NoError(t, err)
	assert.Equal(t, Proc{PID: 42, PPID: 1, PGID: 42, SID: 42, Comm: "python3 (vllm) x", Cmdline: "python3 -m vllm.entrypoints.openai.api_server",
		StartTicks: 987654, ContainerID: id}, p)
	assert.Equal(t, "pid 42 (python3 -m vllm.entrypoints.openai.api_server) in container 0123456789ab", p.Describe())
	z, err := fs.Read(43)
	require.NoError(t, err)
	assert.True(t, z.Zombie)
	_, err = fs.Read(44)
	assert.ErrorIs(t, err, ErrNoProcess)
}

func TestOwnerRoundTripAndGone(t *testing.T) {
	t.Parallel()
	fs := fakeProc(t, map[string]string{"100/stat": "100 (agent) S 1 100 100 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5000 0 0"})
	self := Owner{Host: "gpu-1", PID: 7, Start: 1, Boot: "b1"}
	live := Owner{Host: "gpu-1", PID: 100, Start: 5000, Boot: "b1"}
	back, err := ParseOwner(live.String())
	require.NoError(t, err)
	assert.Equal(t, live, back)
	for _, bad := range []string{"", "gpu-1:x:1:b", "gpu-1:1:1", ":1:1:b"} {
		_, err := ParseOwner(bad)
		assert.Error(t, err, bad)
	}
	tests := []struct {
		name  string
		owner Owner
		gone  bool
		why   string
	}{
		{"live", live, false, "its agent (pid 100 on gpu-1) is running"},
		{"exited", Owner{Host: "gpu-1", PID: 101, Start: 5000, Boot: "b1"}, true, "its agent (pid 101) has exited"},
		{"pid reused", Owner{Host: "gpu-1", PID: 100, Start: 4000, Boot: "b1"}, true, "the pid now belongs to pid 100 (agent)"},
		{"rebooted", Owner{Host: "gpu-1", PID: 100, Start: 5000, Boot: "b0"}, true, "ran before this host rebooted"},
		{"another host", Owner{Host: "gpu-2", PID: 101, Start: 1, Boot: "b9"}, false, "its agent runs on host gpu-2"},
	}
	for _, tt := range tests {
		gone, why := fs.Gone(tt.owner, self)
		assert.Equal(t, tt.gone, gone, tt.name)
		assert.Contains(t, why, tt.why, tt.name)
	}
}

// On this machine: the test's own listener is found with this process as its holder, and
// this process's owner identity says it is alive.
func TestHostPortHoldersAndSelf(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc here")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	hs, _, err := Host.PortHolders(ln.Addr().(*net.TCPAddr).Port)
	require.NoError(t, err)
	require.Len(t, hs, 1)
	require.Len(t, hs[0].Procs, 1)
	assert.Equal(t, os.Getpid(), hs[0].Procs[0].PID)
	self := Host.Self()
	assert.Equal(t, os.Getpid(), self.PID)
	gone, why := Host.Gone(self, self)
	assert.False(t, gone, why)
}
