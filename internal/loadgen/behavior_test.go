package loadgen_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/loadgen"
	"github.com/inferbench/inferbench/internal/sim"
	"github.com/inferbench/inferbench/internal/testkit"
)

// TestPerTokenITL: with 4-token chunks the legacy ITL is the chunk gap, and the per-token
// ITL spreads each gap over its tokens, matching the simulator's decode step.
func TestPerTokenITL(t *testing.T) {
	s, url := startSim(t, sim.Config{TTFT: 5 * time.Millisecond, ITL: 2 * time.Millisecond, ChunkTokens: 4})
	cfg := benchConfig(url, 4, 8, 13) // 1 + 4 + 4 + 4 tokens
	out, err := loadgen.Run(context.Background(), cfg, nil)
	require.NoError(t, err)
	truth := truthByID(s)
	var gapSum, tokSum float64
	for i := range out.Records {
		r := &out.Records[i]
		var tokens []int32
		for _, c := range r.Chunks {
			tokens = append(tokens, c.Tokens)
		}
		got := tokens
		require.Len(t, got, 4, "request")
		require.Equal(t, int32(1), got[0], "request")
		require.Equal(t, int32(4), got[1], "request")
		require.Equal(t, int32(4), got[3], "request")
		require.False(t, r.TokensSpread, "request")
		tr := truth[r.ID]
		for _, g := range tr.ITLs() {
			gapSum += ms(g)
			tokSum += 4
		}
	}
	m := out.Metrics
	wantTok := gapSum / tokSum
	assert.InDelta(t, wantTok, m.ITLPerToken.Mean, 0.25)
	assert.InDelta(t, 4*wantTok, m.ITL.Mean, 1)
	assert.GreaterOrEqual(t, m.ITLPerToken.Mean, 1.9)
	assert.GreaterOrEqual(t, m.ITL.Mean, 7.6)
}

// TestProblemsAreCountedNotHidden covers failures, missing usage, short outputs and
// servers that report no per-chunk usage.
func TestProblemsAreCountedNotHidden(t *testing.T) {
	tests := []struct {
		name   string
		sim    sim.Config
		tweak  func(*loadgen.Config)
		check  func(t *testing.T, o *loadgen.Outcome)
		failed bool
	}{
		{"injected failures", sim.Config{FailRate: 0.5, Seed: 3}, nil, func(t *testing.T, o *loadgen.Outcome) {
			m := o.Metrics
			assert.NotEqual(t, 0, m.Failed)
			assert.Equal(t, 40, m.Failed+m.Completed)
			for msg := range m.Errors {
				assert.Contains(t, msg, "HTTP 500")
				assert.Contains(t, msg, "injected")
			}
		}, true},
		{"missing usage", sim.Config{NoUsageRate: 1}, nil, func(t *testing.T, o *loadgen.Outcome) {
			m := o.Metrics
			assert.Equal(t, 40, m.MissingUsage)
			assert.Equal(t, 40*8, m.TotalOutput)
			assert.Equal(t, 40, m.Completed)
			assert.Contains(t, strings.Join(m.Warnings(), "\n"), "no usage", "warnings %q do not mention missing usage", m.Warnings())
		}, false},
		// Asked for exactly max_tokens (ignore_eos), a shorter answer is a failed request.
		{"short outputs", sim.Config{ShortRate: 1}, nil, func(t *testing.T, o *loadgen.Outcome) {
			m := o.Metrics
			assert.Equal(t, 40, m.ShortOutputs)
			assert.Equal(t, 40, m.Failed)
			assert.Equal(t, 0, m.Completed)
			assert.Equal(t, 0, m.TotalOutput)
			assert.Equal(t, 40, m.Errors["fewer output tokens than max_tokens although ignore_eos was set"])
		}, true},
		{"no per-chunk usage", sim.Config{ChunkTokens: 2}, func(c *loadgen.Config) { c.ContinuousUsage = false }, func(t *testing.T, o *loadgen.Outcome) {
			m := o.Metrics
			assert.Equal(t, 40, m.TokensSpread)
			assert.Equal(t, 0, m.MissingUsage)
			assert.Equal(t, 320, m.TotalOutput)
			r := o.Records[0]
			require.Len(t, r.Chunks, 5)
			assert.Equal(t, int32(8), r.Chunks[0].Tokens+r.Chunks[1].Tokens+r.Chunks[2].Tokens+r.Chunks[3].Tokens+r.Chunks[4].Tokens)
		}, false},
		{"chat with text prompts", sim.Config{}, func(c *loadgen.Config) { c.Endpoint = loadgen.EndpointChat }, func(t *testing.T, o *loadgen.Outcome) {
			m := o.Metrics
			// 16 words each, plus the three tokens of the server's chat template.
			assert.Equal(t, 40, m.Completed)
			assert.Equal(t, 320, m.TotalOutput)
			assert.Equal(t, 40*19, m.TotalInput)
			assert.Equal(t, loadgen.DatasetText, o.Config.DatasetMode)
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.sim.TTFT, tc.sim.ITL = time.Millisecond, time.Millisecond/2
			_, url := startSim(t, tc.sim)
			cfg := benchConfig(url, 8, 40, 8)
			if tc.tweak != nil {
				tc.tweak(&cfg)
			}
			out, err := loadgen.Run(context.Background(), cfg, nil)
			require.NoError(t, err)
			tc.check(t, out)
			assert.Equal(t, tc.failed, out.Failed())
		})
	}
}

func TestUnreachableServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	out, err := loadgen.Run(context.Background(), benchConfig("http://"+addr, 2, 4, 4), nil)
	require.NoError(t, err)
	require.Equal(t, 4, out.Metrics.Failed)
	require.True(t, out.Failed(), "failed")
	for msg := range out.Metrics.Errors {
		assert.Contains(t, msg, "connection refused")
	}
}

func TestCancelStopsPromptly(t *testing.T) {
	_, url := startSim(t, sim.Config{TTFT: time.Millisecond, ITL: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	out, err := loadgen.Run(ctx, benchConfig(url, 4, 100, 100), nil)
	require.NoError(t, err)
	el := time.Since(start)
	t.Run("timing", func(t *testing.T) {
		testkit.Stress(t)
		assert.LessOrEqual(t, el, 2*time.Second, "Run took %v after cancel", el)
	})
	assert.True(t, out.Canceled, "canceled")
	assert.NotEqual(t, 0, out.Metrics.Failed)
	assert.Len(t, out.Records, 100)
}

func TestRequestRatePacesArrivals(t *testing.T) {
	_, url := startSim(t, sim.Config{})
	cfg := benchConfig(url, 0, 20, 2)
	cfg.RequestRate = 200 // mean gap 5 ms
	out, err := loadgen.Run(context.Background(), cfg, nil)
	require.NoError(t, err)
	last := out.Records[19].Scheduled
	assert.GreaterOrEqual(t, last, 20*time.Millisecond, "last arrival")
	assert.LessOrEqual(t, last, 400*time.Millisecond, "last arrival")
	for i := 1; i < 20; i++ {
		r := out.Records[i]
		require.GreaterOrEqual(t, r.Scheduled, out.Records[i-1].Scheduled, "request")
		require.GreaterOrEqual(t, r.Sent, r.Scheduled, "request")
	}
}

func TestWarmupsAreDiscarded(t *testing.T) {
	s, url := startSim(t, sim.Config{})
	cfg := benchConfig(url, 2, 6, 2)
	cfg.NumWarmups = 4
	out, err := loadgen.Run(context.Background(), cfg, nil)
	require.NoError(t, err)
	assert.Len(t, out.Records, 6)
	assert.Equal(t, 4, out.Warmups)
	assert.Equal(t, 0, out.WarmupErr)
	assert.Len(t, s.Truth(), 10)
}
