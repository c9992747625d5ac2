package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/inferbench/inferbench/internal/sse"
)

// client sends the requests of one run. It is safe for concurrent use; per-goroutine
// state (connection, buffers, decoder) lives in a worker.
type client struct {
	cfg   *Config
	data  *Dataset
	dial  *dialer
	head  []byte // request line and fixed headers, up to "X-Request-Id: "
	model []byte // JSON-quoted model name
	t0    time.Time
	chat  bool
	text  bool
}

func newClient(cfg *Config, data *Dataset, t0 time.Time) (*client, error) {
	u, err := url.Parse(cfg.BaseURL + cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("base URL: %w", err)
	}
	conns := workers(cfg, max(cfg.NumPrompts, cfg.NumWarmups))
	key := cfg.APIKey
	if key == "" {
		key = "None"
	}
	model, _ := json.Marshal(cfg.Model)
	head := fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: inferbench-loadgen\r\n"+
		"Content-Type: application/json\r\nAccept: text/event-stream\r\nAuthorization: Bearer %s\r\nX-Request-Id: ",
		u.RequestURI(), u.Host, key)
	return &client{
		cfg: cfg, data: data, dial: newDialer(u, conns+16), head: head, model: model, t0: t0,
		chat: cfg.chat(), text: cfg.DatasetMode == DatasetText,
	}, nil
}

func (c *client) close() { c.dial.drain() }

func (c *client) since(t time.Time) time.Duration { return t.Sub(c.t0) }

// worker holds one goroutine's connection and reusable buffers.
type worker struct {
	c    *client
	h    *hconn
	body []byte
	req  []byte
	dec  *sse.Decoder
}

func (c *client) newWorker() *worker {
	return &worker{c: c, dec: sse.NewDecoder(nil, 4<<10)}
}

// release hands the worker's connection back to the pool.
func (w *worker) release() {
	if w.h != nil {
		w.c.dial.put(w.h)
		w.h = nil
	}
}

// buildBody renders the request JSON for prompt p into w.body.
func (c *client) buildBody(w *worker, p *Prompt) {
	b := append(w.body[:0], `{"model":`...)
	b = append(b, c.model...)
	if c.chat {
		// The reference's openai-chat request: the prompt as one text part.
		b = append(b, `,"messages":[{"role":"user","content":[{"type":"text","text":`...)
		b = c.data.appendText(b, p)
		b = append(b, `}]}],"temperature":0.0,"max_completion_tokens":`...)
	} else {
		b = append(b, `,"prompt":`...)
		if c.text {
			b = c.data.appendText(b, p)
		} else {
			b = c.data.appendIDs(b, p)
		}
		b = append(b, `,"temperature":0.0,"best_of":1,"logprobs":null,"max_tokens":`...)
	}
	b = strconv.AppendInt(b, int64(p.OutputLen), 10)
	b = append(b, `,"stream":true,"stream_options":{"include_usage":true`...)
	if c.cfg.ContinuousUsage {
		b = append(b, `,"continuous_usage_stats":true`...)
	}
	b = append(b, '}')
	if c.cfg.IgnoreEOS {
		b = append(b, `,"ignore_eos":true`...)
	}
	w.body = append(b, '}')
}

// buildRequest renders the whole HTTP request (one write) into w.req.
func (c *client) buildRequest(w *worker, id string) {
	b := append(w.req[:0], c.head...)
	b = append(b, id...)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(w.body)), 10)
	b = append(b, "\r\n\r\n"...)
	w.req = append(b, w.body...)
}

// aLongTimeAgo is a deadline that makes blocked I/O return at once.
var aLongTimeAgo = time.Unix(1, 0)

