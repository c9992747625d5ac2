// Package sse decodes a text/event-stream (the server-sent events format OpenAI-compatible
// servers stream completions in). It knows nothing of HTTP or timing: callers hand it a
// reader and pull events. The decoder is built for a hot loop: it reuses one buffer and
// returns data that stays valid only until the next call.
package sse

import (
	"bytes"
	"errors"
	"io"
)

// ErrTooLong is returned for a line longer than the decoder's maximum.
var ErrTooLong = errors.New("sse: line exceeds the maximum length")

// Decoder reads events from an event stream.
type Decoder struct {
	r        io.Reader
	buf      []byte // read buffer; buf[start:end] is unconsumed
	start    int
	end      int
	max      int
	data     []byte // data of the event being assembled
	hasData  bool
	event    []byte
	err      error
	Comments int // comment lines seen (":" keep-alives), for diagnostics
}

// NewDecoder returns a decoder reading from r with an initial buffer of size bytes
// (4096 if size <= 0). Lines may grow the buffer up to 16 MiB.
func NewDecoder(r io.Reader, size int) *Decoder {
	if size <= 0 {
		size = 4096
	}
	return &Decoder{r: r, buf: make([]byte, size), max: 16 << 20}
}

// Reset points the decoder at a new stream, keeping its buffers.
func (d *Decoder) Reset(r io.Reader) {
	d.r = r
	d.start, d.end = 0, 0
	d.data = d.data[:0]
	d.hasData = false
	d.event = d.event[:0]
	d.err = nil
	d.Comments = 0
}

// Event is one dispatched event. Its slices are valid until the next call to Next.
type Event struct {
	// Type is the "event:" field, empty for the default "message" type.
	Type []byte
	// Data is the "data:" lines joined by "\n".
	Data []byte
	// Unterminated is set on an event the stream ended in the middle of (no blank line
	// after it): its data may be cut short.
	Unterminated bool
}

// Next returns the next event. At the end of the stream it dispatches a final event that
// was not followed by a blank line (servers that close right after "data: [DONE]") and then
// returns io.EOF. Other read errors are returned as they are.
func (d *Decoder) Next() (Event, error) {
	for {
		line, err := d.line()
		if err != nil {
			if err == io.EOF && d.hasData {
				ev := d.dispatch()
				ev.Unterminated = true
				return ev, nil
			}
			return Event{}, err
		}
		if len(line) == 0 {
			if d.hasData {
				return d.dispatch(), nil
			}
			d.event = d.event[:0]
			continue
		}
		d.field(line)
	}
}

func (d *Decoder) dispatch() Event {
	ev := Event{Type: d.event, Data: d.data}
	d.hasData = false
	// The slices stay valid until the next call: field() only truncates them then.
	d.data = d.data[:0:cap(d.data)]
	d.event = d.event[:0:cap(d.event)]
	return ev
}

// field applies one non-empty line to the event being assembled.
func (d *Decoder) field(line []byte) {
	if line[0] == ':' {
		d.Comments++
		return
	}
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "data":
		if !d.hasData {
			// A previous event's slices were handed out; start over in place.
			d.data = d.data[:0]
		} else {
			d.data = append(d.data, '\n')
		}
		d.data = append(d.data, value...)
		d.hasData = true
	case "event":
		d.event = append(d.event[:0], value...)
	}
	// "id" and "retry" do not matter to a benchmark client.
}

// line returns the next line without its terminator (LF, CRLF or CR-before-LF).
func (d *Decoder) line() ([]byte, error) {
	for {
		if i := bytes.IndexByte(d.buf[d.start:d.end], '\n'); i >= 0 {
			l := d.buf[d.start : d.start+i]
			d.start += i + 1
			if n := len(l); n > 0 && l[n-1] == '\r' {
				l = l[:n-1]
			}
			return l, nil
		}
		if d.err != nil {
			if d.start < d.end { // last line without a terminator
				l := d.buf[d.start:d.end]
				d.start = d.end
				return l, nil
			}
			return nil, d.err
		}
		d.fill()
	}
}

// fill reads more bytes, sliding or growing the buffer as needed.
func (d *Decoder) fill() {
	if d.start > 0 {
		n := copy(d.buf, d.buf[d.start:d.end])
		d.start, d.end = 0, n
	}
	if d.end == len(d.buf) {
		if len(d.buf) >= d.max {
			d.err = ErrTooLong
			return
		}
		nb := make([]byte, min(2*len(d.buf), d.max))
		copy(nb, d.buf[:d.end])
		d.buf = nb
	}
	n, err := d.r.Read(d.buf[d.end:])
	d.end += n
	if err != nil {
		d.err = err
	}
}
