//go:build unix

package loadgen_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/loadgen"
	"github.com/inferbench/inferbench/internal/sim"
)

// The client's own CPU cost, with the simulator in a child process so getrusage of this
// process counts the client alone. The reference Python client costs about 4 CPU-seconds
// per million output tokens and 0.5 ms of CPU per request on this machine; ours must stay
// under a tenth of that; a benchmark over its budget fails. Run them on a quiet machine:
// other processes competing for the cores raise the client's own CPU time too.
//
//	go test -run '^$' -bench ClientCPU -benchtime 5x ./internal/loadgen/

func BenchmarkClientCPUPerMillionTokens(b *testing.B) {
	url := startSimProcess(b, sim.Config{ChunkTokens: 16, TruthLimit: -1})
	cfg := benchConfig(url, 64, 256, 1024) // 256 requests x 1024 tokens in 16-token chunks
	cfg.InputLen = 128
	cpu, sys, tokens, _ := measureRuns(b, cfg)
	perM := cpu.Seconds() / (float64(tokens) / 1e6)
	b.ReportMetric(perM, "cpu-s/Mtok")
	b.ReportMetric(sys.Seconds()/(float64(tokens)/1e6), "sys-s/Mtok")
	b.ReportMetric(0, "ns/op")
	assert.LessOrEqual(b, perM, budgetPerMtok, "client CPU %.3f s per million tokens, over the budget of %.1f s (a tenth of the reference client's)", perM, budgetPerMtok)
}

// The budgets: a tenth of the reference Python client's cost on this machine.
const (
	budgetPerMtok  = 0.4  // CPU seconds per million output tokens (reference: about 4)
	budgetPerReqMS = 0.05 // CPU milliseconds per request (reference: about 0.5)
)

func BenchmarkClientCPUPerRequest(b *testing.B) {
	url := startSimProcess(b, sim.Config{ChunkTokens: 1, TruthLimit: -1})
	cfg := benchConfig(url, 64, 2048, 8) // 2048 requests of 8 one-token chunks
	cfg.InputLen = 128
	cpu, sys, _, reqs := measureRuns(b, cfg)
	perReq := cpu.Seconds() * 1e3 / float64(reqs)
	b.ReportMetric(perReq, "cpu-ms/req")
	b.ReportMetric(sys.Seconds()*1e3/float64(reqs), "sys-ms/req")
	b.ReportMetric(0, "ns/op")
	assert.LessOrEqual(b, perReq, budgetPerReqMS, "client CPU %.4f ms per request, over the budget of %.2f ms (a tenth of the reference client's)", perReq, budgetPerReqMS)
}

// measureRuns runs cfg once per benchmark iteration and adds up the client's CPU time (all
// and kernel-only), output tokens and completed requests.
func measureRuns(b *testing.B, cfg loadgen.Config) (cpu, sys time.Duration, tokens, reqs int) {
	for b.Loop() {
		c0, s0 := rusage(), sysTime()
		out, err := loadgen.Run(context.Background(), cfg, nil)
		cpu += rusage() - c0
		sys += sysTime() - s0
		require.NoError(b, err, "run")
		require.LessOrEqual(b, out.Metrics.Failed, 0, "run")
		tokens += out.Metrics.TotalOutput
		reqs += out.Metrics.Completed
	}
	return cpu, sys, tokens, reqs
}

func rusage() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func sysTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Stime.Nano())
}