// do sends one request and fills rec. It never returns an error: failures are recorded.
func (w *worker) do(ctx context.Context, p *Prompt, rec *Record) {
	c := w.c
	rec.Index, rec.PromptLen, rec.MaxTokens = p.Index, p.PromptLen, p.OutputLen
	if rec.Chunks == nil {
		rec.Chunks = make([]Chunk, 0, min(p.OutputLen, 4096))
	}
	c.buildBody(w, p)
	c.buildRequest(w, rec.ID)
	rec.Dispatched = c.since(time.Now())
	for attempt := 0; ; attempt++ {
		err := w.exchange(ctx, rec)
		if err == nil {
			return
		}
		// A kept-alive connection the server closed while idle fails before anything comes
		// back; resend once on a fresh connection, as net/http does.
		if errors.Is(err, errStale) && attempt == 0 && ctx.Err() == nil {
			rec.Status, rec.Error = 0, ""
			continue
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		rec.Error = err.Error()
		rec.End = c.since(time.Now())
		return
	}
}

// errShort is the error of a request that got fewer tokens than asked under ignore_eos.
const errShort = "fewer output tokens than max_tokens although ignore_eos was set"

// errStale marks a failure on a reused connection before any response byte arrived.
var errStale = errors.New("kept-alive connection closed by the server")

// exchange performs one request/response on the worker's connection.
func (w *worker) exchange(ctx context.Context, rec *Record) (err error) {
	c := w.c
	if w.h == nil {
		if w.h, err = c.dial.get(ctx); err != nil {
			return err
		}
	}
	h := w.h
	keep := false
	h.arm(c.cfg.StallTimeout)
	defer func() {
		if h.disarm() {
			keep = false
			msg := fmt.Sprintf("stalled: nothing received for %s (the stall timeout)", c.cfg.StallTimeout)
			if err != nil {
				err = errors.New(msg)
			} else if rec.Error != "" {
				rec.Error = msg
			}
		}
		if !keep {
			c.dial.discard(h)
			w.h = nil
		}
	}()
	if c.cfg.RequestTimeout > 0 {
		h.nc.SetDeadline(time.Now().Add(c.cfg.RequestTimeout))
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { h.nc.SetDeadline(aLongTimeAgo) })
		defer stop()
	}
	reused := h.reused
	h.reused, h.lag, h.got = true, 0, 0
	h.r, h.w = 0, 0 // a finished response leaves nothing worth keeping
	// The clock starts right before the request is written (the reference's "st"), on a
	// connection already in hand: time spent before that is the client's own queueing,
	// reported as send lag, not latency.
	rec.Sent = c.since(time.Now())
	if _, err := h.nc.Write(w.req); err != nil {
		if reused {
			return fmt.Errorf("%w: %w", errStale, err)
		}
		return err
	}
	resp, err := h.readResponse()
	if err != nil {
		if reused && h.got == 0 && isReset(err) {
			return fmt.Errorf("%w: %w", errStale, err)
		}
		return fmt.Errorf("reading response: %w", err)
	}
	rec.Headers = c.since(h.at)
	rec.Status = resp.status
	b := h.body(resp)
	if resp.status != 200 {
		msg := make([]byte, 512)
		n, _ := io.ReadFull(b, msg)
		keep = resp.keepAlive && b.drain(1<<20)
		rec.End = c.since(time.Now())
		text := trimSpace(msg[:n])
		if m, ok := stringAfter(text, keyMessage); ok { // OpenAI-style {"error":{"message":...}}
			text = m
		}
		return fmt.Errorf("HTTP %d %s: %s", resp.status, resp.reason, truncate(text, 300))
	}
	w.readStream(b, rec)
	keep = resp.keepAlive && rec.Error == "" && b.drain(1<<20)
	return nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// isReset reports a connection the server closed or reset.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// readStream consumes the event stream, timestamping content chunks with the arrival time
// of their bytes and taking usage.
func (w *worker) readStream(b *body, rec *Record) {
	c, h := w.c, w.h
	w.dec.Reset(b)
	cum := 0          // cumulative completion tokens seen in per-chunk usage
	perChunk := false // the server reports usage in content chunks
	sawUsage := false
	ended := false // [DONE] or a finish_reason: the server said the stream is complete
	for {
		ev, err := w.dec.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				rec.Error = "reading stream: " + err.Error()
			}
			break
		}
		data := ev.Data
		if len(data) == 0 {
			continue
		}
		if string(data) == "[DONE]" {
			ended = true
			continue
		}
		// The reference client decodes every event, so one that does not decode (a stream
		// cut in the middle of an object) fails the request. Decoding each chunk would cost
		// more than the rest of the client, and only the event the stream ended in can be
		// cut: the others got their terminating blank line. So every event must look like
		// one object, and the last unterminated one must really be one.
		if !objectShaped(data) || ev.Unterminated && !json.Valid(data) {
			rec.Error = "incomplete JSON in stream (cut off?): " + string(truncate(data, 200))
			if data[0] != '{' {
				rec.Error = "unexpected stream data: " + string(truncate(data, 200))
			}
			break
		}
		ci := scanChunk(data)
		if ci.choices {
			n := int32(0)
			if ci.usage {
				perChunk = true
				n = int32(ci.completionTokens - cum)
				cum = ci.completionTokens
			}
			rec.Chunks = append(rec.Chunks, Chunk{At: c.since(h.at), Tokens: n})
		}
		ended = ended || ci.finished
		if ci.usage {
			sawUsage = true
			rec.OutputTokens = ci.completionTokens
			rec.ServerPromptTokens = ci.promptTokens
		}
		if ci.errMsg != nil && rec.Error == "" {
			rec.Error = "server error in stream: " + string(truncate(ci.errMsg, 300))
		}
	}
	if rec.Error == "" && len(rec.Chunks) > 0 && !ended {
		rec.Error = "stream ended without a finish_reason or [DONE] (truncated)"
	}
	rec.End = c.since(time.Now())
	rec.ReadLag = h.lag
	c.settleTokens(rec, sawUsage, perChunk, cum)
}

// objectShaped reports whether data starts and ends like a JSON object.
func objectShaped(data []byte) bool {
	data = trimSpace(data)
	return len(data) >= 2 && data[0] == '{' && data[len(data)-1] == '}'
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// settleTokens decides the output token count and per-chunk counts once the stream ended.
func (c *client) settleTokens(rec *Record, sawUsage, perChunk bool, cum int) {
	if !sawUsage {
		// No usage at all: never count 0 silently; estimate one token per chunk and flag it.
		rec.UsageMissing = true
		rec.OutputTokens = len(rec.Chunks)
	}
	if perChunk && rec.OutputTokens > cum && len(rec.Chunks) > 0 {
		// Final usage counted tokens no content chunk reported; give them to the last chunk.
		rec.Chunks[len(rec.Chunks)-1].Tokens += int32(rec.OutputTokens - cum)
	}
	if !perChunk && len(rec.Chunks) > 0 {
		rec.TokensSpread = true
		n := len(rec.Chunks)
		each, extra := rec.OutputTokens/n, rec.OutputTokens%n
		for i := range rec.Chunks {
			rec.Chunks[i].Tokens = int32(each)
			if i < extra {
				rec.Chunks[i].Tokens++
			}
		}
	}
	// Short is judged on the server's count only: an estimate says nothing of it (and the
	// request is flagged for the missing usage already). With ignore_eos the server was
	// asked for exactly max_tokens: fewer is a broken answer, not a measurement of it.
	if c.cfg.IgnoreEOS && rec.OK() && sawUsage && rec.OutputTokens < rec.MaxTokens {
		rec.Short = true
		rec.Error = errShort
	}
}
