package sim

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strings"
)

// The simulator's chat template: a begin token, a role token before each message and the
// assistant token that opens the reply, each one token; so one user message costs three
// tokens beside its content.
const (
	tokBegin     = "<|begin|>"
	tokAssistant = "<|assistant|>"
)

// applyChatTemplate renders messages as the model's prompt (with the generation prompt, as
// chat servers do) and also returns the bare contents, for echo and script matching.
func applyChatTemplate(msgs []message) (templated, contents string, err error) {
	if len(msgs) == 0 {
		return "", "", fmt.Errorf("messages must not be empty")
	}
	var t, c strings.Builder
	t.WriteString(tokBegin)
	for _, m := range msgs {
		text, err := contentText(m.Content)
		if err != nil {
			return "", "", err
		}
		role := m.Role
		if role == "" || strings.ContainsAny(role, " \n|<>") {
			return "", "", fmt.Errorf("message role %q is not a plain word such as user", m.Role)
		}
		fmt.Fprintf(&t, " <|%s|> %s", role, text)
		c.WriteString(text)
		c.WriteByte('\n')
	}
	t.WriteString(" " + tokAssistant)
	return t.String(), c.String(), nil
}

var errTextOnly = fmt.Errorf("this server accepts only text prompts: send the prompt as a string, not token ids")

// tokens splits text the way the simulated engine counts it: one token per
// whitespace-separated word, or, for a text-only server, sub-word pieces of at most four
// bytes; template tokens (<|...|>) are always one.
func (s *Sim) tokens(text string) []string {
	words := strings.Fields(text)
	if !s.cfg.TextOnly {
		return words
	}
	var out []string
	for _, w := range words {
		if strings.HasPrefix(w, "<|") && strings.HasSuffix(w, "|>") {
			out = append(out, w)
			continue
		}
		for len(w) > 4 {
			out = append(out, w[:4])
			w = w[4:]
		}
		out = append(out, w)
	}
	return out
}

// tokenize answers vLLM's /tokenize: {"prompt": ...} or {"messages": [...]} (the chat
// template applied) → count, max_model_len and token ids (ids from a hash of each token).
func (s *Sim) tokenize(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 256<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading request body: "+err.Error())
		return
	}
	var req struct {
		Prompt   json.RawMessage `json:"prompt"`
		Messages []message       `json:"messages"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "request body is not valid JSON: "+err.Error())
		return
	}
	var text string
	var toks []string
	if len(req.Messages) > 0 {
		if text, _, err = applyChatTemplate(req.Messages); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		toks = s.tokens(text)
	} else {
		n := 0
		if text, n, err = promptText(req.Prompt); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		switch {
		case n > 0 && s.cfg.TextOnly:
			writeError(w, http.StatusBadRequest, errTextOnly.Error())
			return
		case n > 0:
			toks = strings.Fields(text)
		default:
			toks = s.tokens(text)
		}
	}
	ids := make([]uint32, len(toks))
	for i, f := range toks {
		h := fnv.New32a()
		h.Write([]byte(f))
		ids[i] = h.Sum32() % 32000
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(ids), "max_model_len": s.cfg.MaxModelLen, "tokens": ids})
}
