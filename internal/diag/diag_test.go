package diag

import (
	"strings"
	"testing"
)

func TestStringForms(t *testing.T) {
	tests := []struct {
		d    Diagnostic
		want string
	}{
		{Diagnostic{File: "a.yaml", Line: 3, Col: 7, Message: "bad"}, "a.yaml:3:7: bad"},
		{Diagnostic{File: "a.yaml", Line: 3, Message: "bad"}, "a.yaml:3: bad"},
		{Diagnostic{File: "a.yaml", Message: "bad"}, "a.yaml: bad"},
		{Diagnostic{Message: "bad"}, "bad"},
		{Diagnostic{File: "a.yaml", Line: 1, Col: 1, Severity: Warning, Message: "odd"}, "a.yaml:1:1: warning: odd"},
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestSortDedupeAndWrite(t *testing.T) {
	var l List
	l.Add("b.yaml", 1, 1, "", "late file")
	l.Add("a.yaml", 10, 2, "fix b", "second")
	l.Add("a.yaml", 2, 5, "fix a", "first")
	l.Warn("a.yaml", 10, 2, "", "same place, warning")
	l.Add("a.yaml", 2, 5, "fix a", "first")
	l.Sort()
	var b strings.Builder
	if err := WriteText(&b, l); err != nil {
		t.Fatal(err)
	}
	want := `a.yaml:2:5: first
    hint: fix a
a.yaml:10:2: second
    hint: fix b
a.yaml:10:2: warning: same place, warning
b.yaml:1:1: late file
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	if !l.HasErrors() || len(l.Errors()) != 3 || len(l.Warnings()) != 1 {
		t.Errorf("HasErrors %v, %d errors, %d warnings", l.HasErrors(), len(l.Errors()), len(l.Warnings()))
	}
	if (List{}).HasErrors() || l.Warnings().HasErrors() {
		t.Error("a list without errors reports errors")
	}
	if err := (&ErrorList{l[:1]}); err.Error() != "a.yaml:2:5: first\n    hint: fix a" {
		t.Errorf("ErrorList.Error() = %q", err.Error())
	}
}
