package sse

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestDecoder(t *testing.T) {
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
					if err != nil {
						t.Fatal(err)
					}
					types = append(types, string(ev.Type))
					datas = append(datas, string(ev.Data))
				}
				if strings.Join(types, "|") != strings.Join(tc.types, "|") || strings.Join(datas, "|") != strings.Join(tc.datas, "|") || len(datas) != len(tc.datas) {
					t.Errorf("got types %q datas %q, want %q %q", types, datas, tc.types, tc.datas)
				}
			})
		}
	}
}

func TestDecoderReadError(t *testing.T) {
	boom := errors.New("boom")
	d := NewDecoder(io.MultiReader(strings.NewReader("data: a\n\n"), iotest.ErrReader(boom)), 0)
	if ev, err := d.Next(); err != nil || string(ev.Data) != "a" {
		t.Fatalf("first = %q, %v", ev.Data, err)
	}
	if _, err := d.Next(); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
}

func TestDecoderTooLong(t *testing.T) {
	d := NewDecoder(strings.NewReader("data: "+strings.Repeat("x", 100)), 8)
	d.max = 32
	if _, err := d.Next(); !errors.Is(err, ErrTooLong) {
		t.Fatalf("err = %v, want ErrTooLong", err)
	}
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
