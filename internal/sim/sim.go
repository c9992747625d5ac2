package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Sim is one simulated engine. Create it with New and serve it with Serve (or mount
// Handler in a test server).
type Sim struct {
	cfg     Config
	mux     *http.ServeMux
	readyAt time.Time
	ready   atomic.Bool

	slots   chan struct{} // running sequences; nil when unlimited
	running atomic.Int64
	waiting atomic.Int64
	seq     atomic.Uint64

	// counters for /metrics
	promptTokens, genTokens, success, failures atomic.Int64

	mu    sync.Mutex
	truth []Truth

	meter *meter // the GPUs' power and energy
}

// New validates cfg and returns a simulator. The startup delay starts counting now.
func New(cfg Config) (*Sim, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeRandom
	}
	if cfg.ChunkTokens == 0 {
		cfg.ChunkTokens = 1
	}
	if cfg.DefaultMaxTokens == 0 {
		cfg.DefaultMaxTokens = 16
	}
	if cfg.Version == "" {
		cfg.Version = "sim"
	}
	if cfg.MaxModelLen == 0 {
		cfg.MaxModelLen = 131072
	}
	if cfg.TruthLimit == 0 {
		cfg.TruthLimit = 10000
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	s := &Sim{cfg: cfg, readyAt: time.Now().Add(cfg.StartupDelay), meter: newMeter(cfg.Power, time.Now())}
	if cfg.MaxNumSeqs > 0 {
		s.slots = make(chan struct{}, cfg.MaxNumSeqs)
	}
	s.ready.Store(cfg.StartupDelay == 0)
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /health", s.health)
	s.mux.HandleFunc("GET /v1/models", s.models)
	s.mux.HandleFunc("GET /version", s.version)
	s.mux.HandleFunc("POST /v1/completions", s.gate(s.completions))
	s.mux.HandleFunc("POST /v1/chat/completions", s.gate(s.chat))
	s.mux.HandleFunc("POST /tokenize", s.gate(s.tokenize))
	s.mux.HandleFunc("GET /metrics", s.metrics)
	s.mux.HandleFunc("GET /sim/truth", s.truthJSON)
	s.mux.HandleFunc("GET /sim/gpus", s.gpus)
	s.mux.HandleFunc("DELETE /sim/truth", func(w http.ResponseWriter, _ *http.Request) { s.ResetTruth(); w.WriteHeader(http.StatusNoContent) })
	return s, nil
}

// Ready reports whether the startup delay has passed.
func (s *Sim) Ready() bool {
	if s.ready.Load() {
		return true
	}
	if !time.Now().Before(s.readyAt) {
		s.ready.Store(true)
		return true
	}
	return false
}

// Serve serves on ln until ctx is canceled, then stops: in-flight streams are cut (their
// request contexts derive from ctx) and Serve returns nil once they have ended.
// It logs "serve-sim: listening ..." at once and "serve-sim: ready ..." after the startup delay.
func (s *Sim) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.mux,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ConnContext:       connContext,
		ReadHeaderTimeout: time.Minute,
		IdleTimeout:       10 * time.Minute,
	}
	addr := ln.Addr().String()
	s.cfg.Logf("serve-sim: listening on http://%s (model %s, startup delay %v)", addr, s.cfg.Model, s.cfg.StartupDelay)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(stampListener{ln}) }()
	readyT := time.NewTimer(time.Until(s.readyAt))
	defer readyT.Stop()
	for {
		select {
		case <-readyT.C:
			s.Ready()
			s.cfg.Logf("serve-sim: ready on http://%s model=%s", addr, s.cfg.Model)
		case err := <-errc:
			return fmt.Errorf("serve-sim: %w", err)
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := srv.Shutdown(sctx)
			if errors.Is(err, context.DeadlineExceeded) {
				err = srv.Close()
			}
			return err
		}
	}
}

// gate refuses work during the startup delay, as a loading engine does.
func (s *Sim) gate(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.Ready() {
			writeError(w, http.StatusServiceUnavailable, "engine is starting")
			return
		}
		h(w, r)
	}
}

func (s *Sim) health(w http.ResponseWriter, _ *http.Request) {
	if s.cfg.LaunchToken != "" {
		w.Header().Set(LaunchHeader, s.cfg.LaunchToken)
	}
	if !s.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Sim) models(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data": []map[string]any{{
			"id": s.cfg.Model, "object": "model", "created": s.readyAt.Unix(),
			"owned_by": "inferbench-sim", "root": s.cfg.Model, "max_model_len": s.cfg.MaxModelLen,
		}},
	})
}

// version answers like vLLM's GET /version. It works during the startup delay, as vLLM's
// does once its API server is up.
func (s *Sim) version(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": s.cfg.Version})
}

func (s *Sim) metrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	m := s.cfg.Model
	fmt.Fprintf(w, "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name=%q} %d\n", m, s.running.Load())
	fmt.Fprintf(w, "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=%q} %d\n", m, s.waiting.Load())
	fmt.Fprintf(w, "# TYPE vllm:prompt_tokens_total counter\nvllm:prompt_tokens_total{model_name=%q} %d\n", m, s.promptTokens.Load())
	fmt.Fprintf(w, "# TYPE vllm:generation_tokens_total counter\nvllm:generation_tokens_total{model_name=%q} %d\n", m, s.genTokens.Load())
	fmt.Fprintf(w, "# TYPE vllm:request_success_total counter\nvllm:request_success_total{model_name=%q} %d\n", m, s.success.Load())
	fmt.Fprintf(w, "# TYPE inferbench_sim_injected_failures_total counter\ninferbench_sim_injected_failures_total %d\n", s.failures.Load())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeError answers in the OpenAI error shape vLLM uses.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"object": "error", "message": msg, "type": http.StatusText(status), "code": status,
	}})
}
