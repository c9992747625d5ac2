package rowrun

import (
	"errors"
	"fmt"
)

// Kind classifies why a run failed; the command maps it to its exit status.
type Kind int

// Failure kinds, from least to most severe for the purpose of a run's overall status.
const (
	KindNone      Kind = iota
	KindBench          // the load ran but did not meet its bar
	KindPower          // power was required and its telemetry did not validate
	KindEngine         // the engine did not start, died or hung
	KindUsage          // bad row, unknown runner, no recipe
	KindCancelled      // SIGINT/SIGTERM or the run timeout
	KindInternal       // I/O, a backend that misbehaved
)

func (k Kind) String() string {
	return [...]string{"ok", "benchmark failure", "power telemetry invalid", "engine failure", "usage error", "cancelled", "internal error"}[k]
}

// Error carries a Kind.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func errorf(k Kind, format string, a ...any) error {
	return &Error{Kind: k, Err: fmt.Errorf(format, a...)}
}

// KindOf returns the kind of err; untyped errors are internal.
func KindOf(err error) Kind {
	if err == nil {
		return KindNone
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}
