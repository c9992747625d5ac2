package main

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/inferbench/inferbench/internal/diag"
)

// This file reproduces the parts of Python's argparse that the reference's users rely
// on (docs/generator.md#command-line): options in any order, nargs "+" lists that end at the
// next option, --opt=value, last occurrence wins, unique prefixes of long options,
// mutually exclusive groups, and usage errors with argparse's phrases (exit status 2).

type arity int

const (
	flagArg arity = iota // store_true
	oneArg               // exactly one value
	manyArg              // one or more values (nargs "+")
)

// option is one command-line option.
type option struct {
	name     string // "--config-files"
	arity    arity
	metavar  string
	help     string
	required bool
	choices  []string
	isInt    bool
	minInt   *int64 // our addition: values below it are usage errors
	def      string // shown in help
}

// group is a mutually exclusive group.
type group struct {
	names    []string
	required bool
}

// argParser parses the options of one subcommand.
type argParser struct {
	prog   string // "generator full-sweep"
	desc   string
	opts   []*option
	groups []group
	// positional, when set, names the one-or-more positional arguments the command takes
	// (they end up under this name); otherwise words that are not options are an error.
	positional string
}

// args holds the parsed values: the last occurrence of each option.
type args struct {
	values map[string][]string
	seen   map[string]bool
	pos    map[string]int // index of the last occurrence among the words
}

func (a *args) flag(name string) bool     { return a.seen[name] }
func (a *args) list(name string) []string { return a.values[name] }
func (a *args) str(name, def string) string {
	if v := a.values[name]; len(v) > 0 {
		return v[0]
	}
	return def
}

// integer returns the value of an int option (validated during parsing), or nil.
func (a *args) integer(name string) *int64 {
	v := a.values[name]
	if len(v) == 0 {
		return nil
	}
	n, _ := parseInt(v[0])
	return &n
}

func (a *args) ints(name string) []int64 {
	v := a.values[name]
	if v == nil {
		return nil
	}
	out := make([]int64, len(v))
	for i, s := range v {
		out[i], _ = parseInt(s)
	}
	return out
}

// errHelp is returned when -h/--help was given.
var errHelp = errors.New("help requested")

// usageError is a command-line mistake; the message follows argparse's wording.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

func (p *argParser) add(o *option) *option { p.opts = append(p.opts, o); return o }

func (p *argParser) exclusive(required bool, names ...string) {
	p.groups = append(p.groups, group{names: names, required: required})
}

var negativeNumberRE = regexp.MustCompile(`^-\d+$|^-\d*\.\d+$`)

// optionLike reports whether a word starts an option rather than being a value.
func optionLike(w string) bool {
	return len(w) > 1 && w[0] == '-' && !negativeNumberRE.MatchString(w)
}

// lookup resolves an option name, accepting unique prefixes of long options.
func (p *argParser) lookup(name string) (*option, error) {
	if name == "-h" || name == "--help" {
		return nil, errHelp
	}
	for _, o := range p.opts {
		if o.name == name {
			return o, nil
		}
	}
	if !strings.HasPrefix(name, "--") || len(name) < 3 {
		return nil, nil
	}
	var matches []string
	var match *option
	if strings.HasPrefix("--help", name) {
		matches = append(matches, "--help")
	}
	for _, o := range p.opts {
		if strings.HasPrefix(o.name, name) {
			matches = append(matches, o.name)
			match = o
		}
	}
	switch {
	case len(matches) > 1:
		return nil, usagef("ambiguous option: %s could match %s", name, strings.Join(matches, ", "))
	case len(matches) == 1 && match == nil:
		return nil, errHelp
	}
	return match, nil
}

// parse parses the words after the subcommand.
func (p *argParser) parse(words []string) (*args, error) {
	a := &args{values: map[string][]string{}, seen: map[string]bool{}, pos: map[string]int{}}
	var extras []string
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "--" {
			extras = append(extras, words[i+1:]...)
			break
		}
		if !optionLike(w) {
			extras = append(extras, w)
			continue
		}
		name, explicit, hasExplicit := w, "", false
		if strings.HasPrefix(w, "--") {
			if k, v, ok := strings.Cut(w, "="); ok {
				name, explicit, hasExplicit = k, v, true
			}
		}
		o, err := p.lookup(name)
		if err != nil {
			return nil, err
		}
		if o == nil {
			extras = append(extras, w)
			continue
		}
		var vals []string
		switch {
		case o.arity == flagArg && hasExplicit:
			return nil, usagef("argument %s: ignored explicit argument '%s'", o.name, explicit)
		case o.arity == flagArg:
		case hasExplicit:
			vals = []string{explicit}
		case o.arity == oneArg:
			if i+1 >= len(words) || optionLike(words[i+1]) {
				return nil, usagef("argument %s: expected one argument", o.name)
			}
			i++
			vals = []string{words[i]}
		default:
			for i+1 < len(words) && !optionLike(words[i+1]) && words[i+1] != "--" {
				i++
				vals = append(vals, words[i])
			}
			if len(vals) == 0 {
				return nil, usagef("argument %s: expected at least one argument", o.name)
			}
		}
		if err := o.check(vals); err != nil {
			return nil, err
		}
		if err := p.checkExclusive(a, o); err != nil {
			return nil, err
		}
		a.seen[o.name] = true
		a.values[o.name] = vals
		a.pos[o.name] = i
	}
	if err := p.checkRequired(a); err != nil {
		return nil, err
	}
	if p.positional != "" {
		if len(extras) == 0 {
			return nil, usagef("the following arguments are required: %s", p.positional)
		}
		a.values[p.positional], a.seen[p.positional] = extras, true
		extras = nil
	}
	if len(extras) > 0 {
		return nil, usagef("unrecognized arguments: %s", strings.Join(extras, " "))
	}
	return a, nil
}

