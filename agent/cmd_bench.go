package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/inferbench/inferbench/internal/loadgen"
)

// cmdBench drives one benchmark point against an OpenAI-compatible endpoint and writes the
// raw result JSON (reference keys plus ours) and the per-request JSONL.
func cmdBench(ctx context.Context, e env, args []string) int {
	cfg := loadgen.DefaultConfig()
	fs := flag.NewFlagSet("agent bench", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	baseURL := fs.String("base-url", "", "server URL, e.g. http://127.0.0.1:8000 (default from --host and --port)")
	host := fs.String("host", "127.0.0.1", "server host when --base-url is not given")
	port := fs.Int("port", 8000, "server port when --base-url is not given")
	fs.StringVar(&cfg.Endpoint, "endpoint", "", "API path: /v1/completions (default) or /v1/chat/completions")
	fs.StringVar(&cfg.Backend, "backend", cfg.Backend, "backend name recorded in the result (vllm, openai, sglang, openai-chat, ...)")
	fs.StringVar(&cfg.Model, "model", "", "model name sent in requests (required)")
	fs.IntVar(&cfg.InputLen, "input-len", 1024, "nominal input length (alias --random-input-len)")
	fs.IntVar(&cfg.InputLen, "random-input-len", 1024, "same as --input-len")
	fs.IntVar(&cfg.OutputLen, "output-len", 1024, "nominal output length (alias --random-output-len)")
	fs.IntVar(&cfg.OutputLen, "random-output-len", 1024, "same as --output-len")
	fs.Float64Var(&cfg.RangeRatio, "random-range-ratio", cfg.RangeRatio, "lengths are uniform in [floor(L*r), L]")
	fs.IntVar(&cfg.PrefixLen, "random-prefix-len", 0, "shared prefix tokens prepended to every prompt")
	fs.StringVar(&cfg.DatasetMode, "prompt-form", "", "prompt form: token-ids (default for completions: exact lengths) or text (default for chat; servers that accept only text); text lengths are the server's usage counts")
	fs.StringVar(&cfg.DatasetMode, "dataset", "", "same as --prompt-form")
	fs.BoolVar(&cfg.ChatTemplate, "use-chat-template", false, "apply the model's chat template (the server does, on the chat endpoint) with the input length shortened by it, as the reference's flag")
	fs.IntVar(&cfg.VocabSize, "vocab-size", cfg.VocabSize, "upper bound of generated token ids")
	fs.IntVar(&cfg.NumPrompts, "num-prompts", 0, "measured requests (default 10 x max-concurrency)")
	fs.IntVar(&cfg.MaxConcurrency, "max-concurrency", 0, "requests in flight (0 = unlimited)")
	fs.IntVar(&cfg.NumWarmups, "num-warmups", -1, "warm-up requests, discarded (default 2 x max-concurrency)")
	rate := fs.String("request-rate", "inf", "requests per second, or inf for no pacing")
	fs.Float64Var(&cfg.Burstiness, "burstiness", cfg.Burstiness, "gamma shape of inter-arrival times (1 = Poisson)")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "random seed of the dataset and arrivals")
	fs.BoolVar(&cfg.IgnoreEOS, "ignore-eos", true, "ask the server to generate exactly max_tokens")
	fs.BoolVar(&cfg.ContinuousUsage, "continuous-usage", true, "ask for usage in every chunk (exact tokens per chunk)")
	pcts := fs.String("metric-percentiles", "90,99,99.9", "comma-separated percentiles to report")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", cfg.RequestTimeout, "per-request timeout")
	fs.DurationVar(&cfg.StallTimeout, "stall-timeout", cfg.StallTimeout, "fail a request that receives nothing for this long (0: no limit)")
	fs.Float64Var(&cfg.MaxFailureRate, "max-failure-rate", cfg.MaxFailureRate, "fail the run above this fraction of failed requests")
	fs.DurationVar(&cfg.SendLagLimit, "send-lag-limit", cfg.SendLagLimit, "p99 send lag above which the client is reported as behind")
	fs.StringVar(&cfg.RequestIDPrefix, "request-id-prefix", "bench-", "prefix of the X-Request-Id header")
	resultDir := fs.String("result-dir", ".", "directory of the result files")
	resultFile := fs.String("result-filename", "", "raw result file name (default <backend>-<rate>qps-concurrency<conc>-<model>-<date>.json)")
	progress := fs.String("progress", "auto", "progress output: auto, bar, lines or none")
	fs.DurationVar(&cfg.ProgressInterval, "progress-interval", cfg.ProgressInterval, "time between progress lines")
	// Accepted for drop-in compatibility with the reference's command line.
	datasetName := fs.String("dataset-name", "random", "only random is supported")
	fs.Bool("save-result", true, "accepted for compatibility; results are always saved")
	pctMetrics := fs.String("percentile-metrics", "ttft,tpot,itl,e2el", "accepted for compatibility (names are checked); percentiles of every metric are reported")
	fs.BoolVar(&cfg.SaveDetailed, "save-detailed", false, "add per-request ttfts, itls and request_errors to the result (the per-request JSONL has everything)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	var problems []string
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected arguments %q", fs.Args()))
	}
	if *datasetName != "random" {
		problems = append(problems, fmt.Sprintf("--dataset-name %q: only random is supported", *datasetName))
	}
	cfg.BaseURL = *baseURL
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://" + *host + ":" + strconv.Itoa(*port)
	}
	var err error
	if cfg.RequestRate, err = parseRate(*rate); err != nil {
		problems = append(problems, err.Error())
	}
	if cfg.Percentiles, err = parsePercentiles(*pcts); err != nil {
		problems = append(problems, err.Error())
	}
	if err := checkPercentileMetrics(*pctMetrics); err != nil {
		problems = append(problems, err.Error())
	}
	cfg.AgentVersion = agentVersion()
	cfg.APIKey = e.getenv("OPENAI_API_KEY")
	var progressW io.Writer = e.stderr
	switch *progress {
	case "auto":
		cfg.ProgressTTY = isTerminal(e.stderr)
	case "bar":
		cfg.ProgressTTY = true
	case "lines":
	case "none":
		progressW = nil
	default:
		problems = append(problems, fmt.Sprintf("--progress %q is not auto, bar, lines or none", *progress))
	}
	if *resultFile != "" && (!filepath.IsLocal(*resultFile) || strings.ContainsAny(*resultFile, `/\`)) {
		problems = append(problems, fmt.Sprintf("--result-filename %q must be a plain file name; --result-dir says where it goes", *resultFile))
	}
	check := cfg
	check.Normalize()
	if err := check.Validate(); err != nil {
		problems = append(problems, "invalid settings:\n"+err.Error())
	}
	if len(problems) > 0 {
		fmt.Fprintf(e.stderr, "agent bench: %s\n", strings.Join(problems, "\nagent bench: "))
		return exitUsage
	}
	// Before the load, so a bad directory cannot lose a measurement that took hours.
	if err := writableDir(*resultDir); err != nil {
		fmt.Fprintf(e.stderr, "agent bench: --result-dir: %v\n", err)
		return exitUsage
	}
	out, err := loadgen.Run(ctx, cfg, progressW)
	var ce *loadgen.ConfigError
	if errors.As(err, &ce) {
		fmt.Fprintf(e.stderr, "agent bench: %v\n", err)
		return exitUsage
	}
	if err != nil && out == nil {
		fmt.Fprintf(e.stderr, "agent bench: %v\n", err)
		return exitInternal
	}
	if err != nil {
		// The load generator crashed part-way: say so, keep what it measured, never exit 0.
		fmt.Fprintf(e.stderr, "agent bench: %v\n", err)
		if _, werr := loadgen.WriteResults(*resultDir, "crashed-"+defaultResultName(&out.Config, out.End), out); werr != nil {
			fmt.Fprintf(e.stderr, "agent bench: %v\n", werr)
		}
		return exitInternal
	}
	name := *resultFile
	if name == "" {
		name = defaultResultName(&out.Config, out.End)
	}
	paths, werr := loadgen.WriteResults(*resultDir, name, out)
	printSummary(e.stdout, out)
	if werr != nil {
		fmt.Fprintf(e.stderr, "agent bench: %v\n", werr)
		return exitInternal
	}
	fmt.Fprintf(e.stderr, "agent bench: wrote %s and %s\n", paths.Raw, paths.Requests)
	if out.WarmupErr > 0 {
		fmt.Fprintf(e.stderr, "agent bench: warning: %d of %d warm-up requests failed\n", out.WarmupErr, out.Warmups)
	}
	for _, w := range out.Metrics.Warnings() {
		fmt.Fprintf(e.stderr, "agent bench: warning: %s\n", w)
	}
	if out.Canceled {
		fmt.Fprintln(e.stderr, "agent bench: interrupted; the result covers the requests that finished")
		return exitBenchFail
	}
	if out.Failed() {
		fmt.Fprintf(e.stderr, "agent bench: %d of %d requests failed (more than %.0f%%); most frequent errors:\n",
			out.Metrics.Failed, out.Config.NumPrompts, 100*out.Config.MaxFailureRate)
		for i, ec := range out.Metrics.SortedErrors() {
			if i == 5 {
				break
			}
			fmt.Fprintf(e.stderr, "  %5d  %s\n", ec.Count, ec.Error)
		}
		return exitBenchFail
	}
	return exitOK
}

// writableDir creates dir when missing and proves a file can be written there.
func writableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".agent-bench-write-check-*")
	if err != nil {
		return fmt.Errorf("%s is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

func parseRate(s string) (float64, error) {
	if strings.EqualFold(s, "inf") {
		return math.Inf(1), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0) {
		return 0, fmt.Errorf("--request-rate %q must be a positive number or inf", s)
	}
	return f, nil
}

func parsePercentiles(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		p, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(p > 0 && p < 100) {
			return nil, fmt.Errorf("--metric-percentiles: %q is not a number in (0, 100)", f)
		}
		out = append(out, p)
	}
	return out, nil
}

// checkPercentileMetrics accepts the reference's --percentile-metrics names.
func checkPercentileMetrics(s string) error {
	for _, m := range strings.Split(s, ",") {
		switch strings.TrimSpace(m) {
		case "ttft", "tpot", "itl", "e2el":
		default:
			return fmt.Errorf("--percentile-metrics: %q is not one of ttft, tpot, itl, e2el", m)
		}
	}
	return nil
}

// defaultResultName mirrors the reference's file name.
func defaultResultName(c *loadgen.Config, end time.Time) string {
	rate := "inf"
	if !math.IsInf(c.RequestRate, 1) {
		rate = strconv.FormatFloat(c.RequestRate, 'f', -1, 64)
		if !strings.Contains(rate, ".") {
			rate += ".0" // Python's str(float): 10.0, not 10
		}
	}
	model := c.Model[strings.LastIndex(c.Model, "/")+1:]
	conc := ""
	if c.MaxConcurrency > 0 {
		conc = "-concurrency" + strconv.Itoa(c.MaxConcurrency)
	}
	return fmt.Sprintf("%s-%sqps%s-%s-%s.json", c.Backend, rate, conc, model, end.Format("20060102-150405"))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// printSummary prints the reference client's result block.
func printSummary(w io.Writer, o *loadgen.Outcome) {
	m := &o.Metrics
	line := func(k string, v any) { fmt.Fprintf(w, "%-40s %v\n", k+":", v) }
	f2 := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	fmt.Fprintln(w, "============ Serving Benchmark Result ============")
	line("Successful requests", m.Completed)
	line("Failed requests", m.Failed)
	line("Benchmark duration (s)", f2(o.Duration.Seconds()))
	line("Total input tokens", m.TotalInput)
	line("Total generated tokens", m.TotalOutput)
	line("Request throughput (req/s)", f2(m.RequestThroughput))
	line("Output token throughput (tok/s)", f2(m.OutputThroughput))
	line("Total Token throughput (tok/s)", f2(m.TotalTokenThroughput))
	for _, sec := range []struct {
		title, short string
		mean, med    float64
		pcts         []float64
	}{
		{"Time to First Token", "TTFT", m.TTFT.Mean, m.TTFT.Median, m.TTFT.Percentiles},
		{"Time per Output Token (excl. 1st token)", "TPOT", m.TPOT.Mean, m.TPOT.Median, m.TPOT.Percentiles},
		{"Inter-token Latency", "ITL", m.ITL.Mean, m.ITL.Median, m.ITL.Percentiles},
		{"Inter-token Latency per token", "ITL/token", m.ITLPerToken.Mean, m.ITLPerToken.Median, m.ITLPerToken.Percentiles},
		{"End-to-end Latency", "E2EL", m.E2EL.Mean, m.E2EL.Median, m.E2EL.Percentiles},
	} {
		fmt.Fprintf(w, "%s\n", center(sec.title))
		line("Mean "+sec.short+" (ms)", f2(sec.mean))
		line("Median "+sec.short+" (ms)", f2(sec.med))
		for i, p := range m.Percentiles {
			line("P"+strconv.FormatFloat(p, 'f', -1, 64)+" "+sec.short+" (ms)", f2(sec.pcts[i]))
		}
	}
	fmt.Fprintf(w, "%s\n", center("Client"))
	line("Send lag p99 / max (ms)", f2(m.SendLag.Percentiles[0])+" / "+f2(m.SendLagMax))
	line("Send lag after first wave p99 (ms)", f2(m.SteadySendLag.Percentiles[0]))
	line("Read lag p99 (ms)", f2(m.ReadLag.Percentiles[0]))
	line("Client CPU (s)", f2(m.ClientCPUSeconds))
	line("Client behind", m.ClientBehind)
	fmt.Fprintln(w, strings.Repeat("=", 50))
}

func center(title string) string {
	pad := 50 - len(title)
	if pad < 2 {
		return title
	}
	return strings.Repeat("-", pad/2) + title + strings.Repeat("-", pad-pad/2)
}
