package sse

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	_ "github.com/inferbench/inferbench/internal/testkit" // defines -update, so `go test ./... -update` runs here too
)

func TestDecoder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		types []string
		datas []string
	}{
		{"openai", "data: {\"a\":1}\n\ndata: [DONE]\n\n", []string{"", ""}, []string{`{"a":1}`, "[DONE]"}},
		{"crlf", "data: x\r\n\r\ndata: y\r\n\r\n", []string{"", ""}, []string{"x", "y"}},
		{"no space", "data:x\n\n", []string{""}, []string{"x"}},
		{"multi line", "data: a\ndata: b\n\n", []string{""}, []string{"a\nb"}},
		{"comments and ids", ": ping\nid: 3\nretry: 10\ndata: z\n\n", []string{""}, []string{"z"}},
		{"event type", "event: error\ndata: bad\n\n", []string{"error"}, []string{"bad"}},
		{"no final blank", "data: a\n\ndata: [DONE]", []string{"", ""}, []string{"a", "[DONE]"}},
		{"blank lines only", "\n\n\n", nil, nil},
		{"empty data", "data:\n\n", []string{""}, []string{""}},
	}
	for _, tc := range tests {
		for _, mode := range []string{"whole", "onebyte"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				var r io.Reader = strings.NewReader(tc.in)
				if mode == "onebyte" {
					r = iotest.OneByteReader(r)
				}
				d := NewDecoder(r, 4) // tiny buffer exercises growth and sliding
				var types, datas []string
				for {
					ev, err := d.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					require.NoError(t, err)
					types = append(types, string(ev.Type))
					datas = append(datas, string(ev.Data))
				}
				assert.Equal(t, strings.Join(tc.types, "|"), strings.Join(types, "|"))
				assert.Equal(t, strings.Join(tc.datas, "|"), strings.Join(datas, "|"))
				assert.Len(t, datas, len(tc.datas))
			})
		}
	}
}

func TestDecoderReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	d := NewDecoder(io.MultiReader(strings.NewReader("data: a\n\n"), iotest.ErrReader(boom)), 0)
	ev, err := d.Next()
	require.NoError(t, err, "first")
	require.Equal(t, "a", string(ev.Data), "first")
	_, err = d.Next()
	require.ErrorIs(t, err, boom)
}

func TestDecoderTooLong(t *testing.T) {
	t.Parallel()
	d := NewDecoder(strings.NewReader("data: "+strings.Repeat("x", 100)), 8)
	d.max = 32
	_, err := d.Next()
	require.ErrorIs(t, err, ErrTooLong)
}

func BenchmarkDecoder(b *testing.B) {
	chunk := "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":\" tok tok tok\",\"finish_reason\":null}],\"usage\":null}\n\n"
	in := strings.Repeat(chunk, 1000)
	r := strings.NewReader(in)
	d := NewDecoder(r, 0)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		r.Reset(in)
		d.Reset(r)
		for {
			if _, err := d.Next(); err != nil {
				break
			}
		}
	}
}
