package ghactions

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	_ "github.com/inferbench/inferbench/internal/testkit" // defines -update, so `go test ./... -update` runs here too
)

func fakeEnv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestSetOutput(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "out")
	var w bytes.Buffer
	g := New(fakeEnv(map[string]string{"GITHUB_OUTPUT": file}), &w)
	require.NoError(t, g.SetOutput("matrix", `[{"a": 1}]`))
	require.NoError(t, g.SetOutput("other", "x\ny"))
	got, _ := os.ReadFile(file)
	re := regexp.MustCompile(`^matrix<<(\S+)\n\[\{"a": 1\}\]\n(\S+)\nother<<(\S+)\nx\ny\n(\S+)\n$`)
	m := re.FindStringSubmatch(string(got))
	require.NotNil(t, m, "GITHUB_OUTPUT holds %q", got)
	assert.Equal(t, m[2], m[1], "GITHUB_OUTPUT holds %q", got)
	assert.Equal(t, m[4], m[3], "GITHUB_OUTPUT holds %q", got)
	assert.Equal(t, 0, w.Len(), "SetOutput wrote %q to the command stream", w.String())
}

func TestSetOutputWithoutFileDoesNothing(t *testing.T) {
	t.Parallel()
	var w bytes.Buffer
	assert.NoError(t, New(fakeEnv(nil), &w).SetOutput("matrix", "[]"))
	assert.Equal(t, 0, w.Len())
}

func TestSetOutputUnwritableIsAnError(t *testing.T) {
	t.Parallel()
	g := New(fakeEnv(map[string]string{"GITHUB_OUTPUT": filepath.Join(t.TempDir(), "missing", "out")}), &bytes.Buffer{})
	err := g.SetOutput("matrix", "[]")
	assert.ErrorContains(t, err, "GITHUB_OUTPUT", "err = %v, want an error naming GITHUB_OUTPUT", err)
}

func TestAnnotate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		level     Level
		file      string
		line, col int
		msg       string
		want      string
	}{
		{Error, "c.yaml", 3, 7, "bad\nfix it", "::error col=7,file=c.yaml,line=3::bad%0Afix it\n"},
		{Warning, "c.yaml", 3, 0, "50% off", "::warning file=c.yaml,line=3::50%25 off\n"},
		{Notice, "", 0, 0, "hello", "::notice::hello\n"},
		{Error, "a,b:c.yaml", 1, 1, "x", "::error col=1,file=a%2Cb%3Ac.yaml,line=1::x\n"},
	}
	for _, tt := range tests {
		var w bytes.Buffer
		New(fakeEnv(nil), &w).Annotate(tt.level, tt.file, tt.line, tt.col, tt.msg)
		assert.Equal(t, tt.want, w.String())
	}
}

func TestInActions(t *testing.T) {
	t.Parallel()
	assert.False(t, New(fakeEnv(nil), nil).InActions(), "InActions does not follow GITHUB_ACTIONS")
	assert.True(t, New(fakeEnv(map[string]string{"GITHUB_ACTIONS": "true"}), nil).InActions(), "InActions does not follow GITHUB_ACTIONS")
}

// Annotation paths are made relative to GITHUB_WORKSPACE (GitHub attaches annotations
// only to repository-relative paths); paths outside it stay as they are.
func TestAnnotatePathRelativeToWorkspace(t *testing.T) {
	t.Parallel()
	ws := filepath.Join(string(filepath.Separator), "home", "runner", "work", "repo")
	tests := []struct {
		name, workspace, wd, file, want string
	}{
		{"absolute inside", ws, ws, filepath.Join(ws, "perf-changelog.yaml"), "perf-changelog.yaml"},
		{"absolute nested", ws, "/", filepath.Join(ws, "configs", "runners.yaml"), "configs/runners.yaml"},
		{"relative from a subdirectory", ws, filepath.Join(ws, "sub"), "configs/x.yaml", "sub/configs/x.yaml"},
		{"relative from the root", ws, ws, "configs/x.yaml", "configs/x.yaml"},
		{"unclean absolute", ws, ws, ws + "/configs/../perf-changelog.yaml", "perf-changelog.yaml"},
		{"outside the workspace", ws, ws, "/tmp/other.yaml", "/tmp/other.yaml"},
		{"sibling with a common prefix", ws, ws, ws + "-other/x.yaml", ws + "-other/x.yaml"},
		{"no workspace", "", ws, filepath.Join(ws, "perf-changelog.yaml"), filepath.Join(ws, "perf-changelog.yaml")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w bytes.Buffer
			g := New(fakeEnv(map[string]string{"GITHUB_WORKSPACE": tt.workspace}), &w)
			g.getwd = func() (string, error) { return tt.wd, nil }
			g.Annotate(Error, tt.file, 2, 3, "bad")
			want := "::error col=3,file=" + strings.ReplaceAll(tt.want, ":", "%3A") + ",line=2::bad\n"
			assert.Equal(t, want, w.String())
		})
	}
}

func TestAddStepSummary(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "summary.md")
	g := New(fakeEnv(map[string]string{"GITHUB_STEP_SUMMARY": file}), &bytes.Buffer{})
	for _, md := range []string{"# Sweep\n\n| a | b |\n", "", "no newline", "\n"} {
		require.NoError(t, g.AddStepSummary(md))
	}
	got, _ := os.ReadFile(file)
	want := "# Sweep\n\n| a | b |\nno newline\n"
	assert.Equal(t, want, string(got), "step summary holds %q, want %q (appended exactly as given)", got, want)
}

func TestAddStepSummaryWithoutFileDoesNothing(t *testing.T) {
	t.Parallel()
	var w bytes.Buffer
	assert.NoError(t, New(fakeEnv(nil), &w).AddStepSummary("# x\n"))
	assert.Equal(t, 0, w.Len())
}

func TestAddStepSummaryUnwritableIsAnError(t *testing.T) {
	t.Parallel()
	for _, md := range []string{"# x\n", "# x"} {
		g := New(fakeEnv(map[string]string{"GITHUB_STEP_SUMMARY": filepath.Join(t.TempDir(), "missing", "s.md")}), &bytes.Buffer{})
		err := g.AddStepSummary(md)
		assert.ErrorContains(t, err, "GITHUB_STEP_SUMMARY", "AddStepSummary(%q) err = %v, want an error naming GITHUB_STEP_SUMMARY", md, err)
	}
}

// Issue 14 item 12: an annotation is one workflow command on one line, whatever its file
// name and message hold; go-githubactions escapes both (data: % CR LF; properties also
// : and ,), and an injected command stays inside the annotation's text.
func TestHostile12AnnotationsStayOneCommand(t *testing.T) {
	t.Parallel()
	var w bytes.Buffer
	g := New(fakeEnv(map[string]string{"GITHUB_ACTIONS": "true"}), &w)
	g.Annotate(Error, "c.yaml\n::add-mask::F,x=1", 3, 4, "bad key 'x\n::add-mask::SECRET\r::error::forged 100%'")
	assert.Equal(t, "::error col=4,file=c.yaml%0A%3A%3Aadd-mask%3A%3AF%2Cx=1,line=3::bad key 'x%0A::add-mask::SECRET%0D::error::forged 100%25'\n", w.String())
}
