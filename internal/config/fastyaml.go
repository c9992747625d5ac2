package config

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// fastParse reads the YAML that master configs are written in, several times faster
// than yaml.v3 and with less memory: block mappings and sequences (indentless sequences
// and compact mappings in sequence items included), single-line flow collections, and
// single-line plain, double- and single-quoted scalars, with comments. It builds the tree
// yaml.v3 builds for such text (kinds, tags, styles, values and positions; not comments,
// which the decoder never reads). At anything else (anchors, tags, block scalars, text
// over several lines, tabs, complex keys, documents, a scalar whose type yaml.v3 decides
// by rules not mirrored here, or anything malformed) it gives up and returns nil, and the
// caller parses with yaml.v3, which then also reports any syntax error. A test compares
// the two trees on the reference's and our configs and on generated inputs.
func fastParse(data []byte) *yaml.Node { return fastParseAt(data, 0) }

// fastParseAt is fastParse of text that starts after line offset of its file.
func fastParseAt(data []byte, offset int) *yaml.Node {
	p := &fastParser{}
	if !p.split(string(data), offset) || len(p.lines) == 0 {
		return nil
	}
	root, ok := p.block(p.lines[0].indent)
	if !ok || p.i != len(p.lines) || root.Kind != yaml.MappingNode {
		return nil
	}
	return root
}

