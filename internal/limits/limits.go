// Package limits holds the bounds on a benchmark row's values and the rule for names that
// end up in result file names. The generator checks the configs against them and the agent
// checks the rows and flags it runs against them, so a config the generator accepts is a
// row the agent runs, and a value the agent would refuse is refused where it is written.
// docs/robustness.md#limits says where each bound comes from.
package limits

import (
	"fmt"
	"strings"
)

const (
	MaxConcurrency = 65536   // requests in flight in one point
	MaxLen         = 1 << 20 // input, output and prefix length, tokens
	MaxModelLen    = 1 << 24 // tokens
	MaxParallel    = 1 << 16 // tp, ep, pp, context-parallel sizes, workers per side
	MaxPoints      = 1024    // concurrencies of one row
)

// NameChar reports whether r may appear in a result name: the characters that are safe in
// a file name on every runner and in an artifact name, and never a path separator.
func NameChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '=' || r == '-'
}

// NameProblem says what makes s unusable as a part of a result file name, or returns ""
// when it is usable: a character other than letters, digits and . _ = -, a leading dot
// (hidden files, "." and ".."), or "..".
func NameProblem(s string) string {
	for i, r := range s {
		if !NameChar(r) {
			return fmt.Sprintf("has %q at byte %d", r, i)
		}
	}
	switch {
	case s != "" && s[0] == '.':
		return "starts with a dot"
	case strings.Contains(s, ".."):
		return `contains ".."`
	}
	return ""
}
