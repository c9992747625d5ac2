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
		if c := <-code; c != exitOK {
			mu.Lock()
			t.Errorf("serve-sim exited %d:\n%s", c, logs.String())
			mu.Unlock()
		}
	})
	select {
	case u := <-urls:
		return u
	case c := <-code:
		code <- c
		t.Fatalf("serve-sim exited %d before listening", c)
	case <-time.After(10 * time.Second):
		t.Fatal("serve-sim did not start")
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
	if err != nil {
		t.Fatalf("result not written: %v", err)
	}
	var r benchResult
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("result %s: %v", path, err)
	}
	jl, err := os.ReadFile(filepath.Join(filepath.Dir(path), r.RequestsFile))
	if err != nil {
		t.Fatalf("per-request records not written: %v", err)
	}
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
				if r.Completed != 20 || r.TotalOutput != 160 || r.TotalInput != 20*32 || r.Endpoint != "/v1/completions" ||
					r.DatasetMode != "token-ids" || r.MaxConcurrency != 4 || r.RequestRate != "inf" {
					t.Errorf("result %+v", r)
				}
				if r.MeanTTFT == nil || r.P99ITL == nil || r.P999E2EL == nil || *r.MeanTTFT <= 0 {
					t.Errorf("latency keys missing or zero: ttft %v itl %v e2el %v", r.MeanTTFT, r.P99ITL, r.P999E2EL)
				}
				if r.AgentVersion == "" {
					t.Error("agent_version not recorded")
				}
				if !strings.Contains(stderr, "bench: 20/20 done, 0 failed") {
					t.Errorf("no final progress line (non-TTY stderr) in:\n%s", stderr)
				}
			}},
		{"chat endpoint", nil, []string{"--endpoint", "/v1/chat/completions"}, exitOK,
			func(t *testing.T, r benchResult, _ string) {
				if r.Completed != 20 || r.TotalOutput != 160 || r.Endpoint != "/v1/chat/completions" || r.DatasetMode != "text" {
					t.Errorf("result %+v", r)
				}
			}},
		{"openai-chat backend implies the chat endpoint", nil, []string{"--backend", "openai-chat"}, exitOK,
			func(t *testing.T, r benchResult, _ string) {
				if r.Completed != 20 || r.Endpoint != "/v1/chat/completions" || r.Backend != "openai-chat" {
					t.Errorf("result %+v", r)
				}
			}},
		{"the reference's --use-chat-template", nil, []string{"--use-chat-template", "--backend", "vllm"}, exitOK,
			func(t *testing.T, r benchResult, _ string) {
				// 29 words of content and the simulator's 3 template tokens: the nominal 32.
				if r.Completed != 20 || r.TotalOutput != 160 || r.TotalInput != 20*32 || r.Endpoint != "/v1/chat/completions" ||
					r.DatasetMode != "text" || !r.ChatTemplate || r.TemplateTokens != 3 {
					t.Errorf("result %+v", r)
				}
			}},
		{"text prompts for a text-only server: lengths from its usage", []string{"--text-only"}, []string{"--prompt-form", "text"}, exitOK,
			func(t *testing.T, r benchResult, _ string) {
				sum := 0
				for _, n := range r.InputLens {
					sum += n
				}
				if r.Completed != 20 || r.DatasetMode != "text" || r.TotalInput <= 20*32 || r.TotalInput != sum {
					t.Errorf("completed %d mode %s input %d (per request %v): want the server's sub-word counts, above one per word",
						r.Completed, r.DatasetMode, r.TotalInput, r.InputLens)
				}
			}},
		{"a text-only server refuses token ids", []string{"--text-only"}, nil, exitBenchFail,
			func(t *testing.T, r benchResult, stderr string) {
				if r.Failed != 20 || !strings.Contains(stderr, "accepts only text prompts") {
					t.Errorf("failed %d; stderr:\n%s", r.Failed, stderr)
				}
			}},
		{"missing usage is flagged, not zero", []string{"--no-usage-rate", "1"}, nil, exitOK,
			func(t *testing.T, r benchResult, stderr string) {
				if r.MissingUsage != 20 || r.TotalOutput != 160 || r.ShortOutputs != 0 || !strings.Contains(stderr, "no usage") {
					t.Errorf("missing usage %d, output %d, short %d; stderr:\n%s", r.MissingUsage, r.TotalOutput, r.ShortOutputs, stderr)
				}
			}},
		// ignore_eos asks for exactly max_tokens: a shorter answer is a failed request.
		{"short outputs are flagged and failed", []string{"--short-rate", "1"}, nil, exitBenchFail,
			func(t *testing.T, r benchResult, stderr string) {
				if r.ShortOutputs != 20 || r.Failed != 20 || r.TotalOutput != 0 || !strings.Contains(stderr, "fewer tokens than max_tokens") {
					t.Errorf("short %d, failed %d, output %d; stderr:\n%s", r.ShortOutputs, r.Failed, r.TotalOutput, stderr)
				}
			}},
		{"more than 5% failed: non-zero exit, everything written", []string{"--fail-rate", "0.5", "--seed", "3"}, nil, exitBenchFail,
			func(t *testing.T, r benchResult, stderr string) {
				if r.Failed == 0 || r.Failed+r.Completed != 20 || r.Errors == nil || !strings.Contains(stderr, "requests failed") ||
					!strings.Contains(stderr, "HTTP 500") {
					t.Errorf("failed %d completed %d errors %v; stderr:\n%s", r.Failed, r.Completed, r.Errors, stderr)
				}
			}},
		{"paced gamma arrivals", nil, []string{"--request-rate", "200", "--burstiness", "0.5", "--seed", "7"}, exitOK,
			func(t *testing.T, r benchResult, _ string) {
				if r.Completed != 20 || r.RequestRate != 200.0 || r.Burstiness != 0.5 {
					t.Errorf("result %+v", r)
				}
			}},
		{"save detailed", nil, []string{"--save-detailed"}, exitOK,
			func(t *testing.T, r benchResult, _ string) {
				if len(r.DetailedTTFTs) != 20 || r.DetailedTTFTs[0] <= 0 || len(r.DetailedRequests) != 20 {
					t.Errorf("ttfts %v request_errors %v", r.DetailedTTFTs, r.DetailedRequests)
				}
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
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.wantCode, stderr)
			}
			if !strings.Contains(stdout, "Serving Benchmark Result") {
				t.Errorf("no summary on stdout:\n%s", stdout)
			}
			r, lines := readBenchResult(t, filepath.Join(dir, "point.json"))
			if lines != 20 {
				t.Errorf("%d per-request records, want 20", lines)
			}
			tc.check(t, r, stderr)
		})
	}
}

