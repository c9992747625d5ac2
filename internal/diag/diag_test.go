package diag

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	_ "github.com/inferbench/inferbench/internal/testkit" // defines -update, so `go test ./... -update` runs here too
)

func TestStringForms(t *testing.T) {
	t.Parallel()
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
		assert.Equal(t, tt.want, tt.d.String())
	}
}

func TestSortDedupeAndWrite(t *testing.T) {
	t.Parallel()
	var l List
	l.Add("b.yaml", 1, 1, "", "late file")
	l.Add("a.yaml", 10, 2, "fix b", "second")
	l.Add("a.yaml", 2, 5, "fix a", "first")
	l.Warn("a.yaml", 10, 2, "", "same place, warning")
	l.Add("a.yaml", 2, 5, "fix a", "first")
	l.Sort()
	var b strings.Builder
	require.NoError(t, WriteText(&b, l))
	want := `a.yaml:2:5: first
    hint: fix a
a.yaml:10:2: second
    hint: fix b
a.yaml:10:2: warning: same place, warning
b.yaml:1:1: late file
`
	assert.Equal(t, want, b.String())
	assert.True(t, l.HasErrors(), "HasErrors %v, %d errors, %d warnings", l.HasErrors(), len(l.Errors()), len(l.Warnings()))
	assert.Len(t, l.Errors(), 3)
	assert.Len(t, l.Warnings(), 1)
	assert.False(t, (List{}).HasErrors(), "a list without errors reports errors")
	assert.False(t, l.Warnings().HasErrors(), "a list without errors reports errors")
	err := (&ErrorList{l[:1]})
	assert.Equal(t, "a.yaml:2:5: first\n    hint: fix a", err.Error(), "ErrorList.Error()")
}

// Text that quotes input is printed on one line that the GitHub runner cannot read as a
// workflow command, and is clipped.
func TestHostile12CleanKeepsInputOnItsLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"plain text, tabs\tand é", "plain text, tabs\tand é"},
		{"key 'x\n::add-mask::s'", `key 'x\n::add-mask::s'`},
		{"\r::error::forged", `\r::error::forged`},
		{"::warning::at the start", `\::warning::at the start`},
		{"  ::notice::after blanks", `  \::notice::after blanks`},
		{"old syntax ##[add-mask]s anywhere", `old syntax ##\[add-mask]s anywhere`},
		{"NUL\x00, DEL\x7f, NEL\u0085, LS\u2028, bad byte \xff", `NUL\x00, DEL\x7f, NEL\u0085, LS\u2028, bad byte \xff`},
	} {
		assert.Equal(t, tc.want, Clean(tc.in), "%q", tc.in)
	}
	long := "at the start " + strings.Repeat("é", 1<<20) + " at the end"
	got := Clean(long)
	assert.Less(t, len(got), MaxText+64)
	assert.True(t, strings.HasPrefix(got, "at the start "))
	assert.True(t, strings.HasSuffix(got, " at the end"))
	assert.Contains(t, got, "bytes left out")
	assert.True(t, utf8.ValidString(got), "clipped on character boundaries")

	var l List
	l.Add("f\nile", 1, 2, "hint\n::add-mask::h", "message %s", "x\n::error::y")
	assert.Equal(t, Diagnostic{File: `f\nile`, Line: 1, Col: 2, Message: `message x\n::error::y`, Hint: `hint\n::add-mask::h`}, l[0])
}

// A message of several lines keeps its lines, each one made safe: an input's line break
// still cannot start a workflow command.
func TestHostile12CleanLinesKeepsOurLines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, in, want string }{
		{"our own second line stays a line", "not found: x.\nAvailable keys: a, b", "not found: x.\nAvailable keys: a, b"},
		{"an input's line break starts an escaped line", "not found: 'x\n::add-mask::s'.\nAvailable keys: a", "not found: 'x\n\\::add-mask::s'.\nAvailable keys: a"},
		{"a carriage return is still escaped", "a\r::error::forged", `a\r::error::forged`},
	} {
		assert.Equal(t, tc.want, CleanLines(tc.in), tc.name)
	}
}
