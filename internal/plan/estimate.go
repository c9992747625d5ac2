package plan

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Model is the stated model of a job's wall time, used where no history applies.
type Model struct {
	// Overhead is a job's time outside the agent run: checkout, build, uploads.
	Overhead time.Duration
	// Startup is an engine's time from start to serving (image pull, weights, compilation);
	// StartupMultinode that of a multi-node deployment.
	Startup, StartupMultinode time.Duration
	// Stop is an engine's shutdown.
	Stop time.Duration
	// Eval is an accuracy eval.
	Eval time.Duration
	// TokenRate is the output tokens per second one GPU produces when the batch is full;
	// UserRate the output tokens per second one request gets when it is not; PrefillRate
	// the input tokens per second one GPU takes in.
	TokenRate, UserRate, PrefillRate float64
}

// DefaultModel is what the plan assumes without history: order-of-magnitude figures for a
// large model on one of today's data-centre GPUs.
func DefaultModel() Model {
	return Model{Overhead: 2 * time.Minute, Startup: 10 * time.Minute, StartupMultinode: 20 * time.Minute,
		Stop: 30 * time.Second, Eval: 10 * time.Minute, TokenRate: 1500, UserRate: 60, PrefillRate: 20000}
}

// load is the model's time for one point: prompts and warm-ups, each with isl input and osl
// output tokens, at concurrency conc on gpus GPUs. Output flows at conc×UserRate until the
// GPUs' TokenRate caps it; prefill at PrefillRate per GPU.
func (m Model) load(conc, prompts, warmups, isl, osl, gpus int) float64 {
	g, n := float64(max(gpus, 1)), float64(prompts+warmups)
	rate := min(float64(max(conc, 1))*m.UserRate, m.TokenRate*g)
	return n*float64(osl)/rate + n*float64(isl)/(m.PrefillRate*g)
}

// Sources says what the figures came from.
type Sources struct {
	Model ModelParams `json:"model"`
	// History is the directory read, and how many points it held.
	History       string `json:"history,omitempty"`
	HistoryPoints int    `json:"history_points,omitempty"`
	// Points, Startups, Stops and Evals count the figures of the plan's jobs by source.
	Points   map[string]int `json:"points"`
	Startups map[string]int `json:"startups"`
}

// ModelParams is Model as the plan states it.
type ModelParams struct {
	OverheadS         float64 `json:"overhead_s"`
	StartupS          float64 `json:"startup_s"`
	StartupMultinodeS float64 `json:"startup_multinode_s"`
	StopS             float64 `json:"stop_s"`
	EvalS             float64 `json:"eval_s"`
	TokenRate         float64 `json:"token_rate_per_gpu"`
	UserRate          float64 `json:"user_rate"`
	PrefillRate       float64 `json:"prefill_rate_per_gpu"`
}

// Figure is one estimate and where it came from.
type Figure struct {
	Seconds float64 `json:"seconds"`
	Source  string  `json:"source"`
}

// Estimate is a job's wall time and its parts.
type Estimate struct {
	Seconds  float64          `json:"seconds"`
	Overhead Figure           `json:"overhead"`
	Launches []LaunchEstimate `json:"launches"`
	Points   []PointEstimate  `json:"points"`
	Eval     *Figure          `json:"eval,omitempty"`
}

// LaunchEstimate is one engine's start-up and stop.
type LaunchEstimate struct {
	Startup Figure `json:"startup"`
	Stop    Figure `json:"stop"`
}

// PointEstimate is one point's load.
type PointEstimate struct {
	Conc int `json:"conc"`
	Figure
}

// Source labels.
const (
	srcModel     = "model"
	srcKey       = "history: same fingerprint"
	srcLaunch    = "history: same launch"
	srcConfig    = "history: same configuration"
	srcNearest   = "history: nearest configuration"
	srcFamily    = "history: same engine, model and parallelism"
	srcEngine    = "history: same engine and hardware"
	srcUnplanned = "model (row not planned)"
)

type estimator struct {
	o      Options
	m      Model
	ix     *index
	counts struct{ points, startups map[string]int }
}

func newEstimator(o Options) *estimator {
	if o.Model == (Model{}) {
		o.Model = DefaultModel()
	}
	e := &estimator{o: o, m: o.Model, ix: o.History.index()}
	e.counts.points, e.counts.startups = map[string]int{}, map[string]int{}
	return e
}

