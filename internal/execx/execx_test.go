package execx

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestOSRun(t *testing.T) {
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
			if got := string(res.Stdout); got != tt.wantOut {
				t.Errorf("stdout = %q, want %q", got, tt.wantOut)
			}
			if res.ExitCode != tt.wantCode {
				t.Errorf("exit code = %d, want %d", res.ExitCode, tt.wantCode)
			}
			var ee *ExitError
			if errors.As(err, &ee) != tt.wantExit {
				t.Errorf("err = %v, want ExitError %v", err, tt.wantExit)
			}
			if errors.Is(err, ErrNotFound) != tt.wantNotFnd {
				t.Errorf("err = %v, want not-found %v", err, tt.wantNotFnd)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			if !tt.wantExit && !tt.wantNotFnd && err != nil {
				t.Errorf("unexpected err %v", err)
			}
		})
	}
}

func TestOSRunStreamsAndCaptures(t *testing.T) {
	var live bytes.Buffer
	res, err := OS{}.Run(context.Background(), Cmd{Name: "echo", Args: []string{"hi"}, Stdout: &live})
	if err != nil || live.String() != "hi\n" || string(res.Stdout) != "hi\n" {
		t.Fatalf("live=%q captured=%q err=%v", live.String(), res.Stdout, err)
	}
}

func TestOSRunCancelKillsGroup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	// The child sleep keeps stdout open; only killing the group ends the wait promptly.
	_, err := OS{}.Run(ctx, Cmd{Name: "sh", Args: []string{"-c", "sleep 30 & sleep 30"}, KillGrace: time.Second})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancel took %v", d)
	}
}

func TestFake(t *testing.T) {
	f := &Fake{}
	f.On([]string{"git", "rev-parse"}, "abc\n", 0)
	f.On([]string{"git"}, "", 128)
	ctx := context.Background()

	res, err := f.Run(ctx, Cmd{Name: "git", Args: []string{"rev-parse", "HEAD"}})
	if err != nil || string(res.Stdout) != "abc\n" {
		t.Fatalf("rev-parse: %q %v", res.Stdout, err)
	}
	_, err = f.Run(ctx, Cmd{Name: "git", Args: []string{"show"}})
	var ee *ExitError
	if !errors.As(err, &ee) || ee.ExitCode != 128 {
		t.Fatalf("show: %v", err)
	}
	_, err = f.Run(ctx, Cmd{Name: "docker"})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("docker: %v", err)
	}
	want := []string{"git rev-parse HEAD", "git show", "docker"}
	if got := f.CallLines(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("calls = %q, want %q", got, want)
	}
}

func TestCmdString(t *testing.T) {
	got := Cmd{Name: "git", Args: []string{"show", "a b", "it's", ""}}.String()
	want := `git show 'a b' 'it'\''s' ''`
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// TestOSRunPassthrough: a passthrough program writes where it is told and nothing is kept,
// so a server running for hours does not grow the agent's memory.
func TestOSRunPassthrough(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	res, err := OS{}.Run(context.Background(), Cmd{Name: "sh", Args: []string{"-c", "echo out; echo err >&2"},
		Stdout: &out, Stderr: &errOut, Passthrough: true, KillWithParent: true})
	if err != nil || out.String() != "out\n" || errOut.String() != "err\n" {
		t.Fatalf("stdout %q stderr %q err %v", out.String(), errOut.String(), err)
	}
	if len(res.Stdout) != 0 || len(res.Stderr) != 0 {
		t.Errorf("passthrough output was kept: stdout %q stderr %q", res.Stdout, res.Stderr)
	}
}
