package slurm

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

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
	return New(Config{Runner: c, Starter: c, Partition: "dgx-b200", Exclusive: true, Immediate: 30, SquashDir: squash,
		Container: Container{RemapRoot: true, Writable: true}, LockWait: 3 * time.Second, StopGrace: time.Second})
}

func spec(dir string) engine.Spec {
	return engine.Spec{Name: "inferbench-run1-1", RunID: "run1", Image: "nvcr.io#nvidia/tensorrt-llm/release:1.2.0rc6",
		Argv: []string{"trtllm-serve", "m"}, GPUs: 8, Workdir: "/workspace", LogPath: filepath.Join(dir, "server.log"),
		Mounts: []engine.Mount{{Host: dir, Container: "/workspace"}, {Host: "/raid/hf", Container: "/mnt/hf", ReadOnly: true}}}
}

func lines(c *cluster) string { return strings.Join(c.CallLines(), "\n") }

func TestSquashPath(t *testing.T) {
	got := SquashPath("/raid/squash", "nvcr.io#nvidia/tensorrt-llm/release:1.2.0rc6@sha256:ab")
	if want := "/raid/squash/nvcr.io_nvidia_tensorrt-llm_release_1.2.0rc6_sha256_ab.sqsh"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestStartImportsIntoSquashCacheAndRunsPyxisStep(t *testing.T) {
	dir, squash := t.TempDir(), t.TempDir()
	c := newCluster(t)
	srv, err := c.backend(squash).Start(context.Background(), spec(dir))
	if err != nil {
		t.Fatal(err)
	}
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
	if got := c.CallLines(); !slices.Equal(got, want) {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if info := srv.Info(); info.ID != "42" || info.Node != "gpu-7" || info.Host != "gpu-7" {
		t.Errorf("info = %+v", info)
	}
	if _, err := os.Stat(sq + ".lock"); !os.IsNotExist(err) {
		t.Errorf("lock file left behind: %v", err)
	}
	if err := srv.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(lines(c), "scancel 42") {
		t.Errorf("Stop did not scancel the job:\n%s", lines(c))
	}
}

func TestSquashCache(t *testing.T) {
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
				if err := os.WriteFile(sq, []byte(tt.existing), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c := newCluster(t)
			c.importContent = tt.imported
			_, err := c.backend(squash).Start(context.Background(), spec(dir))
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if c.imports != tt.wantImports {
				t.Errorf("%d imports, want %d", c.imports, tt.wantImports)
			}
			b, _ := os.ReadFile(sq)
			if string(b) != tt.wantFile {
				t.Errorf("squash file holds %q, want %q", b, tt.wantFile)
			}
			if err != nil && !strings.Contains(lines(c), "scancel 42") {
				t.Errorf("a failed start must cancel its allocation:\n%s", lines(c))
			}
		})
	}
}

