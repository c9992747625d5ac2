package diag

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserProblems are the messages of gopkg.in/yaml.v3's parser (parserc.go), as
// opposed to its scanner. For parser errors yaml.v3 prints the 0-based line of the mark
// (go-yaml/yaml issue 205), so these need one added; scanner errors are already 1-based.
var yamlParserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// YAMLSyntaxLine splits a gopkg.in/yaml.v3 syntax error into its 1-based line (0 when
// the error names none) and its message without the "yaml: line N: " prefix. yaml.v3
// reports no column for syntax errors.
func YAMLSyntaxLine(err error) (line int, msg string) {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		msg = err.Error()
		if len(msg) > 6 && msg[:6] == "yaml: " {
			msg = msg[6:]
		}
		return 0, msg
	}
	line, _ = strconv.Atoi(m[1])
	if yamlParserProblems[m[2]] {
		line++
	}
	return line, m[2]
}

// YAMLSyntaxPos is YAMLSyntaxLine with a line where yaml.v3 gives none, and a column
// where it can be known: yaml.v3 reports invalid UTF-8 and characters YAML does not allow
// (NUL, other control characters) without a line, and no error with a column. Those are
// positioned at the first byte of data that YAML does not allow; for the nesting depth
// limit, parse (yaml.v3 over the bytes it is given) is run on prefixes of the error's line
// to find the column where the limit is first reached. Other errors keep column 0.
func YAMLSyntaxPos(err error, data []byte, parse func([]byte) error) (line, col int, msg string) {
	line, msg = YAMLSyntaxLine(err)
	if line == 0 {
		if off := firstDisallowed(data); off >= 0 {
			line, col = offsetPos(data, off)
		}
		return line, col, msg
	}
	// Only a limit is reached by a prefix the same way as by the whole line: most syntax
	// errors of a cut line are errors of the cut.
	if !strings.HasPrefix(msg, "exceeded max depth") || parse == nil {
		return line, 0, msg
	}
	start, end := lineBounds(data, line)
	if start < 0 {
		return line, 0, msg
	}
	same := func(p int) bool {
		e := parse(data[:p])
		if e == nil {
			return false
		}
		l, m := YAMLSyntaxLine(e)
		return l == line && m == msg
	}
	if !same(end) {
		return line, 0, msg
	}
	lo, hi := start, end // same(hi) holds; find the smallest such prefix
	for lo < hi {
		mid := lo + (hi-lo)/2
		if same(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if hi > start {
		_, col = offsetPos(data, hi-1)
	}
	return line, col, msg
}

// firstDisallowed returns the offset of the first byte that is not valid UTF-8 or starts a
// character YAML does not allow in a stream (yaml.v3's rule), or -1.
func firstDisallowed(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		ok := r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0x7e || r == 0x85 ||
			r >= 0xa0 && r <= 0xd7ff || r >= 0xe000 && r <= 0xfffd || r >= 0x10000 && r <= 0x10ffff
		if !ok {
			return i
		}
		i += size
	}
	return -1
}

// offsetPos is the 1-based line and column (in characters, as yaml.v3 counts) of off.
func offsetPos(data []byte, off int) (line, col int) {
	start := bytes.LastIndexByte(data[:off], '\n') + 1
	return bytes.Count(data[:off], []byte{'\n'}) + 1, utf8.RuneCount(data[start:off]) + 1
}

// lineBounds returns the offsets of the start and the end (after its newline) of the
// 1-based line, or -1, -1 when data has no such line.
func lineBounds(data []byte, line int) (start, end int) {
	start = 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(data[start:], '\n')
		if i < 0 {
			return -1, -1
		}
		start += i + 1
	}
	end = len(data)
	if i := bytes.IndexByte(data[start:], '\n'); i >= 0 {
		end = start + i + 1
	}
	return start, end
}
