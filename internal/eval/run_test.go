package eval

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/testkit"
)

// golden compares got with testdata/<name> (rewritten with -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testkit.Golden(t, filepath.Join("testdata", name), got)
}

func TestBuiltinDataset(t *testing.T) {
	t.Parallel()
	ds, err := BuiltinDataset(TaskGSM8K)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(ds.Test), 30)
	require.GreaterOrEqual(t, len(ds.Fewshot), 2)
	for i, d := range append(ds.Test, ds.Fewshot...) {
		// the reference answer must score as correct under both filters
		s := ScoreGSM8K(d.Answer, d.Answer)
		assert.True(t, s.StrictOK, "doc %d: its own answer does not score: %+v", i, s)
		assert.True(t, s.FlexibleOK, "doc %d: its own answer does not score: %+v", i, s)
	}
	_, err = BuiltinDataset("mmlu")
	assert.Error(t, err, "unknown task gave no error")
}

func TestParseDocsReportsEveryBadLine(t *testing.T) {
	t.Parallel()
	_, err := parseDocs("x.jsonl", []byte("{\"question\":\"q\",\"answer\":\"#### 1\"}\nnope\n{\"question\":\"q\",\"answer\":\"1\"}\n"))
	require.ErrorContains(t, err, "x.jsonl:2")
	require.Contains(t, err.Error(), "x.jsonl:3")
}

func TestBuildPromptTwoShot(t *testing.T) {
	t.Parallel()
	ds, _ := BuiltinDataset(TaskGSM8K)
	golden(t, "prompt_2shot.txt", []byte(BuildPrompt(ds.Test[0], ds.Fewshot, 2)))
	assert.Equal(t, docToText(ds.Test[0]), BuildPrompt(ds.Test[0], ds.Fewshot, 0), "zero-shot prompt")
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
	require.NoError(t, err)
	assert.Equal(t, 20, rec.N)
	assert.Equal(t, len(ds.Test), rec.NOriginal)
	assert.Equal(t, 0, rec.Failed)
	checkMeasure(t, "strict", rec.Strict, 0.75, 0.09933992677987828)
	checkMeasure(t, "flexible", rec.Flexible, 0.75, 0.09933992677987828)
	p := srv.peak.Load()
	assert.LessOrEqual(t, p, int64(4), "peak concurrency")
	assert.GreaterOrEqual(t, p, int64(2), "peak concurrency")
	r := srv.reqs[0]
	assert.Equal(t, "m", r.Model, "request")
	assert.Equal(t, 8192, r.MaxTokens, "request")
	assert.Equal(t, float64(0), r.Temperature, "request")
	assert.Equal(t, float64(1), r.TopP, "request")
	assert.False(t, r.Stream, "request %+v", r)
	assert.Len(t, r.Stop, 3, "request")
	assert.True(t, strings.HasPrefix(r.Messages[0].Content, "Question: "+ds.Fewshot[0].Question), "prompt does not start with the first few-shot example")
	assert.Equal(t, "user", r.Messages[0].Role, "prompt does not start with the first few-shot example")
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
	require.NoError(t, err)
	assert.Equal(t, 1, rec.Failed)
	assert.NotEmpty(t, rec.Samples[1].Err)
	assert.False(t, rec.Samples[1].StrictOK, "failed")
	assert.Equal(t, int64(2), calls.Load(), "%d attempts at the failing document, want 2 (one retry)", calls.Load())
	checkMeasure(t, "strict", rec.Strict, 0.75, 0.25)
}

func TestRunErrors(t *testing.T) {
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "model not found", http.StatusNotFound)
	}))
	defer bad.Close()
	_, err := Run(context.Background(), Options{BaseURL: bad.URL, Model: "m", Limit: 3})
	assert.ErrorContains(t, err, "all 3 eval requests failed", "all-failed")
	assert.Contains(t, err.Error(), "404", "all-failed")
	_, err = Run(context.Background(), Options{Limit: -1, NumFewshot: -2})
	for _, want := range []string{"base URL", "model", "limit", "num-fewshot"} {
		assert.ErrorContains(t, err, want, "validation error %v does not mention %s", err, want)
	}
	_, err = Run(context.Background(), Options{BaseURL: bad.URL, Model: "m", NumFewshot: 99})
	assert.ErrorContains(t, err, "few-shot", "too many shots")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Run(ctx, Options{BaseURL: bad.URL, Model: "m"})
	assert.Error(t, err, "cancelled run gave no error")
}

func TestMessageTextFallsBackToReasoning(t *testing.T) {
	t.Parallel()
	empty, r := "", "thinking... #### 5"
	assert.Equal(t, r, messageText(&empty, &r))
	assert.Empty(t, messageText(nil, nil))
}

func TestChatURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"http://h:1":                     "http://h:1/v1/chat/completions",
		"http://h:1/":                    "http://h:1/v1/chat/completions",
		"http://h:1/v1":                  "http://h:1/v1/chat/completions",
		"http://h:1/v1/chat/completions": "http://h:1/v1/chat/completions",
		"http://0.0.0.0:8888/v1/chat/completions/": "http://0.0.0.0:8888/v1/chat/completions",
	} {
		assert.Equal(t, want, chatURL(in), "chatURL(%q)", in)
	}
}
