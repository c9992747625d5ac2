//go:build unix

package telemetry

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The sampler's own cost and the delay a broken tool adds, measured on this machine:
//
//	go test -run '^$' -bench . -benchtime 3x ./internal/telemetry/
//
// BenchmarkSamplerCPU runs a real sampling stream (a shell loop printing nvidia-smi's
// format for 8 GPUs every 100 ms, the default interval) recorded for two seconds per
// iteration and reports the agent process's own CPU time per second sampled (the tool's CPU
// is the child's and not counted). BenchmarkSamplerLines is the line handling alone (parse,
// CSV write, bookkeeping) for one sampled second. The delay benchmarks time a point's
// recording (start, record, stop) against a tool that hangs for ever and one that is not
// installed.

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fakeNvidiaSMI prints nvidia-smi's CSV for 8 GPUs every 100 ms (the query arguments it is
// given are ignored).
const fakeNvidiaSMI = `if [ "$1" = --help-query-gpu ]; then echo '"timestamp" "power.draw"'; exit 0; fi
echo "timestamp, index, power.draw [W], temperature.gpu, clocks.current.sm [MHz], clocks.current.memory [MHz], utilization.gpu [%], utilization.memory [%]"
while :; do
  ts=$(date '+%Y/%m/%d %H:%M:%S.%N' | cut -c1-23)
  for g in 0 1 2 3 4 5 6 7; do echo "$ts, $g, 612.47 W, 61, 1980 MHz, 2619 MHz, 97 %, 43 %"; done
  sleep 0.1
done`

func BenchmarkSamplerCPU(b *testing.B) {
	dir := b.TempDir()
	const window = 2 * time.Second
	var cpu, sampled time.Duration
	samples := 0
	for b.Loop() {
		tl := &Tool{Vendor: NVIDIA, Program: []string{"sh", "-c", fakeNvidiaSMI, "nvidia-smi"}, Interval: 100 * time.Millisecond,
			ProbeTimeout: 5 * time.Second}
		c0, t0 := cpuNow(), time.Now()
		s := tl.Start(context.Background(), Options{})
		r := s.Record(filepath.Join(dir, "m.csv"))
		time.Sleep(window)
		sum := r.Stop(time.Now().Add(-time.Second))
		s.Close()
		cpu += cpuNow() - c0
		sampled += time.Since(t0)
		samples += sum.Samples
		require.Empty(b, sum.Problem, "%s: %s", sum.Problem, sum.Message)
	}
	b.ReportMetric(cpu.Seconds()*1e3/sampled.Seconds(), "cpu-ms/s")
	b.ReportMetric(float64(samples)/sampled.Seconds(), "samples/s")
	b.ReportMetric(0, "ns/op")
}

func BenchmarkSamplerLines(b *testing.B) {
	tl := &Tool{Vendor: NVIDIA, Program: []string{"nvidia-smi"}, Interval: 100 * time.Millisecond}
	s := tl.Start(context.Background(), Options{Starter: &fakeStarter{
		script: func(_, _ io.Writer, stop <-chan struct{}) int { <-stop; return 0 }}, Exec: probeRunner(), Clock: newClock(true)})
	defer s.Close()
	r := s.Record(filepath.Join(b.TempDir(), "m.csv"))
	lineWriter{s}.Write([]byte(nvidiaHeader + "\n"))
	t := time.Now()
	var chunk strings.Builder
	for b.Loop() {
		chunk.Reset()
		for range 10 { // one second at 100 ms
			t = t.Add(100 * time.Millisecond)
			ts := nvTime(t)
			for g := range 8 {
				fmt.Fprintf(&chunk, "%s, %d, 612.47 W, 61, 1980 MHz, 2619 MHz, 97 %%, 43 %%, 640.00 W\n", ts, g)
			}
		}
		lineWriter{s}.Write([]byte(chunk.String()))
	}
	r.Stop(t)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3, "µs/sampled-s")
}

func BenchmarkStartStopHungTool(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		tl := &Tool{Vendor: NVIDIA, Program: []string{"sh", "-c", "exec sleep 1000", "nvidia-smi"}, Interval: 100 * time.Millisecond}
		s := tl.Start(ctx, Options{})
		sum := s.Record(filepath.Join(dir, "m.csv")).Stop(time.Now())
		s.Close()
		cancel()
		require.Equal(b, ProblemStalled, sum.Problem)
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms-delay/point")
}

func BenchmarkStartStopMissingTool(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		tl := &Tool{Vendor: NVIDIA, Program: []string{"/nonexistent/nvidia-smi"}, Interval: 100 * time.Millisecond}
		s := tl.Start(context.Background(), Options{})
		sum := s.Record(filepath.Join(dir, "m.csv")).Stop(time.Now())
		s.Close()
		require.Equal(b, ProblemMissing, sum.Problem)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs-delay/point")
}