// printable reports whether data is valid UTF-8 of the characters YAML allows, without
// tabs, carriage returns or a byte order mark (which fastParse leaves to yaml.v3).
func printable(data string) bool {
	for i := 0; i < len(data); {
		c := data[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\n' || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(data[i:])
		if r == utf8.RuneError || r == 0xFEFF || r < 0xA0 && r != 0x85 || r > 0xD7FF && r < 0xE000 || r > 0xFFFD && r < 0x10000 {
			return false
		}
		i += size
	}
	return true
}

// fastLine is a line with content (not blank, not only a comment).
type fastLine struct {
	text   string // without the newline; a slice of the file's one string, so values share it
	num    int    // 1-based
	indent int    // leading spaces
	ascii  bool
}

type fastParser struct {
	lines []fastLine
	i     int // next line to read
	slab  []yaml.Node
	// With reuse set, the blocks of nodes are kept and handed out again after recycle:
	// a config read entry by entry then needs the memory of its largest entry, not of
	// the whole file, and the process touches (and faults in) that much less memory.
	reuse bool
	slabs [][]yaml.Node
	used  int // blocks of slabs handed out since the last recycle
}

// split reads data, which starts after line offset of its file, into p.lines (reusing
// their memory) and makes the next line the first.
func (p *fastParser) split(data string, offset int) bool {
	if !printable(data) {
		return false
	}
	p.lines, p.i = slices.Grow(p.lines[:0], strings.Count(data, "\n")+1), 0
	num := offset
	for len(data) > 0 {
		num++
		end := strings.IndexByte(data, '\n')
		if end < 0 {
			end = len(data)
		}
		t := data[:end]
		if end < len(data) {
			data = data[end+1:]
		} else {
			data = ""
		}
		indent := 0
		for indent < len(t) && t[indent] == ' ' {
			indent++
		}
		if indent == len(t) || t[indent] == '#' {
			continue
		}
		switch t[0] {
		case '%', '-':
			if strings.HasPrefix(t, "---") || t[0] == '%' {
				return false // directives and document markers
			}
		case '.':
			if strings.HasPrefix(t, "...") {
				return false
			}
		}
		ascii := true
		for i := 0; i < len(t); i++ {
			if t[i] >= utf8.RuneSelf {
				ascii = false
				break
			}
		}
		p.lines = append(p.lines, fastLine{text: t, num: num, indent: indent, ascii: ascii})
	}
	return true
}

// col is the 1-based column of byte offset off in line l, as yaml.v3 counts (characters).
func (l *fastLine) col(off int) int {
	if l.ascii {
		return off + 1
	}
	return utf8.RuneCountInString(l.text[:off]) + 1
}

// node allocates nodes in blocks: a config has tens of thousands of them. A recycled
// node keeps the array behind its Content for the next collection it becomes.
func (p *fastParser) node(l *fastLine, kind yaml.Kind, tag string, off int) *yaml.Node {
	if len(p.slab) == 0 {
		p.slab = p.newSlab()
	}
	n := &p.slab[0]
	p.slab = p.slab[1:]
	n.Kind, n.Tag, n.Line, n.Column = kind, tag, l.num, l.col(off)
	n.Style, n.Value, n.Content = 0, "", n.Content[:0]
	return n
}

func (p *fastParser) newSlab() []yaml.Node {
	if !p.reuse {
		return make([]yaml.Node, 512)
	}
	if p.used == len(p.slabs) {
		p.slabs = append(p.slabs, make([]yaml.Node, 512))
	}
	p.used++
	return p.slabs[p.used-1]
}

// recycle hands out every node again; nothing may use the nodes given out before.
func (p *fastParser) recycle() { p.slab, p.used = nil, 0 }

// block parses the block node whose first line is the next one, at indent n.
func (p *fastParser) block(n int) (*yaml.Node, bool) {
	l := &p.lines[p.i]
	if l.indent != n {
		return nil, false
	}
	if isDash(l.text, n) {
		return p.sequence(n)
	}
	return p.mapping(n, n, nil)
}

func isDash(t string, at int) bool {
	return at < len(t) && t[at] == '-' && (at+1 == len(t) || t[at+1] == ' ')
}

// mapping parses a block mapping whose keys are at column n; its first key starts at
// byte first of the next line (after "- " for a compact mapping in a sequence item).
// With each, it builds no mapping node but hands each key and value to each (false stops
// the parse) and recycles their nodes afterwards.
func (p *fastParser) mapping(n, first int, each func(k, v *yaml.Node) bool) (*yaml.Node, bool) {
	l := &p.lines[p.i]
	var m *yaml.Node
	if each == nil {
		m = p.node(l, yaml.MappingNode, "!!map", first)
	}
	start := first
	for p.i < len(p.lines) {
		l = &p.lines[p.i]
		if start < 0 {
			if l.indent < n || isDash(l.text, l.indent) && l.indent == n {
				break
			}
			if l.indent != n {
				return nil, false
			}
			start = n
		}
		key, colon, rest, ok := p.key(l, start)
		if !ok {
			return nil, false
		}
		p.i++
		start = -1
		var v *yaml.Node
		if rest == len(l.text) {
			switch {
			case p.i < len(p.lines) && p.lines[p.i].indent > n:
				v, ok = p.block(p.lines[p.i].indent)
			case p.i < len(p.lines) && p.lines[p.i].indent == n && isDash(p.lines[p.i].text, n):
				v, ok = p.sequence(n)
			default:
				// An empty value: yaml.v3 places its null right after the colon.
				v = p.node(l, yaml.ScalarNode, "!!null", colon+1)
			}
		} else {
			v, ok = p.inline(l, rest)
			if ok && p.i < len(p.lines) && p.lines[p.i].indent > n {
				return nil, false // a value continued on the next line
			}
		}
		if !ok {
			return nil, false
		}
		if each != nil {
			if !each(key, v) {
				return nil, false
			}
			p.recycle()
			continue
		}
		m.Content = append(m.Content, key, v)
	}
	return m, each != nil || len(m.Content) > 0
}

// key reads "key:" at byte off of l and returns the key, the offset of its colon and where
// its value starts (the end of the line when nothing follows but a comment).
func (p *fastParser) key(l *fastLine, off int) (*yaml.Node, int, int, bool) {
	t := l.text
	if off >= len(t) || strings.IndexByte("\"'{}[],#&*!|>%@`?:-", t[off]) >= 0 && !(t[off] == '-' && off+1 < len(t) && t[off+1] != ' ' && t[off+1] != ':') {
		return nil, 0, 0, false
	}
	end := off
	for end < len(t) {
		if t[end] == ':' && (end+1 == len(t) || t[end+1] == ' ') {
			break
		}
		if t[end] == '#' && t[end-1] == ' ' {
			return nil, 0, 0, false
		}
		end++
	}
	if end == len(t) || end-off > 1000 {
		return nil, 0, 0, false // YAML limits simple keys to 1024 characters
	}
	text := strings.TrimRight(t[off:end], " ")
	k, ok := p.plainScalar(l, off, text, false)
	if !ok {
		return nil, 0, 0, false
	}
	return k, end, skipBlanksAndComment(t, end+1), true
}

// skipBlanksAndComment returns the offset of the next content on the line, or its end
// when only blanks and a comment follow.
func skipBlanksAndComment(t string, off int) int {
	for off < len(t) && t[off] == ' ' {
		off++
	}
	if off < len(t) && t[off] == '#' && (off == 0 || t[off-1] == ' ') {
		return len(t)
	}
	return off
}

// sequence parses a block sequence whose dashes are at column n.
func (p *fastParser) sequence(n int) (*yaml.Node, bool) {
	s := p.node(&p.lines[p.i], yaml.SequenceNode, "!!seq", n)
	for p.i < len(p.lines) {
		l := &p.lines[p.i]
		if l.indent < n || !isDash(l.text, n) {
			if l.indent > n {
				return nil, false
			}
			break
		}
		at := skipBlanksAndComment(l.text, n+1)
		var item *yaml.Node
		var ok bool
		switch {
		case at == len(l.text):
			p.i++
			if p.i == len(p.lines) || p.lines[p.i].indent <= n {
				return nil, false // an empty item
			}
			item, ok = p.block(p.lines[p.i].indent)
		case isDash(l.text, at) || l.text[at] == '?':
			return nil, false
		case startsWithKey(l.text, at):
			if l.text[at-1] != ' ' {
				return nil, false
			}
			item, ok = p.mapping(at, at, nil)
		default:
			p.i++
			item, ok = p.inline(l, at)
			if ok && p.i < len(p.lines) && p.lines[p.i].indent > n {
				return nil, false
			}
		}
		if !ok {
			return nil, false
		}
		s.Content = append(s.Content, item)
	}
	return s, true
}

// startsWithKey reports whether a plain "key:" starts at off.
func startsWithKey(t string, off int) bool {
	if off >= len(t) || strings.IndexByte("\"'{[", t[off]) >= 0 {
		return false
	}
	for i := off; i < len(t); i++ {
		switch {
		case t[i] == ':' && (i+1 == len(t) || t[i+1] == ' '):
			return true
		case t[i] == '#' && t[i-1] == ' ':
			return false
		}
	}
	return false
}

// inline parses the value that starts at byte off of l and runs to the end of the line
// (before a comment).
func (p *fastParser) inline(l *fastLine, off int) (*yaml.Node, bool) {
	v, end, ok := p.value(l, off, false)
	if !ok || skipBlanksAndComment(l.text, end) != len(l.text) {
		return nil, false
	}
	return v, true
}

// value parses a scalar or flow collection at off; in flow context plain scalars end at
// the flow indicators. It returns the node and the offset after it.
func (p *fastParser) value(l *fastLine, off int, flow bool) (*yaml.Node, int, bool) {
	t := l.text
	if off >= len(t) {
		return nil, 0, false
	}
	switch t[off] {
	case '{', '[':
		return p.flowCollection(l, off)
	case '"':
		return p.doubleQuoted(l, off)
	case '\'':
		return p.singleQuoted(l, off)
	case '&', '*', '!', '|', '>', '%', '@', '`', ',', ']', '}', '#', '?', ':':
		return nil, 0, false
	case '-':
		if off+1 == len(t) || t[off+1] == ' ' || flow && strings.IndexByte(",[]{}", t[off+1]) >= 0 {
			return nil, 0, false
		}
	}
	end := off
	for end < len(t) {
		c := t[end]
		if c == ':' && (end+1 == len(t) || t[end+1] == ' ' || flow && strings.IndexByte(",[]{}", t[end+1]) >= 0) {
			break
		}
		if c == '#' && t[end-1] == ' ' {
			break
		}
		if flow && strings.IndexByte(",[]{}", c) >= 0 {
			break
		}
		end++
	}
	if !flow && end < len(t) && t[end] == ':' {
		return nil, 0, false // "a: b: c"
	}
	text := strings.TrimRight(t[off:end], " ")
	if text == "" || text == "-" {
		return nil, 0, false
	}
	n, ok := p.plainScalar(l, off, text, flow)
	return n, off + len(text), ok
}

func (p *fastParser) flowCollection(l *fastLine, off int) (*yaml.Node, int, bool) {
	t := l.text
	open := t[off]
	n := p.node(l, yaml.SequenceNode, "!!seq", off)
	closing := byte(']')
	if open == '{' {
		n.Kind, n.Tag, closing = yaml.MappingNode, "!!map", '}'
	}
	n.Style = yaml.FlowStyle
	i := off + 1
	for {
		for i < len(t) && t[i] == ' ' {
			i++
		}
		if i >= len(t) {
			return nil, 0, false // a collection over several lines
		}
		if t[i] == closing && (len(n.Content) == 0) {
			return n, i + 1, true
		}
		if open == '{' {
			k, end, ok := p.value(l, i, true)
			if !ok || k.Kind != yaml.ScalarNode || end >= len(t) || t[end] != ':' || end+1 >= len(t) || t[end+1] != ' ' {
				return nil, 0, false
			}
			i = end + 1
			for i < len(t) && t[i] == ' ' {
				i++
			}
			v, end, ok := p.value(l, i, true)
			if !ok {
				return nil, 0, false
			}
			n.Content = append(n.Content, k, v)
			i = end
		} else {
			v, end, ok := p.value(l, i, true)
			if !ok {
				return nil, 0, false
			}
			n.Content = append(n.Content, v)
			i = end
		}
		for i < len(t) && t[i] == ' ' {
			i++
		}
		switch {
		case i < len(t) && t[i] == closing:
			return n, i + 1, true
		case i < len(t) && t[i] == ',':
			i++
			for i < len(t) && t[i] == ' ' {
				i++
			}
			if i < len(t) && (t[i] == closing || t[i] == ',') {
				return nil, 0, false // a trailing or empty entry
			}
		default:
			return nil, 0, false
		}
	}
}

func (p *fastParser) doubleQuoted(l *fastLine, off int) (*yaml.Node, int, bool) {
	t := l.text
	var b []byte
	for i := off + 1; i < len(t); i++ {
		switch c := t[i]; c {
		case '"':
			n := p.node(l, yaml.ScalarNode, "!!str", off)
			n.Style, n.Value = yaml.DoubleQuotedStyle, string(b)
			if b == nil {
				n.Value = t[off+1 : i]
			}
			return n, i + 1, true
		case '\\':
			if b == nil {
				b = append([]byte{}, t[off+1:i]...)
			}
			if i+1 >= len(t) {
				return nil, 0, false
			}
			i++
			switch t[i] {
			case '"', '\\':
				b = append(b, t[i])
			case 'n':
				b = append(b, '\n')
			case 't':
				b = append(b, '\t')
			default:
				return nil, 0, false
			}
		default:
			if b != nil {
				b = append(b, c)
			}
		}
	}
	return nil, 0, false
}

func (p *fastParser) singleQuoted(l *fastLine, off int) (*yaml.Node, int, bool) {
	t := l.text
	var b []byte
	for i := off + 1; i < len(t); i++ {
		if t[i] != '\'' {
			if b != nil {
				b = append(b, t[i])
			}
			continue
		}
		if i+1 < len(t) && t[i+1] == '\'' {
			if b == nil {
				b = append([]byte{}, t[off+1:i]...)
			}
			b = append(b, '\'')
			i++
			continue
		}
		n := p.node(l, yaml.ScalarNode, "!!str", off)
		n.Style, n.Value = yaml.SingleQuotedStyle, string(b)
		if b == nil {
			n.Value = t[off+1 : i]
		}
		return n, i + 1, true
	}
	return nil, 0, false
}

// plainSafe reports whether a plain scalar has only characters whose meaning is the same
// wherever they stand: letters, digits, non-ASCII text and " ._+-/=@~", '#' after
// anything but a blank (a blank would start a comment), and in block context ':' (never
// followed by a blank: that ends a key). Anything else is yaml.v3's.
func plainSafe(text string, flow bool) bool {
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c >= utf8.RuneSelf:
		case strings.IndexByte(" ._+-/=@~", c) >= 0:
		case c == ':' && !flow:
		case c == '#' && i > 0 && text[i-1] != ' ':
		default:
			return false
		}
	}
	return true
}

