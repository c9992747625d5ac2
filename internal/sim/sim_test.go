package sim

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inferbench/inferbench/internal/testkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serve starts s on 127.0.0.1 and returns its base URL and a stop function that cancels
// the context and waits for Serve to return.
func serve(t *testing.T, cfg Config) (*Sim, string, func() error) {
	t.Helper()
	if cfg.Model == "" {
		cfg.Model = "m"
	}
	s, err := New(cfg)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, ln) }()
	var once sync.Once
	var serr error
	stop := func() error {
		once.Do(func() { cancel(); serr = <-errc })
		return serr
	}
	t.Cleanup(func() { stop() })
	return s, "http://" + ln.Addr().String(), stop
}

func post(t *testing.T, url, body string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestStartupDelayAndReadiness(t *testing.T) {
	// A startup that outlasts the test answers 503 however slow the machine is.
	_, slow, _ := serve(t, Config{StartupDelay: time.Hour})
	resp, err := http.Get(slow + "/health")
	require.NoError(t, err, "health during startup")
	resp.Body.Close()
	require.Equal(t, 503, resp.StatusCode, "health during startup")
	r, _ := post(t, slow+"/v1/completions", `{"model":"m","prompt":"x"}`)
	assert.Equal(t, 503, r.StatusCode, "completion during startup")

	var mu sync.Mutex
	var logs []string
	_, url, _ := serve(t, Config{StartupDelay: 50 * time.Millisecond, Logf: func(f string, a ...any) {
		mu.Lock()
		logs = append(logs, f)
		mu.Unlock()
	}})
	// Health turns 200 at the ready time; the "ready" line is logged by a timer that may
	// run a little later on a busy machine.
	require.Eventually(t, func() bool {
		resp, err := http.Get(url + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		mu.Lock()
		defer mu.Unlock()
		return resp.StatusCode == 200 && len(logs) == 2
	}, time.Minute, 10*time.Millisecond, "health and the ready line after startup")
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, logs[1], "ready", "log lines")
}

func TestEndpoints(t *testing.T) {
	_, url, _ := serve(t, Config{Model: "org/m", MaxModelLen: 4096})
	resp, err := http.Get(url + "/v1/models")
	require.NoError(t, err)
	var models struct {
		Data []struct {
			ID          string `json:"id"`
			MaxModelLen int    `json:"max_model_len"`
		} `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&models)
	require.Len(t, models.Data, 1)
	assert.Equal(t, "org/m", models.Data[0].ID)
	assert.Equal(t, 4096, models.Data[0].MaxModelLen)
	_, tok := post(t, url+"/tokenize", `{"model":"org/m","prompt":"one two three"}`)
	assert.Contains(t, tok, `"count":3`, "tokenize")
	r, body := post(t, url+"/v1/completions", `{"model":"other","prompt":"x"}`)
	assert.Equal(t, 400, r.StatusCode, "wrong model")
	assert.Contains(t, body, "does not exist", "wrong model")
	post(t, url+"/v1/completions", `{"model":"org/m","prompt":[1,2,3],"max_tokens":4}`)
	resp, _ = http.Get(url + "/metrics")
	m, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`vllm:num_requests_running{model_name="org/m"} 0`, `vllm:num_requests_waiting{model_name="org/m"} 0`,
		`vllm:prompt_tokens_total{model_name="org/m"} 3`, `vllm:generation_tokens_total{model_name="org/m"} 4`, `vllm:request_success_total{model_name="org/m"} 1`} {
		assert.Contains(t, string(m), want, "metrics")
	}
	checkPrometheusText(t, string(m))
	ct := resp.Header.Get("Content-Type")
	assert.True(t, strings.HasPrefix(ct, "text/plain"), "metrics content type %q, want text/plain (Prometheus text format)", ct)
}

// checkPrometheusText checks the exposition format: every sample has a name, optional
// labels and a number, and follows a "# TYPE" line of its metric.
func checkPrometheusText(t *testing.T, text string) {
	t.Helper()
	sample := regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? [-+]?[0-9.eE+-]+$`)
	typed := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if f, ok := strings.CutPrefix(l, "# TYPE "); ok {
			name, kind, _ := strings.Cut(f, " ")
			assert.False(t, kind != "counter" && kind != "gauge" && kind != "histogram", "metric %s has type %q", name, kind)
			typed[name] = true
			continue
		}
		if strings.HasPrefix(l, "#") {
			continue
		}
		m := sample.FindStringSubmatch(l)
		if !assert.NotNil(t, m, "not a Prometheus sample line: %q", l) {
			continue
		}
		assert.True(t, typed[m[1]], "sample")
	}
}

