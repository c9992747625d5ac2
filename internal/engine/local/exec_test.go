package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/execx"

	_ "github.com/inferbench/inferbench/internal/testkit" // defines -update, so `go test ./... -update` runs here too
)

// Exec runs a plain process where the server runs: its working directory, its environment
// plus the command's; a non-zero exit is a code, a missing program an error.
func TestExec(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := New(Config{Environ: []string{"PATH=" + os.Getenv("PATH")}})
	srv, err := b.Start(context.Background(), engine.Spec{Name: "s", RunID: "r", Argv: []string{"sleep", "30"},
		Env: []string{"X=server"}, Workdir: dir, LogPath: filepath.Join(dir, "log")})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Stop(context.Background()) })
	ex := srv.(engine.Execer)
	res, err := ex.Exec(context.Background(), []string{"sh", "-c", `echo "$X $Y $(pwd)"; echo warn >&2; exit 4`}, []string{"Y=cmd"})
	require.NoError(t, err)
	assert.Equal(t, "server cmd "+dir, strings.TrimSpace(string(res.Stdout)), "stdout")
	assert.Equal(t, "warn\n", string(res.Stderr), "stdout")
	assert.Equal(t, 4, res.ExitCode, "stdout")
	res, err = ex.Exec(context.Background(), []string{"no-such-program-inferbench"}, nil)
	require.Error(t, err, "missing program")
	assert.ErrorIs(t, err, execx.ErrNotFound, "missing program")
	assert.Equal(t, -1, res.ExitCode, "missing program")
	_, err = ex.Exec(context.Background(), nil, nil)
	assert.Error(t, err, "empty argv accepted")
}
