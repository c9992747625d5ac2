package slurm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/execx"
)

// cluster is a fake Slurm + enroot: salloc grants job 42 on node gpu-7, `unsquashfs -l`
// accepts a file that holds "SQUASH", `enroot import` writes importContent.
type cluster struct {
	*execx.Fake
	importContent string
	imports       int
}

func newCluster(t *testing.T) *cluster {
	c := &cluster{Fake: &execx.Fake{}, importContent: "SQUASH"}
	c.OnFunc([]string{"salloc"}, func(context.Context, execx.Cmd) (execx.Result, error) {
		return execx.Result{Stderr: []byte("salloc: Granted job allocation 42\n")}, nil
	})
	c.On([]string{"scontrol", "show", "job", "42"}, "JobId=42 JobName=x\n   NodeList=gpu-7 BatchHost=gpu-7\n", 0)
	c.OnFunc([]string{"srun", "--jobid=42", "--ntasks=1", "--overlap", "unsquashfs", "-l"}, func(_ context.Context, cmd execx.Cmd) (execx.Result, error) {
		b, err := os.ReadFile(cmd.Args[len(cmd.Args)-1])
		if err != nil || string(b) != "SQUASH" {
			return execx.Result{Stderr: []byte("FATAL ERROR: Can't find a valid SQUASHFS superblock"), ExitCode: 1}, nil
		}
		return execx.Result{Stdout: []byte("squashfs-root\n")}, nil
	})
	c.OnFunc([]string{"srun", "--jobid=42", "--ntasks=1", "--overlap", "enroot", "import", "-o"}, func(_ context.Context, cmd execx.Cmd) (execx.Result, error) {
		c.imports++
		path := cmd.Args[len(cmd.Args)-2]
		if _, err := os.Stat(path); err == nil {
			return execx.Result{Stderr: []byte("[ERROR] File already exists"), ExitCode: 1}, nil
		}
		return execx.Result{}, os.WriteFile(path, []byte(c.importContent), 0o644)
	})
	c.On([]string{"sh", "-c", `exec "$@" >>"$0" 2>&1`}, "", 0) // the server step, logging to a file
	c.On([]string{"scancel", "42"}, "", 0)
	c.On([]string{"squeue", "-h", "-j", "42"}, "", 0)
	return c
}

func (c *cluster) backend(squash string) *Backend {
	return New(Config{Exec: c, Starter: c, Partition: "dgx-b200", Exclusive: true, Immediate: 30, SquashDir: squash,
		Container: Container{RemapRoot: true, Writable: true}, LockWait: 3 * time.Second, StopGrace: time.Second})
}

func spec(dir string) engine.Spec {
	return engine.Spec{Name: "inferbench-run1-1", RunID: "run1", Image: "nvcr.io#nvidia/tensorrt-llm/release:1.2.0rc6",
		Argv: []string{"trtllm-serve", "m"}, GPUs: 8, Workdir: "/workspace", LogPath: filepath.Join(dir, "server.log"),
		Mounts: []engine.Mount{{Host: dir, Container: "/workspace"}, {Host: "/raid/hf", Container: "/mnt/hf", ReadOnly: true}}}
}

func lines(c *cluster) string { return strings.Join(c.CallLines(), "\n") }

func TestSquashPath(t *testing.T) {
	t.Parallel()
	got := SquashPath("/raid/squash", "nvcr.io#nvidia/tensorrt-llm/release:1.2.0rc6@sha256:ab")
	require.Equal(t, "/raid/squash/nvcr.io_nvidia_tensorrt-llm_release_1.2.0rc6_sha256_ab.sqsh", got)
}