func TestSquashLockWaitsForOtherRunner(t *testing.T) {
	dir, squash := t.TempDir(), t.TempDir()
	lock := SquashPath(squash, spec(dir).Image) + ".lock"
	if err := os.WriteFile(lock, []byte("other-host 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	go func() { time.Sleep(700 * time.Millisecond); os.Remove(lock) }()
	c := newCluster(t)
	start := time.Now()
	if _, err := c.backend(squash).Start(context.Background(), spec(dir)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 600*time.Millisecond {
		t.Errorf("did not wait for the other runner's lock (%s)", d)
	}
}

func TestSquashLockTimeoutAndStaleLock(t *testing.T) {
	dir, squash := t.TempDir(), t.TempDir()
	lock := SquashPath(squash, spec(dir).Image) + ".lock"
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c := newCluster(t)
	b := c.backend(squash)
	b.cfg.LockWait = 600 * time.Millisecond
	if _, err := b.Start(context.Background(), spec(dir)); err == nil || !strings.Contains(err.Error(), "still held") {
		t.Fatalf("err = %v, want lock timeout", err)
	}
	old := time.Now().Add(-3 * time.Hour)
	if err := os.Chtimes(lock, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := newCluster(t).backend(squash).Start(context.Background(), spec(dir)); err != nil {
		t.Fatalf("stale lock not broken: %v", err)
	}
}

func TestNoSquashDirHandsImageToPyxis(t *testing.T) {
	dir := t.TempDir()
	c := newCluster(t)
	srv, err := c.backend("").Start(context.Background(), spec(dir))
	if err != nil {
		t.Fatal(err)
	}
	<-srv.Done()
	l := lines(c)
	if strings.Contains(l, "enroot") || !strings.Contains(l, "'--container-image=nvcr.io#nvidia/tensorrt-llm/release:1.2.0rc6'") {
		t.Errorf("calls:\n%s", l)
	}
}

func TestNonContainerStep(t *testing.T) {
	dir := t.TempDir()
	c := newCluster(t)
	s := spec(dir)
	s.Image, s.Workdir, s.GPUs = "", dir, 0
	srv, err := c.backend("").Start(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	<-srv.Done()
	calls := c.CallLines()
	if strings.Contains(calls[0], "--gres") {
		t.Errorf("no GPUs asked, yet: %s", calls[0])
	}
	if last := calls[len(calls)-1]; !strings.HasSuffix(last, "server.log srun --jobid=42 --ntasks=1 --export=ALL --chdir="+dir+" trtllm-serve m") {
		t.Errorf("step = %s", last)
	}
}

func TestSallocFailureIsReported(t *testing.T) {
	c := &cluster{Fake: &execx.Fake{}}
	c.OnFunc([]string{"salloc"}, func(context.Context, execx.Cmd) (execx.Result, error) {
		return execx.Result{Stderr: []byte("salloc: error: Unable to allocate resources: Requested node configuration is not available"), ExitCode: 1}, nil
	})
	_, err := c.backend("").Start(context.Background(), spec(t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), "Requested node configuration is not available") {
		t.Fatalf("err = %v", err)
	}
}

func TestCleanupCancelsOnlyThisRunsJobs(t *testing.T) {
	c := &cluster{Fake: &execx.Fake{}}
	c.On([]string{"squeue", "-h", "-o", "%A|%j|%k"}, "7|inferbench-run1-1|\n8|someone-elses-job|\n9|inferbench-run2-1|\n10|inferbench-run1-2|\n", 0)
	c.On([]string{"scancel"}, "", 0)
	if err := c.backend("").Cleanup(context.Background(), "run1"); err != nil {
		t.Fatal(err)
	}
	want := []string{"squeue -h -o '%A|%j|%k'", "scancel 7", "scancel 10"}
	if got := c.CallLines(); !slices.Equal(got, want) {
		t.Errorf("calls = %q, want %q", got, want)
	}
}

// A multi-node launch asks for its nodes with GPUs per node, runs one task per node, and is
// reached on the first node of the allocation.
func TestMultiNodeStep(t *testing.T) {
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
	if err != nil {
		t.Fatal(err)
	}
	<-srv.Done()
	calls := c.CallLines()
	if !strings.Contains(calls[0], "--nodes=4 --gres=gpu:4") {
		t.Errorf("salloc = %s", calls[0])
	}
	if last := calls[len(calls)-1]; !strings.Contains(last, "srun --jobid=42 --nodes=4 --ntasks-per-node=1 --export=ALL --chdir=/workspace trtllm-serve m") {
		t.Errorf("step = %s", last)
	}
	if h := srv.Info().Host; h != "gb200-03" {
		t.Errorf("host = %q, want the first node", h)
	}
}

func TestFirstNode(t *testing.T) {
	for in, want := range map[string]string{
		"gpu-7": "gpu-7", "a[01-04,07]": "a01", "a[7]": "a7", "x,y": "x", "n1,a[2-3]": "n1", "a[5,9],b": "a5",
	} {
		if got := FirstNode(in); got != want {
			t.Errorf("FirstNode(%q) = %q, want %q", in, got, want)
		}
	}
}