func (e *estimator) sources() Sources {
	m := e.m
	s := Sources{Model: ModelParams{OverheadS: m.Overhead.Seconds(), StartupS: m.Startup.Seconds(), StartupMultinodeS: m.StartupMultinode.Seconds(),
		StopS: m.Stop.Seconds(), EvalS: m.Eval.Seconds(), TokenRate: m.TokenRate, UserRate: m.UserRate, PrefillRate: m.PrefillRate},
		Points: e.counts.points, Startups: e.counts.startups}
	if h := e.o.History; h != nil {
		s.History, s.HistoryPoints = h.Dir, h.Points()
	}
	return s
}

// job estimates one job: the overhead, every launch's start-up and stop, every point's load
// and the eval of a run-eval row.
func (e *estimator) job(j *job) Estimate {
	est := Estimate{Overhead: Figure{e.m.Overhead.Seconds(), srcModel}}
	r0 := j.rows[0]
	if r0.err != nil {
		row := r0.in.Row
		st := e.m.Startup
		if row.Multinode() {
			st = e.m.StartupMultinode
		}
		est.Launches = []LaunchEstimate{{Figure{st.Seconds(), srcUnplanned}, Figure{e.m.Stop.Seconds(), srcUnplanned}}}
		for _, c := range r0.concs() {
			secs := e.m.load(c, 10*c, 2*c, max(row.ISL, 1), max(row.OSL, 1), r0.gpus)
			est.Points = append(est.Points, PointEstimate{c, Figure{round(secs, 1), srcUnplanned}})
		}
		return e.total(est, j)
	}
	for i, gp := range j.points {
		if i == 0 || gp.pt.signature() != j.points[i-1].pt.signature() {
			est.Launches = append(est.Launches, LaunchEstimate{e.startup(gp), e.stop(gp)})
		}
		est.Points = append(est.Points, PointEstimate{gp.pt.conc, e.load(gp)})
	}
	if r0.in.Row.RunEval && len(j.points) > 0 {
		f := e.evalTime(j.points[len(j.points)-1])
		est.Eval = &f
	}
	return e.total(est, j)
}

func (e *estimator) total(est Estimate, j *job) Estimate {
	if len(j.points) == 0 && j.rows[0].err == nil {
		return Estimate{Launches: []LaunchEstimate{}, Points: []PointEstimate{}, Overhead: Figure{0, "nothing runs"}}
	}
	s := est.Overhead.Seconds
	for _, l := range est.Launches {
		s += l.Startup.Seconds + l.Stop.Seconds
	}
	for _, p := range est.Points {
		s += p.Seconds
	}
	if est.Eval != nil {
		s += est.Eval.Seconds
	}
	est.Seconds = round(s, 1)
	return est
}

// count records the sources of the chosen mode's figures.
func (e *estimator) count(js []*job) {
	for _, j := range js {
		for _, l := range j.out.Estimate.Launches {
			e.counts.startups[kind(l.Startup.Source)]++
		}
		for _, p := range j.out.Estimate.Points {
			e.counts.points[kind(p.Source)]++
		}
	}
}

func (e *estimator) attrs(gp groupPoint) cfgAttrs {
	row := gp.row.in.Row
	a := cfgAttrs{HW: gp.row.hw, Model: row.Model, Framework: row.Framework, Precision: row.Precision, Spec: row.SpecDecoding,
		ISL: row.ISL, OSL: row.OSL, TP: row.TP, EP: row.EP, DPAttn: row.DPAttn}
	if row.Multinode() {
		p, d := row.Prefill, row.Decode
		a.Layout = fmt.Sprintf("P%dx%d/%d D%dx%d/%d", p.NumWorkers, p.TP, p.EP, d.NumWorkers, d.TP, d.EP)
	}
	return a
}

// modelLoad is the model's time for a planned point.
func (e *estimator) modelLoad(gp groupPoint) float64 {
	c := gp.pt.client
	return e.m.load(c.MaxConcurrency, c.NumPrompts, c.NumWarmups, c.InputLen, c.OutputLen, gp.row.gpus)
}