func TestStartImportsIntoSquashCacheAndRunsPyxisStep(t *testing.T) {
	t.Parallel()
	dir, squash := t.TempDir(), t.TempDir()
	c := newCluster(t)
	srv, err := c.backend(squash).Start(context.Background(), spec(dir))
	require.NoError(t, err)
	<-srv.Done()
	sq := SquashPath(squash, "nvcr.io#nvidia/tensorrt-llm/release:1.2.0rc6")
	want := []string{
		"salloc --no-shell --job-name=inferbench-run1-1 --time=180 --partition=dgx-b200 --gres=gpu:8 --exclusive --immediate=30",
		"scontrol show job 42",
		"srun --jobid=42 --ntasks=1 --overlap unsquashfs -l " + sq,
		"srun --jobid=42 --ntasks=1 --overlap enroot import -o " + sq + " 'docker://nvcr.io#nvidia/tensorrt-llm/release:1.2.0rc6'",
		"srun --jobid=42 --ntasks=1 --overlap unsquashfs -l " + sq,
		"sh -c 'exec \"$@\" >>\"$0\" 2>&1' " + dir + "/server.log srun --jobid=42 --ntasks=1 --export=ALL --container-image=" + sq + " --container-name=inferbench-run1-1 --container-mounts=" + dir + ":/workspace,/raid/hf:/mnt/hf:ro --container-workdir=/workspace --no-container-entrypoint --no-container-mount-home --container-remap-root --container-writable trtllm-serve m",
	}
	got := c.CallLines()
	assert.Equal(t, want, got, "calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	info := srv.Info()
	assert.Equal(t, "42", info.ID)
	assert.Equal(t, "gpu-7", info.Node)
	assert.Equal(t, "gpu-7", info.Host)
	_, err = os.Stat(sq + ".lock")
	assert.True(t, os.IsNotExist(err), "lock file left behind: %v", err)
	require.NoError(t, srv.Stop(context.Background()))
	assert.Contains(t, lines(c), "scancel 42", "Stop did not scancel the job")
}

func TestSquashCache(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		existing    string // content of the squash file before the run; "" = absent
		imported    string // what enroot import writes
		wantImports int
		wantErr     string
		wantFile    string // content afterwards; "" = absent
	}{
		{name: "hit", existing: "SQUASH", imported: "SQUASH", wantImports: 0, wantFile: "SQUASH"},
		{name: "absent", imported: "SQUASH", wantImports: 1, wantFile: "SQUASH"},
		{name: "corrupt file is re-imported", existing: "truncated", imported: "SQUASH", wantImports: 1, wantFile: "SQUASH"},
		{name: "import gives a corrupt file", imported: "garbage", wantImports: 1, wantErr: "unsquashfs cannot read", wantFile: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, squash := t.TempDir(), t.TempDir()
			sq := SquashPath(squash, spec(dir).Image)
			if tt.existing != "" {
				require.NoError(t, os.WriteFile(sq, []byte(tt.existing), 0o644))
			}
			c := newCluster(t)
			c.importContent = tt.imported
			_, err := c.backend(squash).Start(context.Background(), spec(dir))
			if tt.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tt.wantErr)
				assert.Contains(t, lines(c), "scancel 42", "a failed start must cancel its allocation")
			}
			assert.Equal(t, tt.wantImports, c.imports)
			b, _ := os.ReadFile(sq)
			assert.Equal(t, tt.wantFile, string(b), "squash file holds")
		})
	}
}

func TestSquashLockWaitsForOtherRunner(t *testing.T) {
	dir, squash := t.TempDir(), t.TempDir()
	lock := SquashPath(squash, spec(dir).Image) + ".lock"
	require.NoError(t, os.WriteFile(lock, []byte("other-host 1\n"), 0o644))
	go func() { time.Sleep(700 * time.Millisecond); os.Remove(lock) }()
	c := newCluster(t)
	start := time.Now()
	_, err := c.backend(squash).Start(context.Background(), spec(dir))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 600*time.Millisecond, "did not wait for the other runner's lock")
}

func TestSquashLockTimeoutAndStaleLock(t *testing.T) {
	dir, squash := t.TempDir(), t.TempDir()
	lock := SquashPath(squash, spec(dir).Image) + ".lock"
	require.NoError(t, os.WriteFile(lock, nil, 0o644))
	c := newCluster(t)
	b := c.backend(squash)
	b.cfg.LockWait = 600 * time.Millisecond
	_, err := b.Start(context.Background(), spec(dir))
	require.ErrorContains(t, err, "still held", "err = %v, want lock timeout", err)
	old := time.Now().Add(-3 * time.Hour)
	require.NoError(t, os.Chtimes(lock, old, old))
	_, err = newCluster(t).backend(squash).Start(context.Background(), spec(dir))
	require.NoError(t, err, "stale lock not broken")
}

