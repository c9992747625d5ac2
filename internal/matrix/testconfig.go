package matrix

import (
	"slices"

	"github.com/inferbench/inferbench/internal/config"
)

// TestConfigOptions are the test-config options (spec §2.5).
type TestConfigOptions struct {
	Keys  []string // exact config keys, in output order; repeats are expanded again
	Conc  []int64  // nil: keep all; else keep only these values (an intersection, Q-40)
	Evals EvalMode
}

// TestConfig expands the given config keys completely, with no seq-len, runner or node
// filtering (spec §3.4), then applies eval marking over the rows of this call only.
// The changelog calls it once per changelog entry (spec §6.5).
func TestConfig(m *config.Master, o TestConfigOptions) ([]Row, error) {
	var missing []string
	for _, k := range o.Keys {
		if m.Lookup(k) == nil {
			missing = append(missing, k)
		}
	}
	if missing != nil {
		return nil, &KeysNotFoundError{Missing: missing, Available: sortedCopy(m.Keys())}
	}
	var rows []Row
	for _, k := range o.Keys {
		e := m.Lookup(k)
		for _, sl := range e.SeqLens {
			for i := range sl.Search {
				rows = appendTestEntry(rows, e, sl, &sl.Search[i], o.Conc)
			}
		}
	}
	return applyEvals(rows, o.Evals), nil
}

func appendTestEntry(rows []Row, e *config.Entry, sl config.SeqLen, s *config.Search, keep []int64) []Row {
	concs := s.ConcList // nil when absent, null or empty (spec Q-12)
	if concs == nil {
		concs = Series(s.ConcStart, s.ConcEnd, 2)
	}
	if keep != nil {
		concs = slices.DeleteFunc(slices.Clone(concs), func(c int64) bool { return !slices.Contains(keep, c) })
	}
	if len(concs) == 0 {
		return rows
	}
	if e.Multinode {
		return append(rows, multiRow(e, sl, s, e.Runner, concs))
	}
	for _, c := range concs {
		rows = append(rows, singleRow(e, sl, s, e.Runner, c))
	}
	return rows
}
