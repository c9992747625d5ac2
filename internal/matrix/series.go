package matrix

import (
	"math"

	"github.com/inferbench/inferbench/internal/config"
	"github.com/inferbench/inferbench/internal/result"
)

// Series returns the geometric concurrency series from start to end inclusive, each value step
// times the previous, with the last value clamped to end (docs/generator.md#series): Series(4,
// 64, 2) = 4 8 16 32 64, Series(3, 20, 4) = 3 12 20. It returns nil unless start >= 1 and step
// >= 2, where the reference would hang or emit negative values
// (docs/generator.md#quirk-step-size, docs/generator.md#quirk-conc-positive); the
// multiplication cannot overflow.
func Series(start, end, step int64) []int64 {
	if start < 1 || step < 2 {
		return nil
	}
	var out []int64
	for c := start; c <= end; {
		out = append(out, c)
		if c == end {
			break
		}
		if c > math.MaxInt64/step {
			c = end
			continue
		}
		c *= step
		if c > end {
			c = end
		}
	}
	return out
}

// SeqLenNames lists the names accepted by --seq-lens, in the reference's order.
var SeqLenNames = func() []string {
	names := make([]string, len(result.StandardSeqLens))
	for i, s := range result.StandardSeqLens {
		names[i] = s.Name
	}
	return names
}()

// SeqLenName returns "1k1k", "1k8k" or "8k1k" for the named pairs and "<isl>_<osl>"
// for any other pair.
func SeqLenName(isl, osl int64) string {
	if isl != int64(int(isl)) || osl != int64(int(osl)) {
		return itoa(isl) + "_" + itoa(osl)
	}
	return result.SeqLenName(int(isl), int(osl))
}

// SeqLenNameOf names a pair as the generation does: 2026-08 knows only 1k1k and 8k1k, so
// its 1024/8192 pair is "1024_8192".
func SeqLenNameOf(g config.Generation, isl, osl int64) string {
	if g == config.Gen2026_08 && isl == 1024 && osl == 8192 {
		return "1024_8192"
	}
	return SeqLenName(isl, osl)
}