func TestNoSquashDirHandsImageToPyxis(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := newCluster(t)
	srv, err := c.backend("").Start(context.Background(), spec(dir))
	require.NoError(t, err)
	<-srv.Done()
	l := lines(c)
	assert.NotContains(t, l, "enroot", "calls")
	assert.Contains(t, l, "'--container-image=nvcr.io#nvidia/tensorrt-llm/release:1.2.0rc6'", "calls")
}

func TestNonContainerStep(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := newCluster(t)
	s := spec(dir)
	s.Image, s.Workdir, s.GPUs = "", dir, 0
	srv, err := c.backend("").Start(context.Background(), s)
	require.NoError(t, err)
	<-srv.Done()
	calls := c.CallLines()
	assert.NotContains(t, calls[0], "--gres", "no GPUs asked, yet")
	last := calls[len(calls)-1]
	assert.True(t, strings.HasSuffix(last, "server.log srun --jobid=42 --ntasks=1 --export=ALL --chdir="+dir+" trtllm-serve m"), "step = %s", last)
}

func TestSallocFailureIsReported(t *testing.T) {
	t.Parallel()
	c := &cluster{Fake: &execx.Fake{}}
	c.OnFunc([]string{"salloc"}, func(context.Context, execx.Cmd) (execx.Result, error) {
		return execx.Result{Stderr: []byte("salloc: error: Unable to allocate resources: Requested node configuration is not available"), ExitCode: 1}, nil
	})
	_, err := c.backend("").Start(context.Background(), spec(t.TempDir()))
	require.ErrorContains(t, err, "Requested node configuration is not available")
}

func TestCleanupCancelsOnlyThisRunsJobs(t *testing.T) {
	t.Parallel()
	c := &cluster{Fake: &execx.Fake{}}
	c.On([]string{"squeue", "-h", "-o", "%A|%j|%k"}, "7|inferbench-run1-1|\n8|someone-elses-job|\n9|inferbench-run2-1|\n10|inferbench-run1-2|\n", 0)
	c.On([]string{"scancel"}, "", 0)
	require.NoError(t, c.backend("").Cleanup(context.Background(), "run1"))
	want := []string{"squeue -h -o '%A|%j|%k'", "scancel 7", "scancel 10"}
	assert.Equal(t, want, c.CallLines(), "calls")
}

// A multi-node launch asks for its nodes with GPUs per node, runs one task per node, and is
// reached on the first node of the allocation.
func TestMultiNodeStep(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := &cluster{Fake: &execx.Fake{}}
	c.OnFunc([]string{"salloc"}, func(context.Context, execx.Cmd) (execx.Result, error) {
		return execx.Result{Stderr: []byte("salloc: Granted job allocation 42\n")}, nil
	})
	c.On([]string{"scontrol", "show", "job", "42"}, "JobId=42 JobName=x\n   NodeList=gb200-[03-06] BatchHost=gb200-03\n", 0)
	c.On([]string{"sh", "-c", `exec "$@" >>"$0" 2>&1`}, "", 0)
	c.On([]string{"scancel", "42"}, "", 0)
	c.On([]string{"squeue", "-h", "-j", "42"}, "", 0)
	s := spec(dir)
	s.Nodes, s.GPUs, s.Image = 4, 4, ""
	srv, err := c.backend("").Start(context.Background(), s)
	require.NoError(t, err)
	<-srv.Done()
	calls := c.CallLines()
	assert.Contains(t, calls[0], "--nodes=4 --gres=gpu:4", "salloc")
	assert.Contains(t, calls[len(calls)-1], "srun --jobid=42 --nodes=4 --ntasks-per-node=1 --export=ALL --chdir=/workspace trtllm-serve m", "step")
	h := srv.Info().Host
	assert.Equal(t, "gb200-03", h, "host = %q, want the first node", h)
}

func TestFirstNode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"gpu-7": "gpu-7", "a[01-04,07]": "a01", "a[7]": "a7", "x,y": "x", "n1,a[2-3]": "n1", "a[5,9],b": "a5",
	} {
		assert.Equal(t, want, FirstNode(in), "FirstNode(%q)", in)
	}
}
