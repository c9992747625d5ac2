package loadgen

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"time"

	"github.com/inferbench/inferbench/internal/stats"
)

// Metrics is the aggregate of one point, in the reference's units: latency statistics in
// milliseconds, throughputs per second (docs/measurement.md#run-window), plus our additions.
type Metrics struct {
	Percentiles []float64 // the percentiles every Summary holds, in order

	NumPrompts  int
	Completed   int // successful requests
	Failed      int // requests sent that did not succeed
	NotSent     int // requests a cancellation kept from being sent (neither completed nor failed)
	TotalInput  int // Σ prompt length of successful requests
	TotalOutput int // Σ output tokens of successful requests (estimates included, flagged)

	RequestThroughput    float64 // req/s
	OutputThroughput     float64 // tok/s
	TotalTokenThroughput float64 // tok/s

	TTFT, TPOT, ITL, E2EL stats.Summary // ms; ITL per chunk as the reference
	ITLPerToken           stats.Summary // ms; each chunk gap spread over its tokens
	SendLag               stats.Summary // ms; client delay between eligible and sent
	SendLagMax            float64       // ms
	SteadySendLag         stats.Summary // ms; send lag after the first wave (p99 only)
	ReadLag               stats.Summary // ms; per request, the longest arrival-to-read delay
	Interactivity         stats.Summary // tok/s/user: 1000/TPOT of each request

	MissingUsage   int // successful requests without usage (tokens estimated = chunks)
	ShortOutputs   int // fewer tokens than max_tokens under ignore_eos
	TokensSpread   int // per-chunk token counts spread evenly (no per-chunk usage)
	PromptMismatch int // server usage.prompt_tokens differs from the client's count
	// PromptEstimated counts text-prompt requests without usage.prompt_tokens: their input
	// length is the client's estimate.
	PromptEstimated int
	// Notes are further warnings about the point (a failed chat template probe).
	Notes []string

	Errors     map[string]int // error message → count
	InputLens  []int          // per request, dataset order
	OutputLens []int

	ClientCPUSeconds float64
	ClientCPUUtil    float64 // CPU seconds per wall second (1.0 = one core busy)
	ClientBehind     bool
	BehindReasons    []string
}

// Aggregate computes the metrics of a point from its records.
func Aggregate(cfg *Config, recs []Record, dur time.Duration, cpu time.Duration) Metrics {
	m := Metrics{Percentiles: cfg.Percentiles, NumPrompts: len(recs), Errors: map[string]int{}}
	var ttft, tpot, itl, e2el, itlTok, lag, steadyLag, readLag, intvty []float64
	firstWave := cfg.MaxConcurrency
	if firstWave <= 0 || !math.IsInf(cfg.RequestRate, 1) {
		firstWave = 0 // paced arrivals have no burst to forgive
	}
	const ms = 1e3
	for i := range recs {
		r := &recs[i]
		in := r.PromptLen
		if cfg.DatasetMode == DatasetText && r.ServerPromptTokens > 0 {
			// Text has no exact client-side length; the server's tokenizer decides.
			in = r.ServerPromptTokens
		}
		m.InputLens = append(m.InputLens, in)
		m.OutputLens = append(m.OutputLens, r.OutputTokens)
		if r.NotSent {
			m.NotSent++
			continue
		}
		if r.Short {
			m.ShortOutputs++
		}
		if r.Sent > 0 { // it was sent
			l := r.SendLag().Seconds() * ms
			lag = append(lag, l)
			if i >= firstWave {
				steadyLag = append(steadyLag, l)
			}
			readLag = append(readLag, r.ReadLag.Seconds()*ms)
		}
		if !r.OK() {
			m.Failed++
			msg := r.Error
			if msg == "" {
				msg = "no content chunk received"
			}
			m.Errors[string(truncate([]byte(msg), 200))]++
			continue
		}
		m.Completed++
		if cfg.DatasetMode == DatasetText && r.ServerPromptTokens == 0 {
			m.PromptEstimated++
		}
		m.TotalInput += in
		m.TotalOutput += r.OutputTokens
		if r.ServerPromptTokens > 0 && r.ServerPromptTokens != r.PromptLen && cfg.DatasetMode == DatasetTokenIDs {
			m.PromptMismatch++
		}
		if r.UsageMissing {
			m.MissingUsage++
		}
		if r.TokensSpread {
			m.TokensSpread++
		}
		t, e := r.TTFT().Seconds(), r.E2EL().Seconds()
		ttft = append(ttft, t*ms)
		e2el = append(e2el, e*ms)
		if r.OutputTokens > 1 {
			tp := (e - t) / float64(r.OutputTokens-1) * ms
			tpot = append(tpot, tp)
			if tp > 0 {
				intvty = append(intvty, 1000/tp)
			}
		}
		itl, itlTok = appendGaps(itl, itlTok, r.Chunks)
	}
	secs := dur.Seconds()
	if secs > 0 {
		m.RequestThroughput = float64(m.Completed) / secs
		m.OutputThroughput = float64(m.TotalOutput) / secs
		m.TotalTokenThroughput = float64(m.TotalInput+m.TotalOutput) / secs
		m.ClientCPUUtil = cpu.Seconds() / secs
	}
	m.ClientCPUSeconds = cpu.Seconds()
	p := cfg.Percentiles
	m.TTFT, m.TPOT, m.ITL, m.E2EL = stats.Summarize(ttft, p), stats.Summarize(tpot, p), stats.Summarize(itl, p), stats.Summarize(e2el, p)
	m.ITLPerToken = stats.Summarize(itlTok, p)
	m.Interactivity = stats.Summarize(intvty, p)
	m.SendLag = stats.Summarize(lag, []float64{99})
	m.SteadySendLag = stats.Summarize(steadyLag, []float64{99})
	m.ReadLag = stats.Summarize(readLag, []float64{99})
	for _, l := range lag {
		m.SendLagMax = max(m.SendLagMax, l)
	}
	m.behind(cfg)
	return m
}

