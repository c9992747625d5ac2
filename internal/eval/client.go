package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// chatClient asks an OpenAI-compatible /v1/chat/completions endpoint for one non-streamed
// completion, as lm-eval's local-chat-completions model does.
type chatClient struct {
	http     *http.Client
	url      string
	model    string
	apiKey   string
	gen      GenParams
	retries  int
	backoff  time.Duration
	stopList []string
}

// GenParams are the generation settings of the request (the harness's --gen_kwargs).
type GenParams struct {
	MaxTokens   int
	Temperature float64
	TopP        float64
}

type chatRequest struct {
	Model       string        `json:"model"`
	Messages    []chatMessage `json:"messages"`
	MaxTokens   int           `json:"max_tokens"`
	Temperature float64       `json:"temperature"`
	TopP        float64       `json:"top_p"`
	Stop        []string      `json:"stop,omitempty"`
	Stream      bool          `json:"stream"`
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatResponse struct {
	Choices []struct {
		Message struct {
			Content          *string `json:"content"`
			ReasoningContent *string `json:"reasoning_content"`
		} `json:"message"`
	} `json:"choices"`
}

// chatURL accepts a server root, a /v1 base or the full endpoint.
func chatURL(base string) string {
	base = strings.TrimRight(base, "/")
	switch {
	case strings.HasSuffix(base, "/chat/completions"):
		return base
	case strings.HasSuffix(base, "/v1"):
		return base + "/chat/completions"
	}
	return base + "/v1/chat/completions"
}

// complete returns the model's answer. Transport errors and 5xx/429 answers are retried
// (the harness uses max_retries=5); a 4xx is the request's fault and is not.
func (c *chatClient) complete(ctx context.Context, prompt string) (string, error) {
	body, err := json.Marshal(chatRequest{
		Model: c.model, Messages: []chatMessage{{Role: "user", Content: prompt}},
		MaxTokens: c.gen.MaxTokens, Temperature: c.gen.Temperature, TopP: c.gen.TopP,
		Stop: c.stopList,
	})
	if err != nil {
		return "", err
	}
	var last error
	for attempt := 0; attempt <= c.retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(c.backoff * time.Duration(attempt)):
			}
		}
		text, retry, err := c.once(ctx, body)
		if err == nil {
			return text, nil
		}
		last = err
		if !retry || ctx.Err() != nil {
			break
		}
	}
	return "", last
}

func (c *chatClient) once(ctx context.Context, body []byte) (text string, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return "", false, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", true, fmt.Errorf("POST %s: %w", c.url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return "", true, fmt.Errorf("POST %s: reading the answer: %w", c.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		retry = resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
		return "", retry, fmt.Errorf("POST %s: %s: %s", c.url, resp.Status, snippet(raw))
	}
	var cr chatResponse
	if err := json.Unmarshal(raw, &cr); err != nil {
		return "", false, fmt.Errorf("POST %s: the answer is not chat-completion JSON (%w): %s", c.url, err, snippet(raw))
	}
	if len(cr.Choices) == 0 {
		return "", false, errors.New("POST " + c.url + ": the answer has no choices")
	}
	return messageText(cr.Choices[0].Message.Content, cr.Choices[0].Message.ReasoningContent), false, nil
}

// messageText is the reference's sitecustomize patch: reasoning models may leave content
// empty and put everything in reasoning_content.
func messageText(content, reasoning *string) string {
	if content != nil && *content != "" {
		return *content
	}
	if reasoning != nil {
		return *reasoning
	}
	return ""
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
