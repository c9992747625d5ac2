package loadgen

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progressState is updated by workers and read by the reporter; atomics keep the hot path
// lock-free.
type progressState struct {
	total    int64
	done     atomic.Int64
	failed   atomic.Int64
	inflight atomic.Int64
	tokens   atomic.Int64
}

func (p *progressState) finish(r *Record) {
	p.done.Add(1)
	if !r.OK() {
		p.failed.Add(1)
	}
	p.tokens.Add(int64(r.OutputTokens))
}

// startProgress reports until the returned stop function is called: a redrawn bar on a TTY,
// a plain line every interval otherwise (CI logs). stop prints a final line.
func startProgress(w io.Writer, cfg *Config, p *progressState) (stop func()) {
	if w == nil {
		return func() {}
	}
	every := cfg.ProgressInterval
	if cfg.ProgressTTY {
		every = 200 * time.Millisecond
	}
	if every <= 0 {
		every = 5 * time.Second
	}
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				line(w, cfg.ProgressTTY, p, time.Since(start))
				if cfg.ProgressTTY {
					fmt.Fprintln(w)
				}
				return
			case <-t.C:
				line(w, cfg.ProgressTTY, p, time.Since(start))
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func line(w io.Writer, tty bool, p *progressState, el time.Duration) {
	done, failed, infl, tok := p.done.Load(), p.failed.Load(), p.inflight.Load(), p.tokens.Load()
	secs := max(el.Seconds(), 1e-9)
	stats := fmt.Sprintf("%d/%d done, %d failed, %d in flight, %.1f req/s, %.0f tok/s, %s",
		done, p.total, failed, infl, float64(done)/secs, float64(tok)/secs, el.Truncate(time.Second))
	if !tty {
		fmt.Fprintf(w, "bench: %s\n", stats)
		return
	}
	const width = 30
	fill := 0
	if p.total > 0 {
		fill = int(done * width / p.total)
	}
	fmt.Fprintf(w, "\r[%s%s] %s", strings.Repeat("#", fill), strings.Repeat(".", width-fill), stats)
}