func TestVersion(t *testing.T) {
	for _, tc := range []struct{ set, want string }{{"", "sim"}, {"v1.2.3-sim", "v1.2.3-sim"}} {
		// During the startup delay too: the runner asks while the engine loads.
		_, url, _ := serve(t, Config{Version: tc.set, StartupDelay: time.Minute})
		resp, err := http.Get(url + "/version")
		require.NoError(t, err)
		var v struct{ Version string }
		err = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		assert.NoError(t, err)
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, tc.want, v.Version)
	}
}

// stream posts a streaming request and returns its data payloads.
func stream(t *testing.T, url, body string) []string {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		require.Equal(t, 200, resp.StatusCode, "%s", b)
	}
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	var out []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

func TestStreamingFormats(t *testing.T) {
	s, url, _ := serve(t, Config{ChunkTokens: 3})
	t.Run("completions with continuous usage", func(t *testing.T) {
		ev := stream(t, url+"/v1/completions", `{"model":"m","prompt":[5,6],"max_tokens":7,"stream":true,"ignore_eos":true,
			"stream_options":{"include_usage":true,"continuous_usage_stats":true}}`)
		// chunks of 1, 3, 3 tokens, the usage chunk, [DONE]
		require.Len(t, ev, 5, "events")
		require.Equal(t, "[DONE]", ev[4], "events")
		var c struct {
			Choices []struct {
				Text         string  `json:"text"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *struct {
				PromptTokens     int `json:"prompt_tokens"`
				CompletionTokens int `json:"completion_tokens"`
			} `json:"usage"`
		}
		for i, want := range []int{1, 4, 7} {
			json.Unmarshal([]byte(ev[i]), &c)
			assert.Len(t, c.Choices, 1, "chunk %d", i)
			require.NotNil(t, c.Usage, "chunk %d", i)
			assert.Equal(t, want, c.Usage.CompletionTokens, "chunk %d", i)
		}
		assert.Equal(t, "length", *c.Choices[0].FinishReason)
		c.Choices = nil
		json.Unmarshal([]byte(ev[3]), &c)
		assert.Empty(t, c.Choices, "usage chunk")
		assert.Equal(t, 2, c.Usage.PromptTokens, "usage chunk")
		assert.Equal(t, 7, c.Usage.CompletionTokens, "usage chunk")
	})
	t.Run("chat without usage", func(t *testing.T) {
		ev := stream(t, url+"/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi there"}]}],
			"max_completion_tokens":2,"stream":true}`)
		require.Len(t, ev, 3, "events")
		require.Contains(t, ev[0], `"delta":{"role":"assistant","content":`, "events")
		require.NotContains(t, ev[1], "role", "events")
		require.NotContains(t, ev[1], `"usage":{`, "events")
	})
	t.Run("truth", func(t *testing.T) {
		tr := s.Truth()
		require.Len(t, tr, 2, "truth")
		assert.True(t, tr[0].OK(), "truth %+v", tr)
		assert.Len(t, tr[0].Chunks, 3, "truth")
		assert.Equal(t, 7, tr[0].CompletionTokens, "truth")
		assert.True(t, tr[0].UsageSent, "truth %+v", tr)
		assert.False(t, tr[1].UsageSent, "truth %+v", tr)
		resp, _ := http.Get(url + "/sim/truth")
		var list []Truth
		json.NewDecoder(resp.Body).Decode(&list)
		require.Len(t, list, 2, "GET /sim/truth")
		assert.Equal(t, tr[0].ID, list[0].ID, "GET /sim/truth")
		req, _ := http.NewRequest(http.MethodDelete, url+"/sim/truth", nil)
		http.DefaultClient.Do(req)
		n := len(s.Truth())
		assert.Equal(t, 0, n, "%d truth records after DELETE", n)
	})
}

func TestReplyModes(t *testing.T) {
	script := filepath.Join(t.TempDir(), "script.json")
	os.WriteFile(script, []byte(`{"Janet":"She makes $18 every day.\n#### 18","":"I do not know.\n#### 0"}`), 0o644)
	rules, err := LoadScript(script)
	require.NoError(t, err)
	tests := []struct {
		name string
		cfg  Config
		body string
		want string
	}{
		{"echo", Config{Mode: ModeEcho}, `{"model":"m","prompt":"say \"this\" back","max_tokens":50}`, `say "this" back`},
		{"echo truncated", Config{Mode: ModeEcho}, `{"model":"m","prompt":"one two three four","max_tokens":2}`, "one two"},
		{"script match", Config{Mode: ModeScript, Script: rules}, `{"model":"m","messages":[{"role":"user","content":"Janet's ducks lay 16 eggs"}],"max_tokens":100}`, "She makes $18 every day.\n#### 18"},
		{"script default", Config{Mode: ModeScript, Script: rules}, `{"model":"m","prompt":"What?","max_tokens":100}`, "I do not know.\n#### 0"},
		{"stop string", Config{Mode: ModeScript, Script: rules}, `{"model":"m","prompt":"Janet","max_tokens":100,"stop":["####"]}`, "She makes $18 every day.\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, url, _ := serve(t, tc.cfg)
			path := "/v1/completions"
			if strings.Contains(tc.body, "messages") {
				path = "/v1/chat/completions"
			}
			_, body := post(t, url+path, tc.body)
			var r struct {
				Choices []struct {
					Text    string `json:"text"`
					Message struct{ Content string }
				}
			}
			require.NoError(t, json.Unmarshal([]byte(body), &r), "response %s", body)
			require.Len(t, r.Choices, 1, "response %s", body)
			assert.Equal(t, tc.want, r.Choices[0].Text+r.Choices[0].Message.Content, "reply")
		})
	}
}

