package loadgen_test

import (
	"context"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/inferbench/inferbench/internal/loadgen"
	"github.com/inferbench/inferbench/internal/sim"
)

// TestPerTokenITL: with 4-token chunks the legacy ITL is the chunk gap, and the per-token
// ITL spreads each gap over its tokens, matching the simulator's decode step.
func TestPerTokenITL(t *testing.T) {
	s, url := startSim(t, sim.Config{TTFT: 5 * time.Millisecond, ITL: 2 * time.Millisecond, ChunkTokens: 4})
	cfg := benchConfig(url, 4, 8, 13) // 1 + 4 + 4 + 4 tokens
	out, err := loadgen.Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	truth := truthByID(s)
	var gapSum, tokSum float64
	for i := range out.Records {
		r := &out.Records[i]
		var tokens []int32
		for _, c := range r.Chunks {
			tokens = append(tokens, c.Tokens)
		}
		if got := tokens; len(got) != 4 || got[0] != 1 || got[1] != 4 || got[3] != 4 || r.TokensSpread {
			t.Fatalf("request %s: chunk tokens %v (spread %v), want [1 4 4 4] from per-chunk usage", r.ID, got, r.TokensSpread)
		}
		tr := truth[r.ID]
		for _, g := range tr.ITLs() {
			gapSum += ms(g)
			tokSum += 4
		}
	}
	m := out.Metrics
	wantTok := gapSum / tokSum
	if math.Abs(m.ITLPerToken.Mean-wantTok) > 0.25 || math.Abs(m.ITL.Mean-4*wantTok) > 1 {
		t.Errorf("per-token ITL %.3f ms, chunk ITL %.3f ms; truth per token %.3f ms", m.ITLPerToken.Mean, m.ITL.Mean, wantTok)
	}
	if m.ITLPerToken.Mean < 1.9 || m.ITL.Mean < 7.6 {
		t.Errorf("per-token ITL %.3f ms, chunk ITL %.3f ms: below the simulated 2 ms step", m.ITLPerToken.Mean, m.ITL.Mean)
	}
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
			if m.Failed == 0 || m.Failed+m.Completed != 40 {
				t.Errorf("failed %d completed %d, want some of 40 failed", m.Failed, m.Completed)
			}
			for msg, n := range m.Errors {
				if !strings.Contains(msg, "HTTP 500") || !strings.Contains(msg, "injected") {
					t.Errorf("error %q x%d, want the server's HTTP 500 message", msg, n)
				}
			}
		}, true},
		{"missing usage", sim.Config{NoUsageRate: 1}, nil, func(t *testing.T, o *loadgen.Outcome) {
			m := o.Metrics
			if m.MissingUsage != 40 || m.TotalOutput != 40*8 || m.Completed != 40 {
				t.Errorf("missing usage %d, output %d, completed %d; want 40 flagged, 320 estimated tokens", m.MissingUsage, m.TotalOutput, m.Completed)
			}
			if !strings.Contains(strings.Join(m.Warnings(), "\n"), "no usage") {
				t.Errorf("warnings %q do not mention missing usage", m.Warnings())
			}
		}, false},
		// Asked for exactly max_tokens (ignore_eos), a shorter answer is a failed request.
		{"short outputs", sim.Config{ShortRate: 1}, nil, func(t *testing.T, o *loadgen.Outcome) {
			m := o.Metrics
			if m.ShortOutputs != 40 || m.Failed != 40 || m.Completed != 0 || m.TotalOutput != 0 {
				t.Errorf("short %d, failed %d, completed %d, output %d; want 40 short and failed", m.ShortOutputs, m.Failed, m.Completed, m.TotalOutput)
			}
			if m.Errors["fewer output tokens than max_tokens although ignore_eos was set"] != 40 {
				t.Errorf("errors %v", m.Errors)
			}
		}, true},
		{"no per-chunk usage", sim.Config{ChunkTokens: 2}, func(c *loadgen.Config) { c.ContinuousUsage = false }, func(t *testing.T, o *loadgen.Outcome) {
			m := o.Metrics
			if m.TokensSpread != 40 || m.MissingUsage != 0 || m.TotalOutput != 320 {
				t.Errorf("spread %d missing %d output %d; want 40 spread, usage present, 320 tokens", m.TokensSpread, m.MissingUsage, m.TotalOutput)
			}
			r := o.Records[0]
			if len(r.Chunks) != 5 || r.Chunks[0].Tokens+r.Chunks[1].Tokens+r.Chunks[2].Tokens+r.Chunks[3].Tokens+r.Chunks[4].Tokens != 8 {
				t.Errorf("chunks %v, want 5 chunks carrying 8 tokens", r.Chunks)
			}
		}, false},
		{"chat with text prompts", sim.Config{}, func(c *loadgen.Config) { c.Endpoint = loadgen.EndpointChat }, func(t *testing.T, o *loadgen.Outcome) {
			m := o.Metrics
			// 16 words each, plus the three tokens of the server's chat template.
			if m.Completed != 40 || m.TotalOutput != 320 || m.TotalInput != 40*19 || o.Config.DatasetMode != loadgen.DatasetText {
				t.Errorf("completed %d output %d input %d mode %s", m.Completed, m.TotalOutput, m.TotalInput, o.Config.DatasetMode)
			}
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
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, out)
			if out.Failed() != tc.failed {
				t.Errorf("Failed() = %v, want %v", out.Failed(), tc.failed)
			}
		})
	}
}

func TestUnreachableServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	out, err := loadgen.Run(context.Background(), benchConfig("http://"+addr, 2, 4, 4), nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Metrics.Failed != 4 || !out.Failed() {
		t.Fatalf("failed %d, Failed() %v; want all 4 failed", out.Metrics.Failed, out.Failed())
	}
	for msg := range out.Metrics.Errors {
		if !strings.Contains(msg, "connection refused") {
			t.Errorf("error %q, want connection refused", msg)
		}
	}
}

func TestCancelStopsPromptly(t *testing.T) {
	_, url := startSim(t, sim.Config{TTFT: time.Millisecond, ITL: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	out, err := loadgen.Run(ctx, benchConfig(url, 4, 100, 100), nil)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Run took %v after cancel", el)
	}
	if !out.Canceled || out.Metrics.Failed == 0 || len(out.Records) != 100 {
		t.Errorf("canceled %v failed %d records %d", out.Canceled, out.Metrics.Failed, len(out.Records))
	}
}

func TestRequestRatePacesArrivals(t *testing.T) {
	_, url := startSim(t, sim.Config{})
	cfg := benchConfig(url, 0, 20, 2)
	cfg.RequestRate = 200 // mean gap 5 ms
	out, err := loadgen.Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	last := out.Records[19].Scheduled
	if last < 20*time.Millisecond || last > 400*time.Millisecond {
		t.Errorf("last arrival at %v, want about 95 ms for 19 gaps of 5 ms", last)
	}
	for i := 1; i < 20; i++ {
		r := out.Records[i]
		if r.Scheduled < out.Records[i-1].Scheduled || r.Sent < r.Scheduled {
			t.Fatalf("request %d scheduled %v sent %v (previous scheduled %v)", i, r.Scheduled, r.Sent, out.Records[i-1].Scheduled)
		}
	}
}

func TestWarmupsAreDiscarded(t *testing.T) {
	s, url := startSim(t, sim.Config{})
	cfg := benchConfig(url, 2, 6, 2)
	cfg.NumWarmups = 4
	out, err := loadgen.Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Records) != 6 || out.Warmups != 4 || out.WarmupErr != 0 || len(s.Truth()) != 10 {
		t.Errorf("records %d warmups %d (%d failed), server saw %d", len(out.Records), out.Warmups, out.WarmupErr, len(s.Truth()))
	}
}
