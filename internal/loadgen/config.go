// Package loadgen drives load against an OpenAI-compatible streaming endpoint and records,
// for every request, when it was scheduled, sent, answered and finished, and when every
// streamed chunk arrived with how many tokens it carried. Run is one benchmark point (one
// concurrency); it holds no global state, so callers may run many points in a row against
// one server. Aggregation into the reference's metrics lives in metrics.go; file output in
// output.go.
//
// How the numbers stay honest at any concurrency:
//
//   - Each concurrency slot is a worker goroutine that owns one keep-alive HTTP/1.1
//     connection (opened before the measured window) and speaks the protocol itself
//     (httpconn.go), so nothing queues between the worker and the socket.
//   - A request's clock starts right before its bytes are written. Time the client spent
//     getting there (a burst of a thousand first requests, a late timer) is the send lag:
//     recorded per request, summarised in the result, never part of a latency.
//   - On Linux a chunk's time is the kernel's receive timestamp of its bytes
//     (SO_TIMESTAMPNS), not the moment a busy client read them. The difference is the read
//     lag, also reported. When the client is later than one chunk gap the kernel merges the
//     waiting chunks and they share the later stamp; a large read lag flags that.
//   - Token counts come from the server's usage (per chunk when the server supports
//     continuous_usage_stats); missing usage and short outputs are flagged, never zero.
package loadgen

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/inferbench/inferbench/internal/limits"
)

// Dataset modes: how prompts are sent.
const (
	// DatasetTokenIDs sends prompts as arrays of token ids, so the input length is exact
	// without a client-side tokenizer (completions endpoint only).
	DatasetTokenIDs = "token-ids"
	// DatasetText sends prompts as text of one common English word per intended token; the
	// real count is taken from the server's usage.prompt_tokens when it reports one.
	DatasetText = "text"
)

// Endpoints the client knows how to speak.
const (
	EndpointCompletions = "/v1/completions"
	EndpointChat        = "/v1/chat/completions"
)

// Config is one benchmark point. The zero value is not usable; start from DefaultConfig,
// which mirrors how the reference invokes its client (docs/measurement.md#client-defaults).
type Config struct {
	BaseURL  string // scheme://host:port, e.g. http://127.0.0.1:8000
	Endpoint string // EndpointCompletions (default) or EndpointChat
	// Backend is the reference's --backend name (vllm, openai, sglang, openai-chat, ...). It
	// is recorded in the result; "openai-chat" implies the chat endpoint when Endpoint is "".
	Backend string
	Model   string // request "model" field and result model_id
	APIKey  string // sent as "Authorization: Bearer <key>"; "" sends "None" like the reference

	InputLen   int     // nominal input length L (upper bound of the uniform draw)
	OutputLen  int     // nominal output length (upper bound)
	RangeRatio float64 // lengths are uniform in [floor(L*r), L]
	PrefixLen  int     // shared prefix tokens prepended to every prompt (not scaled by r)
	// DatasetMode is the prompt form, DatasetTokenIDs or DatasetText; "" picks token ids for
	// completions and text for chat. With text the input length of each request is the
	// server's usage.prompt_tokens, not the client's estimate.
	DatasetMode string
	// ChatTemplate is the reference's --use-chat-template: requests go to the chat
	// endpoint, where the server applies the model's own template, and the drawn input
	// lengths are first reduced by the template's token count, which one probe request
	// measures before the run (ChatTemplateTokens). docs/client.md explains why.
	ChatTemplate bool
	// ChatTemplateTokens is the template's token count (set by Run from the probe).
	ChatTemplateTokens int
	// VocabSize bounds the generated token ids; ids start at 1000 to stay clear of the
	// special tokens at the bottom of every common vocabulary.
	VocabSize int

	NumPrompts     int     // measured requests
	MaxConcurrency int     // in-flight cap; 0 means unlimited
	NumWarmups     int     // warm-up copies of request 0, discarded
	RequestRate    float64 // requests/s; +Inf sends as fast as concurrency allows
	Burstiness     float64 // gamma shape of inter-arrival times; 1 = Poisson
	Seed           uint64
	IgnoreEOS      bool
	// ContinuousUsage asks for usage in every chunk (stream_options.continuous_usage_stats,
	// vLLM/SGLang), which gives exact tokens per chunk for the per-token ITL. Servers that
	// ignore it still work: counts are then spread evenly over the chunks (flagged).
	ContinuousUsage bool
	// Preconnect opens one connection per concurrency slot before the measured window, so
	// the first wave reuses connections like every later request does.
	Preconnect bool

	Percentiles    []float64     // reported percentiles, e.g. 90, 99, 99.9
	RequestTimeout time.Duration // per request; 0 = none
	// StallTimeout fails a request that receives nothing (no header, no byte of its stream)
	// for this long: an engine that hangs mid-stream while its health endpoint stays fine
	// would otherwise hold the point until RequestTimeout. 0 = none.
	StallTimeout time.Duration

	// MaxFailureRate above which Outcome.Failed() is true (the reference's 5 %).
	MaxFailureRate float64
	// SendLagLimit: a p99 send lag above it marks the client as having fallen behind.
	SendLagLimit time.Duration

	// ProgressInterval between progress lines when ProgressTTY is false (CI logs).
	ProgressInterval time.Duration
	// ProgressTTY draws a single redrawn bar instead of lines.
	ProgressTTY bool
	// SaveDetailed adds the reference's --save-detailed per-request keys (ttfts, itls,
	// errors; input_lens and output_lens are always written) to the raw result.
	SaveDetailed bool
	// AgentVersion is recorded in the raw result.
	AgentVersion string
	// RequestIDPrefix is prepended to the X-Request-Id header of each request ("<prefix><index>",
	// warm-ups "<prefix>w<index>"); servers that log it let records be matched to server logs.
	RequestIDPrefix string
}

