package loadgen

import (
	"bufio"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of what a hostile or unlucky server or user does to the load generator, named
// TestHostile<NN><What> after the findings of docs/robustness.md.

func oneRequest(url string) Config {
	cfg := DefaultConfig()
	cfg.BaseURL, cfg.Model, cfg.InputLen, cfg.OutputLen, cfg.RangeRatio = url, "m", 4, 7, 1
	cfg.NumPrompts, cfg.MaxConcurrency = 1, 1
	return cfg
}

func TestHostile06StreamMustEndProperly(t *testing.T) {
	t.Parallel()
	const (
		a      = `data: {"choices":[{"text":"a","finish_reason":null}]}` + "\n\n"
		last   = `data: {"choices":[{"text":"g","finish_reason":"length"}]}` + "\n\n"
		usage7 = `data: {"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":7}}` + "\n\n"
		done   = "data: [DONE]\n\n"
	)
	tests := []struct {
		name    string
		body    string
		wantErr string // "" for a success
	}{
		{"cut in the middle of an object", a + `data: {"choices":[{"text":"b"`, "incomplete JSON in stream"},
		{"complete events but no finish_reason and no [DONE]", a + a + usage7, "stream ended without a finish_reason or [DONE] (truncated)"},
		{"1 of 7 tokens although ignore_eos", last + `data: {"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":1}}` + "\n\n" + done,
			"fewer output tokens than max_tokens although ignore_eos was set"},
		{"garbage event", a + "data: hello\n\n" + done, "unexpected stream data: hello"},
		{"ended by [DONE]", a + a + usage7 + done, ""},
		{"ended by a finish_reason", a + last + usage7, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := rawServer(t, "HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"+tt.body)
			out, err := Run(t.Context(), oneRequest(url), nil)
			require.NoError(t, err)
			r := out.Records[0]
			if tt.wantErr == "" {
				assert.True(t, r.OK(), "error %q", r.Error)
				assert.Equal(t, 1, out.Metrics.Completed)
				return
			}
			assert.False(t, r.OK())
			assert.Contains(t, r.Error, tt.wantErr)
			assert.Equal(t, 0, out.Metrics.Completed)
			assert.Equal(t, 1, out.Metrics.Failed)
			assert.True(t, out.Failed(), "a point of truncated streams must not pass")
		})
	}
}

// stallingServer answers every request with headers and one chunk, then sends nothing more
// while keeping the connection open, like an engine hung mid-stream whose /health is fine.
// Each request read is reported on got.
func stallingServer(t *testing.T) (string, <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	got := make(chan struct{}, 1024)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if !readRequest(bufio.NewReader(c)) {
					return
				}
				got <- struct{}{}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"+
					chunk(`data: {"choices":[{"text":"a","finish_reason":null}]}`+"\n\n"))
				<-stop
			}()
		}
	}()
	return "http://" + ln.Addr().String(), got
}

func TestHostile12StallTimeoutCutsOffAStalledStream(t *testing.T) {
	t.Parallel()
	url, _ := stallingServer(t)
	cfg := oneRequest(url)
	cfg.StallTimeout = 300 * time.Millisecond

	out, err := Run(t.Context(), cfg, nil)

	require.NoError(t, err)
	r := out.Records[0]
	assert.False(t, r.OK())
	assert.Equal(t, "stalled: nothing received for 300ms (the stall timeout)", r.Error)
	assert.Len(t, r.Chunks, 1, "the chunk before the stall was read")
}

func TestHostile12StallTimeoutDefaultIsWellBelowTheRunTimeout(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	assert.Equal(t, DefaultStallTimeout, cfg.StallTimeout)
	assert.LessOrEqual(t, cfg.StallTimeout, 10*time.Minute)
}

func TestHostile12CancelledPointDoesNotCountUnsentRequestsAsFailed(t *testing.T) {
	t.Parallel()
	t.Run("cancelled before anything was sent", func(t *testing.T) {
		url, _ := stallingServer(t)
		cfg := oneRequest(url)
		cfg.NumPrompts = 20
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		out, err := Run(ctx, cfg, nil)
		require.NoError(t, err)
		assert.True(t, out.Canceled)
		assert.Equal(t, 0, out.Metrics.Failed)
		assert.Equal(t, 20, out.Metrics.NotSent)
		assert.Empty(t, out.Metrics.Errors)
	})
	t.Run("cancelled with one request in flight", func(t *testing.T) {
		url, got := stallingServer(t)
		cfg := oneRequest(url)
		cfg.NumPrompts = 20
		ctx, cancel := context.WithCancel(t.Context())
		go func() { <-got; cancel() }()
		out, err := Run(ctx, cfg, nil)
		require.NoError(t, err)
		assert.True(t, out.Canceled)
		assert.Equal(t, 1, out.Metrics.Failed, "the request in flight was cut")
		assert.Equal(t, 19, out.Metrics.NotSent)
		for msg := range out.Metrics.Errors {
			assert.NotContains(t, msg, "canceled before sending")
		}
	})
}

func TestHostile04LoadSettingsBounded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"num-prompts 922337203685477580", func(c *Config) { c.NumPrompts = 922337203685477580 }, "number of prompts 922337203685477580 must be within [1, 1000000]"},
		{"max-concurrency 1e8", func(c *Config) { c.MaxConcurrency = 100_000_000 }, "max concurrency 100000000 must be within [0, 65536]"},
		{"input length 2e9", func(c *Config) { c.InputLen = 2_000_000_000 }, "must both be within [1, 1048576]"},
		{"warm-ups 1e9", func(c *Config) { c.NumWarmups = 1_000_000_000 }, "warm-ups 1000000000 must be within [0, 100000]"},
		{"prompts x output", func(c *Config) { c.NumPrompts, c.OutputLen = 1_000_000, 8192 }, "8192000000 output tokens to record, more than 1073741824"},
		{"in flight x input", func(c *Config) { c.MaxConcurrency, c.NumPrompts, c.InputLen = 4096, 40960, 1<<20 }, "prompt tokens held at once, more than"},
		{"negative request timeout", func(c *Config) { c.RequestTimeout = -time.Second }, "request timeout -1s"},
		{"negative stall timeout", func(c *Config) { c.StallTimeout = -time.Second }, "stall timeout -1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.BaseURL, cfg.Model, cfg.InputLen, cfg.OutputLen, cfg.NumPrompts = "http://127.0.0.1:1", "m", 1024, 1024, 10
			tt.change(&cfg)
			err := cfg.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			// Run refuses the same settings before allocating anything for them.
			_, err = Run(t.Context(), cfg, nil)
			require.Error(t, err)
		})
	}
	ok := DefaultConfig()
	ok.BaseURL, ok.Model, ok.InputLen, ok.OutputLen, ok.MaxConcurrency = "http://127.0.0.1:1", "m", 8192, 8192, 4096
	ok.Normalize()
	assert.NoError(t, ok.Validate(), "the largest real configuration (conc 4096, 8k/8k) must pass")
}
