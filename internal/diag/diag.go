// Package diag holds positioned diagnostics: problems found in a user's input files,
// each with a file, a 1-based line and column, a message and a hint that says what to do.
//
// Diagnostics are values, not errors: loaders collect every problem they find into a
// List and keep going, so a user fixes all mistakes in one round. A List is sorted and
// de-duplicated with Sort, and rendered as text with WriteText. GitHub annotations are
// rendered by package ghactions from the same fields (diag knows nothing of GitHub).
package diag

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Severity tells whether a diagnostic makes the input unusable.
type Severity int

const (
	// Error makes the command fail (exit status 1).
	Error Severity = iota
	// Warning is reported but does not change the outcome.
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Diagnostic is one problem in an input file. Line and Col are 1-based; 0 means the
// problem concerns the whole file (for example, the file does not exist).
type Diagnostic struct {
	File     string
	Line     int
	Col      int
	Severity Severity
	Message  string // what is wrong, one line
	Hint     string // what to do about it, one line; may be empty
}

// String renders the diagnostic as "file:line:col: message", leaving out the parts that
// are unknown. The hint is not included; see WriteText.
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.Location())
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if d.Severity == Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(d.Message)
	return b.String()
}

// Location renders "file:line:col", "file:line" or "file" depending on what is known.
func (d Diagnostic) Location() string {
	switch {
	case d.File == "":
		return ""
	case d.Line <= 0:
		return d.File
	case d.Col <= 0:
		return fmt.Sprintf("%s:%d", d.File, d.Line)
	default:
		return fmt.Sprintf("%s:%d:%d", d.File, d.Line, d.Col)
	}
}

// List is an ordered collection of diagnostics.
type List []Diagnostic

// Add appends a diagnostic of severity Error.
func (l *List) Add(file string, line, col int, hint, format string, args ...any) {
	l.Append(Diagnostic{File: file, Line: line, Col: col, Message: fmt.Sprintf(format, args...), Hint: hint})
}

// Warn appends a diagnostic of severity Warning.
func (l *List) Warn(file string, line, col int, hint, format string, args ...any) {
	l.Append(Diagnostic{File: file, Line: line, Col: col, Severity: Warning, Message: fmt.Sprintf(format, args...), Hint: hint})
}

// Append appends d with its message, hint and file name made safe to print (see Clean):
// every diagnostic passes here, so no input value, however long or strange, is printed
// whole or can start a line of its own.
func (l *List) Append(d Diagnostic) {
	d.File, d.Message, d.Hint = Clean(d.File), Clean(d.Message), Clean(d.Hint)
	*l = append(*l, d)
}

