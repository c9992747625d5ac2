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
)

// serve starts s on 127.0.0.1 and returns its base URL and a stop function that cancels
// the context and waits for Serve to return.
func serve(t *testing.T, cfg Config) (*Sim, string, func() error) {
	t.Helper()
	if cfg.Model == "" {
		cfg.Model = "m"
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
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
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestStartupDelayAndReadiness(t *testing.T) {
	var mu sync.Mutex
	var logs []string
	_, url, _ := serve(t, Config{StartupDelay: 150 * time.Millisecond, Logf: func(f string, a ...any) {
		mu.Lock()
		logs = append(logs, f)
		mu.Unlock()
	}})
	resp, err := http.Get(url + "/health")
	if err != nil || resp.StatusCode != 503 {
		t.Fatalf("health during startup: %v %v", resp.StatusCode, err)
	}
	if r, _ := post(t, url+"/v1/completions", `{"model":"m","prompt":"x"}`); r.StatusCode != 503 {
		t.Errorf("completion during startup: %d, want 503", r.StatusCode)
	}
	time.Sleep(200 * time.Millisecond)
	if resp, err := http.Get(url + "/health"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("health after startup: %v %v", resp.StatusCode, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logs) != 2 || !strings.Contains(logs[1], "ready") {
		t.Errorf("log lines %q, want listening then ready", logs)
	}
}

func TestEndpoints(t *testing.T) {
	_, url, _ := serve(t, Config{Model: "org/m", MaxModelLen: 4096})
	resp, err := http.Get(url + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	var models struct {
		Data []struct {
			ID          string `json:"id"`
			MaxModelLen int    `json:"max_model_len"`
		} `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&models)
	if len(models.Data) != 1 || models.Data[0].ID != "org/m" || models.Data[0].MaxModelLen != 4096 {
		t.Errorf("models %+v", models)
	}
	_, tok := post(t, url+"/tokenize", `{"model":"org/m","prompt":"one two three"}`)
	if !strings.Contains(tok, `"count":3`) {
		t.Errorf("tokenize: %s", tok)
	}
	r, body := post(t, url+"/v1/completions", `{"model":"other","prompt":"x"}`)
	if r.StatusCode != 400 || !strings.Contains(body, "does not exist") {
		t.Errorf("wrong model: %d %s", r.StatusCode, body)
	}
	post(t, url+"/v1/completions", `{"model":"org/m","prompt":[1,2,3],"max_tokens":4}`)
	resp, _ = http.Get(url + "/metrics")
	m, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`vllm:num_requests_running{model_name="org/m"} 0`, `vllm:num_requests_waiting{model_name="org/m"} 0`,
		`vllm:prompt_tokens_total{model_name="org/m"} 3`, `vllm:generation_tokens_total{model_name="org/m"} 4`, `vllm:request_success_total{model_name="org/m"} 1`} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %q:\n%s", want, m)
		}
	}
	checkPrometheusText(t, string(m))
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("metrics content type %q, want text/plain (Prometheus text format)", ct)
	}
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
			if kind != "counter" && kind != "gauge" && kind != "histogram" {
				t.Errorf("metric %s has type %q", name, kind)
			}
			typed[name] = true
			continue
		}
		if strings.HasPrefix(l, "#") {
			continue
		}
		m := sample.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("not a Prometheus sample line: %q", l)
			continue
		}
		if !typed[m[1]] {
			t.Errorf("sample %s before its # TYPE line", m[1])
		}
	}
}

func TestVersion(t *testing.T) {
	for _, tc := range []struct{ set, want string }{{"", "sim"}, {"v1.2.3-sim", "v1.2.3-sim"}} {
		// During the startup delay too: the runner asks while the engine loads.
		_, url, _ := serve(t, Config{Version: tc.set, StartupDelay: time.Minute})
		resp, err := http.Get(url + "/version")
		if err != nil {
			t.Fatal(err)
		}
		var v struct{ Version string }
		err = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || v.Version != tc.want {
			t.Errorf("GET /version = %d %+v (%v), want %q", resp.StatusCode, v, err, tc.want)
		}
	}
}

// stream posts a streaming request and returns its data payloads.
func stream(t *testing.T, url, body string) []string {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d %s", resp.StatusCode, b)
	}
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
		if len(ev) != 5 || ev[4] != "[DONE]" {
			t.Fatalf("events %q", ev)
		}
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
			if len(c.Choices) != 1 || c.Usage == nil || c.Usage.CompletionTokens != want {
				t.Errorf("chunk %d %s: want cumulative usage %d", i, ev[i], want)
			}
		}
		if *c.Choices[0].FinishReason != "length" {
			t.Errorf("finish reason %v", *c.Choices[0].FinishReason)
		}
		c.Choices = nil
		json.Unmarshal([]byte(ev[3]), &c)
		if len(c.Choices) != 0 || c.Usage.PromptTokens != 2 || c.Usage.CompletionTokens != 7 {
			t.Errorf("usage chunk %s", ev[3])
		}
	})
	t.Run("chat without usage", func(t *testing.T) {
		ev := stream(t, url+"/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi there"}]}],
			"max_completion_tokens":2,"stream":true}`)
		if len(ev) != 3 || !strings.Contains(ev[0], `"delta":{"role":"assistant","content":`) || strings.Contains(ev[1], "role") || strings.Contains(ev[1], `"usage":{`) {
			t.Fatalf("events %q", ev)
		}
	})
	t.Run("truth", func(t *testing.T) {
		tr := s.Truth()
		if len(tr) != 2 || !tr[0].OK() || len(tr[0].Chunks) != 3 || tr[0].CompletionTokens != 7 || !tr[0].UsageSent || tr[1].UsageSent {
			t.Errorf("truth %+v", tr)
		}
		resp, _ := http.Get(url + "/sim/truth")
		var list []Truth
		json.NewDecoder(resp.Body).Decode(&list)
		if len(list) != 2 || list[0].ID != tr[0].ID {
			t.Errorf("GET /sim/truth %+v", list)
		}
		req, _ := http.NewRequest(http.MethodDelete, url+"/sim/truth", nil)
		http.DefaultClient.Do(req)
		if n := len(s.Truth()); n != 0 {
			t.Errorf("%d truth records after DELETE", n)
		}
	})
}

func TestReplyModes(t *testing.T) {
	script := filepath.Join(t.TempDir(), "script.json")
	os.WriteFile(script, []byte(`{"Janet":"She makes $18 every day.\n#### 18","":"I do not know.\n#### 0"}`), 0o644)
	rules, err := LoadScript(script)
	if err != nil {
		t.Fatal(err)
	}
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
			if err := json.Unmarshal([]byte(body), &r); err != nil || len(r.Choices) != 1 {
				t.Fatalf("response %s: %v", body, err)
			}
			if got := r.Choices[0].Text + r.Choices[0].Message.Content; got != tc.want {
				t.Errorf("reply %q, want %q", got, tc.want)
			}
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
	if len(tr) != 2 {
		t.Fatalf("truth %+v", tr)
	}
	if q := max(tr[0].Queued, tr[1].Queued); q < 15*time.Millisecond {
		t.Errorf("second request queued %v, want about the first's 20 ms", q)
	}

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
		if e := tr.E2EL(); e < 10*time.Millisecond {
			t.Errorf("5 steps of >= 2 ms with up to 4 running took %v", e)
		}
	}
}

func TestInjectedFailuresAndShutdown(t *testing.T) {
	_, url, stop := serve(t, Config{FailRate: 1, ITL: time.Second})
	r, body := post(t, url+"/v1/completions", `{"model":"m","prompt":"a"}`)
	if r.StatusCode != 500 || !strings.Contains(body, "injected") {
		t.Errorf("%d %s", r.StatusCode, body)
	}

	// A stream in flight is cut and Serve returns promptly on cancel.
	_, url2, stop2 := serve(t, Config{ITL: time.Second})
	resp, err := http.Post(url2+"/v1/completions", "application/json", strings.NewReader(`{"model":"m","prompt":"a","max_tokens":100,"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start := time.Now()
	if err := stop2(); err != nil {
		t.Errorf("Serve: %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("shutdown took %v", el)
	}
	stop()
}

func TestValidate(t *testing.T) {
	err := (&Config{TTFT: -1, Jitter: 1, FailRate: 2, Mode: "script"}).Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"model", "ttft", "jitter", "fail rate", "script"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q: %v", want, err)
		}
	}
	if _, err := LoadScript(filepath.Join(t.TempDir(), "none.json")); err == nil {
		t.Error("missing script file accepted")
	}
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
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || strings.Join(got, "") != tc.in {
			t.Errorf("splitTokens(%q) = %q, want %q", tc.in, got, tc.want)
		}
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
	if mean := sum / time.Duration(len(gaps)); mean < 3*time.Millisecond || mean > 6*time.Millisecond {
		t.Errorf("mean gap %v, want about 4 ms", mean)
	}
	if hi-lo < time.Millisecond {
		t.Errorf("gaps within [%v, %v]: jitter had no effect", lo, hi)
	}
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
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = string(b)
		if strings.Contains(last, want[0]) && strings.Contains(last, want[1]) {
			return
		}
	}
	t.Errorf("metrics never showed 1 running and 2 waiting; last:\n%s", last)
}
