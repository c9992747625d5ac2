package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// probeChatTemplate measures how many tokens the server's chat template adds to a prompt:
// it sends the one-word message "a" and takes usage.prompt_tokens minus that word, the
// same count the reference takes from the tokenizer (template around "a", less one).
func probeChatTemplate(ctx context.Context, cfg *Config) (int, error) {
	body, err := json.Marshal(map[string]any{
		"model":                 cfg.Model,
		"messages":              []map[string]any{{"role": "user", "content": []map[string]string{{"type": "text", "text": "a"}}}},
		"temperature":           0.0,
		"max_completion_tokens": 1,
		"stream":                false,
	})
	if err != nil {
		return 0, err
	}
	timeout := time.Minute
	if cfg.RequestTimeout > 0 && cfg.RequestTimeout < timeout {
		timeout = cfg.RequestTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.BaseURL+cfg.Endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	key := cfg.APIKey
	if key == "" {
		key = "None"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("X-Request-Id", cfg.RequestIDPrefix+"chat-template-probe")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("HTTP %d: %s", resp.StatusCode, truncate(bytes.TrimSpace(b), 300))
	}
	var ans struct {
		Usage *struct {
			PromptTokens int `json:"prompt_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(b, &ans); err != nil {
		return 0, fmt.Errorf("the answer is not JSON: %w", err)
	}
	if ans.Usage == nil || ans.Usage.PromptTokens < 1 {
		return 0, fmt.Errorf("the answer has no usage.prompt_tokens: %s", truncate(b, 300))
	}
	return ans.Usage.PromptTokens - 1, nil
}
