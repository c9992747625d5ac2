package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/loadgen"
)

// startServeSim runs `agent serve-sim --port 0 args...` in this process until the test
// ends and returns its base URL, read from the command's "listening on" line.
func startServeSim(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	code := make(chan int, 1)
	go func() {
		code <- cmdServeSim(ctx, env{stdout: io.Discard, stderr: pw, getenv: func(string) string { return "" }},
			append([]string{"--host", "127.0.0.1", "--port", "0"}, args...))
		pw.Close()
	}()
	urls := make(chan string, 1)
	var logs bytes.Buffer
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			mu.Lock()
			logs.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if _, rest, ok := strings.Cut(sc.Text(), "listening on "); ok {
				urls <- strings.Fields(rest)[0]
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		c := <-code
		mu.Lock()
		assert.Equal(t, exitOK, c, "serve-sim exited %d:\n%s", c, logs.String())
		mu.Unlock()
	})
	select {
	case u := <-urls:
		return u
	case c := <-code:
		code <- c
		require.FailNowf(t, "serve-sim stopped", "exited %d before listening", c)
	case <-time.After(10 * time.Second):
		require.FailNow(t, "serve-sim did not start")
	}
	return ""
}

// bench runs `agent bench args...` and returns its exit code, stdout and stderr.
func bench(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := cmdBench(ctx, env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}, args)
	return code, stdout.String(), stderr.String()
}

// benchResult is the part of the raw result the command tests read.
type benchResult struct {
	Backend          string         `json:"backend"`
	NumPrompts       int            `json:"num_prompts"`
	RequestRate      any            `json:"request_rate"`
	Burstiness       float64        `json:"burstiness"`
	MaxConcurrency   int            `json:"max_concurrency"`
	Completed        int            `json:"completed"`
	TotalInput       int            `json:"total_input_tokens"`
	TotalOutput      int            `json:"total_output_tokens"`
	MeanTTFT         *float64       `json:"mean_ttft_ms"`
	P99ITL           *float64       `json:"p99_itl_ms"`
	P999E2EL         *float64       `json:"p99.9_e2el_ms"`
	Endpoint         string         `json:"endpoint"`
	DatasetMode      string         `json:"dataset_mode"`
	Failed           int            `json:"failed"`
	MissingUsage     int            `json:"missing_usage"`
	ShortOutputs     int            `json:"short_outputs"`
	AgentVersion     string         `json:"agent_version"`
	Warnings         []string       `json:"client_warnings"`
	RequestsFile     string         `json:"requests_file"`
	Errors           map[string]int `json:"errors"`
	DetailedTTFTs    []float64      `json:"ttfts"`
	DetailedRequests []string       `json:"request_errors"`
	ChatTemplate     bool           `json:"chat_template"`
	TemplateTokens   int            `json:"chat_template_tokens"`
	InputLens        []int          `json:"input_lens"`
}

func readBenchResult(t *testing.T, path string) (benchResult, int) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err, "result not written")
	var r benchResult
	require.NoError(t, json.Unmarshal(b, &r), "result %s", path)
	jl, err := os.ReadFile(filepath.Join(filepath.Dir(path), r.RequestsFile))
	require.NoError(t, err, "per-request records not written")
	return r, bytes.Count(jl, []byte("\n"))
}

