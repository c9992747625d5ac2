package config

import (
	"bytes"
	"runtime"
	"slices"
	"sync"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/diag"
)

// Parsing dominates the generator's run time. fastParse (fastyaml.go) reads the plain YAML
// master configs are written in; for anything else, yaml.v3 parses, and most of its time goes to
// attaching comments to nodes, which the decoder never reads. A master config is also one
// block mapping of independent entries, each starting at column 0. So parseMapping
// blanks out the comment lines (keeping every line where it is, so positions stay), cuts
// the file at the entries into one contiguous piece per processor, parses the pieces
// concurrently and joins their roots.
//
// Whenever either step could change the meaning it falls back to parsing the file as it
// is, which also gives syntax errors their usual positions: comment lines stay when the
// file has block scalars (whose lines may start with '#') or when a blanked line turns
// out to lie inside quoted text running over several lines; the cut is not made at a
// document marker, a directive, a complex key or a root that is not a block mapping, or
// when a piece does not parse on its own as exactly its entries (an alias to another
// piece, flow or quoted text running over a cut).

// minSplitBytes is the size below which a file is parsed in one piece.
const minSplitBytes = 64 << 10

func parseMapping(file string, data []byte, diags *diag.List) (*yaml.Node, bool) {
	if root := parsePieces(data, fastParseAt); root != nil {
		return root, true
	}
	if root := fastParse(data); root != nil {
		return root, true
	}
	src, blanked := withoutCommentLines(data)
	root := parseSplit(src)
	if root == nil {
		var quiet diag.List
		if r, ok := parseDocument(file, src, &quiet); ok && !quiet.HasErrors() {
			root = r
		}
	}
	if root != nil && (blanked == nil || quotedTextIntact(root, data, blanked)) {
		return root, true
	}
	return parseDocument(file, data, diags)
}

// hasBlockScalar reports whether data may hold a block scalar: a '|' or '>' after a
// blank or at a line start, followed only by indentation indicators, blanks or a comment
// up to the end of the line. False positives only cost the shortcut.
func hasBlockScalar(data []byte) bool {
	for i := 0; i < len(data); i++ {
		if c := data[i]; c != '|' && c != '>' {
			continue
		}
		if i > 0 && data[i-1] != ' ' && data[i-1] != '\t' && data[i-1] != '\n' {
			continue
		}
		j := i + 1
		for j < len(data) && (data[j] >= '0' && data[j] <= '9' || data[j] == '+' || data[j] == '-') {
			j++
		}
		for j < len(data) && (data[j] == ' ' || data[j] == '\t' || data[j] == '\r') {
			j++
		}
		if j == len(data) || data[j] == '\n' || (data[j] == '#' && data[j-1] != data[i]) {
			return true
		}
	}
	return false
}

// withoutCommentLines returns data with every line whose first non-blank character is '#'
// emptied, and the 1-based numbers of those lines; data itself and nil when there are
// none or the file has block scalars.
func withoutCommentLines(data []byte) ([]byte, []int) {
	if hasBlockScalar(data) {
		return data, nil
	}
	var out []byte
	var blanked []int
	line := 1
	for off := 0; off < len(data); line++ {
		end := bytes.IndexByte(data[off:], '\n')
		if end < 0 {
			end = len(data) - off
		}
		l := data[off : off+end]
		if t := bytes.TrimLeft(l, " \t"); len(t) > 0 && t[0] == '#' {
			if out == nil {
				out = make([]byte, 0, len(data))
				out = append(out, data[:off]...)
			}
			blanked = append(blanked, line)
		} else if out != nil {
			out = append(out, l...)
		}
		if off+end < len(data) && out != nil {
			out = append(out, '\n')
		}
		off += end + 1
	}
	if out == nil {
		return data, nil
	}
	return out, blanked
}

