package result

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// object writes a JSON object whose keys keep the order they were added in, which the
// reference formats rely on (and which Go maps and struct tags alone cannot express for
// dynamic keys such as p99.9_ttft_ms).
type object struct {
	buf bytes.Buffer
	n   int
	err error
}

func (o *object) key(k string) {
	if o.n == 0 {
		o.buf.WriteByte('{')
	} else {
		o.buf.WriteString(", ")
	}
	o.n++
	kb, _ := json.Marshal(k)
	o.buf.Write(kb)
	o.buf.WriteString(": ")
}

// add writes any JSON-encodable value; HTML escaping is off, as in Python's json.dump.
func (o *object) add(k string, v any) {
	o.key(k)
	if f, ok := v.(float64); ok {
		o.buf.WriteString(formatFloat(f))
		return
	}
	enc := json.NewEncoder(&o.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil && o.err == nil {
		o.err = fmt.Errorf("encoding %q: %w", k, err)
	}
	// Encoder adds a newline; drop it so the object stays on one line.
	if b := o.buf.Bytes(); len(b) > 0 && b[len(b)-1] == '\n' {
		o.buf.Truncate(o.buf.Len() - 1)
	}
}

func (o *object) bytes() ([]byte, error) {
	if o.err != nil {
		return nil, o.err
	}
	if o.n == 0 {
		return []byte("{}"), nil
	}
	o.buf.WriteByte('}')
	return o.buf.Bytes(), nil
}

// formatFloat writes a finite float the way Python would (always with a decimal point or
// exponent, so a float stays a float for typed readers) and a non-finite one as null,
// since JSON has no NaN or Infinity.
func formatFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "null"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !bytes.ContainsAny([]byte(s), ".eEn") {
		s += ".0"
	}
	return s
}

// field is one key/value pair of a decoded object, in document order.
type field struct {
	Key   string
	Value json.RawMessage
}

// decodeOrdered reads a JSON object keeping its key order.
func decodeOrdered(data []byte) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("expected a JSON object, found %v", tok)
	}
	var out []field
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("value of %q: %w", kt, err)
		}
		out = append(out, field{Key: kt.(string), Value: raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return out, nil
}
