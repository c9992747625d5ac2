package loadgen_test

import (
	"context"
	"testing"
	"time"

	"github.com/inferbench/inferbench/internal/loadgen"
	"github.com/inferbench/inferbench/internal/sim"
)

func TestDebugWave(t *testing.T) {
	url := startSimProcess(t, sim.Config{TTFT: 100 * time.Millisecond, ITL: 20 * time.Millisecond, ChunkTokens: 1})
	cfg := benchConfig(url, 1024, 2048, 16)
	out, _ := loadgen.Run(context.Background(), cfg, nil)
	truth := fetchTruth(t, url)
	worst, wi := 0.0, 0
	for i := range out.Records {
		r := &out.Records[i]
		tr := truth[r.ID]
		d := ms(r.TTFT() - tr.TTFT())
		if d > worst {
			worst, wi = d, i
		}
	}
	r := &out.Records[wi]
	tr := truth[r.ID]
	t.Logf("worst %s err %.2f readlag %.2f", r.ID, worst, ms(r.ReadLag))
	wall := func(d time.Duration) float64 { return float64(out.Start.Round(0).Add(d).UnixNano()%1e8) / 1e6 }
	t.Logf("client sent %.2f truth arrival %.2f", wall(r.Sent), float64(tr.Arrival.UnixNano()%1e8)/1e6)
	for j := range r.Chunks {
		t.Logf("chunk %d client %.2f truth %.2f", j, wall(r.Chunks[j].At), float64(tr.Arrival.Add(tr.Chunks[j].At).UnixNano()%1e8)/1e6)
	}
}