// quotedTextIntact reports whether no blanked line lies inside a quoted scalar of the
// tree, read in the original text: such a line was text, not a comment.
func quotedTextIntact(root *yaml.Node, data []byte, blanked []int) bool {
	starts := make([]int, 1, bytes.Count(data, []byte{'\n'})+1) // byte offset of each line, 0-based line index
	for i, c := range data {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	ok := true
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if !ok {
			return
		}
		if n.Kind == yaml.ScalarNode && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			last := quoteEndLine(data, starts, n.Line, n.Column, n.Style&yaml.DoubleQuotedStyle != 0)
			i, _ := slices.BinarySearch(blanked, n.Line+1)
			if last < 0 || (i < len(blanked) && blanked[i] <= last) {
				ok = false
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root)
	return ok
}

// quoteEndLine is the line on which the quoted scalar that opens at line:col ends, or -1
// when the text there is not one.
func quoteEndLine(data []byte, starts []int, line, col int, double bool) int {
	if line < 1 || line > len(starts) {
		return -1
	}
	i := starts[line-1]
	for c := 1; c < col && i < len(data) && data[i] != '\n'; c++ {
		_, size := utf8.DecodeRune(data[i:])
		i += size
	}
	q := byte('\'')
	if double {
		q = '"'
	}
	if i >= len(data) || data[i] != q {
		return -1
	}
	for i++; i < len(data); i++ {
		switch c := data[i]; {
		case c == '\n':
			line++
		case double && c == '\\':
			if i+1 < len(data) && data[i+1] == '\n' {
				line++
			}
			i++
		case c == q && !double && i+1 < len(data) && data[i+1] == q:
			i++
		case c == q:
			return line
		}
	}
	return -1
}

// parseSplit parses a master config in pieces with yaml.v3, or returns nil.
func parseSplit(data []byte) *yaml.Node {
	return parsePieces(data, func(piece []byte, offset int) *yaml.Node {
		var doc yaml.Node
		if err := yaml.Unmarshal(piece, &doc); err != nil || len(doc.Content) != 1 {
			return nil
		}
		root := doc.Content[0]
		if hasAlias(root) {
			return nil
		}
		shift(root, offset)
		return root
	})
}

// parsePieces cuts a large master config at its entries into one contiguous piece per
// processor, parses the pieces concurrently with parse (given a piece and the number of
// lines before it) and joins their roots; nil when the file is small, cannot be cut, or
// a piece is not a block mapping of exactly its entries.
func parsePieces(data []byte, parse func(piece []byte, offset int) *yaml.Node) *yaml.Node {
	workers := runtime.GOMAXPROCS(0)
	if len(data) < minSplitBytes || workers < 2 {
		return nil
	}
	starts, ok := entryLines(data)
	if !ok || len(starts) < 2 {
		return nil
	}
	pieces := cutPieces(data, starts, workers)
	roots := make([]*yaml.Node, len(pieces))
	var wg sync.WaitGroup
	for i, pc := range pieces {
		wg.Go(func() {
			r := parse(data[pc.off:pc.end], pc.line-1)
			if r != nil && r.Kind == yaml.MappingNode && r.Style&yaml.FlowStyle == 0 && len(r.Content) == 2*pc.entries {
				roots[i] = r
			}
		})
	}
	wg.Wait()
	if slices.Contains(roots, nil) {
		return nil
	}
	root := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: roots[0].Line, Column: roots[0].Column}
	for _, r := range roots {
		root.Content = append(root.Content, r.Content...)
	}
	return root
}

// piece is a contiguous run of a file's entries: data[off:end], starting at line.
type piece struct {
	off, end, line int
	entries        int
}

// cutPieces cuts data at the entry starts into at most n pieces of about equal size.
func cutPieces(data []byte, starts []lineStart, n int) []piece {
	var cuts []int // indexes into starts where a piece begins
	for i, next := 0, 0; i < len(starts); i++ {
		if starts[i].offset >= next {
			cuts = append(cuts, i)
			next = starts[i].offset + len(data)/n
		}
	}
	pieces := make([]piece, len(cuts))
	for p, c := range cuts {
		end, last := len(data), len(starts)
		if p+1 < len(cuts) {
			last = cuts[p+1]
			end = starts[last].offset
		}
		pieces[p] = piece{starts[c].offset, end, starts[c].line, last - c}
	}
	return pieces
}

// lineStart is where an entry's text starts.
type lineStart struct {
	offset int
	line   int // 1-based
}

// entryLines returns the lines that start top-level keys, or false when the file has a
// shape the cut does not handle.
func entryLines(data []byte) ([]lineStart, bool) {
	var starts []lineStart
	line := 1
	for off := 0; off < len(data); line++ {
		end := bytes.IndexByte(data[off:], '\n')
		if end < 0 {
			end = len(data) - off
		}
		l := data[off : off+end]
		if len(l) > 0 {
			switch c := l[0]; {
			case c == ' ' || c == '\t' || c == '#' || c == '\r':
			case c == '-' || c == '?' || c == '%' || c == '[' || c == '{' || c == '.' || c == '&' || c == '*' || c == '!' || c == '|' || c == '>':
				return nil, false
			default:
				starts = append(starts, lineStart{off, line})
			}
		}
		off += end + 1
	}
	if len(starts) > 0 {
		// Comments and blank lines before the first key belong to it.
		starts[0] = lineStart{0, 1}
	}
	return starts, true
}

func shift(n *yaml.Node, by int) {
	n.Line += by
	for _, c := range n.Content {
		shift(c, by)
	}
}
