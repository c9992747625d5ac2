package changelog

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Line is one line of the changelog as it appears in a diff, with its 1-based line
// number in the file version it belongs to (the head version for additions, the head
// position at which the line went missing for deletions).
type Line struct {
	Num  int
	Text string
}

// Changes are the line-level changes a unified diff of one file describes.
type Changes struct {
	Added   []Line
	Deleted []Line
	// BaseNoNewline is set when the base version's last line had no trailing newline
	// (git's "\ No newline at end of file" after a deleted or context line).
	BaseNoNewline bool
}

var hunkHeader = regexp.MustCompile(`^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@`)

// ParseDiff reads the output of `git diff` for a single file. Unlike the reference, which
// classifies every line by its first characters (docs/generator.md#quirk-diff-hunks), it
// skips the file header up to the first hunk and then trusts the hunk's line counts, so a
// deleted line whose content starts with "--" or an added line starting with "++" is seen
// for what it is.
func ParseDiff(out string) (Changes, error) {
	var ch Changes
	lines := strings.Split(out, "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	oldLeft, newLeft, newNum := 0, 0, 0
	lastWasOld := false
	for i, l := range lines {
		if oldLeft == 0 && newLeft == 0 {
			switch {
			case strings.HasPrefix(l, "@@"):
				m := hunkHeader.FindStringSubmatch(l)
				if m == nil {
					return ch, fmt.Errorf("git diff output line %d: malformed hunk header %q", i+1, l)
				}
				oldLeft, newLeft = count(m[2]), count(m[4])
				newNum = atoi(m[3])
				if (oldLeft > 0 && atoi(m[1]) < 1) || (newLeft > 0 && newNum < 1) {
					return ch, fmt.Errorf("git diff output line %d: malformed hunk header %q", i+1, l)
				}
				if newLeft == 0 {
					// A hunk that only deletes names the line before the gap.
					newNum++
				}
			case strings.HasPrefix(l, `\`):
				ch.BaseNoNewline = ch.BaseNoNewline || lastWasOld
			case strings.HasPrefix(l, "Binary files "):
				return ch, fmt.Errorf("git considers the changelog a binary file")
			}
			// Anything else outside a hunk is a file header (diff --git, index, ---, +++).
			continue
		}
		if l == "" {
			// Some tools strip the single space of an empty context line.
			l = " "
		}
		switch l[0] {
		case ' ':
			oldLeft--
			newLeft--
			newNum++
			lastWasOld = true
		case '-':
			ch.Deleted = append(ch.Deleted, Line{Num: newNum, Text: l[1:]})
			oldLeft--
			lastWasOld = true
		case '+':
			ch.Added = append(ch.Added, Line{Num: newNum, Text: l[1:]})
			newLeft--
			newNum++
			lastWasOld = false
		case '\\':
			ch.BaseNoNewline = ch.BaseNoNewline || lastWasOld
		default:
			return ch, fmt.Errorf("git diff output line %d: unexpected line %q inside a hunk", i+1, l)
		}
		if oldLeft < 0 || newLeft < 0 {
			return ch, fmt.Errorf("git diff output line %d: hunk longer than its header says", i+1)
		}
	}
	if oldLeft != 0 || newLeft != 0 {
		return ch, fmt.Errorf("git diff output ends inside a hunk")
	}
	return ch, nil
}

// count parses a hunk length; an omitted length means 1.
func count(s string) int {
	if s == "" {
		return 1
	}
	return atoi(s)
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s) // the regexp guarantees digits
	return n
}
