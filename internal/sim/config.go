// Package sim is a simulated OpenAI-compatible inference engine: the built-in engine of the
// no-GPU demo and the peer of the load generator's tests. It serves /v1/completions and
// /v1/chat/completions (streaming with usage, ignore_eos, token-id prompts), /health,
// /v1/models, /version, /tokenize and /metrics, and models continuous batching: a prefill time per
// input token, a decode step that grows with the running batch, at most MaxNumSeqs running
// sequences with a FIFO waiting queue, ChunkTokens tokens per streamed chunk, jitter, a
// startup delay and injected failures. With fixed delays its recorded timings (GET
// /sim/truth, Sim.Truth) are the ground truth client measurements are checked against.
package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"
)

// Reply modes: what text the simulator generates.
const (
	ModeRandom = "random" // random common words
	ModeEcho   = "echo"   // the prompt's words back, then stop (unless ignore_eos)
	ModeScript = "script" // the reply of the first script rule whose Match is in the prompt
)

// Config describes the simulated engine. Zero durations mean "no delay".
type Config struct {
	Model       string
	MaxModelLen int // reported by /v1/models and /tokenize; requests are not truncated
	// Version is what GET /version reports as the engine version (vLLM's endpoint, which
	// the runner records in the manifest); "" reports "sim".
	Version string

	TTFT            time.Duration // fixed part of prefill (time to first token once admitted)
	PrefillPerToken time.Duration // added per prompt token
	ITL             time.Duration // decode step time with one running sequence
	ITLPerSeq       time.Duration // added to the decode step per additional running sequence
	MaxNumSeqs      int           // running sequences; more wait FIFO. 0 = unlimited
	ChunkTokens     int           // tokens per streamed chunk after the first (the engine's stream interval)
	Jitter          float64       // each delay is scaled by a uniform factor in [1-Jitter, 1+Jitter]
	StartupDelay    time.Duration // /health answers 503 and requests are refused until it passes

	FailRate    float64 // fraction of requests answered with HTTP 500
	NoUsageRate float64 // fraction of streams sent without any usage object
	ShortRate   float64 // fraction of requests stopping at half max_tokens despite ignore_eos
	Seed        uint64

	// TextOnly serves like an engine that accepts only text prompts (ATOM): a prompt of
	// token ids is refused with HTTP 400, and text is split by the simulator's sub-word
	// tokenizer (pieces of at most four bytes), so a word is not always one token and a
	// client must take input lengths from the usage counts.
	TextOnly bool

	Mode   string // ModeRandom (default), ModeEcho or ModeScript
	Script []Rule // rules for ModeScript, tried in order

	// Power models the GPUs' draw and energy counters (GET /sim/gpus, agent sim-smi).
	Power PowerModel

	DefaultMaxTokens int // when a request sets no max_tokens
	TruthLimit       int // requests whose timings are kept for /sim/truth (the first ones); 0 = 10000, <0 = none

	// LaunchToken, when set, is echoed in the LaunchHeader of every /health answer: the agent
	// that launched this simulator recognises its own server by it (a real engine cannot
	// echo it, so there the agent proves ownership another way).
	LaunchToken string `json:"-"`

	// Logf receives the readiness line and other notes; nil discards them.
	Logf func(format string, args ...any) `json:"-"`
}

// LaunchHeader carries Config.LaunchToken.
const LaunchHeader = "X-Inferbench-Launch"

// Rule maps a prompt substring to a scripted reply. A rule with an empty Match matches
// every prompt (put it last as a default).
type Rule struct {
	Match string `json:"match"`
	Reply string `json:"reply"`
}

// LoadScript reads script rules from a JSON file: either an array of {"match","reply"}
// objects (tried in order) or an object mapping substring → reply (tried longest
// substring first, so specific rules beat general ones).
func LoadScript(path string) ([]Rule, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading script: %w", err)
	}
	var rules []Rule
	if err := json.Unmarshal(b, &rules); err == nil {
		return rules, nil
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("script %s: want a JSON array of {\"match\",\"reply\"} or an object of substring to reply: %w", path, err)
	}
	for k, v := range m {
		rules = append(rules, Rule{Match: k, Reply: v})
	}
	sort.Slice(rules, func(i, j int) bool {
		if len(rules[i].Match) != len(rules[j].Match) {
			return len(rules[i].Match) > len(rules[j].Match)
		}
		return rules[i].Match < rules[j].Match
	})
	return rules, nil
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Model == "" {
		bad("model name is empty")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"ttft", c.TTFT}, {"prefill per token", c.PrefillPerToken}, {"itl", c.ITL}, {"itl per sequence", c.ITLPerSeq}, {"startup delay", c.StartupDelay}} {
		if d.v < 0 {
			bad("%s %v must not be negative", d.name, d.v)
		}
	}
	if c.MaxNumSeqs < 0 || c.ChunkTokens < 0 {
		bad("max running sequences %d and chunk tokens %d must not be negative", c.MaxNumSeqs, c.ChunkTokens)
	}
	if c.Jitter < 0 || c.Jitter >= 1 {
		bad("jitter %v must be within [0, 1)", c.Jitter)
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"fail rate", c.FailRate}, {"no-usage rate", c.NoUsageRate}, {"short rate", c.ShortRate}} {
		if r.v < 0 || r.v > 1 {
			bad("%s %v must be within [0, 1]", r.name, r.v)
		}
	}
	errs = append(errs, c.Power.validate()...)
	switch c.Mode {
	case "", ModeRandom, ModeEcho:
	case ModeScript:
		if len(c.Script) == 0 {
			bad("mode %q needs script rules (--script FILE)", ModeScript)
		}
	default:
		bad("mode %q is not %q, %q or %q", c.Mode, ModeRandom, ModeEcho, ModeScript)
	}
	return errors.Join(errs...)
}
