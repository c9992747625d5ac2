package config

import (
	"bytes"
	"os"
	"runtime"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/diag"
)

// Parsing dominates the generator's run time, and a master config is one block mapping
// of independent entries, each starting at column 0. parseMapping cuts such a file at
// those lines, parses the pieces concurrently and joins their roots. Whenever the cut
// could change the meaning (a document marker, a directive, a complex key, a root that
// is not a block mapping, a piece that does not parse on its own as exactly one entry:
// an alias to an earlier piece, a flow collection or quoted text running over a cut) it
// parses the whole file instead, which also gives syntax errors their usual positions.

// minSplitBytes is the size below which a file is parsed in one piece.
const minSplitBytes = 64 << 10

func parseMapping(file string, data []byte, diags *diag.List) (*yaml.Node, bool) {
	if len(data) < minSplitBytes || os.Getenv("NOSPLIT") != "" {
		return parseDocument(file, data, diags)
	}
	starts, ok := entryLines(data)
	if !ok || len(starts) < 2 {
		return parseDocument(file, data, diags)
	}
	workers := min(runtime.GOMAXPROCS(0), len(starts))
	roots := make([]*yaml.Node, len(starts))
	failed := make([]bool, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(starts); i += workers {
				end := len(data)
				if i+1 < len(starts) {
					end = starts[i+1].offset
				}
				root, ok := parsePiece(data[starts[i].offset:end], starts[i].line-1)
				if !ok {
					failed[w] = true
					return
				}
				roots[i] = root
			}
		})
	}
	wg.Wait()
	for _, f := range failed {
		if f {
			return parseDocument(file, data, diags)
		}
	}
	root := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: roots[0].Line, Column: roots[0].Column}
	for _, r := range roots {
		root.Content = append(root.Content, r.Content...)
	}
	return root, true
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

// parsePiece parses one entry's text, which must be a mapping of exactly one key without
// aliases, and moves its lines by offset.
func parsePiece(text []byte, offset int) (*yaml.Node, bool) {
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil || len(doc.Content) != 1 {
		return nil, false
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode || root.Style&yaml.FlowStyle != 0 || len(root.Content) != 2 || hasAlias(root) {
		return nil, false
	}
	shift(root, offset)
	return root, true
}

func shift(n *yaml.Node, by int) {
	n.Line += by
	for _, c := range n.Content {
		shift(c, by)
	}
}