func TestBenchCommandDefaultFileName(t *testing.T) {
	url := startServeSim(t, "--ttft", "1ms", "--itl", "1ms", "--model", "org/sim-model")
	dir := t.TempDir()
	code, _, stderr := bench(t, "--base-url", url, "--model", "org/sim-model", "--input-len", "8", "--output-len", "4",
		"--max-concurrency", "2", "--result-dir", dir, "--progress", "none")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "vllm-infqps-concurrency2-sim-model-*.json"))
	if len(matches) != 1 {
		entries, _ := os.ReadDir(dir)
		t.Fatalf("files %v, want one vllm-infqps-concurrency2-sim-model-<date>.json", entries)
	}
	// 10 prompts per slot and 2 warm-ups per slot when not given, as the reference runs.
	r, lines := readBenchResult(t, matches[0])
	if r.NumPrompts != 20 || lines != 20 {
		t.Errorf("num_prompts %d, %d records; want 20", r.NumPrompts, lines)
	}
}

func TestBenchCommandUsageErrors(t *testing.T) {
	code, _, stderr := bench(t, "--model", "m", "--dataset-name", "sharegpt", "--request-rate", "0",
		"--metric-percentiles", "99,100", "--percentile-metrics", "ttft,goodput", "--progress", "fancy", "extra")
	if code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	for _, want := range []string{"unexpected arguments", "--dataset-name", "--request-rate", "--metric-percentiles", "--percentile-metrics", "--progress"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not mention %s:\n%s", want, stderr)
		}
	}
	code, _, stderr = bench(t, "--model", "m", "--backend", "tgi", "--max-concurrency", "1", "--port", "1")
	if code != exitUsage || !strings.Contains(stderr, "generate API") {
		t.Errorf("backend tgi: exit %d\n%s", code, stderr)
	}
	code, _, stderr = bench(t, "--model", "m", "--port", "1")
	if code != exitUsage || !strings.Contains(stderr, "number of prompts") {
		t.Errorf("no prompts: exit %d\n%s", code, stderr)
	}
}

func TestDefaultResultNameRate(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		want string
	}{{10, "10.0"}, {2.5, "2.5"}} {
		c := loadgen.DefaultConfig()
		c.Model, c.MaxConcurrency, c.RequestRate = "org/model", 4, tc.rate
		got := defaultResultName(&c, time.Date(2026, 2, 9, 12, 0, 0, 0, time.UTC))
		if want := "vllm-" + tc.want + "qps-concurrency4-model-20260209-120000.json"; got != want {
			t.Errorf("rate %v: %s, want %s", tc.rate, got, want)
		}
	}
}

func TestServeSimCommand(t *testing.T) {
	url := startServeSim(t, "--startup-delay", "1h")
	get := func(path string) (int, string) {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/health"); code != http.StatusServiceUnavailable {
		t.Errorf("/health during the startup delay: %d, want 503", code)
	}
	code, body := get("/version")
	var v struct{ Version string }
	if json.Unmarshal([]byte(body), &v); code != 200 || v.Version != agentVersion()+"-sim" {
		t.Errorf("/version: %d %s, want {\"version\": %q}", code, body, agentVersion()+"-sim")
	}

	var stderr bytes.Buffer
	e := env{stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }}
	if c := cmdServeSim(context.Background(), e, []string{"--jitter", "2", "--fail-rate", "-1"}); c != exitUsage ||
		!strings.Contains(stderr.String(), "jitter") || !strings.Contains(stderr.String(), "fail rate") {
		t.Errorf("bad settings: exit %d\n%s", c, stderr.String())
	}
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(url, "http://"))
	stderr.Reset()
	if c := cmdServeSim(context.Background(), e, []string{"--host", host, "--port", port}); c != exitEngine ||
		!strings.Contains(stderr.String(), "choose another --port") {
		t.Errorf("port in use: exit %d\n%s", c, stderr.String())
	}
}
