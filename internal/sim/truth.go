package sim

import (
	"encoding/json"
	"net/http"
	"time"
)

// Truth is what the simulator itself observed of one request. Offsets are from Arrival:
// the kernel's receive time of the request's first bytes on Linux (see conn.go), else the
// moment they were read. Chunk times are taken right after the chunk was written to the
// connection.
type Truth struct {
	ID               string        `json:"id"`
	Arrival          time.Time     `json:"arrival"`
	Status           int           `json:"status"`
	Error            string        `json:"error,omitempty"`
	PromptTokens     int           `json:"prompt_tokens"`
	CompletionTokens int           `json:"completion_tokens"`
	UsageSent        bool          `json:"usage_sent"`
	Queued           time.Duration `json:"queued_ns"` // waiting for a running slot
	Chunks           []TruthChunk  `json:"chunks"`
	End              time.Duration `json:"end_ns"`
}

// TruthChunk is one emitted chunk.
type TruthChunk struct {
	At     time.Duration `json:"at_ns"`
	Tokens int           `json:"tokens"`
}

// OK reports whether the request was answered completely.
func (t *Truth) OK() bool { return t.Status == http.StatusOK && t.Error == "" && len(t.Chunks) > 0 }

// TTFT is the time from arrival to the first chunk.
func (t *Truth) TTFT() time.Duration { return t.Chunks[0].At }

// E2EL is the time from arrival to the last content chunk.
func (t *Truth) E2EL() time.Duration { return t.Chunks[len(t.Chunks)-1].At }

// ITLs are the gaps between consecutive chunks.
func (t *Truth) ITLs() []time.Duration {
	var out []time.Duration
	for i := 1; i < len(t.Chunks); i++ {
		out = append(out, t.Chunks[i].At-t.Chunks[i-1].At)
	}
	return out
}

func (s *Sim) record(t *Truth) {
	if s.cfg.TruthLimit < 0 {
		return
	}
	s.mu.Lock()
	if len(s.truth) < s.cfg.TruthLimit {
		s.truth = append(s.truth, *t)
	}
	s.mu.Unlock()
}

// Truth returns a copy of the recorded requests, in completion order.
func (s *Sim) Truth() []Truth {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Truth(nil), s.truth...)
}

// ResetTruth forgets the recorded requests (e.g. after warm-ups).
func (s *Sim) ResetTruth() {
	s.mu.Lock()
	s.truth = nil
	s.mu.Unlock()
}

func (s *Sim) truthJSON(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(s.Truth())
}
