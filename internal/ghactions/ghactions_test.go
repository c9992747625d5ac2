package ghactions

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func fakeEnv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestSetOutput(t *testing.T) {
	file := filepath.Join(t.TempDir(), "out")
	var w bytes.Buffer
	g := New(fakeEnv(map[string]string{"GITHUB_OUTPUT": file}), &w)
	if err := g.SetOutput("matrix", `[{"a": 1}]`); err != nil {
		t.Fatal(err)
	}
	if err := g.SetOutput("other", "x\ny"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(file)
	re := regexp.MustCompile(`^matrix<<(\S+)\n\[\{"a": 1\}\]\n(\S+)\nother<<(\S+)\nx\ny\n(\S+)\n$`)
	if m := re.FindStringSubmatch(string(got)); m == nil || m[1] != m[2] || m[3] != m[4] {
		t.Errorf("GITHUB_OUTPUT holds %q", got)
	}
	if w.Len() != 0 {
		t.Errorf("SetOutput wrote %q to the command stream", w.String())
	}
}

func TestSetOutputWithoutFileDoesNothing(t *testing.T) {
	var w bytes.Buffer
	if err := New(fakeEnv(nil), &w).SetOutput("matrix", "[]"); err != nil || w.Len() != 0 {
		t.Errorf("err %v, wrote %q", err, w.String())
	}
}

func TestSetOutputUnwritableIsAnError(t *testing.T) {
	g := New(fakeEnv(map[string]string{"GITHUB_OUTPUT": filepath.Join(t.TempDir(), "missing", "out")}), &bytes.Buffer{})
	if err := g.SetOutput("matrix", "[]"); err == nil || !strings.Contains(err.Error(), "GITHUB_OUTPUT") {
		t.Errorf("err = %v, want an error naming GITHUB_OUTPUT", err)
	}
}

func TestAnnotate(t *testing.T) {
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
		if w.String() != tt.want {
			t.Errorf("got %q, want %q", w.String(), tt.want)
		}
	}
}

func TestInActions(t *testing.T) {
	if New(fakeEnv(nil), nil).InActions() || !New(fakeEnv(map[string]string{"GITHUB_ACTIONS": "true"}), nil).InActions() {
		t.Error("InActions does not follow GITHUB_ACTIONS")
	}
}

// Annotation paths are made relative to GITHUB_WORKSPACE (GitHub attaches annotations
// only to repository-relative paths); paths outside it stay as they are.
func TestAnnotatePathRelativeToWorkspace(t *testing.T) {
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
			if w.String() != want {
				t.Errorf("got %q, want %q", w.String(), want)
			}
		})
	}
}

func TestAddStepSummary(t *testing.T) {
	file := filepath.Join(t.TempDir(), "summary.md")
	g := New(fakeEnv(map[string]string{"GITHUB_STEP_SUMMARY": file}), &bytes.Buffer{})
	for _, md := range []string{"# Sweep\n\n| a | b |\n", "", "no newline", "\n"} {
		if err := g.AddStepSummary(md); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(file)
	if want := "# Sweep\n\n| a | b |\nno newline\n"; string(got) != want {
		t.Errorf("step summary holds %q, want %q (appended exactly as given)", got, want)
	}
}

func TestAddStepSummaryWithoutFileDoesNothing(t *testing.T) {
	var w bytes.Buffer
	if err := New(fakeEnv(nil), &w).AddStepSummary("# x\n"); err != nil || w.Len() != 0 {
		t.Errorf("err %v, wrote %q", err, w.String())
	}
}

func TestAddStepSummaryUnwritableIsAnError(t *testing.T) {
	for _, md := range []string{"# x\n", "# x"} {
		g := New(fakeEnv(map[string]string{"GITHUB_STEP_SUMMARY": filepath.Join(t.TempDir(), "missing", "s.md")}), &bytes.Buffer{})
		if err := g.AddStepSummary(md); err == nil || !strings.Contains(err.Error(), "GITHUB_STEP_SUMMARY") {
			t.Errorf("AddStepSummary(%q) err = %v, want an error naming GITHUB_STEP_SUMMARY", md, err)
		}
	}
}