// DefaultConfig returns the reference's settings as InferenceX runs it: random dataset with
// range ratio 0.8, ignore_eos, unlimited request rate, burstiness 1, seed 0, p90/p99/p99.9.
// NumPrompts and NumWarmups are left 0: Normalize derives 10×conc and 2×conc from them.
func DefaultConfig() Config {
	return Config{
		Endpoint:         EndpointCompletions,
		Backend:          "vllm",
		RangeRatio:       0.8,
		VocabSize:        32000,
		RequestRate:      math.Inf(1),
		Burstiness:       1,
		IgnoreEOS:        true,
		ContinuousUsage:  true,
		Preconnect:       true,
		Percentiles:      []float64{90, 99, 99.9},
		RequestTimeout:   6 * time.Hour,
		StallTimeout:     DefaultStallTimeout,
		MaxFailureRate:   0.05,
		SendLagLimit:     10 * time.Millisecond,
		ProgressInterval: 5 * time.Second,
	}
}

// DefaultStallTimeout is long enough for a long prompt queued behind a full batch to get its
// first token, and short against a run's 180 minutes.
const DefaultStallTimeout = 10 * time.Minute

// Limits that keep a point within the memory of the host that drives it. Every measured
// request keeps a record with one entry per streamed chunk (16 bytes per token at one
// token per chunk), and every in-flight request renders its prompt into a buffer of about
// 7 bytes per token; beyond these a typo (conc 1e8, isl 2e9) would exhaust the host or
// crash the agent instead of being refused.
const (
	MaxConcurrency  = limits.MaxConcurrency // requests in flight
	MaxPrompts      = 1_000_000             // measured requests per point
	MaxWarmups      = 100_000               // warm-up requests per point
	MaxLen          = limits.MaxLen         // input, output and prefix length, tokens
	MaxOutputTokens = 1 << 30               // measured requests x output length
	MaxInFlightIn   = 1 << 30               // requests in flight x (prefix + input length)
	MaxVocab        = 1 << 24               // upper bound of generated token ids
	maxDuration     = 7 * 24 * time.Hour
)

// chat reports whether requests go to the chat endpoint.
func (c *Config) chat() bool { return strings.HasSuffix(c.Endpoint, "chat/completions") }

