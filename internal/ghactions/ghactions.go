// Package ghactions is the only place that knows GitHub Actions' environment variables
// and workflow commands. It wraps github.com/sethvargo/go-githubactions:
//
//	gh := ghactions.New(getenv, stderr)
//	gh.InActions()                          // GITHUB_ACTIONS == "true"
//	gh.SetOutput("matrix", json)            // appends to $GITHUB_OUTPUT when it is set
//	gh.Annotate(ghactions.Error, file, line, col, msg) // ::error file=...,line=...,col=...::msg
//	gh.AddStepSummary(markdown)             // appends to $GITHUB_STEP_SUMMARY when it is set
//
// Annotations go to the writer given to New (the generator passes stderr, so stdout
// keeps carrying only the JSON the workflows capture; the runner reads workflow
// commands from both streams).
package ghactions

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

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
	getwd  func() (string, error) // resolves relative annotation paths; a field for tests
	a      *githubactions.Action
}

// New returns an Actions that reads the environment through getenv and writes workflow
// commands to w.
func New(getenv func(string) string, w io.Writer) *Actions {
	return &Actions{
		getenv: getenv,
		getwd:  os.Getwd,
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
		fields["file"] = g.workspacePath(file)
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

// workspacePath returns file relative to $GITHUB_WORKSPACE, with forward slashes:
// GitHub attaches an annotation to a file of the change only when its path is relative
// to the repository root, and a user may pass an absolute path
// ($GITHUB_WORKSPACE/perf-changelog.yaml) or run from a subdirectory. A path outside the
// workspace, or any path when GITHUB_WORKSPACE is unset, is returned unchanged.
func (g *Actions) workspacePath(file string) string {
	ws := g.getenv("GITHUB_WORKSPACE")
	if ws == "" {
		return file
	}
	abs := file
	if !filepath.IsAbs(abs) {
		wd, err := g.getwd()
		if err != nil {
			return file
		}
		abs = filepath.Join(wd, abs)
	}
	rel, err := filepath.Rel(ws, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return file
	}
	return filepath.ToSlash(rel)
}

// AddStepSummary appends markdown to the job summary when $GITHUB_STEP_SUMMARY is set,
// and does nothing otherwise. The file receives markdown exactly as given (the library
// ends every summary with a newline, so one trailing newline of markdown is left to it).
func (g *Actions) AddStepSummary(markdown string) (err error) {
	path := g.getenv("GITHUB_STEP_SUMMARY")
	if path == "" || markdown == "" {
		return nil
	}
	// go-githubactions panics when it cannot write the file; turn that into an error.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("append to the step summary $GITHUB_STEP_SUMMARY (%s): %v", path, r)
		}
	}()
	md, ok := strings.CutSuffix(markdown, "\n")
	if !ok {
		// Without a trailing newline the library's would be an addition: write the text
		// ourselves so the bytes stay exactly the caller's.
		return appendFile(path, markdown)
	}
	g.a.AddStepSummary(md)
	return nil
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("append to the step summary $GITHUB_STEP_SUMMARY: %w", err)
	}
	if _, err := io.WriteString(f, text); err != nil {
		f.Close()
		return fmt.Errorf("append to the step summary $GITHUB_STEP_SUMMARY: %w", err)
	}
	return f.Close()
}