// TestBatching: with one running sequence the second request waits for the first, and
// the decode step grows with the number of running sequences.
func TestBatching(t *testing.T) {
	s, url, _ := serve(t, Config{MaxNumSeqs: 1, TTFT: 10 * time.Millisecond, ITL: 5 * time.Millisecond})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			post(t, url+"/v1/completions", `{"model":"m","prompt":"a","max_tokens":3,"stream":true}`)
		}()
	}
	wg.Wait()
	tr := s.Truth()
	require.Len(t, tr, 2, "truth")
	q := max(tr[0].Queued, tr[1].Queued)
	assert.GreaterOrEqual(t, q, 15*time.Millisecond, "second request queued %v, want about the first's 20 ms", q)

	s2, url2, _ := serve(t, Config{ITL: 2 * time.Millisecond, ITLPerSeq: 2 * time.Millisecond})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			post(t, url2+"/v1/completions", `{"model":"m","prompt":"a","max_tokens":6,"stream":true}`)
		}()
	}
	wg.Wait()
	for _, tr := range s2.Truth() {
		assert.GreaterOrEqual(t, tr.E2EL(), 10*time.Millisecond, "5 steps of >= 2 ms with up to 4 running took")
	}
}

func TestInjectedFailuresAndShutdown(t *testing.T) {
	_, url, stop := serve(t, Config{FailRate: 1, ITL: time.Second})
	r, body := post(t, url+"/v1/completions", `{"model":"m","prompt":"a"}`)
	assert.Equal(t, 500, r.StatusCode)
	assert.Contains(t, body, "injected")

	// A stream in flight is cut and Serve returns promptly on cancel.
	_, url2, stop2 := serve(t, Config{ITL: time.Second})
	resp, err := http.Post(url2+"/v1/completions", "application/json", strings.NewReader(`{"model":"m","prompt":"a","max_tokens":100,"stream":true}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	start := time.Now()
	assert.NoError(t, stop2(), "Serve")
	took := time.Since(start)
	t.Run("timing", func(t *testing.T) {
		testkit.Stress(t)
		assert.LessOrEqual(t, took, 2*time.Second, "shutdown took")
	})
	stop()
}

func TestValidate(t *testing.T) {
	err := (&Config{TTFT: -1, Jitter: 1, FailRate: 2, Mode: "script"}).Validate()
	require.Error(t, err, "want errors")
	for _, want := range []string{"model", "ttft", "jitter", "fail rate", "script"} {
		assert.Contains(t, err.Error(), want, "errors")
	}
	_, err = LoadScript(filepath.Join(t.TempDir(), "none.json"))
	assert.Error(t, err, "missing script file accepted")
}

func TestSplitTokens(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"The answer is 42.", []string{"The", " answer", " is", " 42."}},
		{"a\n#### 18", []string{"a", "\n####", " 18"}},
		{"  lead", []string{"  lead"}},
		{"", nil},
	} {
		got := splitTokens(tc.in)
		assert.Equal(t, strings.Join(tc.want, "|"), strings.Join(got, "|"), "splitTokens")
		assert.Equal(t, tc.in, strings.Join(got, ""), "splitTokens")
	}
}

func TestJitter(t *testing.T) {
	s, url, _ := serve(t, Config{ITL: 4 * time.Millisecond, Jitter: 0.5, Seed: 1})
	post(t, url+"/v1/completions", `{"model":"m","prompt":"a","max_tokens":30,"stream":true}`)
	gaps := s.Truth()[0].ITLs()
	lo, hi := gaps[0], gaps[0]
	var sum time.Duration
	for _, g := range gaps {
		lo, hi = min(lo, g), max(hi, g)
		sum += g
	}
	// Steps are scheduled on absolute times, so their mean stays the configured step.
	mean := sum / time.Duration(len(gaps))
	assert.GreaterOrEqual(t, mean, 3*time.Millisecond, "mean gap")
	t.Run("timing", func(t *testing.T) {
		testkit.Stress(t)
		assert.LessOrEqual(t, mean, 6*time.Millisecond, "mean gap")
	})
	assert.GreaterOrEqual(t, hi-lo, time.Millisecond, "gaps within [%v, %v]: jitter had no effect", lo, hi)
}

// TestWaitingQueueInMetrics: beyond MaxNumSeqs, requests wait, and /metrics shows the
// running and waiting counts as vLLM does.
func TestWaitingQueueInMetrics(t *testing.T) {
	_, url, _ := serve(t, Config{MaxNumSeqs: 1, ITL: 20 * time.Millisecond})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			post(t, url+"/v1/completions", `{"model":"m","prompt":"a","max_tokens":10,"stream":true}`)
		}()
	}
	defer wg.Wait()
	want := []string{`vllm:num_requests_running{model_name="m"} 1`, `vllm:num_requests_waiting{model_name="m"} 2`}
	var last string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		resp, err := http.Get(url + "/metrics")
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = string(b)
		if strings.Contains(last, want[0]) && strings.Contains(last, want[1]) {
			return
		}
	}
	assert.Fail(t, "metrics never showed 1 running and 2 waiting", "last:\n%s", last)
}
