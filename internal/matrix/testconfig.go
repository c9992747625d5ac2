package matrix

import (
	"regexp"
	"slices"
	"strings"

	"github.com/inferbench/inferbench/internal/config"
)

// TestConfigOptions are the test-config options (docs/generator.md#test-config-options).
type TestConfigOptions struct {
	Keys  []string // config keys, in output order; repeats are expanded again (2026-02)
	Conc  []int64  // nil: keep all; else keep only these values (an intersection)
	Evals EvalMode

	// 2026-08 only: Keys may be glob patterns (* ? [...]) and each key is expanded once;
	// NodeFilter fans rows out over the matching nodes of the runner label; SeqLens and
	// Scenarios filter (nil keeps all); AllEvals is --all-evals.
	NodeFilter string
	SeqLens    []string
	Scenarios  []Scenario
	AllEvals   bool
}

// TestConfig expands the given config keys completely, with no seq-len, runner or node
// filtering, then applies eval marking over the rows of this call only. The changelog
// calls it once per changelog entry (docs/generator.md#changelog). With 2026-08 configs the
// keys may be patterns and the 2026-08 filters apply. r may be nil for 2026-02 configs.
func TestConfig(m *config.Master, r *config.Runners, o TestConfigOptions) ([]Row, error) {
	keys, err := resolveKeys(m, o.Keys)
	if err != nil {
		return nil, err
	}
	var rows []Row
	var errs agenticErrors
	for _, k := range keys {
		e := m.Lookup(k)
		nodes := []string{e.Runner}
		if e.Gen == config.Gen2026_08 {
			if nodes = testNodes(e.Runner, r, o.NodeFilter); len(nodes) == 0 {
				continue
			}
		}
		if wantsScenario(o.Scenarios, FixedSeqLen) {
			for _, sl := range e.SeqLens {
				if o.SeqLens != nil && !slices.Contains(o.SeqLens, SeqLenNameOf(e.Gen, sl.ISL, sl.OSL)) {
					continue
				}
				for i := range sl.Search {
					rows = appendTestEntry(rows, e, sl, &sl.Search[i], nodes, o.Conc)
				}
			}
		}
		if wantsScenario(o.Scenarios, AgenticCoding) && r != nil {
			rows = appendAgentic(rows, e, r, nodes, &errs, func(s *config.Search) []int64 {
				return keepConc(concValues(s, 2), o.Conc)
			})
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return applyEvals(m.Gen, rows, o.Evals, o.AllEvals), nil
}

// resolveKeys checks the requested keys. 2026-02: exact keys, repeats kept. 2026-08: keys
// with * or ? are shell-style patterns over the merged keys, and every key comes once,
// in order of first appearance.
func resolveKeys(m *config.Master, requested []string) ([]string, error) {
	if m.Gen != config.Gen2026_08 {
		var missing []string
		for _, k := range requested {
			if m.Lookup(k) == nil {
				missing = append(missing, k)
			}
		}
		if missing != nil {
			return nil, &KeysNotFoundError{Missing: missing, Available: sortedCopy(m.Keys())}
		}
		return requested, nil
	}
	var out, missing, unmatched []string
	seen := map[string]bool{}
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, k := range requested {
		if !strings.ContainsAny(k, "*?") {
			if m.Lookup(k) == nil {
				missing = append(missing, k)
			} else {
				add(k)
			}
			continue
		}
		re := globRegexp(k)
		matched := false
		for _, key := range m.Keys() {
			if re.MatchString(key) {
				matched = true
				add(key)
			}
		}
		if !matched {
			unmatched = append(unmatched, k)
		}
	}
	if missing != nil || unmatched != nil {
		return nil, &KeysNotFoundError{Missing: missing, Patterns: unmatched, Available: sortedCopy(m.Keys())}
	}
	return out, nil
}

// globRegexp translates a shell-style pattern as Python's fnmatch does: * any run,
// ? one character, [...] a set ([!...] its complement), everything else literal.
func globRegexp(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?s)^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			j := i + 1
			if j < len(p) && p[j] == '!' {
				j++
			}
			if j < len(p) && p[j] == ']' {
				j++
			}
			for j < len(p) && p[j] != ']' {
				j++
			}
			if j >= len(p) {
				b.WriteString(`\[`)
				continue
			}
			set := p[i+1 : j]
			if strings.HasPrefix(set, "!") {
				set = "^" + set[1:]
			} else if strings.HasPrefix(set, "^") {
				set = `\` + set
			}
			b.WriteString("[" + strings.ReplaceAll(set, `\`, `\\`) + "]")
			i = j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return regexp.MustCompile("^" + regexp.QuoteMeta(p) + "$")
	}
	return re
}

// testNodes are the runners a 2026-08 test-config row goes to: the config's label, or
// with a node filter the label (when it matches) and its nodes that match.
func testNodes(label string, r *config.Runners, filter string) []string {
	if filter == "" {
		return []string{label}
	}
	var candidates []string
	if strings.Contains(label, filter) {
		candidates = append(candidates, label)
	}
	if r != nil {
		nodes, _ := r.Nodes(label)
		candidates = append(candidates, nodes...)
	}
	var out []string
	for _, n := range candidates {
		if strings.Contains(n, filter) && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func keepConc(concs, keep []int64) []int64 {
	if keep == nil {
		return concs
	}
	return slices.DeleteFunc(slices.Clone(concs), func(c int64) bool { return !slices.Contains(keep, c) })
}

func appendTestEntry(rows []Row, e *config.Entry, sl config.SeqLen, s *config.Search, nodes []string, keep []int64) []Row {
	concs := s.ConcList // nil when absent, null or empty
	if concs == nil {
		concs = Series(s.ConcStart, s.ConcEnd, 2)
	}
	concs = keepConc(concs, keep)
	if len(concs) == 0 {
		return rows
	}
	if e.Multinode {
		for _, node := range nodes {
			rows = append(rows, multiRow(e, sl, s, node, concs))
		}
		return rows
	}
	for _, c := range concs {
		for _, node := range nodes {
			rows = append(rows, singleRow(e, sl, s, node, c))
		}
	}
	return rows
}