// Validate reports every problem with the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("base URL %q must look like http://host:port", c.BaseURL)
	}
	if !strings.HasSuffix(c.Endpoint, "completions") {
		bad("endpoint %q must end in /completions or /chat/completions", c.Endpoint)
	}
	if c.ChatTemplate && !c.chat() {
		bad("the chat template is applied by the server on the chat endpoint: use /v1/chat/completions (or leave the endpoint unset), not %q", c.Endpoint)
	}
	if c.Model == "" {
		bad("model is empty; pass the served model name")
	}
	switch c.Backend {
	case "openai-chat":
		if !c.chat() {
			bad("backend openai-chat needs the chat endpoint, not %q", c.Endpoint)
		}
	case "tgi", "tensorrt-llm", "deepspeed-mii":
		bad("backend %q speaks its own generate API, which is not supported; point the client at the server's OpenAI-compatible frontend with backend openai", c.Backend)
	}
	if c.InputLen < 1 || c.OutputLen < 1 || c.InputLen > MaxLen || c.OutputLen > MaxLen {
		bad("input length %d and output length %d must both be within [1, %d]", c.InputLen, c.OutputLen, MaxLen)
	}
	if c.RangeRatio < 0 || c.RangeRatio > 1 {
		bad("range ratio %v must be within [0, 1]", c.RangeRatio)
	}
	if c.PrefixLen < 0 || c.PrefixLen > MaxLen {
		bad("prefix length %d must be within [0, %d]", c.PrefixLen, MaxLen)
	}
	switch c.DatasetMode {
	case "", DatasetText:
	case DatasetTokenIDs:
		if c.chat() {
			bad("dataset mode %q needs the completions endpoint; use %q with chat", DatasetTokenIDs, DatasetText)
		}
	default:
		bad("dataset mode %q is not %q or %q", c.DatasetMode, DatasetTokenIDs, DatasetText)
	}
	if c.VocabSize <= 1000 || c.VocabSize > MaxVocab {
		bad("vocab size %d must be within (1000, %d]", c.VocabSize, MaxVocab)
	}
	if c.NumPrompts < 1 || c.NumPrompts > MaxPrompts {
		bad("number of prompts %d must be within [1, %d] (give the number of prompts, or a max concurrency to send 10 per slot)", c.NumPrompts, MaxPrompts)
	}
	if c.MaxConcurrency < 0 || c.MaxConcurrency > MaxConcurrency {
		bad("max concurrency %d must be within [0, %d] (0: unlimited)", c.MaxConcurrency, MaxConcurrency)
	}
	if c.NumWarmups < 0 || c.NumWarmups > MaxWarmups {
		bad("warm-ups %d must be within [0, %d]", c.NumWarmups, MaxWarmups)
	}
	if n := int64(c.NumPrompts) * int64(c.OutputLen); c.NumPrompts > 0 && n > MaxOutputTokens {
		bad("%d prompts x output length %d = %d output tokens to record, more than %d: use fewer prompts or a shorter output", c.NumPrompts, c.OutputLen, n, MaxOutputTokens)
	}
	inflight := int64(max(c.NumPrompts, c.NumWarmups))
	if c.MaxConcurrency > 0 {
		inflight = min(inflight, int64(c.MaxConcurrency))
	}
	if n := inflight * int64(c.PrefixLen+c.InputLen); n > MaxInFlightIn {
		bad("%d requests in flight x prompt length %d = %d prompt tokens held at once, more than %d: lower the concurrency or the input length", inflight, c.PrefixLen+c.InputLen, n, MaxInFlightIn)
	}
	if c.RequestTimeout < 0 || c.StallTimeout < 0 || c.RequestTimeout > maxDuration || c.StallTimeout > maxDuration {
		bad("request timeout %s and stall timeout %s must be within [0, %s] (0: none)", c.RequestTimeout, c.StallTimeout, maxDuration)
	}
	if !(c.RequestRate > 0) {
		bad("request rate %v must be positive (inf for no pacing)", c.RequestRate)
	}
	if !(c.Burstiness > 0) {
		bad("burstiness %v must be positive", c.Burstiness)
	}
	for _, p := range c.Percentiles {
		if !(p > 0 && p < 100) {
			bad("percentile %v must be within (0, 100)", p)
		}
	}
	return errors.Join(errs...)
}

// Normalize fills derived defaults: dataset mode, 10×conc prompts and 2×conc warm-ups when
// those are unset (negative warm-ups mean "derive"; 0 means none).
func (c *Config) Normalize() {
	if c.Endpoint == "" {
		c.Endpoint = EndpointCompletions
		if c.Backend == "openai-chat" || c.ChatTemplate {
			c.Endpoint = EndpointChat
		}
	}
	if c.DatasetMode == "" {
		c.DatasetMode = DatasetTokenIDs
		if c.chat() {
			c.DatasetMode = DatasetText
		}
	}
	if c.NumPrompts == 0 && c.MaxConcurrency > 0 {
		c.NumPrompts = 10 * c.MaxConcurrency
	}
	if c.NumWarmups < 0 {
		c.NumWarmups = 2 * c.MaxConcurrency
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
}
