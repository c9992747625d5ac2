package loadgen

import (
	"strconv"
	"time"
)

// Chunk is one streamed content chunk: when it was read and how many tokens it carried.
type Chunk struct {
	At     time.Duration // since the run's start
	Tokens int32
}

// Record is everything the client saw of one request. Times are offsets from the start of
// the run (the monotonic clock), so they are comparable across requests.
type Record struct {
	Index     int    // dataset index
	ID        string // X-Request-Id sent
	PromptLen int    // client-side input tokens (prefix + random ids)
	MaxTokens int    // requested output tokens

	Scheduled  time.Duration // intended arrival (0 for all requests at an infinite rate)
	Eligible   time.Duration // when it could have been sent: max(arrival, a free concurrency slot)
	Dispatched time.Duration // request built, about to take its connection
	Sent       time.Duration // right before the write (the reference's "st"): latencies count from here
	Headers    time.Duration // response headers arrived
	End        time.Duration // stream finished or failed

	// ReadLag is the longest delay between a chunk reaching this host and the client
	// reading it; chunk times are arrival times, so it shows how busy the client was.
	ReadLag time.Duration

	Chunks []Chunk // content chunks (non-empty "choices"), in arrival order

	Status int    // HTTP status; 0 when no response arrived
	Error  string // empty on success

	OutputTokens       int  // usage.completion_tokens, or the estimate when UsageMissing
	ServerPromptTokens int  // usage.prompt_tokens; 0 when not reported
	UsageMissing       bool // no usage in the stream: OutputTokens is the number of chunks
	TokensSpread       bool // per-chunk counts were not reported and were spread evenly
	Short              bool // fewer tokens than MaxTokens although ignore_eos was set (a failure)
	// NotSent marks a request the run was cancelled before sending: neither completed nor
	// failed, it is left out of the counts.
	NotSent bool
}

// OK reports whether the request succeeded by the reference's rule: HTTP 200, at least one
// content chunk, and no error.
func (r *Record) OK() bool { return r.Status == 200 && len(r.Chunks) > 0 && r.Error == "" }

// SendLag is the client's own delay between when the request could go and when it was
// written.
func (r *Record) SendLag() time.Duration { return r.Sent - r.Eligible }

// TTFT is the first content chunk's arrival minus the send time. The send time is taken
// at the write, so the client's own queueing is excluded (see SendLag).
func (r *Record) TTFT() time.Duration { return r.Chunks[0].At - r.Sent }

// E2EL is the last content chunk's arrival minus the send time (usage and [DONE] excluded).
func (r *Record) E2EL() time.Duration { return r.Chunks[len(r.Chunks)-1].At - r.Sent }

// appendJSON appends the record as one JSON object (the JSONL line without newline).
// Times are integer microseconds since the run start; chunks are [t_us, tokens] pairs.
// Hand-written because a 10k-request run writes millions of chunk entries.
func (r *Record) appendJSON(b []byte) []byte {
	us := func(d time.Duration) int64 { return int64(d / time.Microsecond) }
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(r.Index), 10)
	b = append(b, `,"id":`...)
	b = strconv.AppendQuote(b, r.ID)
	b = append(b, `,"success":`...)
	b = strconv.AppendBool(b, r.OK())
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, `,"error":`...)
	b = appendJSONString(b, r.Error)
	b = append(b, `,"prompt_len":`...)
	b = strconv.AppendInt(b, int64(r.PromptLen), 10)
	b = append(b, `,"max_tokens":`...)
	b = strconv.AppendInt(b, int64(r.MaxTokens), 10)
	b = append(b, `,"output_tokens":`...)
	b = strconv.AppendInt(b, int64(r.OutputTokens), 10)
	b = append(b, `,"server_prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(r.ServerPromptTokens), 10)
	b = append(b, `,"usage_missing":`...)
	b = strconv.AppendBool(b, r.UsageMissing)
	b = append(b, `,"tokens_spread":`...)
	b = strconv.AppendBool(b, r.TokensSpread)
	b = append(b, `,"short_output":`...)
	b = strconv.AppendBool(b, r.Short)
	if r.NotSent {
		b = append(b, `,"not_sent":true`...)
	}
	for _, f := range []struct {
		k string
		v time.Duration
	}{{"scheduled_us", r.Scheduled}, {"eligible_us", r.Eligible}, {"dispatched_us", r.Dispatched}, {"sent_us", r.Sent}, {"headers_us", r.Headers}, {"end_us", r.End}, {"read_lag_us", r.ReadLag}} {
		b = append(b, `,"`...)
		b = append(b, f.k...)
		b = append(b, `":`...)
		b = strconv.AppendInt(b, us(f.v), 10)
	}
	b = append(b, `,"chunks":[`...)
	for i, c := range r.Chunks {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, us(c.At), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(c.Tokens), 10)
		b = append(b, ']')
	}
	return append(b, "]}"...)
}

// appendJSONString appends s as a JSON string (strconv.AppendQuote's Go escapes such as \x
// are not JSON, so escape by hand).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, '\\', 'n')
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&15])
		default:
			b = append(b, string(r)...)
		}
	}
	return append(b, '"')
}
