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

// clock is what the progress reporter reads time from; tests substitute a fake.
type clock struct {
	now    func() time.Time
	ticker func(every time.Duration) (ticks <-chan time.Time, stop func())
}

var realClock = clock{
	now: time.Now,
	ticker: func(every time.Duration) (<-chan time.Time, func()) {
		t := time.NewTicker(every)
		return t.C, t.Stop
	},
}

// startProgress reports until the returned stop function is called: a redrawn bar on a TTY,
// a plain line every interval otherwise (CI logs). stop prints a final line.
func startProgress(w io.Writer, cfg *Config, p *progressState) (stop func()) {
	return startProgressClock(w, cfg, p, realClock)
}

func startProgressClock(w io.Writer, cfg *Config, p *progressState, clk clock) (stop func()) {
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
	start := clk.now()
	ticks, stopTicks := clk.ticker(every)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer stopTicks()
		for {
			select {
			case <-done:
				line(w, cfg.ProgressTTY, p, clk.now().Sub(start))
				if cfg.ProgressTTY {
					fmt.Fprintln(w)
				}
				return
			case <-ticks:
				line(w, cfg.ProgressTTY, p, clk.now().Sub(start))
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
