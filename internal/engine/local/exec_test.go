package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/execx"
)

// Exec runs a plain process where the server runs: its working directory, its environment
// plus the command's; a non-zero exit is a code, a missing program an error.
func TestExec(t *testing.T) {
	dir := t.TempDir()
	b := New(Config{Environ: []string{"PATH=" + os.Getenv("PATH")}})
	srv, err := b.Start(context.Background(), engine.Spec{Name: "s", RunID: "r", Argv: []string{"sleep", "30"},
		Env: []string{"X=server"}, Workdir: dir, LogPath: filepath.Join(dir, "log")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop(context.Background()) })
	ex := srv.(engine.Execer)
	res, err := ex.Exec(context.Background(), []string{"sh", "-c", `echo "$X $Y $(pwd)"; echo warn >&2; exit 4`}, []string{"Y=cmd"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(res.Stdout)); got != "server cmd "+dir || string(res.Stderr) != "warn\n" || res.ExitCode != 4 {
		t.Errorf("stdout %q stderr %q code %d", got, res.Stderr, res.ExitCode)
	}
	res, err = ex.Exec(context.Background(), []string{"no-such-program-inferbench"}, nil)
	if err == nil || !errors.Is(err, execx.ErrNotFound) || res.ExitCode != -1 {
		t.Errorf("missing program: %+v %v", res, err)
	}
	if _, err := ex.Exec(context.Background(), nil, nil); err == nil {
		t.Error("empty argv accepted")
	}
}
