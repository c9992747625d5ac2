package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Outcome is one benchmark point: the configuration actually used, every measured request
// and the aggregate metrics.
type Outcome struct {
	Config    Config
	Start     time.Time     // wall clock at the start of the measured window
	End       time.Time     // wall clock at its end
	Duration  time.Duration // measured window: first dispatch → last request finished
	Records   []Record      // measured requests in dataset order
	Warmups   int           // warm-up requests sent
	WarmupErr int           // warm-up requests that failed
	ClientCPU time.Duration // user+system CPU of this process during the measured window
	Metrics   Metrics
	// Canceled is set when ctx ended the run early; Records then holds the requests that
	// finished or were cut off (with an error).
	Canceled bool
}

// Failed reports whether the failure rate exceeds Config.MaxFailureRate (the reference's
// >5 % rule); the caller should exit non-zero but still write the result.
func (o *Outcome) Failed() bool {
	n := o.Config.NumPrompts
	return n == 0 || float64(n-o.Metrics.Completed)/float64(n) > o.Config.MaxFailureRate
}

// Run executes one benchmark point against an already running server: warm-ups (discarded),
// then the measured requests under the concurrency cap and arrival process. progress, if
// not nil, receives progress output. Errors are returned only for an unusable configuration
// (a *ConfigError) or a crash of the load generator itself (ErrCrashed, with the partial
// outcome); request failures are recorded in the outcome.
func Run(ctx context.Context, cfg Config, progress io.Writer) (*Outcome, error) {
	cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return nil, &ConfigError{Err: err}
	}
	var notes []string
	if cfg.ChatTemplate {
		n, err := probeChatTemplate(ctx, &cfg)
		switch {
		case err != nil:
			// The lengths stay measurable (the server's usage counts every request); only
			// the reference's shortening by the template is lost.
			notes = append(notes, fmt.Sprintf("chat template length unknown (probe: %v): prompts are not shortened by it, so inputs run a few tokens longer than the reference's", err))
		case n >= cfg.InputLen:
			return nil, &ConfigError{Err: fmt.Errorf("the server's chat template takes %d tokens, as many as the input length %d: give a longer input", n, cfg.InputLen)}
		default:
			cfg.ChatTemplateTokens = n
		}
	}
	data := NewDataset(cfg)
	cl, err := newClient(&cfg, data, time.Now())
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	defer cl.close()
	out := &Outcome{Config: cfg}

	if cfg.NumWarmups > 0 {
		out.Warmups = cfg.NumWarmups
		var guard crashGuard
		out.WarmupErr = warmup(ctx, cl, data, &cfg, progress, &guard)
		if guard.err != nil {
			return nil, guard.err
		}
	}

	recs := make([]Record, cfg.NumPrompts)
	for i := range recs {
		recs[i].ID = cfg.RequestIDPrefix + strconv.Itoa(i)
	}
	arr := arrivals(cfg.NumPrompts, cfg.RequestRate, cfg.Burstiness, cfg.Seed)
	var prog progressState
	prog.total = int64(cfg.NumPrompts)
	stopProg := startProgress(progress, &cfg, &prog)

	if cfg.Preconnect {
		// Capped: an unlimited concurrency with paced arrivals rarely has every request
		// in flight at once, and each connection costs the server a slot.
		cl.dial.preconnect(ctx, min(workers(&cfg, cfg.NumPrompts), 4096))
	}
	cpu0 := cpuTime()
	out.Start = time.Now()
	cl.t0 = out.Start
	var guard crashGuard
	dispatch(ctx, cl, data, &cfg, recs, arr, &prog, &guard)
	end := time.Now()
	out.ClientCPU = cpuTime() - cpu0
	stopProg()

	out.End = end
	out.Duration = end.Sub(out.Start)
	out.Canceled = ctx.Err() != nil
	out.Records = recs
	out.Metrics = Aggregate(&cfg, recs, out.Duration, out.ClientCPU)
	out.Metrics.Notes = append(notes, out.Metrics.Notes...)
	if guard.err != nil {
		return out, guard.err
	}
	return out, nil
}

// ErrCrashed marks a load generator that hit a bug: the outcome it returns is incomplete.
var ErrCrashed = errors.New("load generator crashed")

// ConfigError is a point the load generator cannot run as configured (bad settings, an
// input shorter than the server's chat template): the caller's to fix, not a failure of the
// server or of the load generator.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// crashGuard keeps the first panic of a worker goroutine. A panic there cannot be recovered
// by the caller and would end the process with the engine still running; recorded, it ends
// the point with an error instead.
type crashGuard struct {
	once sync.Once
	err  error
}

func (g *crashGuard) recover() {
	if p := recover(); p != nil {
		g.once.Do(func() { g.err = fmt.Errorf("%w (a bug, please report it): %v\n%s", ErrCrashed, p, debug.Stack()) })
	}
}

// workers returns how many requests may be in flight.
func workers(cfg *Config, n int) int {
	if cfg.MaxConcurrency > 0 && cfg.MaxConcurrency < n {
		return cfg.MaxConcurrency
	}
	return n
}

// dispatch runs the measured phase: a fixed pool of workers (closed loop) fed in dataset
// order at the arrival times. A worker remembers when it became free so the send lag of the
// next request counts from max(arrival, free), never from a moment the client chose.
func dispatch(ctx context.Context, cl *client, data *Dataset, cfg *Config, recs []Record, arr []time.Duration, prog *progressState, guard *crashGuard) {
	jobs := make(chan int, len(recs))
	var wg sync.WaitGroup
	for range workers(cfg, len(recs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer guard.recover()
			w := cl.newWorker()
			defer w.release()
			var free time.Duration
			for i := range jobs {
				rec := &recs[i]
				p := &data.Prompts[i]
				rec.Index, rec.PromptLen, rec.MaxTokens = p.Index, p.PromptLen, p.OutputLen
				rec.Scheduled = arr[i]
				rec.Eligible = max(arr[i], free)
				if ctx.Err() != nil {
					rec.Error, rec.NotSent = "canceled before sending: "+ctx.Err().Error(), true
					continue
				}
				prog.inflight.Add(1)
				w.do(ctx, p, rec)
				prog.inflight.Add(-1)
				prog.finish(rec)
				free = cl.since(time.Now())
			}
		}()
	}
	feed(ctx, cl, jobs, arr)
	close(jobs)
	wg.Wait()
}

// feed queues every request at its arrival time.
func feed(ctx context.Context, cl *client, jobs chan<- int, arr []time.Duration) {
	var timer *time.Timer
	for i, at := range arr {
		if wait := at - cl.since(time.Now()); wait > 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			select {
			case <-timer.C:
			case <-ctx.Done():
			}
		}
		jobs <- i
	}
}

// warmup sends n copies of request 0 under the concurrency cap and returns how many failed.
func warmup(ctx context.Context, cl *client, data *Dataset, cfg *Config, progress io.Writer, guard *crashGuard) int {
	if progress != nil {
		fmt.Fprintf(progress, "bench: %d warm-up requests\n", cfg.NumWarmups)
	}
	var failed atomic.Int64
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range workers(cfg, cfg.NumWarmups) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer guard.recover()
			w := cl.newWorker()
			defer w.release()
			var rec Record
			for {
				i := next.Add(1) - 1
				if i >= int64(cfg.NumWarmups) || ctx.Err() != nil {
					return
				}
				rec = Record{ID: cfg.RequestIDPrefix + "w" + strconv.FormatInt(i, 10), Chunks: rec.Chunks[:0]}
				w.do(ctx, &data.Prompts[0], &rec)
				if !rec.OK() {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return int(failed.Load())
}