// Clean makes text that may quote input safe to print as part of one line of a log that
// GitHub Actions reads for workflow commands: it is clipped (Clip); line breaks, other
// control characters and bytes that are not UTF-8 are written as Go escapes (\n, \x00),
// so a value cannot end the line and start a "::add-mask::" or "::error" line of its own;
// "##[" (the older command syntax, recognised anywhere in a line) becomes "##\[", and a
// leading "::" becomes "\::".
func Clean(s string) string {
	s = Clip(s)
	if i := strings.IndexFunc(s, unsafeRune); i >= 0 || !utf8.ValidString(s) {
		var b strings.Builder
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				fmt.Fprintf(&b, `\x%02x`, s[i])
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\r':
				b.WriteString(`\r`)
			case unsafeRune(r):
				q := strconv.QuoteRune(r)
				b.WriteString(q[1 : len(q)-1])
			default:
				b.WriteString(s[i : i+size])
			}
			i += size
		}
		s = b.String()
	}
	s = strings.ReplaceAll(s, "##[", `##\[`)
	if t := strings.TrimLeft(s, " \t"); strings.HasPrefix(t, "::") {
		s = s[:len(s)-len(t)] + `\` + t
	}
	return s
}

// CleanLines is Clean for a message of several lines written by us, such as "not found"
// followed by the list of what exists: each line is made safe on its own, so the message
// keeps its shape while a line break inside a quoted input still cannot start a workflow
// command (the line it starts begins with an escaped "\::").
func CleanLines(s string) string {
	lines := strings.Split(Clip(s), "\n")
	for i, line := range lines {
		lines[i] = Clean(line)
	}
	return strings.Join(lines, "\n")
}

// unsafeRune reports characters that end or rewrite a line in a log: control characters
// (tab excepted), the Unicode line and paragraph separators and NEL.
func unsafeRune(r rune) bool {
	return r < 0x20 && r != '\t' || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0x2028 || r == 0x2029
}

// MaxText is the most bytes of one message, hint or file name a diagnostic keeps.
const MaxText = 1024

// Clip shortens s to about MaxText bytes when it is longer: its beginning (where a message
// says what and where) and its end (what is expected) stay, the middle, which is where a
// quoted input value sits, is replaced by a note of how much was left out. A message that
// quotes a 50 MB scalar would otherwise print it whole.
func Clip(s string) string {
	if len(s) <= MaxText {
		return s
	}
	head, tail := s[:MaxText*3/4], s[len(s)-MaxText/4:]
	for len(head) > 0 && !utf8.RuneStart(s[len(head)]) {
		head = head[:len(head)-1]
	}
	for len(tail) > 0 && !utf8.RuneStart(tail[0]) {
		tail = tail[1:]
	}
	return fmt.Sprintf("%s ...[%d bytes left out]... %s", head, len(s)-len(head)-len(tail), tail)
}

// Shown is how many diagnostics a command prints at most: a file with thousands of
// problems gets the first ones and a count of the rest, not megabytes of output.
const Shown = 100

// Head returns the first n diagnostics of l and how many it left out.
func (l List) Head(n int) (List, int) {
	if len(l) <= n {
		return l, 0
	}
	return l[:n], len(l) - n
}

// HasErrors reports whether any diagnostic has severity Error.
func (l List) HasErrors() bool {
	return slices.ContainsFunc(l, func(d Diagnostic) bool { return d.Severity == Error })
}

// Errors returns the diagnostics of severity Error, in order.
func (l List) Errors() List {
	return slices.DeleteFunc(slices.Clone(l), func(d Diagnostic) bool { return d.Severity != Error })
}

// Warnings returns the diagnostics of severity Warning, in order.
func (l List) Warnings() List {
	return slices.DeleteFunc(slices.Clone(l), func(d Diagnostic) bool { return d.Severity != Warning })
}

// Compare orders diagnostics by file, line, column, severity, message and hint.
func Compare(a, b Diagnostic) int {
	return cmp.Or(
		cmp.Compare(a.File, b.File),
		cmp.Compare(a.Line, b.Line),
		cmp.Compare(a.Col, b.Col),
		cmp.Compare(a.Severity, b.Severity),
		cmp.Compare(a.Message, b.Message),
		cmp.Compare(a.Hint, b.Hint),
	)
}

// Sort orders the list (see Compare) and drops exact duplicates, in place.
func (l *List) Sort() {
	slices.SortStableFunc(*l, Compare)
	*l = slices.Compact(*l)
}

// WriteText writes one diagnostic per line as "file:line:col: message", followed by an
// indented "hint: ..." line when the diagnostic has a hint.
func WriteText(w io.Writer, l List) error {
	var b strings.Builder
	for _, d := range l {
		b.WriteString(d.String())
		b.WriteByte('\n')
		if d.Hint != "" {
			b.WriteString("    hint: ")
			b.WriteString(d.Hint)
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ErrorList is a List used as a Go error, for callers that must return one.
type ErrorList struct{ List List }

func (e *ErrorList) Error() string {
	var b strings.Builder
	_ = WriteText(&b, e.List)
	return strings.TrimRight(b.String(), "\n")
}
