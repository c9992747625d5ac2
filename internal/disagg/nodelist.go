package disagg

import (
	"fmt"
	"strconv"
	"strings"
)

// maxHosts bounds an expansion so that a typo such as node[1-99999999] fails instead of
// exhausting memory.
const maxHosts = 100000

// ExpandNodeList turns a Slurm node list such as "gb200-[01-04,07],login" into one host
// name per node, in order. Ranges keep the zero padding of their lower bound; several
// bracket groups in one name expand to every combination, as Slurm does.
func ExpandNodeList(list string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		return nil, fmt.Errorf("empty node list")
	}
	var hosts []string
	for _, entry := range splitTop(list) {
		if entry == "" {
			return nil, fmt.Errorf("node list %q: empty entry (two commas in a row or a trailing comma)", list)
		}
		names, err := expandEntry(entry)
		if err != nil {
			return nil, fmt.Errorf("node list %q: %w", list, err)
		}
		hosts = append(hosts, names...)
		if len(hosts) > maxHosts {
			return nil, fmt.Errorf("node list %q expands to more than %d hosts", list, maxHosts)
		}
	}
	return hosts, nil
}

// splitTop splits at the commas that are not inside brackets.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// expandEntry expands one name with zero or more bracket groups.
func expandEntry(e string) ([]string, error) {
	open := strings.IndexByte(e, '[')
	if open < 0 {
		if strings.ContainsRune(e, ']') {
			return nil, fmt.Errorf("%q: ']' without '['", e)
		}
		return []string{e}, nil
	}
	end := strings.IndexByte(e[open:], ']')
	if end < 0 {
		return nil, fmt.Errorf("%q: '[' without ']'", e)
	}
	end += open
	if strings.ContainsRune(e[open+1:end], '[') {
		return nil, fmt.Errorf("%q: nested '['", e)
	}
	prefix, group := e[:open], e[open+1:end]
	if strings.ContainsRune(prefix, ']') {
		return nil, fmt.Errorf("%q: ']' without '['", e)
	}
	items, err := expandGroup(group)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", e, err)
	}
	rest, err := expandEntry(e[end+1:])
	if err != nil {
		return nil, err
	}
	if len(items)*len(rest) > maxHosts {
		return nil, fmt.Errorf("%q expands to more than %d hosts", e, maxHosts)
	}
	out := make([]string, 0, len(items)*len(rest))
	for _, it := range items {
		for _, r := range rest {
			out = append(out, prefix+it+r)
		}
	}
	return out, nil
}

// expandGroup expands the inside of one bracket group: "01-04,07".
func expandGroup(g string) ([]string, error) {
	if g == "" {
		return nil, fmt.Errorf("empty brackets")
	}
	var out []string
	for _, part := range strings.Split(g, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || lo == "" || lo[0] == '+' {
			return nil, fmt.Errorf("%q is not a number or a range like 01-04", part)
		}
		if !isRange {
			out = append(out, lo)
			continue
		}
		b, err := strconv.Atoi(hi)
		if err != nil || hi == "" || hi[0] == '+' || hi[0] == '-' {
			return nil, fmt.Errorf("%q is not a range like 01-04", part)
		}
		if b < a {
			return nil, fmt.Errorf("range %q runs backwards", part)
		}
		if b-a >= maxHosts {
			return nil, fmt.Errorf("range %q has more than %d hosts", part, maxHosts)
		}
		for i := a; i <= b; i++ {
			out = append(out, fmt.Sprintf("%0*d", len(lo), i))
		}
	}
	return out, nil
}