// plainScalar is a plain scalar with the tag yaml.v3 resolves for it, or false where
// yaml.v3's rules are not mirrored (merge keys, characters outside plainSafe).
func (p *fastParser) plainScalar(l *fastLine, off int, text string, flow bool) (*yaml.Node, bool) {
	if !plainSafe(text, flow) {
		return nil, false
	}
	tag, ok := fastResolve(text)
	if !ok {
		return nil, false
	}
	n := p.node(l, yaml.ScalarNode, tag, off)
	n.Value = text
	return n, true
}

var fastFloatRE = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// fastResolve mirrors yaml.v3's resolution of an untagged plain scalar.
func fastResolve(in string) (string, bool) {
	switch in {
	case "", "~", "null", "Null", "NULL":
		return "!!null", true
	case "true", "True", "TRUE", "false", "False", "FALSE":
		return "!!bool", true
	case ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF":
		return "!!float", true
	case "<<":
		return "", false // a merge key
	}
	switch c := in[0]; {
	case c == '.':
		if _, err := strconv.ParseFloat(in, 64); err == nil {
			return "!!float", true
		}
	case c == '+' || c == '-' || c >= '0' && c <= '9':
		if isTimestamp(in) {
			return "!!timestamp", true
		}
		plain := strings.ReplaceAll(in, "_", "")
		if _, err := strconv.ParseInt(plain, 0, 64); err == nil {
			return "!!int", true
		}
		if _, err := strconv.ParseUint(plain, 0, 64); err == nil {
			return "!!int", true
		}
		if fastFloatRE.MatchString(plain) {
			if _, err := strconv.ParseFloat(plain, 64); err == nil {
				return "!!float", true
			}
		}
		for _, pre := range []struct {
			prefix string
			base   int
		}{{"0b", 2}, {"-0b", 2}, {"0o", 8}, {"-0o", 8}} {
			if rest, ok := strings.CutPrefix(plain, pre.prefix); ok {
				if pre.prefix[0] == '-' {
					rest = "-" + rest
				}
				if _, err := strconv.ParseInt(rest, pre.base, 64); err == nil {
					return "!!int", true
				}
				if _, err := strconv.ParseUint(rest, pre.base, 64); err == nil && pre.prefix[0] != '-' {
					return "!!int", true
				}
			}
		}
	}
	return "!!str", true
}

// isTimestamp mirrors yaml.v3's timestamp recognition of plain scalars.
func isTimestamp(s string) bool {
	i := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
	}
	if i != 4 || i == len(s) || s[i] != '-' {
		return false
	}
	for _, format := range []string{"2006-1-2T15:4:5.999999999Z07:00", "2006-1-2t15:4:5.999999999Z07:00", "2006-1-2 15:4:5.999999999", "2006-1-2"} {
		if _, err := time.Parse(format, s); err == nil {
			return true
		}
	}
	return false
}
