package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/inferbench/inferbench/internal/rxstamp"
)

// The client speaks HTTP/1.1 itself instead of going through net/http: each worker owns
// one keep-alive connection and does the write, the header parse and the de-chunking in
// its own goroutine. That removes net/http's per-request goroutine hand-offs, channels,
// header maps and double buffering (about half of a short request's client CPU), and it
// puts the send timestamp right after our own write returns. Only what OpenAI-compatible
// servers use is supported: a POST with a Content-Length body; responses with chunked,
// Content-Length or close-delimited bodies; keep-alive and Connection: close.

// hconn is one connection with a read buffer that remembers when its data arrived.
type hconn struct {
	nc     net.Conn
	rx     *rxstamp.Conn // kernel receive timestamps; nil when unavailable (TLS, non-Linux)
	buf    []byte
	r, w   int
	at     time.Time     // arrival of the most recently read data
	lag    time.Duration // longest arrival-to-read delay since resetLag
	reused bool          // has carried a request before
	got    int           // bytes read since the current request was sent

	// The stall watchdog: when nothing arrives for stall, it cuts the read (a deadline in
	// the past, like a cancellation) and sets stalled.
	stall    time.Duration
	watchdog *time.Timer
	stalled  atomic.Bool
}

// arm starts the stall watchdog for one exchange; zero stall disables it.
func (h *hconn) arm(stall time.Duration) {
	h.stall = stall
	h.stalled.Store(false)
	if stall <= 0 {
		return
	}
	// A watchdog of an earlier exchange that fired as it ended may have left a deadline in
	// the past; the caller sets this exchange's deadlines after arming.
	h.nc.SetReadDeadline(time.Time{})
	if h.watchdog == nil {
		h.watchdog = time.AfterFunc(stall, func() {
			h.stalled.Store(true)
			h.nc.SetReadDeadline(aLongTimeAgo)
		})
		return
	}
	h.watchdog.Reset(stall)
}

// disarm stops the watchdog and reports whether it fired (the connection then has a read
// deadline in the past and must not be reused).
func (h *hconn) disarm() bool {
	if h.watchdog != nil {
		h.watchdog.Stop()
	}
	return h.stalled.Load()
}

func newHConn(nc net.Conn, rx *rxstamp.Conn) *hconn {
	return &hconn{nc: nc, rx: rx, buf: make([]byte, 8<<10)} // grows for long lines
}

func (h *hconn) close() { h.nc.Close() }

// fill reads more data, compacting or growing the buffer first.
func (h *hconn) fill() error {
	if h.r > 0 {
		n := copy(h.buf, h.buf[h.r:h.w])
		h.r, h.w = 0, n
	}
	if h.w == len(h.buf) {
		if len(h.buf) >= 1<<20 {
			return errors.New("response line or chunk header longer than 1 MiB")
		}
		nb := make([]byte, 2*len(h.buf))
		copy(nb, h.buf[:h.w])
		h.buf = nb
	}
	var n int
	var err error
	var wall int64
	if h.rx != nil {
		n, wall, err = h.rx.Read(h.buf[h.w:])
	} else {
		n, err = h.nc.Read(h.buf[h.w:])
	}
	if n > 0 {
		if h.watchdog != nil && h.stall > 0 {
			h.watchdog.Reset(h.stall)
		}
		now := time.Now()
		h.at = rxstamp.MonoFromWall(now, wall)
		h.lag = max(h.lag, now.Sub(h.at))
		h.w += n
		h.got += n
	}
	return err
}

