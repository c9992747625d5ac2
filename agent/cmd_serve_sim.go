package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/sim"
)

// cmdServeSim serves the built-in engine simulator until interrupted.
func cmdServeSim(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("agent serve-sim", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, `usage: agent serve-sim [flags]

Serves a simulated OpenAI-compatible engine (completions, chat, /health, /v1/models, /version,
/tokenize, /metrics, GET|DELETE /sim/truth) that models continuous batching.

Chat requests get the simulator's chat template (three tokens around one user message)
and are counted with it. --text-only serves like an engine that accepts only text prompts.

Reply modes: random (random words), echo (the prompt back, then stop unless ignore_eos),
script (--script FILE: JSON [{"match":"substring","reply":"text"},...] tried in order, or
{"substring":"reply",...} tried longest first; a rule with "match":"" is the default).

flags:`)
		fs.PrintDefaults()
	}
	var cfg sim.Config
	host := fs.String("host", "127.0.0.1", "address to listen on")
	port := fs.Int("port", 8000, "port to listen on (0 picks a free one)")
	fs.StringVar(&cfg.Model, "model", "sim-model", "served model name")
	fs.IntVar(&cfg.MaxModelLen, "max-model-len", 131072, "context length reported by /v1/models")
	fs.DurationVar(&cfg.TTFT, "ttft", 50*time.Millisecond, "fixed prefill time once a request is admitted")
	fs.DurationVar(&cfg.PrefillPerToken, "prefill-per-token", 0, "prefill time added per prompt token")
	fs.DurationVar(&cfg.ITL, "itl", 10*time.Millisecond, "decode step time with one running sequence")
	fs.DurationVar(&cfg.ITLPerSeq, "itl-per-seq", 0, "decode step time added per additional running sequence")
	fs.IntVar(&cfg.MaxNumSeqs, "max-num-seqs", 256, "running sequences; more wait in a FIFO queue (0 = unlimited)")
	fs.IntVar(&cfg.ChunkTokens, "chunk-tokens", 1, "tokens per streamed chunk after the first (stream interval)")
	fs.Float64Var(&cfg.Jitter, "jitter", 0, "scale every delay by a uniform factor in [1-j, 1+j]")
	fs.DurationVar(&cfg.StartupDelay, "startup-delay", 0, "time /health answers 503 before the engine is ready")
	fs.Float64Var(&cfg.FailRate, "fail-rate", 0, "fraction of requests answered with HTTP 500")
	fs.Float64Var(&cfg.NoUsageRate, "no-usage-rate", 0, "fraction of streams sent without usage")
	fs.Float64Var(&cfg.ShortRate, "short-rate", 0, "fraction of ignore_eos requests stopping at half max_tokens")
	seed := fs.Uint64("seed", 0, "random seed for jitter, failures and generated words")
	fs.BoolVar(&cfg.TextOnly, "text-only", false, "accept only text prompts (refuse token ids with HTTP 400, like ATOM) and count them with a sub-word tokenizer")
	fs.StringVar(&cfg.Mode, "mode", sim.ModeRandom, "reply mode: random, echo or script")
	script := fs.String("script", "", "script file for --mode script")
	fs.IntVar(&cfg.DefaultMaxTokens, "default-max-tokens", 16, "max_tokens when a request sets none")
	fs.IntVar(&cfg.Power.GPUs, "gpus", 8, "simulated GPUs (their power and energy at GET /sim/gpus, read by agent sim-smi)")
	fs.Float64Var(&cfg.Power.IdleW, "gpu-idle-watts", 90, "board power of a simulated GPU with nothing running")
	fs.Float64Var(&cfg.Power.MaxW, "gpu-max-watts", 700, "board power a simulated GPU approaches as the running batch grows")
	fs.Float64Var(&cfg.Power.HalfLoadSeqs, "gpu-half-load-seqs", 8, "running sequences at which the draw is halfway from idle to max")
	fs.IntVar(&cfg.TruthLimit, "truth-limit", 10000, "first requests whose timings are kept for /sim/truth (negative: none)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "agent serve-sim: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	cfg.Seed = *seed
	// Set by `agent run` for every launch; echoing it proves this server is that launch's.
	cfg.LaunchToken = e.getenv(engine.EnvLaunch)
	cfg.Version = agentVersion() + "-sim"
	if *script != "" {
		rules, err := sim.LoadScript(*script)
		if err != nil {
			fmt.Fprintf(e.stderr, "agent serve-sim: %v\n", err)
			return exitUsage
		}
		cfg.Script = rules
	}
	cfg.Logf = func(format string, a ...any) { fmt.Fprintf(e.stderr, format+"\n", a...) }
	s, err := sim.New(cfg)
	if err != nil {
		fmt.Fprintf(e.stderr, "agent serve-sim: invalid settings:\n%v\n", err)
		return exitUsage
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		fmt.Fprintf(e.stderr, "agent serve-sim: %v (choose another --port, or 0 for a free one)\n", err)
		return exitEngine
	}
	if err := s.Serve(ctx, ln); err != nil {
		fmt.Fprintf(e.stderr, "agent serve-sim: %v\n", err)
		return exitEngine
	}
	return exitOK
}
