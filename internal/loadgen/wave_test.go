package loadgen_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/loadgen"
	"github.com/inferbench/inferbench/internal/sim"
)

// TestTTFTErrorAtConcurrency1024 is the reference client's worst case: 1024 streams, a true
// TTFT of 100 ms and 20 ms between tokens. The client's TTFT must stay within 5 ms of the
// simulator's at p99, first wave (all 1024 requests sent at once) included. Attempts and
// the busy-machine rule as in TestAgreesWithSimulatorTruth.
func TestTTFTErrorAtConcurrency1024(t *testing.T) {
	if testing.Short() {
		t.Skip("2048 streamed requests; skipped with -short")
	}
	withAttempts(t, 4, func(logf func(string, ...any)) verdict {
		url := startSimProcess(t, sim.Config{TTFT: 100 * time.Millisecond, ITL: 20 * time.Millisecond, ChunkTokens: 1})
		out, err := loadgen.Run(context.Background(), benchConfig(url, 1024, 2048, 16), nil)
		require.NoError(t, err)
		truth := fetchTruth(t, url)
		var errs, firstWave, clean, itlErr []float64
		nMerged := 0
		for i := range out.Records {
			r := &out.Records[i]
			tr, ok := truth[r.ID]
			require.True(t, r.OK(), "request")
			require.True(t, ok, "request")
			require.True(t, tr.OK(), "request")
			d := ms(r.TTFT() - tr.TTFT())
			errs = append(errs, d)
			if i < 1024 {
				firstWave = append(firstWave, d)
			}
			if len(r.Chunks) > 1 && r.Chunks[1].At == r.Chunks[0].At { // only this merge moves the TTFT
				nMerged++
			} else {
				clean = append(clean, d)
			}
			for j := 1; j < len(r.Chunks) && j < len(tr.Chunks); j++ {
				itlErr = append(itlErr, ms(r.Chunks[j].At-r.Chunks[j-1].At)-ms(tr.Chunks[j].At-tr.Chunks[j-1].At))
			}
		}
		logf("TTFT error (client - truth): mean %.3f p50 %.3f p99 %.3f max %.3f ms; first wave p99 %.3f max %.3f ms",
			meanOf(errs), pct(errs, 50), pct(errs, 99), pct(errs, 100), pct(firstWave, 99), pct(firstWave, 100))
		logf("ITL error: mean %.3f p99 %.3f ms; send lag p99 %.2f max %.2f ms; read lag p99 %.2f ms; client CPU %.2f s over %.2f s; %d requests with the first two chunks merged",
			meanOf(itlErr), pct(itlErr, 99), out.Metrics.SendLag.Percentiles[0], out.Metrics.SendLagMax,
			out.Metrics.ReadLag.Percentiles[0], out.Metrics.ClientCPUSeconds, out.Duration.Seconds(), nMerged)
		var problems, cleanProblems []string
		if p99, fw := pct(errs, 99), pct(firstWave, 99); p99 > 5 || fw > 5 {
			problems = []string{fmt.Sprintf("TTFT error p99 %.3f ms (first wave %.3f ms), want under 5 ms", p99, fw)}
		}
		if len(clean) < len(errs)/2 {
			if problems == nil {
				return verdict{}
			}
			// Too few requests read in time to judge the client by them.
			return verdict{busy: fmt.Sprintf("%s; %d of %d requests had their first two chunks merged", problems[0], nMerged, len(errs))}
		}
		if p := pct(clean, 99); p > 5 {
			cleanProblems = []string{fmt.Sprintf("TTFT error p99 %.3f ms in requests read in time", p)}
		}
		return judge(problems, cleanProblems, nMerged, len(errs), out.Metrics.ClientCPUUtil, 0.5)
	})
}

// pct is the nearest-rank percentile, enough for test reporting.
func pct(xs []float64, p float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(p / 100 * float64(len(s)-1))
	return s[i]
}
