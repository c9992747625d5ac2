package eval

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestBuiltinDataset(t *testing.T) {
	ds, err := BuiltinDataset(TaskGSM8K)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Test) < 30 || len(ds.Fewshot) < 2 {
		t.Fatalf("%d test and %d few-shot documents", len(ds.Test), len(ds.Fewshot))
	}
	for i, d := range append(ds.Test, ds.Fewshot...) {
		// the reference answer must score as correct under both filters
		if s := ScoreGSM8K(d.Answer, d.Answer); !s.StrictOK || !s.FlexibleOK {
			t.Errorf("doc %d: its own answer does not score: %+v", i, s)
		}
	}
	if _, err := BuiltinDataset("mmlu"); err == nil {
		t.Error("unknown task gave no error")
	}
}

func TestParseDocsReportsEveryBadLine(t *testing.T) {
	_, err := parseDocs("x.jsonl", []byte("{\"question\":\"q\",\"answer\":\"#### 1\"}\nnope\n{\"question\":\"q\",\"answer\":\"1\"}\n"))
	if err == nil || !strings.Contains(err.Error(), "x.jsonl:2") || !strings.Contains(err.Error(), "x.jsonl:3") {
		t.Fatalf("error %v, want lines 2 and 3", err)
	}
}

func TestBuildPromptTwoShot(t *testing.T) {
	ds, _ := BuiltinDataset(TaskGSM8K)
	golden(t, "prompt_2shot.txt", []byte(BuildPrompt(ds.Test[0], ds.Fewshot, 2)))
	if got := BuildPrompt(ds.Test[0], ds.Fewshot, 0); got != docToText(ds.Test[0]) {
		t.Errorf("zero-shot prompt %q", got)
	}
}

// scriptServer answers chat completions from a function of the prompt and records the
// requests and the peak concurrency.
type scriptServer struct {
	answer   func(prompt string) (string, int)
	inflight atomic.Int64
	peak     atomic.Int64
	mu       sync.Mutex
	reqs     []chatRequest
}

func (s *scriptServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	var req chatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) != 1 {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	time.Sleep(2 * time.Millisecond) // let requests overlap
	text, status := s.answer(req.Messages[0].Content)
	if status != http.StatusOK {
		http.Error(w, "boom", status)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"choices": []map[string]any{{"index": 0, "message": map[string]any{"role": "assistant", "content": text}}},
	})
}

// answerFrom answers each built-in question with its reference answer, except the ones
// wrong() picks, which get "#### -1".
func answerFrom(ds *Dataset, wrong func(i int) bool) func(string) (string, int) {
	return func(prompt string) (string, int) {
		for i, d := range ds.Test {
			if strings.HasSuffix(prompt, docToText(d)) {
				if wrong(i) {
					return "I think #### -1", http.StatusOK
				}
				return d.Answer, http.StatusOK
			}
		}
		return "no idea", http.StatusOK
	}
}

func TestRunScoresAndBoundsConcurrency(t *testing.T) {
	ds, _ := BuiltinDataset(TaskGSM8K)
	srv := &scriptServer{answer: answerFrom(ds, func(i int) bool { return i%4 == 0 })}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	rec, err := Run(context.Background(), Options{BaseURL: ts.URL, Model: "m", NumFewshot: 2, Limit: 20, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	if rec.N != 20 || rec.NOriginal != len(ds.Test) || rec.Failed != 0 {
		t.Errorf("n=%d original=%d failed=%d", rec.N, rec.NOriginal, rec.Failed)
	}
	checkMeasure(t, "strict", rec.Strict, 0.75, 0.09933992677987828)
	checkMeasure(t, "flexible", rec.Flexible, 0.75, 0.09933992677987828)
	if p := srv.peak.Load(); p > 4 || p < 2 {
		t.Errorf("peak concurrency %d, want 2..4", p)
	}
	r := srv.reqs[0]
	if r.Model != "m" || r.MaxTokens != 8192 || r.Temperature != 0 || r.TopP != 1 || r.Stream || len(r.Stop) != 3 {
		t.Errorf("request %+v", r)
	}
	if !strings.HasPrefix(r.Messages[0].Content, "Question: "+ds.Fewshot[0].Question) || r.Messages[0].Role != "user" {
		t.Errorf("prompt does not start with the first few-shot example: %q", r.Messages[0].Content)
	}
}

func TestRunCountsFailedRequests(t *testing.T) {
	ds, _ := BuiltinDataset(TaskGSM8K)
	var calls atomic.Int64
	srv := &scriptServer{answer: func(p string) (string, int) {
		if strings.HasSuffix(p, docToText(ds.Test[1])) {
			calls.Add(1)
			return "", http.StatusInternalServerError
		}
		return answerFrom(ds, func(int) bool { return false })(p)
	}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	rec, err := Run(context.Background(), Options{BaseURL: ts.URL + "/v1", Model: "m", Limit: 4, Concurrency: 2, Retries: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Failed != 1 || rec.Samples[1].Err == "" || rec.Samples[1].StrictOK {
		t.Errorf("failed=%d sample %+v", rec.Failed, rec.Samples[1])
	}
	if calls.Load() != 2 {
		t.Errorf("%d attempts at the failing document, want 2 (one retry)", calls.Load())
	}
	checkMeasure(t, "strict", rec.Strict, 0.75, 0.25)
}

func TestRunErrors(t *testing.T) {
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "model not found", http.StatusNotFound)
	}))
	defer bad.Close()
	_, err := Run(context.Background(), Options{BaseURL: bad.URL, Model: "m", Limit: 3})
	if err == nil || !strings.Contains(err.Error(), "all 3 eval requests failed") || !strings.Contains(err.Error(), "404") {
		t.Errorf("all-failed error %v", err)
	}
	_, err = Run(context.Background(), Options{Limit: -1, NumFewshot: -2})
	for _, want := range []string{"base URL", "model", "limit", "num-fewshot"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validation error %v does not mention %s", err, want)
		}
	}
	_, err = Run(context.Background(), Options{BaseURL: bad.URL, Model: "m", NumFewshot: 99})
	if err == nil || !strings.Contains(err.Error(), "few-shot") {
		t.Errorf("too many shots: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, Options{BaseURL: bad.URL, Model: "m"}); err == nil {
		t.Error("cancelled run gave no error")
	}
}

func TestMessageTextFallsBackToReasoning(t *testing.T) {
	empty, r := "", "thinking... #### 5"
	if got := messageText(&empty, &r); got != r {
		t.Errorf("got %q", got)
	}
	if got := messageText(nil, nil); got != "" {
		t.Errorf("got %q", got)
	}
}

func TestChatURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://h:1":                     "http://h:1/v1/chat/completions",
		"http://h:1/":                    "http://h:1/v1/chat/completions",
		"http://h:1/v1":                  "http://h:1/v1/chat/completions",
		"http://h:1/v1/chat/completions": "http://h:1/v1/chat/completions",
		"http://0.0.0.0:8888/v1/chat/completions/": "http://0.0.0.0:8888/v1/chat/completions",
	} {
		if got := chatURL(in); got != want {
			t.Errorf("chatURL(%q) = %q, want %q", in, got, want)
		}
	}
}