// appendGaps adds the chunk gaps (ms) of one request: one sample per gap for the legacy
// ITL, and gap/k repeated k times for a chunk of k tokens for the per-token ITL. A chunk
// without tokens (a role-only chat delta) moves the legacy clock but not the per-token one.
func appendGaps(itl, tok []float64, ch []Chunk) ([]float64, []float64) {
	lastTok := time.Duration(-1)
	for i, c := range ch {
		if i > 0 {
			itl = append(itl, (c.At-ch[i-1].At).Seconds()*1e3)
		}
		if c.Tokens <= 0 {
			continue
		}
		if lastTok >= 0 {
			g := (c.At - lastTok).Seconds() * 1e3 / float64(c.Tokens)
			for range c.Tokens {
				tok = append(tok, g)
			}
		}
		lastTok = c.At
	}
	return itl, tok
}

// behind decides whether the client itself limited the run. The first wave of a closed
// loop is sent as a burst, so its send lag is reported but not held against the client;
// latencies start at the send, so that lag never enters them.
func (m *Metrics) behind(cfg *Config) {
	lim := cfg.SendLagLimit.Seconds() * 1e3
	if p := m.SteadySendLag.Percentiles[0]; lim > 0 && p > lim {
		m.BehindReasons = append(m.BehindReasons, fmt.Sprintf("p99 send lag %.2f ms (after the first wave) exceeds %.2f ms: the client could not send requests when due, so the offered load was lower than asked", p, lim))
	}
	if lim > 0 && m.ReadLag.Percentiles[0] > lim {
		m.BehindReasons = append(m.BehindReasons, fmt.Sprintf("p99 read lag %.2f ms exceeds %.2f ms: the client read chunks late; chunk times are kernel arrival times, but chunks that waited together share the later one", m.ReadLag.Percentiles[0], lim))
	}
	if cores := float64(runtime.GOMAXPROCS(0)); m.ClientCPUUtil > 0.9*cores {
		m.BehindReasons = append(m.BehindReasons, fmt.Sprintf("client used %.2f of %.0f cores: its timestamps may include its own queueing", m.ClientCPUUtil, cores))
	}
	m.ClientBehind = len(m.BehindReasons) > 0
}

// Warnings lists what makes the point's numbers questionable, for the console and the
// result's "warnings" field.
func (m *Metrics) Warnings() []string {
	var w []string
	if m.MissingUsage > 0 {
		w = append(w, fmt.Sprintf("%d requests had no usage in the stream: output tokens estimated as one per chunk", m.MissingUsage))
	}
	if m.ShortOutputs > 0 {
		w = append(w, fmt.Sprintf("%d requests returned fewer tokens than max_tokens although ignore_eos was set", m.ShortOutputs))
	}
	if m.PromptMismatch > 0 {
		w = append(w, fmt.Sprintf("%d requests: server prompt token count differs from the client's", m.PromptMismatch))
	}
	if m.TokensSpread > 0 {
		w = append(w, fmt.Sprintf("%d requests: no per-chunk usage, per-token ITL assumes tokens spread evenly over chunks", m.TokensSpread))
	}
	if m.PromptEstimated > 0 {
		w = append(w, fmt.Sprintf("%d text-prompt requests: the server reported no prompt token count, their input length is the client's estimate", m.PromptEstimated))
	}
	w = append(w, m.Notes...)
	w = append(w, m.BehindReasons...)
	return w
}

// SortedErrors returns the error histogram, most frequent first.
func (m *Metrics) SortedErrors() []ErrorCount {
	out := make([]ErrorCount, 0, len(m.Errors))
	for k, v := range m.Errors {
		out = append(out, ErrorCount{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Error < out[j].Error
	})
	return out
}

// ErrorCount is one line of the error histogram.
type ErrorCount struct {
	Error string `json:"error"`
	Count int    `json:"count"`
}
