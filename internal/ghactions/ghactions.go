// Package ghactions is the only place that knows GitHub Actions' environment variables
// and workflow commands. It wraps github.com/sethvargo/go-githubactions:
//
//	gh := ghactions.New(getenv, stderr)
//	gh.InActions()                          // GITHUB_ACTIONS == "true"
//	gh.SetOutput("matrix", json)            // appends to $GITHUB_OUTPUT when it is set
//	gh.Annotate(ghactions.Error, file, line, col, msg) // ::error file=...,line=...,col=...::msg
//
// Annotations go to the writer given to New (the generator passes stderr, so stdout
// keeps carrying only the JSON the workflows capture; the runner reads workflow
// commands from both streams).
package ghactions

import (
	"fmt"
	"io"
	"strconv"

	"github.com/sethvargo/go-githubactions"
)

// Level is an annotation level.
type Level int

const (
	Error Level = iota
	Warning
	Notice
)

// Actions talks to the GitHub Actions runner through files and workflow commands.
type Actions struct {
	getenv func(string) string
	a      *githubactions.Action
}

// New returns an Actions that reads the environment through getenv and writes workflow
// commands to w.
func New(getenv func(string) string, w io.Writer) *Actions {
	return &Actions{
		getenv: getenv,
		a:      githubactions.New(githubactions.WithGetenv(githubactions.GetenvFunc(getenv)), githubactions.WithWriter(w)),
	}
}

// InActions reports whether the process runs inside a GitHub Actions job.
func (g *Actions) InActions() bool { return g.getenv("GITHUB_ACTIONS") == "true" }

// HasOutputFile reports whether step outputs can be written ($GITHUB_OUTPUT is set).
func (g *Actions) HasOutputFile() bool { return g.getenv("GITHUB_OUTPUT") != "" }

// SetOutput sets the step output name to value when $GITHUB_OUTPUT is set, and does
// nothing otherwise. Multi-line values are fine (a heredoc delimiter is used).
func (g *Actions) SetOutput(name, value string) (err error) {
	if !g.HasOutputFile() {
		return nil
	}
	// go-githubactions panics when it cannot write the file; turn that into an error.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("write step output %q to $GITHUB_OUTPUT (%s): %v", name, g.getenv("GITHUB_OUTPUT"), r)
		}
	}()
	g.a.SetOutput(name, value)
	return nil
}

// Annotate emits an annotation for a position in a file; line and col may be 0 when
// unknown, file may be empty.
func (g *Actions) Annotate(level Level, file string, line, col int, msg string) {
	fields := map[string]string{}
	if file != "" {
		fields["file"] = file
	}
	if line > 0 {
		fields["line"] = strconv.Itoa(line)
	}
	if col > 0 {
		fields["col"] = strconv.Itoa(col)
	}
	a := g.a.WithFieldsMap(fields)
	switch level {
	case Warning:
		a.Warningf("%s", msg)
	case Notice:
		a.Noticef("%s", msg)
	default:
		a.Errorf("%s", msg)
	}
}
