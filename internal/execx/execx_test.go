package execx

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/testkit"
)

func TestOSRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name       string
		cmd        Cmd
		wantOut    string
		wantErr    string
		wantCode   int
		wantExit   bool
		wantNotFnd bool
	}{
		{name: "ok", cmd: Cmd{Name: "sh", Args: []string{"-c", "echo out; echo err >&2"}}, wantOut: "out\n"},
		{name: "stdin and env", cmd: Cmd{Name: "sh", Args: []string{"-c", "cat; echo $X"}, Env: []string{"X=1"}, Stdin: strings.NewReader("in\n")}, wantOut: "in\n1\n"},
		{name: "dir", cmd: Cmd{Name: "pwd", Dir: "/"}, wantOut: "/\n"},
		{name: "args are literal", cmd: Cmd{Name: "echo", Args: []string{"$(touch pwned)", "; rm -rf"}}, wantOut: "$(touch pwned) ; rm -rf\n"},
		{name: "exit code", cmd: Cmd{Name: "sh", Args: []string{"-c", "echo boom >&2; exit 3"}}, wantCode: 3, wantExit: true, wantErr: "exit status 3: boom"},
		{name: "not found", cmd: Cmd{Name: "no-such-program-xyz"}, wantCode: -1, wantNotFnd: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := OS{}.Run(ctx, tt.cmd)
			assert.Equal(t, tt.wantOut, string(res.Stdout), "stdout")
			assert.Equal(t, tt.wantCode, res.ExitCode)
			var ee *ExitError
			assert.Equal(t, tt.wantExit, errors.As(err, &ee), "err = %v, want ExitError %v", err, tt.wantExit)
			assert.Equal(t, tt.wantNotFnd, errors.Is(err, ErrNotFound), "err = %v, want not-found %v", err, tt.wantNotFnd)
			switch {
			case tt.wantErr != "":
				assert.ErrorContains(t, err, tt.wantErr)
			case !tt.wantExit && !tt.wantNotFnd:
				assert.NoError(t, err)
			}
		})
	}
}

func TestOSRunStreamsAndCaptures(t *testing.T) {
	t.Parallel()
	var live bytes.Buffer
	res, err := OS{}.Run(context.Background(), Cmd{Name: "echo", Args: []string{"hi"}, Stdout: &live})
	require.NoError(t, err)
	require.Equal(t, "hi\n", live.String())
	require.Equal(t, "hi\n", string(res.Stdout))
}

func TestOSRunCancelKillsGroup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	// The child sleep keeps stdout open; only killing the group ends the wait promptly.
	_, err := OS{}.Run(ctx, Cmd{Name: "sh", Args: []string{"-c", "sleep 30 & sleep 30"}, KillGrace: time.Second})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	took := time.Since(start)
	t.Run("timing", func(t *testing.T) {
		testkit.Stress(t)
		require.LessOrEqual(t, took, 5*time.Second, "cancel took")
	})
}

func TestFake(t *testing.T) {
	t.Parallel()
	f := &Fake{}
	f.On([]string{"git", "rev-parse"}, "abc\n", 0)
	f.On([]string{"git"}, "", 128)
	ctx := context.Background()

	res, err := f.Run(ctx, Cmd{Name: "git", Args: []string{"rev-parse", "HEAD"}})
	require.NoError(t, err, "rev-parse")
	require.Equal(t, "abc\n", string(res.Stdout), "rev-parse")
	_, err = f.Run(ctx, Cmd{Name: "git", Args: []string{"show"}})
	var ee *ExitError
	require.ErrorAs(t, err, &ee, "show")
	require.Equal(t, 128, ee.ExitCode, "show")
	_, err = f.Run(ctx, Cmd{Name: "docker"})
	require.ErrorIs(t, err, ErrNotFound, "docker")
	want := []string{"git rev-parse HEAD", "git show", "docker"}
	got := f.CallLines()
	require.Equal(t, strings.Join(want, "|"), strings.Join(got, "|"), "calls")
}

func TestCmdString(t *testing.T) {
	t.Parallel()
	got := Cmd{Name: "git", Args: []string{"show", "a b", "it's", ""}}.String()
	want := `git show 'a b' 'it'\''s' ''`
	require.Equal(t, want, got)
}

// TestOSRunPassthrough: a passthrough program writes where it is told and nothing is kept,
// so a server running for hours does not grow the agent's memory.
func TestOSRunPassthrough(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	res, err := OS{}.Run(context.Background(), Cmd{Name: "sh", Args: []string{"-c", "echo out; echo err >&2"},
		Stdout: &out, Stderr: &errOut, Passthrough: true, KillWithParent: true})
	require.NoError(t, err, "stdout")
	require.Equal(t, "out\n", out.String(), "stdout")
	require.Equal(t, "err\n", errOut.String(), "stdout")
	assert.Empty(t, res.Stdout, "passthrough output was kept")
	assert.Empty(t, res.Stderr, "passthrough output was kept")
}
