package changelog

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/inferbench/inferbench/internal/diag"
)

// Resolver turns config-keys elements into master config keys.
type Resolver struct {
	// Keys are all master config keys in merged order (the order pattern matches come in).
	Keys []string
	// File is the changelog path used in diagnostics.
	File string
}

// IsPattern reports whether a config-keys element is a doublestar pattern rather than a
// literal key. `*` keeps the reference's meaning (any run of characters, '-' included,
// since keys contain no '/'); `?`, `[...]` and `{a,b}` are doublestar additions.
func IsPattern(s string) bool { return strings.ContainsAny(s, "*?[{") }

// Resolve returns the entry's keys in order of first appearance (a pattern's matches in
// merged order), each once, and one diagnostic per element that names nothing.
func (r Resolver) Resolve(e Entry) ([]string, diag.List) {
	var diags diag.List
	var out []string
	seen := map[string]bool{}
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for i, k := range e.ConfigKeys {
		p := Pos{e.Line, e.Col}
		if i < len(e.KeyPos) {
			p = e.KeyPos[i]
		}
		if !IsPattern(k) {
			if slices.Contains(r.Keys, k) {
				add(k)
				continue
			}
			diags.Add(r.File, p.Line, p.Col, r.closestHint(k),
				"Config key '%s' not found in master configs (entry at line %d)", k, e.Line)
			continue
		}
		if !doublestar.ValidatePattern(k) {
			diags.Add(r.File, p.Line, p.Col, "patterns use *, ?, [abc] and {a,b}; close every [ and {",
				"config key pattern '%s' is malformed (entry at line %d)", k, e.Line)
			continue
		}
		matched := false
		for _, key := range r.Keys {
			if doublestar.MatchUnvalidated(k, key) {
				matched = true
				add(key)
			}
		}
		if !matched {
			diags.Add(r.File, p.Line, p.Col, r.closestHint(k),
				"No config keys matched the wildcard pattern '%s' in master configs (entry at line %d)", k, e.Line)
		}
	}
	return out, diags
}

// closestHint names up to three existing keys nearest to s by edit distance, ignoring the
// pattern characters so that 'llama70b-*' is compared by its literal part.
func (r Resolver) closestHint(s string) string {
	if len(r.Keys) == 0 {
		return "the master configs define no keys at all"
	}
	lit := strings.NewReplacer("*", "", "?", "", "{", "", "}", "", "[", "", "]", "").Replace(s)
	type cand struct {
		key  string
		dist int
		idx  int
	}
	cands := make([]cand, 0, len(r.Keys))
	for i, k := range r.Keys {
		d := levenshtein(lit, k)
		if IsPattern(s) {
			// A pattern usually names a fragment; measure against the best-fitting window.
			d = min(d, fragmentDistance(lit, k))
		}
		cands = append(cands, cand{k, d, i})
	}
	slices.SortStableFunc(cands, func(a, b cand) int { return cmp.Or(cmp.Compare(a.dist, b.dist), cmp.Compare(a.idx, b.idx)) })
	var names []string
	for _, c := range cands[:min(3, len(cands))] {
		names = append(names, c.key)
	}
	return fmt.Sprintf("closest existing keys: %s", strings.Join(names, ", "))
}

// fragmentDistance is the smallest edit distance between frag and any substring of key of
// the same length.
func fragmentDistance(frag, key string) int {
	if len(frag) >= len(key) {
		return levenshtein(frag, key)
	}
	best := len(frag)
	for i := 0; i+len(frag) <= len(key); i++ {
		best = min(best, levenshtein(frag, key[i:i+len(frag)]))
	}
	return best
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
