package loadgen

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// fakeClock is a clock the test advances by hand; each tick is delivered synchronously.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	every time.Duration
	ticks chan time.Time
}

func (f *fakeClock) clock() clock {
	return clock{
		now: func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t },
		ticker: func(every time.Duration) (<-chan time.Time, func()) {
			f.every = every
			return f.ticks, func() {}
		},
	}
}

// advance moves the clock by one ticker interval, fires the tick and waits until the
// reporter has written its line.
func (f *fakeClock) advance(out *syncBuffer) {
	f.mu.Lock()
	f.t = f.t.Add(f.every)
	t := f.t
	f.mu.Unlock()
	f.ticks <- t
	<-out.wrote
}

// syncBuffer is a writer safe for the reporter goroutine and the test; it signals each
// write.
type syncBuffer struct {
	mu    sync.Mutex
	b     strings.Builder
	wrote chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case s.wrote <- struct{}{}:
	default:
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestProgress(t *testing.T) {
	tests := []struct {
		name      string
		tty       bool
		every     time.Duration
		wantEvery time.Duration
		want      string
	}{
		{"CI log: a line every interval", false, 5 * time.Second, 5 * time.Second,
			"bench: 0/10 done, 0 failed, 0 in flight, 0.0 req/s, 0 tok/s, 5s\n" +
				"bench: 4/10 done, 1 failed, 2 in flight, 0.4 req/s, 30 tok/s, 10s\n" +
				"bench: 4/10 done, 1 failed, 2 in flight, 0.4 req/s, 30 tok/s, 10s\n"},
		{"CI log: default interval", false, 0, 5 * time.Second,
			"bench: 0/10 done, 0 failed, 0 in flight, 0.0 req/s, 0 tok/s, 5s\n" +
				"bench: 4/10 done, 1 failed, 2 in flight, 0.4 req/s, 30 tok/s, 10s\n" +
				"bench: 4/10 done, 1 failed, 2 in flight, 0.4 req/s, 30 tok/s, 10s\n"},
		{"TTY: a redrawn bar", true, 5 * time.Second, 200 * time.Millisecond,
			"\r[..............................] 0/10 done, 0 failed, 0 in flight, 0.0 req/s, 0 tok/s, 0s" +
				"\r[############..................] 4/10 done, 1 failed, 2 in flight, 10.0 req/s, 750 tok/s, 0s" +
				"\r[############..................] 4/10 done, 1 failed, 2 in flight, 10.0 req/s, 750 tok/s, 0s\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fc := &fakeClock{t: time.Unix(1e9, 0), ticks: make(chan time.Time)}
			out := syncBuffer{wrote: make(chan struct{}, 1)}
			cfg := DefaultConfig()
			cfg.ProgressTTY, cfg.ProgressInterval = tc.tty, tc.every
			p := &progressState{total: 10}
			stop := startProgressClock(&out, &cfg, p, fc.clock())
			assert.Equal(t, tc.wantEvery, fc.every, "ticker interval")
			fc.advance(&out)
			for i := range 4 {
				r := Record{Status: 200, Chunks: []Chunk{{}}, OutputTokens: 100}
				if i == 0 {
					r = Record{Error: "boom"}
				}
				p.finish(&r)
			}
			p.inflight.Add(2)
			fc.advance(&out)
			stop()
			assert.Equal(t, tc.want, out.String(), "progress output")
		})
	}
}

func TestProgressNil(t *testing.T) {
	cfg := DefaultConfig()
	startProgress(nil, &cfg, &progressState{})() // no writer: nothing to do, no goroutine left
}