func (o *option) check(vals []string) error {
	for _, v := range vals {
		if o.choices != nil && !slices.Contains(o.choices, v) {
			return usagef("argument %s: invalid choice: '%s' (choose from %s)", o.name, v, quoteJoin(o.choices))
		}
		if !o.isInt {
			continue
		}
		n, err := parseInt(v)
		if err != nil {
			return usagef("argument %s: invalid int value: '%s'", o.name, v)
		}
		if o.minInt != nil && n < *o.minInt {
			return usagef("argument %s: must be at least %d, got %d", o.name, *o.minInt, n)
		}
	}
	return nil
}

func (p *argParser) checkExclusive(a *args, o *option) error {
	for _, g := range p.groups {
		if !slices.Contains(g.names, o.name) {
			continue
		}
		for _, other := range g.names {
			if other != o.name && a.seen[other] {
				return usagef("argument %s: not allowed with argument %s", o.name, other)
			}
		}
	}
	return nil
}

func (p *argParser) checkRequired(a *args) error {
	var missing []string
	for _, o := range p.opts {
		if o.required && !a.seen[o.name] {
			missing = append(missing, o.name)
		}
	}
	if missing != nil {
		return usagef("the following arguments are required: %s", strings.Join(missing, ", "))
	}
	for _, g := range p.groups {
		if g.required && !slices.ContainsFunc(g.names, func(n string) bool { return a.seen[n] }) {
			return usagef("one of the arguments %s is required", strings.Join(g.names, " "))
		}
	}
	return nil
}

// parseInt accepts what Python's int() accepts for plain decimal input: optional
// surrounding blanks, an optional sign, digits.
func parseInt(s string) (int64, error) {
	return strconv.ParseInt(strings.TrimSpace(s), 10, 64)
}

func quoteJoin(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = "'" + v + "'"
	}
	return strings.Join(q, ", ")
}

// usageLine renders the usage, argparse style, wrapped at 100 columns.
func (p *argParser) usageLine() string {
	parts := []string{"[-h]"}
	inGroup := map[string]bool{}
	for _, g := range p.groups {
		open, close := "[", "]"
		if g.required {
			open, close = "(", ")"
		}
		parts = append(parts, open+strings.Join(g.names, " | ")+close)
		for _, n := range g.names {
			inGroup[n] = true
		}
	}
	for _, o := range p.opts {
		if inGroup[o.name] {
			continue
		}
		s := o.name
		switch o.arity {
		case oneArg:
			s += " " + o.metavar
		case manyArg:
			s += " " + o.metavar + " [" + o.metavar + " ...]"
		}
		if !o.required {
			s = "[" + s + "]"
		}
		parts = append(parts, s)
	}
	if p.positional != "" {
		parts = append(parts, p.positional+" ["+p.positional+" ...]")
	}
	head := "usage: " + p.prog + " "
	indent := strings.Repeat(" ", len(head))
	var b strings.Builder
	b.WriteString(head)
	width := len(head)
	for i, part := range parts {
		if i > 0 && width+1+len(part) > 100 {
			b.WriteString("\n" + indent)
			width = len(indent)
		} else if i > 0 {
			b.WriteByte(' ')
			width++
		}
		b.WriteString(part)
		width += len(part)
	}
	return b.String()
}

// writeUsageError prints the usage line and "prog: error: msg", as argparse does.
func (p *argParser) writeUsageError(w io.Writer, err error) {
	fmt.Fprintf(w, "%s\n%s: error: %s\n", p.usageLine(), p.prog, diag.Clean(err.Error()))
}

// writeHelp prints the full help text.
func (p *argParser) writeHelp(w io.Writer) {
	var b strings.Builder
	b.WriteString(p.usageLine() + "\n\n")
	if p.desc != "" {
		b.WriteString(p.desc + "\n\n")
	}
	b.WriteString("options:\n  -h, --help            show this help message and exit\n")
	for _, o := range p.opts {
		head := o.name
		switch o.arity {
		case oneArg:
			head += " " + o.metavar
		case manyArg:
			head += " " + o.metavar + " [" + o.metavar + " ...]"
		}
		help := o.help
		if o.def != "" {
			help += " (default: " + o.def + ")"
		}
		if len(head) <= 20 {
			fmt.Fprintf(&b, "  %-20s  %s\n", head, help)
		} else {
			fmt.Fprintf(&b, "  %s\n                        %s\n", head, help)
		}
	}
	io.WriteString(w, b.String())
}