// TestBenchCommandAgainstServeSim drives the two commands together, as the README's no-GPU
// job does: flags in the reference's spelling, both endpoints, the failure rule, and the
// flags for missing usage and short outputs.
func TestBenchCommandAgainstServeSim(t *testing.T) {
	tests := []struct {
		name     string
		sim      []string
		bench    []string
		wantCode int
		check    func(t *testing.T, r benchResult, stderr string)
	}{
		{"completions, reference flags", nil, []string{"--backend", "vllm", "--dataset-name", "random", "--save-result",
			"--percentile-metrics", "ttft,tpot,itl,e2el", "--ignore-eos", "--request-rate", "inf"}, exitOK,
			func(t *testing.T, r benchResult, stderr string) {
				assert.Equal(t, 20, r.Completed, "result")
				assert.Equal(t, 160, r.TotalOutput, "result")
				assert.Equal(t, 20*32, r.TotalInput, "result")
				assert.Equal(t, "/v1/completions", r.Endpoint, "result")
				assert.Equal(t, "token-ids", r.DatasetMode, "result")
				assert.Equal(t, 4, r.MaxConcurrency, "result")
				assert.Equal(t, "inf", r.RequestRate, "result")
				require.NotNil(t, r.MeanTTFT, "latency keys missing or zero")
				assert.NotNil(t, r.P99ITL, "latency keys missing or zero")
				assert.NotNil(t, r.P999E2EL, "latency keys missing or zero")
				assert.Greater(t, *r.MeanTTFT, float64(0), "latency keys missing or zero")
				assert.NotEmpty(t, r.AgentVersion, "agent_version not recorded")
				assert.Contains(t, stderr, "bench: 20/20 done, 0 failed", "no final progress line (non-TTY stderr)")
			}},
		{"chat endpoint", nil, []string{"--endpoint", "/v1/chat/completions"}, exitOK,
			func(t *testing.T, r benchResult, _ string) {
				assert.Equal(t, 20, r.Completed, "result")
				assert.Equal(t, 160, r.TotalOutput, "result")
				assert.Equal(t, "/v1/chat/completions", r.Endpoint, "result")
				assert.Equal(t, "text", r.DatasetMode, "result")
			}},
		{"openai-chat backend implies the chat endpoint", nil, []string{"--backend", "openai-chat"}, exitOK,
			func(t *testing.T, r benchResult, _ string) {
				assert.Equal(t, 20, r.Completed, "result")
				assert.Equal(t, "/v1/chat/completions", r.Endpoint, "result")
				assert.Equal(t, "openai-chat", r.Backend, "result")
			}},
		{"the reference's --use-chat-template", nil, []string{"--use-chat-template", "--backend", "vllm"}, exitOK,
			func(t *testing.T, r benchResult, _ string) {
				// 29 words of content and the simulator's 3 template tokens: the nominal 32.
				assert.Equal(t, 20, r.Completed, "result")
				assert.Equal(t, 160, r.TotalOutput, "result")
				assert.Equal(t, 20*32, r.TotalInput, "result")
				assert.Equal(t, "/v1/chat/completions", r.Endpoint, "result")
				assert.Equal(t, "text", r.DatasetMode, "result")
				assert.True(t, r.ChatTemplate, "result %+v", r)
				assert.Equal(t, 3, r.TemplateTokens, "result")
			}},
		{"text prompts for a text-only server: lengths from its usage", []string{"--text-only"}, []string{"--prompt-form", "text"}, exitOK,
			func(t *testing.T, r benchResult, _ string) {
				sum := 0
				for _, n := range r.InputLens {
					sum += n
				}
				assert.Equal(t, 20, r.Completed)
				assert.Equal(t, "text", r.DatasetMode)
				assert.Greater(t, r.TotalInput, 20*32)
				assert.Equal(t, sum, r.TotalInput)
			}},
		{"a text-only server refuses token ids", []string{"--text-only"}, nil, exitBenchFail,
			func(t *testing.T, r benchResult, stderr string) {
				assert.Equal(t, 20, r.Failed)
				assert.Contains(t, stderr, "accepts only text prompts")
			}},
		{"missing usage is flagged, not zero", []string{"--no-usage-rate", "1"}, nil, exitOK,
			func(t *testing.T, r benchResult, stderr string) {
				assert.Equal(t, 20, r.MissingUsage)
				assert.Equal(t, 160, r.TotalOutput)
				assert.Equal(t, 0, r.ShortOutputs)
				assert.Contains(t, stderr, "no usage")
			}},
		// ignore_eos asks for exactly max_tokens: a shorter answer is a failed request.
		{"short outputs are flagged and failed", []string{"--short-rate", "1"}, nil, exitBenchFail,
			func(t *testing.T, r benchResult, stderr string) {
				assert.Equal(t, 20, r.ShortOutputs)
				assert.Equal(t, 20, r.Failed)
				assert.Equal(t, 0, r.TotalOutput)
				assert.Contains(t, stderr, "fewer tokens than max_tokens")
			}},
		{"more than 5% failed: non-zero exit, everything written", []string{"--fail-rate", "0.5", "--seed", "3"}, nil, exitBenchFail,
			func(t *testing.T, r benchResult, stderr string) {
				assert.NotEqual(t, 0, r.Failed)
				assert.Equal(t, 20, r.Failed+r.Completed)
				assert.NotNil(t, r.Errors)
				assert.Contains(t, stderr, "requests failed")
				assert.Contains(t, stderr, "HTTP 500")
			}},
		{"paced gamma arrivals", nil, []string{"--request-rate", "200", "--burstiness", "0.5", "--seed", "7"}, exitOK,
			func(t *testing.T, r benchResult, _ string) {
				assert.Equal(t, 20, r.Completed, "result")
				assert.Equal(t, 200.0, r.RequestRate, "result")
				assert.Equal(t, 0.5, r.Burstiness, "result")
			}},
		{"save detailed", nil, []string{"--save-detailed"}, exitOK,
			func(t *testing.T, r benchResult, _ string) {
				require.Len(t, r.DetailedTTFTs, 20)
				assert.Greater(t, r.DetailedTTFTs[0], float64(0))
				assert.Len(t, r.DetailedRequests, 20)
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := startServeSim(t, append([]string{"--ttft", "2ms", "--itl", "1ms"}, tc.sim...)...)
			dir := t.TempDir()
			args := append([]string{"--base-url", url, "--model", "sim-model", "--random-input-len", "32", "--random-output-len", "8",
				"--random-range-ratio", "1", "--num-prompts", "20", "--max-concurrency", "4", "--num-warmups", "2",
				"--result-dir", dir, "--result-filename", "point.json", "--progress", "auto"}, tc.bench...)
			code, stdout, stderr := bench(t, args...)
			require.Equal(t, tc.wantCode, code, "exit %d, want %d; stderr:\n%s", code, tc.wantCode, stderr)
			assert.Contains(t, stdout, "Serving Benchmark Result", "no summary on stdout")
			r, lines := readBenchResult(t, filepath.Join(dir, "point.json"))
			assert.Equal(t, 20, lines, "%d per-request records, want 20", lines)
			tc.check(t, r, stderr)
		})
	}
}