// line returns the next CRLF- (or LF-) terminated line without its terminator. The slice
// is valid until the next read.
func (h *hconn) line() ([]byte, error) {
	for {
		if i := bytes.IndexByte(h.buf[h.r:h.w], '\n'); i >= 0 {
			l := h.buf[h.r : h.r+i]
			h.r += i + 1
			return bytes.TrimSuffix(l, []byte{'\r'}), nil
		}
		if err := h.fill(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// response is a parsed status line and the headers the client needs.
type response struct {
	status    int
	reason    string
	length    int64 // Content-Length, -1 when absent
	chunked   bool
	keepAlive bool
}

// readResponse parses the status line and headers, skipping 1xx interim responses.
func (h *hconn) readResponse() (response, error) {
	for {
		l, err := h.line()
		if err != nil {
			return response{}, err
		}
		resp := response{length: -1, keepAlive: true}
		proto, rest, _ := bytes.Cut(l, []byte{' '})
		code, reason, _ := bytes.Cut(rest, []byte{' '})
		resp.status, err = strconv.Atoi(string(code))
		if err != nil || !bytes.HasPrefix(proto, []byte("HTTP/1.")) {
			return response{}, fmt.Errorf("malformed HTTP status line %q", truncate(l, 100))
		}
		resp.reason = string(reason)
		if bytes.Equal(proto, []byte("HTTP/1.0")) {
			resp.keepAlive = false
		}
		if err := h.headers(&resp); err != nil {
			return response{}, err
		}
		if resp.status >= 100 && resp.status < 200 {
			continue
		}
		return resp, nil
	}
}

func (h *hconn) headers(resp *response) error {
	for {
		l, err := h.line()
		if err != nil {
			return err
		}
		if len(l) == 0 {
			return nil
		}
		k, v, ok := bytes.Cut(l, []byte{':'})
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || n < 0 {
				return fmt.Errorf("bad Content-Length %q", v)
			}
			resp.length = n
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			resp.chunked = bytes.Contains(bytes.ToLower(v), []byte("chunked"))
		case bytes.EqualFold(k, []byte("Connection")):
			if bytes.EqualFold(v, []byte("close")) {
				resp.keepAlive = false
			} else if bytes.EqualFold(v, []byte("keep-alive")) {
				resp.keepAlive = true
			}
		}
	}
}

// body reads one response body: chunked, Content-Length or until the connection closes.
type body struct {
	h       *hconn
	chunked bool
	left    int64 // bytes left in the current chunk or the whole body; -1 = until EOF
	done    bool
}

func (h *hconn) body(resp response) *body {
	b := &body{h: h, chunked: resp.chunked, left: resp.length}
	if resp.chunked {
		b.left = 0
	}
	if !resp.chunked && resp.length == 0 {
		b.done = true
	}
	return b
}

func (b *body) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	h := b.h
	if b.chunked && b.left == 0 {
		if err := b.nextChunk(); err != nil || b.done {
			if err == nil {
				err = io.EOF
			}
			return 0, err
		}
	}
	if h.r == h.w {
		if err := h.fill(); err != nil {
			if errors.Is(err, io.EOF) && b.left < 0 && !b.chunked {
				b.done = true
				return 0, io.EOF
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			if h.r == h.w {
				return 0, err
			}
		}
	}
	n := h.w - h.r
	if b.left >= 0 && int64(n) > b.left {
		n = int(b.left)
	}
	n = copy(p, h.buf[h.r:h.r+n])
	h.r += n
	if b.left >= 0 {
		b.left -= int64(n)
		if b.left == 0 && !b.chunked {
			b.done = true
		}
	}
	return n, nil
}

// nextChunk reads a chunk header (after the previous chunk's CRLF); a zero size ends the
// body after its trailers.
func (b *body) nextChunk() error {
	h := b.h
	l, err := h.line()
	if err != nil {
		return err
	}
	if len(l) == 0 { // the CRLF closing the previous chunk
		if l, err = h.line(); err != nil {
			return err
		}
	}
	size, _, _ := bytes.Cut(l, []byte{';'})
	n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("malformed chunk size %q", truncate(l, 40))
	}
	if n == 0 {
		for { // trailers up to the empty line
			l, err := h.line()
			if err != nil {
				return err
			}
			if len(l) == 0 {
				b.done = true
				return nil
			}
		}
	}
	b.left = n
	return nil
}

// drain consumes the rest of the body so the connection can carry the next request;
// it gives up (reporting false) past limit bytes.
func (b *body) drain(limit int) bool {
	var scratch [4096]byte
	for total := 0; total <= limit; {
		n, err := b.Read(scratch[:])
		total += n
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			return false
		}
	}
	return false
}
