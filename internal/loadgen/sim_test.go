package loadgen_test

import (
	"context"
	"math"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/inferbench/inferbench/internal/loadgen"
	"github.com/inferbench/inferbench/internal/sim"
)

// startSim serves a simulator on 127.0.0.1 for the test's lifetime.
func startSim(t testing.TB, cfg sim.Config) (*sim.Sim, string) {
	t.Helper()
	if cfg.Model == "" {
		cfg.Model = "sim-model"
	}
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := s.Serve(ctx, ln); err != nil {
			t.Errorf("sim: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return s, "http://" + ln.Addr().String()
}

func benchConfig(url string, conc, prompts, out int) loadgen.Config {
	cfg := loadgen.DefaultConfig()
	cfg.BaseURL = url
	cfg.Model = "sim-model"
	cfg.InputLen, cfg.OutputLen, cfg.RangeRatio = 16, out, 1
	cfg.MaxConcurrency, cfg.NumPrompts, cfg.NumWarmups = conc, prompts, 0
	return cfg
}

// truthByID indexes the simulator's records by request id.
func truthByID(s *sim.Sim) map[string]sim.Truth {
	m := map[string]sim.Truth{}
	for _, tr := range s.Truth() {
		m[tr.ID] = tr
	}
	return m
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// TestAgreesWithSimulatorTruth checks that the client's TTFT, TPOT, ITL and E2EL agree with
// what the simulator recorded, request by request, within 1 ms on average. The simulator
// runs in a child process so the two do not share a Go scheduler. The gap between tokens
// (5 ms) is kept above the time this 2-core machine needs to read a whole wave of first
// chunks: a client later than one gap reads two chunks as one (the kernel merges them),
// which no timestamping can undo; the read lag in the records shows when that happens.
func TestAgreesWithSimulatorTruth(t *testing.T) {
	for _, tc := range []struct {
		conc, prompts int
	}{{1, 30}, {64, 128}, {256, 256}} {
		t.Run("conc"+itoa(tc.conc), func(t *testing.T) {
			url := startSimProcess(t, sim.Config{TTFT: 10 * time.Millisecond, ITL: 5 * time.Millisecond, ChunkTokens: 1})
			out, err := loadgen.Run(context.Background(), benchConfig(url, tc.conc, tc.prompts, 8), nil)
			if err != nil {
				t.Fatal(err)
			}
			truth := fetchTruth(t, url)
			var dTTFT, dE2EL, dTPOT, dITL []float64
			var maxTTFT float64
			for i := range out.Records {
				r := &out.Records[i]
				tr, ok := truth[r.ID]
				if !r.OK() || !ok || !tr.OK() {
					t.Fatalf("request %s: client ok=%v err=%q, truth found=%v %+v", r.ID, r.OK(), r.Error, ok, tr)
				}
				if len(r.Chunks) != len(tr.Chunks) || r.OutputTokens != tr.CompletionTokens {
					t.Fatalf("request %s: %d chunks/%d tokens, truth %d/%d", r.ID, len(r.Chunks), r.OutputTokens, len(tr.Chunks), tr.CompletionTokens)
				}
				d := ms(r.TTFT() - tr.TTFT())
				dTTFT = append(dTTFT, d)
				maxTTFT = math.Max(maxTTFT, d)
				dE2EL = append(dE2EL, ms(r.E2EL()-tr.E2EL()))
				n := float64(r.OutputTokens - 1)
				dTPOT = append(dTPOT, ms(r.E2EL()-r.TTFT())/n-ms(tr.E2EL()-tr.TTFT())/n)
				for j := 1; j < len(r.Chunks); j++ {
					dITL = append(dITL, ms(r.Chunks[j].At-r.Chunks[j-1].At)-ms(tr.Chunks[j].At-tr.Chunks[j-1].At))
				}
			}
			for _, m := range []struct {
				name string
				d    []float64
			}{{"ttft", dTTFT}, {"tpot", dTPOT}, {"itl", dITL}, {"e2el", dE2EL}} {
				mean := meanOf(m.d)
				t.Logf("%s: mean client-truth %.3f ms over %d samples", m.name, mean, len(m.d))
				if math.Abs(mean) > 1 {
					t.Errorf("%s: mean client-truth %.3f ms, want within 1 ms", m.name, mean)
				}
			}
			t.Logf("ttft: max client-truth %.3f ms; send lag p99 %.3f ms", maxTTFT, out.Metrics.SendLag.Percentiles[0])
			// The aggregated metrics are the same numbers the result file reports.
			if got, want := out.Metrics.TTFT.Mean, meanOf(clientTTFTs(out)); math.Abs(got-want) > 1e-9 {
				t.Errorf("mean_ttft_ms %v, want %v", got, want)
			}
		})
	}
}

func clientTTFTs(o *loadgen.Outcome) []float64 {
	var out []float64
	for i := range o.Records {
		out = append(out, ms(o.Records[i].TTFT()))
	}
	return out
}

func meanOf(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func itoa(i int) string {
	return string(appendInt(nil, i))
}

func appendInt(b []byte, i int) []byte {
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}
