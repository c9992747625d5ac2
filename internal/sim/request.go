package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// request is the part of an OpenAI completions or chat request the simulator reads.
type request struct {
	Model               string          `json:"model"`
	Prompt              json.RawMessage `json:"prompt"`
	Messages            []message       `json:"messages"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Stream              bool            `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage         bool `json:"include_usage"`
		ContinuousUsageStats bool `json:"continuous_usage_stats"`
	} `json:"stream_options"`
	IgnoreEOS bool            `json:"ignore_eos"`
	Stop      json.RawMessage `json:"stop"`
}

type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// parsed is a decoded request: its prompt as words (token-id prompts become "t<id>" words)
// and the generation limits.
type parsed struct {
	request
	chat      bool
	text      string // prompt text used for echo and script matching (chat: the contents)
	promptLen int    // prompt tokens as the engine counts them (chat: template included)
	maxTokens int
	stops     []string
}

func (s *Sim) parse(r *http.Request, chat bool) (*parsed, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("reading request body: %w", err)
	}
	p := &parsed{chat: chat}
	if err := json.Unmarshal(body, &p.request); err != nil {
		return nil, fmt.Errorf("request body is not valid JSON: %w", err)
	}
	if p.Model != s.cfg.Model {
		return nil, fmt.Errorf("the model `%s` does not exist (serving %q)", p.Model, s.cfg.Model)
	}
	if chat {
		if len(p.Messages) == 0 {
			return nil, fmt.Errorf("messages must not be empty")
		}
		templated, contents, err := applyChatTemplate(p.Messages)
		if err != nil {
			return nil, err
		}
		p.text = contents
		p.promptLen = len(s.tokens(templated))
	} else {
		ids := 0
		if p.text, ids, err = promptText(p.Prompt); err != nil {
			return nil, err
		}
		switch {
		case ids > 0 && s.cfg.TextOnly:
			return nil, errTextOnly
		case ids > 0:
			p.promptLen = ids
		default:
			p.promptLen = len(s.tokens(p.text))
		}
	}
	p.maxTokens = s.cfg.DefaultMaxTokens
	if p.MaxTokens != nil {
		p.maxTokens = *p.MaxTokens
	}
	if p.MaxCompletionTokens != nil {
		p.maxTokens = *p.MaxCompletionTokens
	}
	if p.maxTokens < 1 {
		return nil, fmt.Errorf("max_tokens must be at least 1, got %d", p.maxTokens)
	}
	if p.stops, err = stopStrings(p.Stop); err != nil {
		return nil, err
	}
	return p, nil
}

// promptText accepts the completions prompt forms: a string, a list of token ids, or a
// one-element list of either. It returns the text and, for token ids, how many there are
// (0 for a string, which the caller tokenizes).
func promptText(raw json.RawMessage) (string, int, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", 0, fmt.Errorf("prompt is missing")
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, 0, nil
	}
	var ids []int
	if json.Unmarshal(raw, &ids) == nil && len(ids) > 0 {
		var sb strings.Builder
		for _, id := range ids {
			fmt.Fprintf(&sb, "t%d ", id)
		}
		return sb.String(), len(ids), nil
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil && len(list) == 1 {
		return promptText(list[0])
	}
	return "", 0, fmt.Errorf("prompt must be a string, a list of token ids, or a one-element list of those")
}

// contentText accepts a chat content string or a list of {"type":"text","text":...} parts.
func contentText(raw json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", fmt.Errorf("message content must be a string or a list of text parts")
	}
	var sb strings.Builder
	for _, p := range parts {
		sb.WriteString(p.Text)
	}
	return sb.String(), nil
}

func stopStrings(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}, nil
	}
	var l []string
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, fmt.Errorf("stop must be a string or a list of strings")
	}
	return l, nil
}
