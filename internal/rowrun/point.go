package rowrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/inferbench/inferbench/internal/energy"
	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/loadgen"
	"github.com/inferbench/inferbench/internal/readiness"
	"github.com/inferbench/inferbench/internal/result"
)

// phases records the timed steps of a point.
type phases struct{ list []result.Phase }

// begin starts a phase; the returned func ends it with err's outcome.
func (p *phases) begin(name string) func(error) {
	start := time.Now()
	return func(err error) {
		end := time.Now()
		ph := result.Phase{Name: name, Start: start.UTC(), End: end.UTC(), Seconds: end.Sub(start).Seconds(), Status: "ok"}
		if err != nil {
			ph.Status, ph.Message = "failed", firstLine(err.Error())
		}
		p.list = append(p.list, ph)
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// manifest starts the record of one point with everything known before it runs.
func (r *run) manifest(conc int) *result.Manifest {
	row := r.o.Row
	m := &result.Manifest{
		SchemaVersion: result.ManifestSchema, ResultFilename: row.PointStem(r.o.ResultFilename, r.o.RunnerName, conc),
		HW: r.o.RunnerType, SKU: result.SKU(r.o.RunnerType), Runner: r.o.RunnerName,
		Model: row.Model, ModelPrefix: row.ModelPrefix, Framework: row.Framework, Precision: row.Precision,
		SpecDecoding: row.SpecDecoding, ISL: row.ISL, OSL: row.OSL, TP: row.TP, EP: row.EP, DPAttention: row.DPAttn,
		Conc: conc, RunEval: row.RunEval, Backend: r.backend.Name(), Image: row.Image, GPU: r.gpu,
		AgentVersion: r.o.AgentVersion, Started: time.Now().UTC(), Disagg: row.Disagg,
	}
	if row.Multinode() {
		m.Multinode = &result.Multinode{Prefill: row.Prefill.result(row.Gen0208), Decode: row.Decode.result(row.Gen0208),
			PrefillGPUs: row.PrefillGPUs(), DecodeGPUs: row.DecodeGPUs()}
	}
	return m
}

// point runs one concurrency of launch l and always leaves its manifest behind. A crash in
// the middle is recorded as an internal error with its cause, never as the success the
// deferred record would otherwise see.
func (r *run) point(ctx context.Context, l *Launch, pt PlannedPoint, fp *result.Fingerprint) (m *result.Manifest, err error) {
	m = r.manifest(pt.Conc)
	m.Fingerprint = fp
	ph := &phases{}
	defer func() {
		if p := recover(); p != nil {
			err = crashError(p)
		}
		m.Phases = ph.list
		r.finish(m, err, "")
	}()
	if ctx.Err() != nil {
		return m, &Error{Kind: KindCancelled, Err: context.Cause(ctx)}
	}
	if err := r.clearEarlier(m.ResultFilename); err != nil {
		return m, errorf(KindInternal, "remove the earlier results of %s (--overwrite): %w", m.ResultFilename, err)
	}
	m.ServerFingerprint = l.Fingerprint
	m.Image = l.Rendered.Image
	reused, err := r.ensureServer(ctx, l, pt.Conc, ph)
	if r.srv != nil {
		info := r.srv.Info()
		m.ImageDigest, m.EngineVersion, m.ServerReused = info.ImageDigest, r.version, reused
		if m.Fingerprint != nil {
			m.Fingerprint.ImageDigest = info.ImageDigest
		}
	}
	if err != nil {
		return m, err
	}
	return m, r.load(ctx, m, pt.Client, ph)
}

// loadConfig is the load generator's configuration for a planned point against the
// running server.
func (r *run) loadConfig(c Client, stem string) loadgen.Config {
	cfg := loadgen.DefaultConfig()
	cfg.BaseURL, cfg.Endpoint, cfg.Backend, cfg.Model = r.baseURL(), c.Endpoint, c.Backend, r.o.Row.Model
	cfg.APIKey = lookup(r.o.Environ, "OPENAI_API_KEY")
	cfg.InputLen, cfg.OutputLen, cfg.RangeRatio = c.InputLen, c.OutputLen, c.RandomRangeRatio
	cfg.MaxConcurrency, cfg.NumPrompts, cfg.NumWarmups = c.MaxConcurrency, c.NumPrompts, c.NumWarmups
	cfg.IgnoreEOS, cfg.RequestRate, cfg.DatasetMode = c.IgnoreEOS, float64(c.RequestRate), c.PromptForm
	cfg.ChatTemplate = c.ChatTemplate
	cfg.RequestIDPrefix = stem + "-"
	cfg.StallTimeout = max(r.o.StallTimeout, 0)
	return cfg
}

// ChatEndpoint is the chat completions path beside a completions path: /v1/completions
// gives /v1/chat/completions.
func ChatEndpoint(completions string) string {
	if strings.HasSuffix(completions, "/chat/completions") {
		return completions
	}
	return strings.TrimSuffix(completions, "/completions") + "/chat/completions"
}

// load benchmarks one point while watching the server; an engine that dies or logs a fatal
// line ends the load at once.
func (r *run) load(ctx context.Context, m *result.Manifest, c Client, ph *phases) error {
	conc, cfg := c.MaxConcurrency, r.loadConfig(c, m.ResultFilename)
	endpoint := c.Endpoint
	lctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watch := readiness.Watch(lctx, serverView{r.srv}, fatal(r.srvSpec.FatalLog), r.o.WatchInterval)
	var engineErr error
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		if err, ok := <-watch; ok && err != nil {
			engineErr = err
			cancel(err)
		}
	}()
	pp := r.startPower(m) // before the window opens; stopped once it has closed
	defer pp.stop()
	end := ph.begin("load")
	fmt.Fprintf(r.o.Log, "conc %d: benchmarking %s%s (%s)\n", conc, cfg.BaseURL, endpoint, m.ResultFilename)
	out, err := r.o.Bench.Bench(lctx, cfg, r.o.Log)
	cancel(nil)
	<-watchDone
	if engineErr == nil && ctx.Err() == nil {
		// The watch sees a death only when the backend notices it; requests failing fast
		// against a dead engine can end the load first. Numbers of a dead engine are an
		// engine failure, not a benchmark result.
		if aerr := r.confirmAlive(ctx, out != nil && out.Metrics.Failed > 0, r.srvSpec.Health); aerr != nil {
			engineErr = &readiness.Error{Cause: readiness.CauseExited, Detail: aerr.Error() + " during the load", LogTail: readiness.TailFile(r.logPath, readiness.TailLines)}
		}
	}
	if err != nil {
		end(err)
		return &Error{Kind: loadErrorKind(ctx, err), Err: fmt.Errorf("load generator: %w", err)}
	}
	if engineErr != nil {
		end(engineErr)
		r.writeRaw(m, out)
		return &Error{Kind: KindEngine, Err: fmt.Errorf("server %s failed during the load at conc %d: %w", r.srv.Info().Name, conc, engineErr)}
	}
	if out.Canceled || ctx.Err() != nil {
		end(context.Cause(ctx))
		r.writeRaw(m, out)
		return &Error{Kind: KindCancelled, Err: fmt.Errorf("load at conc %d interrupted: %w", conc, context.Cause(ctx))}
	}
	if err := r.writeRaw(m, out); err != nil {
		end(err)
		return errorf(KindInternal, "write result: %w", err)
	}
	var power *energy.Validation
	if pp != nil {
		power = r.finishPower(pp, m, out, out.Raw(nil))
	}
	if err := r.writeAgg(m, out, power); err != nil {
		end(err)
		return errorf(KindInternal, "write agg record: %w", err)
	}
	if out.Failed() {
		err := fmt.Errorf("conc %d: %d of %d requests failed (more than %.0f%%)", conc, out.Config.NumPrompts-out.Metrics.Completed,
			out.Config.NumPrompts, 100*out.Config.MaxFailureRate)
		end(err)
		return &Error{Kind: KindBench, Err: err}
	}
	if err := r.powerRequired(m, power); err != nil {
		end(err)
		return &Error{Kind: KindPower, Err: err}
	}
	end(nil)
	fmt.Fprintf(r.o.Log, "conc %d: %d/%d requests completed, %.1f output tok/s\n", conc, out.Metrics.Completed, out.Config.NumPrompts, out.Metrics.OutputThroughput)
	return nil
}

// loadErrorKind classifies an error of the load generator: a configuration it cannot run
// (the row's or the recipe's settings) is a usage error, an interrupted run a cancellation,
// anything else (a crash of the load generator) an internal error.
func loadErrorKind(ctx context.Context, err error) Kind {
	var ce *loadgen.ConfigError
	switch {
	case errors.As(err, &ce):
		return KindUsage
	case ctx.Err() != nil:
		return KindCancelled
	default:
		return KindInternal
	}
}

// confirmAlive says whether the server outlived the load. After failed requests it waits
// (briefly) for the backend to notice a death, and takes a server that no longer answers
// its health endpoint for dead: a container's state changes only after its sockets closed.
func (r *run) confirmAlive(ctx context.Context, failures bool, health string) error {
	check := func() error {
		select {
		case <-r.srv.Done():
			return fmt.Errorf("server %s has exited (%s)", r.srv.Info().Name, r.srv.Exit())
		default:
		}
		if c, ok := r.srv.(engine.Checker); ok {
			return c.Alive(context.WithoutCancel(ctx))
		}
		return nil
	}
	if err := check(); err != nil || !failures {
		return err
	}
	deadline := time.Now().Add(confirmWindow)
	for {
		if err := check(); err != nil {
			return err
		}
		herr := healthy(ctx, r.baseURL()+health)
		if herr == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server %s stopped answering %s (%w)", r.srv.Info().Name, health, herr)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// confirmWindow bounds the wait for a failed load's server to show it is dead or alive.
const confirmWindow = 5 * time.Second

// healthy asks the health endpoint once.
func healthy(ctx context.Context, url string) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

func (r *run) writeRaw(m *result.Manifest, out *loadgen.Outcome) error {
	if out == nil {
		return nil
	}
	p, err := loadgen.WriteResults(r.o.OutDir, result.RawFile(m.ResultFilename), out)
	if err != nil {
		return err
	}
	m.Files = append(m.Files, filepath.Base(p.Raw), filepath.Base(p.Requests))
	return nil
}

// writeAgg writes agg_<stem>.json as process_result.py did (indent 2), arithmetic fixed.
func (r *run) writeAgg(m *result.Manifest, out *loadgen.Outcome, power *energy.Validation) error {
	row := r.o.Row
	raw := out.Raw(nil)
	job := result.Job{
		HW: r.o.RunnerType, Runner: r.o.RunnerName, ResultFilename: m.ResultFilename, Image: row.Image,
		Model: row.Model, ModelPrefix: row.ModelPrefix, Framework: row.Framework, Precision: row.Precision,
		SpecDecoding: row.SpecDecoding, Disagg: row.Disagg, ISL: row.ISL, OSL: row.OSL, TP: row.TP, EP: row.EP,
		DPAttention: row.DPAttn,
		Gen0208:     row.Gen0208, PP: row.PP, DCPSize: row.DCPSize, PCPSize: row.PCPSize,
		RecipeFingerprint: row.RecipeFingerprint, Router: row.Router, KVP2PTransfer: row.KVP2PTransfer,
	}
	job.Multinode = m.Multinode
	agg, err := result.NewAgg(raw, job)
	if err != nil {
		return err
	}
	if agg.Ext != nil {
		agg.Ext.ServerFingerprint = m.ServerFingerprint
		if m.Fingerprint != nil {
			agg.Ext.ResultFingerprint = m.Fingerprint.Key
		}
	}
	if power != nil {
		agg.Power = power.Agg()
	}
	b, err := json.Marshal(agg)
	if err != nil {
		return err
	}
	var ind bytes.Buffer
	if err := json.Indent(&ind, b, "", "  "); err != nil {
		return err
	}
	name := result.AggFile(m.ResultFilename)
	if err := writeFileAtomic(filepath.Join(r.o.OutDir, name), ind.Bytes()); err != nil {
		return err
	}
	m.Files = append(m.Files, name)
	return nil
}

// finish fills in the status from err and writes manifest_<stem>.json; a non-empty reason
// replaces the stop reason derived from err.
func (r *run) finish(m *result.Manifest, err error, reason string) {
	m.Finished = time.Now().UTC()
	m.Status, m.StopReason = status(err)
	if reason != "" {
		m.StopReason = reason
	}
	if err != nil {
		m.Message = err.Error()
		var re *readiness.Error
		if errors.As(err, &re) && re.LogTail != "" {
			m.LogTail = strings.Split(re.LogTail, "\n")
		} else if m.Status == result.StatusEngineFailed {
			if t := readiness.TailFile(r.logPath, readiness.TailLines); t != "" {
				m.LogTail = strings.Split(t, "\n")
			}
		}
	}
	if _, statErr := os.Stat(r.logPath); statErr == nil {
		addFile(m, result.ServerLogFile)
	}
	name := result.ManifestFile(m.ResultFilename)
	addFile(m, name)
	b, mErr := json.MarshalIndent(m, "", "  ")
	if mErr == nil {
		mErr = writeFileAtomic(filepath.Join(r.o.OutDir, name), append(b, '\n'))
	}
	if mErr != nil {
		fmt.Fprintf(r.o.Log, "warning: cannot write %s: %v\n", name, mErr)
	}
	fmt.Fprintf(r.o.Log, "conc %d: %s", m.Conc, m.Status)
	if m.StopReason != "" {
		fmt.Fprintf(r.o.Log, " (%s)", m.StopReason)
	}
	fmt.Fprintln(r.o.Log)
}

func status(err error) (result.Status, string) {
	switch KindOf(err) {
	case KindNone:
		return result.StatusSuccess, ""
	case KindBench:
		return result.StatusBenchFailed, "failure rate above threshold"
	case KindPower:
		return result.StatusPowerInvalid, "power telemetry invalid"
	case KindEngine:
		var re *readiness.Error
		switch {
		case errors.As(err, &re):
			return result.StatusEngineFailed, string(re.Cause)
		case errors.Is(err, errPortInUse):
			return result.StatusEngineFailed, errPortInUse.Error()
		case errors.Is(err, errForeign):
			return result.StatusEngineFailed, errForeign.Error()
		}
		return result.StatusEngineFailed, "engine failed to start"
	case KindCancelled:
		return result.StatusCancelled, "cancelled"
	case KindUsage:
		return result.StatusError, "usage error"
	}
	return result.StatusError, "internal error"
}

// skipped records a point that never ran because an earlier one failed.
func (r *run) skipped(conc int, k Kind, cause error) *result.Manifest {
	m := r.manifest(conc)
	err := &Error{Kind: k, Err: fmt.Errorf("not run: an earlier point failed: %v", firstLine(cause.Error()))}
	r.finish(m, err, "not run: an earlier point failed")
	return m
}

// eval runs the accuracy eval against the last server when the row asks for it.
func (r *run) eval(ctx context.Context) error {
	if !r.o.Row.RunEval || r.o.Evaluator == nil || r.srv == nil || len(r.report.Points) == 0 {
		if r.o.Row.RunEval && r.o.Evaluator == nil {
			fmt.Fprintln(r.o.Log, "run-eval is set but this agent has no evaluator wired: skipping the eval")
		}
		return nil
	}
	m := r.report.Points[len(r.report.Points)-1]
	ph := &phases{list: m.Phases}
	end := ph.begin("eval")
	t := EvalTarget{BaseURL: r.baseURL(), Endpoint: r.srvSpec.Endpoint, Model: r.o.Row.Model,
		Conc: m.Conc, Row: r.o.Row, OutDir: r.o.OutDir, Stem: m.ResultFilename, HW: r.o.RunnerType}
	if ex, ok := r.srv.(engine.Execer); ok {
		t.Exec = ex.Exec
		if inContainer(r.fam) {
			t.ExecOutDir = workspace(r.fam) // spec mounts OutDir there
		}
	}
	row, err := r.runEval(ctx, t)
	end(err)
	m.Phases, m.Eval = ph.list, row
	if err != nil {
		err = &Error{Kind: KindBench, Err: fmt.Errorf("eval: %w", err)}
	}
	if !m.OK() {
		// The point itself failed: a passing eval does not make it a success, and its
		// status and message stay those of the point.
		if err != nil {
			m.Message += "\n" + err.Error()
		}
		r.rewrite(m)
		return err
	}
	r.finish(m, err, "")
	if err != nil {
		m.Status = result.StatusEvalFailed
		r.rewrite(m)
	}
	return err
}

// runEval calls the evaluator; a crash in it is an internal error of the eval, recorded on
// the point like any eval failure, so the point's manifest cannot keep saying success.
func (r *run) runEval(ctx context.Context, t EvalTarget) (row *result.EvalRow, err error) {
	defer func() {
		if p := recover(); p != nil {
			row, err = nil, crashError(p)
		}
	}()
	return r.o.Evaluator.Eval(ctx, t)
}

func (r *run) rewrite(m *result.Manifest) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err == nil {
		_ = writeFileAtomic(filepath.Join(r.o.OutDir, result.ManifestFile(m.ResultFilename)), append(b, '\n'))
	}
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func addFile(m *result.Manifest, name string) {
	for _, f := range m.Files {
		if f == name {
			return
		}
	}
	m.Files = append(m.Files, name)
}
