package sim

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// usageOf posts a non-streaming request and returns its status and prompt token count.
func usageOf(t *testing.T, url, body string) (int, int, string) {
	t.Helper()
	resp, b := post(t, url, body)
	var ans struct {
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
		} `json:"usage"`
	}
	_ = json.Unmarshal([]byte(b), &ans)
	return resp.StatusCode, ans.Usage.PromptTokens, b
}

func TestPromptTokenCounts(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		textOnly bool
		path     string
		body     string
		status   int
		tokens   int
		errText  string
	}{
		{"token ids count one each", false, "/v1/completions", `{"model":"m","prompt":[1001,1002,1003],"max_tokens":1}`, 200, 3, ""},
		{"text counts one per word", false, "/v1/completions", `{"model":"m","prompt":"the people window","max_tokens":1}`, 200, 3, ""},
		{"text-only refuses token ids like ATOM", true, "/v1/completions", `{"model":"m","prompt":[1001,1002],"max_tokens":1}`, 400, 0, "accepts only text prompts"},
		{"text-only refuses a nested token-id prompt", true, "/v1/completions", `{"model":"m","prompt":[[1001,1002]],"max_tokens":1}`, 400, 0, "accepts only text prompts"},
		{"text-only splits long words into pieces", true, "/v1/completions", `{"model":"m","prompt":"the people window","max_tokens":1}`, 200, 5, ""},
		{"chat adds the template's three tokens", false, "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"a b c"}],"max_tokens":1}`, 200, 6, ""},
		{"chat content as text parts", false, "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"}]}],"max_completion_tokens":1}`, 200, 4, ""},
		{"every message gets its role token", false, "/v1/chat/completions", `{"model":"m","messages":[{"role":"system","content":"x y"},{"role":"user","content":"z"}],"max_tokens":1}`, 200, 7, ""},
		{"text-only chat counts pieces and template tokens", true, "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"morning"}],"max_tokens":1}`, 200, 5, ""},
		{"a role that is not a word", false, "/v1/chat/completions", `{"model":"m","messages":[{"role":"us er","content":"a"}],"max_tokens":1}`, 400, 0, "not a plain word"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, url, _ := serve(t, Config{TextOnly: tt.textOnly})
			status, n, body := usageOf(t, url+tt.path, tt.body)
			require.Equal(t, tt.status, status, body)
			assert.Equal(t, tt.tokens, n, body)
			assert.Contains(t, body, tt.errText)
			if status == http.StatusOK {
				require.Len(t, s.Truth(), 1)
				assert.Equal(t, tt.tokens, s.Truth()[0].PromptTokens, "the truth records the engine's count")
			}
		})
	}
}

func TestTokenizeAgreesWithUsage(t *testing.T) {
	t.Parallel()
	_, url, _ := serve(t, Config{TextOnly: true})
	for _, tt := range []struct {
		body   string
		status int
		count  int
	}{
		{`{"prompt":"the people window"}`, 200, 5},
		{`{"messages":[{"role":"user","content":"morning"}]}`, 200, 5},
		{`{"prompt":[1,2,3]}`, 400, 0},
	} {
		resp, b := post(t, url+"/tokenize", tt.body)
		require.Equal(t, tt.status, resp.StatusCode, b)
		var ans struct {
			Count  int   `json:"count"`
			Tokens []int `json:"tokens"`
		}
		require.NoError(t, json.Unmarshal([]byte(b), &ans))
		assert.Equal(t, tt.count, ans.Count, tt.body)
		assert.Len(t, ans.Tokens, tt.count, tt.body)
	}
}
