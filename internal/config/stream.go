package config

import (
	"runtime"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/diag"
)

// A master config's tree takes several times the memory of its text, and in a process
// that lives for milliseconds, first touching memory is a large part of the run time. So
// a master config in the shape fastParse reads is parsed and decoded entry by entry,
// each piece of the file on its own processor, and the nodes of one entry are reused for
// the next. Each entry is decoded in the generation it shows itself; the result stands
// only when every entry shows the same one and the file has no problem at its top level
// (keys that are not text, or defined twice). In every other case the caller reads the
// file as a whole, which also reports those problems as usual.

// streamed is a master config decoded entry by entry.
type streamed struct {
	gen     Generation // the generation every entry was decoded in
	genPos  Pos        // where the first entry shows it
	entries []*Entry   // the valid ones
	keys    []keyPos
	diags   diag.List
}

type streamedEntry struct {
	key    keyPos
	gen    Generation
	genPos Pos
	entry  *Entry
	diags  diag.List
}

// streamMaster reads file entry by entry, or returns nil.
func streamMaster(file string, data []byte) *streamed {
	starts, ok := entryLines(data)
	if !ok || len(starts) == 0 {
		return nil
	}
	workers := 1
	if len(data) >= minSplitBytes {
		workers = runtime.GOMAXPROCS(0)
	}
	text := string(data) // one copy, which the decoded values share
	pieces := cutPieces(data, starts, workers)
	decoded := make([][]streamedEntry, len(pieces))
	var wg sync.WaitGroup
	first := 0
	for i, pc := range pieces {
		mine := starts[first : first+pc.entries]
		first += pc.entries
		wg.Go(func() { decoded[i] = streamEntries(file, text, mine, pc.end) })
	}
	wg.Wait()

	s := &streamed{keys: make([]keyPos, 0, len(starts)), entries: make([]*Entry, 0, len(starts))}
	seen := make(map[string]bool, len(starts))
	for i, es := range decoded {
		if es == nil {
			return nil
		}
		if i == 0 {
			s.gen, s.genPos = es[0].gen, es[0].genPos
		}
		for _, e := range es {
			if e.gen != s.gen || seen[e.key.key] {
				return nil
			}
			seen[e.key.key] = true
			s.keys = append(s.keys, e.key)
			s.diags = append(s.diags, e.diags...)
			if e.entry != nil {
				s.entries = append(s.entries, e.entry)
			}
		}
	}
	return s
}

// streamEntries parses and decodes the entries of text that start at starts, the last
// one ending at end; nil when one of them is not exactly one entry that fastParse reads
// and that shows its generation.
func streamEntries(file, text string, starts []lineStart, end int) []streamedEntry {
	p := &fastParser{reuse: true}
	out := make([]streamedEntry, 0, len(starts))
	var arena []field
	each := func(k, v *yaml.Node) bool {
		g, at, known := entryGeneration(v)
		if k.Tag != "!!str" || !known {
			return false
		}
		e, diags := decodeEntry(file, field{key: k.Value, keyNode: k, val: v, rawValue: v}, g, &arena)
		arena = arena[:0]
		out = append(out, streamedEntry{keyPos{k.Value, file, posOf(k)}, g, at, e, diags})
		return true
	}
	for i, st := range starts {
		stop := end
		if i+1 < len(starts) {
			stop = starts[i+1].offset
		}
		if !p.split(text[st.offset:stop], st.line-1) || len(p.lines) == 0 || p.lines[0].indent != 0 || isDash(p.lines[0].text, 0) {
			return nil
		}
		if _, ok := p.mapping(0, 0, each); !ok || p.i != len(p.lines) || len(out) != i+1 {
			return nil
		}
	}
	return out
}
