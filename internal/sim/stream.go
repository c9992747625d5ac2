package sim

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// emitter writes one response, streaming or not, and records its timings in the truth.
type emitter struct {
	s       *Sim
	w       http.ResponseWriter
	p       *parsed
	g       generation
	tr      *Truth
	noUsage bool
	created int64
	buf     []byte
	sent    int // tokens emitted so far
}

func (e *emitter) start() {
	if !e.p.Stream {
		return
	}
	h := e.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	e.w.WriteHeader(http.StatusOK)
	if f, ok := e.w.(http.Flusher); ok {
		f.Flush()
	}
}

func (e *emitter) usage() bool {
	return !e.noUsage && e.p.StreamOptions != nil && e.p.StreamOptions.IncludeUsage
}

func (e *emitter) continuous() bool {
	return e.usage() && e.p.StreamOptions.ContinuousUsageStats
}

// chunk emits tokens [i, i+k). For non-streaming requests it only records the time the
// tokens were generated. It returns false when the client is gone.
func (e *emitter) chunk(i, k int) bool {
	e.sent = i + k
	if !e.p.Stream {
		e.tr.Chunks = append(e.tr.Chunks, TruthChunk{At: time.Since(e.tr.Arrival), Tokens: k})
		return true
	}
	b := e.header(e.buf[:0])
	if e.p.chat {
		b = append(b, `"choices":[{"index":0,"delta":{`...)
		if i == 0 {
			b = append(b, `"role":"assistant",`...)
		}
		b = append(b, `"content":`...)
	} else {
		b = append(b, `"choices":[{"index":0,"text":`...)
	}
	b = appendJSONString(b, e.g.tokens[i:i+k])
	if e.p.chat {
		b = append(b, '}')
	}
	b = append(b, `,"logprobs":null,"finish_reason":`...)
	if e.sent == len(e.g.tokens) {
		b = strconv.AppendQuote(b, e.g.finish)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `}],"usage":`...)
	if e.continuous() {
		b = e.appendUsage(b)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, "}\n\n"...)
	e.buf = b
	if !e.write(b) {
		return false
	}
	e.tr.Chunks = append(e.tr.Chunks, TruthChunk{At: time.Since(e.tr.Arrival), Tokens: k})
	return true
}

// finish ends the response: the usage chunk and [DONE] when streaming, else the whole body.
func (e *emitter) finish() {
	e.tr.CompletionTokens = e.sent
	e.tr.UsageSent = e.usage() || !e.p.Stream
	if e.p.Stream {
		b := e.buf[:0]
		if e.usage() {
			b = e.header(b)
			b = append(b, `"choices":[],"usage":`...)
			b = e.appendUsage(b)
			b = append(b, "}\n\n"...)
		}
		b = append(b, "data: [DONE]\n\n"...)
		e.write(b)
		e.tr.End = time.Since(e.tr.Arrival)
		return
	}
	b := append([]byte(nil), `{"id":"`...)
	b = append(b, e.id()...)
	b = append(b, `","object":"`...)
	if e.p.chat {
		b = append(b, `chat.completion`...)
	} else {
		b = append(b, `text_completion`...)
	}
	b = append(b, `","created":`...)
	b = strconv.AppendInt(b, e.created, 10)
	b = append(b, `,"model":`...)
	b = appendJSONString(b, []string{e.s.cfg.Model})
	if e.p.chat {
		b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
		b = appendJSONString(b, e.g.tokens)
		b = append(b, '}')
	} else {
		b = append(b, `,"choices":[{"index":0,"text":`...)
		b = appendJSONString(b, e.g.tokens)
		b = append(b, `,"logprobs":null`...)
	}
	b = append(b, `,"finish_reason":`...)
	b = strconv.AppendQuote(b, e.g.finish)
	b = append(b, `}],"usage":`...)
	b = e.appendUsage(b)
	b = append(b, "}\n"...)
	e.w.Header().Set("Content-Type", "application/json")
	e.w.WriteHeader(http.StatusOK)
	e.w.Write(b)
	e.tr.End = time.Since(e.tr.Arrival)
}

func (e *emitter) id() string {
	if e.p.chat {
		return "chatcmpl-" + e.tr.ID
	}
	return "cmpl-" + e.tr.ID
}

// header starts a stream chunk: `data: {"id":...,"model":...,`.
func (e *emitter) header(b []byte) []byte {
	b = append(b, `data: {"id":"`...)
	b = append(b, e.id()...)
	if e.p.chat {
		b = append(b, `","object":"chat.completion.chunk","created":`...)
	} else {
		b = append(b, `","object":"text_completion","created":`...)
	}
	b = strconv.AppendInt(b, e.created, 10)
	b = append(b, `,"model":`...)
	b = appendJSONString(b, []string{e.s.cfg.Model})
	return append(b, ',')
}

func (e *emitter) appendUsage(b []byte) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(e.p.promptLen), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(e.p.promptLen+e.sent), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(e.sent), 10)
	return append(b, '}')
}

func (e *emitter) write(b []byte) bool {
	if _, err := e.w.Write(b); err != nil {
		return false
	}
	if f, ok := e.w.(http.Flusher); ok {
		f.Flush()
	}
	return true
}

// appendJSONString appends the concatenation of parts as one JSON string.
func appendJSONString(b []byte, parts []string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, s := range parts {
		if !strings.ContainsAny(s, "\"\\\n\r\t") && isPrintableASCII(s) {
			b = append(b, s...)
			continue
		}
		for _, r := range s {
			switch {
			case r == '"' || r == '\\':
				b = append(b, '\\', byte(r))
			case r == '\n':
				b = append(b, '\\', 'n')
			case r == '\r':
				b = append(b, '\\', 'r')
			case r == '\t':
				b = append(b, '\\', 't')
			case r < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&15])
			case r == utf8.RuneError:
				b = append(b, `\ufffd`...)
			default:
				b = utf8.AppendRune(b, r)
			}
		}
	}
	return append(b, '"')
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
