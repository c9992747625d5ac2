package sim

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func (s *Sim) completions(w http.ResponseWriter, r *http.Request) { s.generate(w, r, false) }
func (s *Sim) chat(w http.ResponseWriter, r *http.Request)        { s.generate(w, r, true) }

// generate serves one completion: admission into the running batch (FIFO wait when
// MaxNumSeqs are running), prefill, then decode steps whose time grows with the batch,
// emitting ChunkTokens tokens per chunk after a first one-token chunk.
func (s *Sim) generate(w http.ResponseWriter, r *http.Request, chat bool) {
	arrival, rearm := arrival(r.Context(), time.Now())
	defer rearm()
	seq := s.seq.Add(1)
	rng := rand.New(rand.NewPCG(s.cfg.Seed, seq))
	tr := Truth{ID: r.Header.Get("X-Request-Id"), Arrival: arrival}
	if tr.ID == "" {
		tr.ID = "sim-" + strconv.FormatUint(seq, 10)
	}
	defer func() { s.record(&tr) }()
	p, err := s.parse(r, chat)
	if err != nil {
		tr.Status, tr.Error = http.StatusBadRequest, err.Error()
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	tr.PromptTokens = p.promptLen
	if rng.Float64() < s.cfg.FailRate {
		s.failures.Add(1)
		tr.Status, tr.Error = http.StatusInternalServerError, "injected failure"
		writeError(w, http.StatusInternalServerError, "simulated engine failure (injected)")
		return
	}
	g := s.plan(p, rng)
	noUsage := rng.Float64() < s.cfg.NoUsageRate

	ctx := r.Context()
	release, ok := s.admit(ctx)
	if !ok {
		tr.Error = "client went away while waiting"
		return
	}
	defer release()
	tr.Queued = time.Since(arrival)
	s.promptTokens.Add(int64(p.promptLen))
	tr.Status = http.StatusOK

	e := emitter{s: s, w: w, p: p, g: g, tr: &tr, noUsage: noUsage, created: arrival.Unix()}
	e.start()
	clock := newClock(ctx)
	defer clock.stop()
	at := time.Now().Add(s.jitter(rng, s.cfg.TTFT+time.Duration(p.promptLen)*s.cfg.PrefillPerToken))
	if !clock.until(at) || !e.chunk(0, 1) {
		tr.Error = "client went away"
		return
	}
	for i := 1; i < len(g.tokens); {
		k := min(s.cfg.ChunkTokens, len(g.tokens)-i)
		for range k {
			step := s.cfg.ITL + time.Duration(s.running.Load()-1)*s.cfg.ITLPerSeq
			at = at.Add(s.jitter(rng, step))
		}
		if !clock.until(at) || !e.chunk(i, k) {
			tr.Error = "client went away"
			return
		}
		i += k
	}
	e.finish()
	s.genTokens.Add(int64(len(g.tokens)))
	s.success.Add(1)
}

// admit waits for a running slot, FIFO (blocked channel senders are served in order).
func (s *Sim) admit(ctx context.Context) (release func(), ok bool) {
	s.waiting.Add(1)
	if s.slots != nil {
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			s.waiting.Add(-1)
			return nil, false
		}
	}
	s.waiting.Add(-1)
	s.running.Add(1)
	s.meter.add(time.Now(), 1)
	return func() {
		s.running.Add(-1)
		s.meter.add(time.Now(), -1)
		if s.slots != nil {
			<-s.slots
		}
	}, true
}

func (s *Sim) jitter(rng *rand.Rand, d time.Duration) time.Duration {
	if s.cfg.Jitter == 0 || d == 0 {
		return d
	}
	return time.Duration(float64(d) * (1 + s.cfg.Jitter*(2*rng.Float64()-1)))
}

// clock sleeps until absolute times, so per-step overshoot does not accumulate.
type clock struct {
	ctx context.Context
	t   *time.Timer
}

func newClock(ctx context.Context) *clock {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &clock{ctx: ctx, t: t}
}

func (c *clock) until(at time.Time) bool {
	d := time.Until(at)
	if d <= 0 {
		return c.ctx.Err() == nil
	}
	c.t.Reset(d)
	select {
	case <-c.t.C:
		return true
	case <-c.ctx.Done():
		return false
	}
}

func (c *clock) stop() { c.t.Stop() }

// generation is the planned output of one request.
type generation struct {
	tokens []string // one entry per token, including its leading space
	finish string   // "length" or "stop"
}

// plan decides the reply tokens from the mode, max_tokens, ignore_eos, stop strings and
// the injected short outputs.
func (s *Sim) plan(p *parsed, rng *rand.Rand) generation {
	var reply []string
	switch s.cfg.Mode {
	case ModeEcho:
		reply = splitTokens(p.text)
	case ModeScript:
		for _, rule := range s.cfg.Script {
			if strings.Contains(p.text, rule.Match) {
				reply = splitTokens(rule.Reply)
				break
			}
		}
	}
	g := generation{finish: "length"}
	if reply != nil {
		reply = applyStops(reply, p.stops)
		if !p.IgnoreEOS && len(reply) < p.maxTokens {
			g.tokens, g.finish = reply, "stop"
			if len(g.tokens) == 0 {
				g.tokens = []string{""} // an empty reply still streams one (empty) token
			}
			return g
		}
	}
	n := p.maxTokens
	if p.IgnoreEOS && rng.Float64() < s.cfg.ShortRate {
		n, g.finish = max(1, n/2), "stop"
	}
	g.tokens = make([]string, n)
	i := copy(g.tokens, reply)
	for ; i < n; i++ {
		g.tokens[i] = randomWords[rng.IntN(len(randomWords))]
	}
	return g
}

// splitTokens cuts text into word tokens, each carrying its leading whitespace, so that
// joining them gives the text back.
func splitTokens(text string) []string {
	var out []string
	start := 0
	for i := 1; i < len(text); i++ {
		if (text[i] == ' ' || text[i] == '\n') && text[i-1] != ' ' && text[i-1] != '\n' {
			out = append(out, text[start:i])
			start = i
		}
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

// applyStops cuts the reply before the first occurrence of any stop string.
func applyStops(tokens []string, stops []string) []string {
	if len(stops) == 0 {
		return tokens
	}
	full := strings.Join(tokens, "")
	cut := -1
	for _, st := range stops {
		if st == "" {
			continue
		}
		if i := strings.Index(full, st); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut < 0 {
		return tokens
	}
	return splitTokens(full[:cut])
}

var randomWords = []string{
	" the", " of", " and", " to", " in", " is", " that", " for", " it", " as", " with", " be",
	" on", " not", " this", " are", " from", " at", " which", " but", " have", " an", " they",
	" one", " all", " can", " there", " more", " when", " will", " time", " water", " light",
}