func TestBenchCommandDefaultFileName(t *testing.T) {
	t.Parallel()
	url := startServeSim(t, "--ttft", "1ms", "--itl", "1ms", "--model", "org/sim-model")
	dir := t.TempDir()
	code, _, stderr := bench(t, "--base-url", url, "--model", "org/sim-model", "--input-len", "8", "--output-len", "4",
		"--max-concurrency", "2", "--result-dir", dir, "--progress", "none")
	require.Equal(t, exitOK, code, "exit %d: %s", code, stderr)
	matches, _ := filepath.Glob(filepath.Join(dir, "vllm-infqps-concurrency2-sim-model-*.json"))
	if len(matches) != 1 {
		entries, _ := os.ReadDir(dir)
		require.Len(t, matches, 1, "files %v, want one vllm-infqps-concurrency2-sim-model-<date>.json", entries)
	}
	// 10 prompts per slot and 2 warm-ups per slot when not given, as the reference runs.
	r, lines := readBenchResult(t, matches[0])
	assert.Equal(t, 20, r.NumPrompts)
	assert.Equal(t, 20, lines)
}

func TestBenchCommandUsageErrors(t *testing.T) {
	t.Parallel()
	code, _, stderr := bench(t, "--model", "m", "--dataset-name", "sharegpt", "--request-rate", "0",
		"--metric-percentiles", "99,100", "--percentile-metrics", "ttft,goodput", "--progress", "fancy", "extra")
	require.Equal(t, exitUsage, code)
	for _, want := range []string{"unexpected arguments", "--dataset-name", "--request-rate", "--metric-percentiles", "--percentile-metrics", "--progress"} {
		assert.Contains(t, stderr, want, "stderr")
	}
	code, _, stderr = bench(t, "--model", "m", "--backend", "tgi", "--max-concurrency", "1", "--port", "1")
	assert.Equal(t, exitUsage, code, "backend tgi")
	assert.Contains(t, stderr, "generate API", "backend tgi")
	code, _, stderr = bench(t, "--model", "m", "--port", "1")
	assert.Equal(t, exitUsage, code, "no prompts")
	assert.Contains(t, stderr, "number of prompts", "no prompts")
}

func TestDefaultResultNameRate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rate float64
		want string
	}{{10, "10.0"}, {2.5, "2.5"}} {
		c := loadgen.DefaultConfig()
		c.Model, c.MaxConcurrency, c.RequestRate = "org/model", 4, tc.rate
		got := defaultResultName(&c, time.Date(2026, 2, 9, 12, 0, 0, 0, time.UTC))
		assert.Equal(t, "vllm-"+tc.want+"qps-concurrency4-model-20260209-120000.json", got, "rate %v", tc.rate)
	}
}

func TestServeSimCommand(t *testing.T) {
	t.Parallel()
	url := startServeSim(t, "--startup-delay", "1h")
	get := func(path string) (int, string) {
		resp, err := http.Get(url + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, _ := get("/health")
	assert.Equal(t, http.StatusServiceUnavailable, code, "/health during the startup delay")
	code, body := get("/version")
	var v struct{ Version string }
	assert.Equal(t, 200, code, "/version")
	require.NoError(t, json.Unmarshal([]byte(body), &v), "/version: %s", body)
	assert.Equal(t, agentVersion()+"-sim", v.Version)

	var stderr bytes.Buffer
	e := env{stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }}
	assert.Equal(t, exitUsage, cmdServeSim(context.Background(), e, []string{"--jitter", "2", "--fail-rate", "-1"}), "bad settings")
	assert.Contains(t, stderr.String(), "jitter", "bad settings")
	assert.Contains(t, stderr.String(), "fail rate", "bad settings")
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(url, "http://"))
	stderr.Reset()
	assert.Equal(t, exitEngine, cmdServeSim(context.Background(), e, []string{"--host", host, "--port", port}), "port in use")
	assert.Contains(t, stderr.String(), "choose another --port", "port in use")
}
