package sim

import (
	"encoding/json"
	"hash/fnv"
	"io"
	"net/http"
	"strings"
)

// tokenize answers vLLM's /tokenize: {"prompt": ...} or {"messages": [...]} → count,
// max_model_len and token ids (one per whitespace-separated word, ids from a hash).
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
	if len(req.Messages) > 0 {
		var sb strings.Builder
		for _, m := range req.Messages {
			t, err := contentText(m.Content)
			if err != nil {
				writeError(w, http.StatusBadRequest, err.Error())
				return
			}
			sb.WriteString(t + "\n")
		}
		text = sb.String()
	} else if text, _, err = promptText(req.Prompt); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	fields := strings.Fields(text)
	ids := make([]uint32, len(fields))
	for i, f := range fields {
		h := fnv.New32a()
		h.Write([]byte(f))
		ids[i] = h.Sum32() % 32000
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(ids), "max_model_len": s.cfg.MaxModelLen, "tokens": ids})
}