// load estimates a point's load: the same fingerprint's measured time, else the nearest
// concurrency of the same launch, configuration or nearest configuration, scaled by the
// ratio of the model's times (so more prompts or a fuller batch take longer), else the model.
func (e *estimator) load(gp groupPoint) Figure {
	for _, k := range gp.pt.keys {
		if ss := e.ix.byKey[k]; len(ss) > 0 {
			if v, n := mean(ss, func(s *sample) float64 { return s.load }); n > 0 {
				return Figure{round(v, 1), fmt.Sprintf("%s (%d sample%s)", srcKey, n, plural(n))}
			}
		}
	}
	want := gp.pt.conc
	scaled := func(ss []*sample, label string) (Figure, bool) {
		best := nearest(ss, want, gp.row.in.Row.TP, func(s *sample) bool { return s.load >= 0 })
		if best == nil {
			return Figure{}, false
		}
		hist := e.m.load(best.conc, best.prompts, best.warmups, best.cfg.ISL, best.cfg.OSL, best.gpus)
		return Figure{round(best.load*e.modelLoad(gp)/hist, 1), fmt.Sprintf("%s, conc %d tp %d scaled by the model", label, best.conc, best.cfg.TP)}, true
	}
	for _, l := range gp.pt.launches {
		if f, ok := scaled(e.ix.byLaunch[l], srcLaunch); ok {
			return f
		}
	}
	a := e.attrs(gp)
	if f, ok := scaled(e.ix.byExact[a.exact()], srcConfig); ok {
		return f
	}
	if f, ok := scaled(e.ix.byLoose[a.loose()], srcNearest); ok {
		return f
	}
	return Figure{round(e.modelLoad(gp), 1), srcModel}
}

// startup estimates an engine's start-up from launches like it.
func (e *estimator) startup(gp groupPoint) Figure {
	f := func(s *sample) float64 { return s.startup }
	for _, l := range gp.pt.launches {
		if v, n := mean(e.ix.byLaunch[l], f); n > 0 {
			return Figure{round(v, 1), fmt.Sprintf("%s (%d sample%s)", srcLaunch, n, plural(n))}
		}
	}
	a := e.attrs(gp)
	if v, n := mean(e.ix.byModel[a.model()], f); n > 0 {
		return Figure{round(v, 1), fmt.Sprintf("%s (%d sample%s)", srcFamily, n, plural(n))}
	}
	if v, n := mean(e.ix.byEngine[a.engine()], f); n > 0 {
		return Figure{round(v, 1), fmt.Sprintf("%s (%d sample%s)", srcEngine, n, plural(n))}
	}
	if gp.row.in.Row.Multinode() {
		return Figure{e.m.StartupMultinode.Seconds(), srcModel}
	}
	return Figure{e.m.Startup.Seconds(), srcModel}
}

func (e *estimator) stop(gp groupPoint) Figure {
	if v, n := mean(e.ix.byEngine[e.attrs(gp).engine()], func(s *sample) float64 { return s.stop }); n > 0 {
		return Figure{round(v, 1), fmt.Sprintf("%s (%d sample%s)", srcEngine, n, plural(n))}
	}
	return Figure{e.m.Stop.Seconds(), srcModel}
}

func (e *estimator) evalTime(gp groupPoint) Figure {
	if v, n := mean(e.ix.byModel[e.attrs(gp).model()], func(s *sample) float64 { return s.eval }); n > 0 {
		return Figure{round(v, 1), fmt.Sprintf("%s (%d sample%s)", srcFamily, n, plural(n))}
	}
	return Figure{e.m.Eval.Seconds(), srcModel}
}

// mean averages f over the samples where it is known.
func mean(ss []*sample, f func(*sample) float64) (float64, int) {
	sum, n := 0.0, 0
	for _, s := range ss {
		if v := f(s); v >= 0 {
			sum += v
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}

// nearest is the usable sample closest to conc and tp (tensor parallelism first, then
// concurrency, both on a log scale); ties go to the first.
func nearest(ss []*sample, conc, tp int, ok func(*sample) bool) *sample {
	var best *sample
	bestD := math.Inf(1)
	for _, s := range ss {
		if !ok(s) {
			continue
		}
		d := 10*math.Abs(math.Log2(float64(max(s.cfg.TP, 1))/float64(max(tp, 1)))) + math.Abs(math.Log2(float64(max(s.conc, 1))/float64(max(conc, 1))))
		if d < bestD {
			best, bestD = s, d
		}
	}
	return best
}

// kind is a source without its particulars ("history: same launch, conc 8 ..." is
// "history: same launch").
func kind(source string) string {
	if i := strings.IndexAny(source, ",("); i > 0 {
		return strings.TrimSpace(source[:i])
	}
	return source
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// sortedCounts lists a count map by decreasing count.
func sortedCounts(m map[string]int) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(a, b int) bool {
		if m[ks[a]] != m[ks[b]] {
			return m[ks[a]] > m[ks[b]]
		}
		return ks[a] < ks[b]
	})
	return ks
}
