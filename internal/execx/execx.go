// Package execx runs external programs. It is the only package in the module that imports
// os/exec: everything else (git for the changelog, the docker and slurm CLIs for the agent's
// backends) goes through the Executor interface, so tests substitute a Fake and never depend on
// what is installed.
//
// Contract of Runner.Run:
//   - err == nil means the program started and exited with status 0.
//   - A program that ran and exited non-zero gives a *ExitError (errors.As), and the returned
//     Result still carries its captured output and ExitCode.
//   - A program that could not be started (not found, bad dir) gives an error wrapping the cause
//     (errors.Is(err, exec.ErrNotFound) style checks work through ErrNotFound), ExitCode -1.
//   - A cancelled or expired ctx gives an error wrapping ctx.Err(); the process group gets
//     SIGTERM, then SIGKILL after Cmd.KillGrace (default 5s).
package execx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Cmd describes one program invocation.
type Cmd struct {
	// Name is the program, looked up in PATH when it has no slash.
	Name string
	// Args are the arguments after Name, passed verbatim (no shell is involved).
	Args []string
	// Dir is the working directory; empty means the caller's.
	Dir string
	// Env is the complete environment as KEY=VALUE. nil inherits the parent's environment;
	// an empty non-nil slice runs with an empty environment.
	Env []string
	// Stdin feeds the program's standard input; nil means no input.
	Stdin io.Reader
	// Stdout and Stderr, when set, receive the output as it is produced (streaming) in
	// addition to it being captured in Result.
	Stdout io.Writer
	Stderr io.Writer
	// KillGrace is how long a cancelled program gets between SIGTERM and SIGKILL.
	// Zero means 5s.
	KillGrace time.Duration
	// Passthrough hands Stdout and Stderr to the program as they are, without keeping a
	// copy in Result: for programs that run for hours and whose output would otherwise
	// grow in memory without bound (an *os.File is then written by the program directly).
	Passthrough bool
	// KillWithParent asks the operating system to kill the program when the process that
	// started it dies (Linux; ignored elsewhere), so a supervisor killed with SIGKILL does
	// not leave its children running.
	KillWithParent bool
}

// String renders the command line for messages and logs (arguments quoted when needed).
func (c Cmd) String() string {
	parts := make([]string, 0, 1+len(c.Args))
	for _, s := range append([]string{c.Name}, c.Args...) {
		parts = append(parts, quote(s))
	}
	return strings.Join(parts, " ")
}

func quote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n\"'\\$`;&|<>()*?[]{}!#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Result is what a finished program left behind.
type Result struct {
	Stdout []byte
	Stderr []byte
	// ExitCode is the exit status; -1 when the program did not start or was killed by a signal.
	ExitCode int
}

// Executor runs a program to completion.
type Executor interface {
	Run(ctx context.Context, c Cmd) (Result, error)
}

// ErrNotFound is wrapped by the error Run returns when the program cannot be found.
var ErrNotFound = errors.New("executable not found")

// ExitError reports a program that ran and exited with a non-zero status.
type ExitError struct {
	Cmd      Cmd
	ExitCode int
	// Stderr is the captured standard error (trimmed), for the message.
	Stderr string
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s: exit status %d", e.Cmd.String(), e.ExitCode)
	if s := lastLines(e.Stderr, 5); s != "" {
		msg += ": " + s
	}
	return msg
}

// lastLines keeps error messages short when a program prints a lot before failing.
func lastLines(s string, n int) string {
	s = strings.TrimSpace(s)
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
