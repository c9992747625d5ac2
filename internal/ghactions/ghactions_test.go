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
