package loadgen

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProbeChatTemplate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		status  int
		answer  string
		want    int
		wantErr string
	}{
		{"template length is the prompt count less the word", 200, `{"usage":{"prompt_tokens":9,"completion_tokens":1}}`, 8, ""},
		{"no usage", 200, `{"choices":[]}`, 0, "no usage.prompt_tokens"},
		{"not JSON", 200, `<html>`, 0, "not JSON"},
		{"server error", 500, `{"error":{"message":"boom"}}`, 0, "HTTP 500"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got map[string]any
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, EndpointChat, r.URL.Path)
				assert.Equal(t, "Bearer k", r.Header.Get("Authorization"))
				assert.NoError(t, json.NewDecoder(r.Body).Decode(&got))
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.answer))
			}))
			defer srv.Close()
			cfg := DefaultConfig()
			cfg.BaseURL, cfg.Endpoint, cfg.Model, cfg.APIKey = srv.URL, EndpointChat, "m", "k"
			n, err := probeChatTemplate(context.Background(), &cfg)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, n)
			b, _ := json.Marshal(got["messages"])
			assert.JSONEq(t, `[{"role":"user","content":[{"type":"text","text":"a"}]}]`, string(b), "the reference's dummy message")
		})
	}
}

// A failed probe leaves the lengths unshortened, and the result says so.
func TestChatTemplateProbeFailureIsAWarning(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
	}))
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.BaseURL, cfg.Endpoint, cfg.Model, cfg.ChatTemplate = srv.URL, "", "m", true
	cfg.InputLen, cfg.OutputLen, cfg.NumPrompts, cfg.MaxConcurrency = 8, 2, 2, 1
	out, err := Run(context.Background(), cfg, nil)
	require.NoError(t, err)
	assert.Zero(t, out.Config.ChatTemplateTokens)
	assert.Contains(t, strings.Join(out.Metrics.Warnings(), "\n"), "chat template length unknown (probe: HTTP 404")
}

func TestChatTemplateNeedsTheChatEndpoint(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.BaseURL, cfg.Model, cfg.ChatTemplate, cfg.InputLen, cfg.OutputLen, cfg.NumPrompts = "http://h:1", "m", true, 8, 8, 1
	cfg.Endpoint = EndpointCompletions
	require.ErrorContains(t, cfg.Validate(), "the chat template is applied by the server on the chat endpoint")
	cfg.Endpoint = ""
	cfg.Normalize()
	assert.Equal(t, EndpointChat, cfg.Endpoint)
	assert.Equal(t, DatasetText, cfg.DatasetMode)
	require.NoError(t, cfg.Validate())
}
