package slurm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/inferbench/inferbench/internal/execx"
)

// SquashPath is where the cache keeps image's squash file: every / : @ # of the image
// becomes _ (the reference's naming, so existing caches are reused).
func SquashPath(dir, image string) string {
	san := strings.NewReplacer("/", "_", ":", "_", "@", "_", "#", "_").Replace(image)
	return filepath.Join(dir, san+".sqsh")
}

// ensureSquash makes sure a valid squash file of image is in the cache and returns its path.
// A lock file keeps two runners that share the cache from importing the same image at once;
// a file that fails `unsquashfs -l` is deleted and imported again.
func (b *Backend) ensureSquash(ctx context.Context, jobID, image string) (string, error) {
	path := SquashPath(b.cfg.SquashDir, image)
	unlock, err := b.lock(ctx, path+".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if b.validSquash(ctx, jobID, path) {
		fmt.Fprintf(b.cfg.Log, "squash cache hit: %s\n", path)
		return path, nil
	}
	if _, err := os.Stat(path); err == nil {
		fmt.Fprintf(b.cfg.Log, "squash file %s is corrupt (unsquashfs -l failed): re-importing\n", path)
		if err := os.Remove(path); err != nil {
			return "", fmt.Errorf("remove corrupt squash file: %w", err)
		}
	} else {
		fmt.Fprintf(b.cfg.Log, "importing %s into %s\n", image, path)
	}
	if _, err := b.inAlloc(ctx, jobID, "enroot", "import", "-o", path, "docker://"+image); err != nil {
		_ = os.Remove(path)
		return "", fmt.Errorf("enroot import of %s: %w", image, err)
	}
	if !b.validSquash(ctx, jobID, path) {
		_ = os.Remove(path)
		return "", fmt.Errorf("enroot import of %s produced %s, which unsquashfs cannot read; check disk space and the image", image, path)
	}
	return path, nil
}

func (b *Backend) validSquash(ctx context.Context, jobID, path string) bool {
	_, err := b.inAlloc(ctx, jobID, "unsquashfs", "-l", path)
	return err == nil
}

// inAlloc runs a short command inside the allocation (on its node), as the reference does.
func (b *Backend) inAlloc(ctx context.Context, jobID string, argv ...string) (execx.Result, error) {
	args := append([]string{"--jobid=" + jobID, "--ntasks=1", "--overlap"}, argv...)
	return b.cfg.Exec.Run(ctx, execx.Cmd{Name: "srun", Args: args})
}

// lock takes an exclusive lock file (O_EXCL works on NFS, flock may not). A lock older than
// StaleLock is left over from a crashed runner and is broken.
func (b *Backend) lock(ctx context.Context, path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("squash cache dir: %w", err)
	}
	deadline := time.Now().Add(b.cfg.LockWait)
	announced := false
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			host, _ := os.Hostname()
			fmt.Fprintf(f, "%s %d %s\n", host, os.Getpid(), time.Now().UTC().Format(time.RFC3339))
			f.Close()
			return func() { _ = os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("squash lock %s: %w", path, err)
		}
		if st, err := os.Stat(path); err == nil && time.Since(st.ModTime()) > b.cfg.StaleLock {
			fmt.Fprintf(b.cfg.Log, "breaking stale squash lock %s (older than %s)\n", path, b.cfg.StaleLock)
			_ = os.Remove(path)
			continue
		}
		if !announced {
			fmt.Fprintf(b.cfg.Log, "waiting for another runner's import (lock %s)\n", path)
			announced = true
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("squash lock %s still held after %s; if no import is running, delete it", path, b.cfg.LockWait)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
