package telemetry

import (
	"context"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/inferbench/inferbench/internal/execx"
)

// NvidiaFields are the reference's nvidia-smi query fields, in its order: a file of ours
// read by its aggregate_power.py integrates the same power column it would.
var NvidiaFields = []string{"timestamp", "index", "power.draw", "temperature.gpu",
	"clocks.current.sm", "clocks.current.memory", "utilization.gpu", "utilization.memory"}

// AMDMetricArgs are the reference's amd-smi metric selections (power, clocks, temperature,
// usage); -E adds the energy accumulator when this amd-smi has it.
var AMDMetricArgs = []string{"-p", "-c", "-t", "-u"}

// Tool is one vendor's telemetry program as the agent runs it. Create it once per run: the
// probe of what the installed version supports is done once and reused by every point.
type Tool struct {
	Vendor Vendor
	// Program is what stands for the tool's name: ["nvidia-smi"], or a fake that prints its
	// formats (["/path/agent", "sim-smi", "--url", u, "nvidia-smi"]).
	Program []string
	// GPUs restricts sampling to these indices (-i / -g); nil samples every GPU visible.
	GPUs []int
	// Interval between samples. nvidia-smi takes milliseconds; amd-smi whole seconds, so
	// its interval is rounded up to at least one second.
	Interval time.Duration
	// Wrap turns the tool's command line into the command to run; nil runs it here. The
	// Slurm backend wraps it in srun to run it on every node of a deployment.
	Wrap func(argv []string) execx.Cmd
	// Labeled says every output line starts with "<node>: " (srun --label).
	Labeled bool
	// Env is extra environment for the tool (KEY=VALUE), added to Environ (the agent's
	// environment; nil inherits this process's).
	Env, Environ []string
	// ProbeTimeout bounds the probe; 0 means 10s.
	ProbeTimeout time.Duration

	cache *probeCache // shared by the copies ForGPUs makes
}

type probeCache struct {
	once sync.Once
	p    probe
}

// probe is what the installed tool supports beyond the reference's fields.
type probe struct {
	instant bool   // nvidia-smi knows power.draw.instant
	energy  string // nvidia-smi's energy-counter field, "" when it has none
	amdE    bool   // amd-smi metric knows -E (energy accumulator)
	err     error
}

// ForGPUs is a copy of the tool that samples gpus and shares the original's probe, so a
// run probes once and samples each point's GPUs.
func (t *Tool) ForGPUs(gpus []int) *Tool {
	c := t.probeCache()
	cp := *t
	cp.GPUs, cp.cache = gpus, c
	return &cp
}

func (t *Tool) probeCache() *probeCache {
	if t.cache == nil {
		t.cache = &probeCache{}
	}
	return t.cache
}

// Name is the tool's program name for messages ("nvidia-smi", "amd-smi").
func (t *Tool) Name() string {
	if t.Vendor == AMD {
		return "amd-smi"
	}
	return "nvidia-smi"
}

// EffectiveInterval is the interval the tool is actually asked for.
func (t *Tool) EffectiveInterval() time.Duration {
	d := t.Interval
	if d <= 0 {
		d = DefaultInterval(t.Vendor)
	}
	if t.Vendor == AMD {
		return time.Duration(math.Max(1, math.Ceil(d.Seconds()))) * time.Second
	}
	return max(d, 10*time.Millisecond)
}

// DefaultInterval is the sampling interval used when none is configured: well under a
// second where the tool allows it.
func DefaultInterval(v Vendor) time.Duration {
	if v == AMD {
		return time.Second // amd-smi --watch counts whole seconds
	}
	return 100 * time.Millisecond
}

func (t *Tool) command(argv []string) execx.Cmd {
	full := append(append([]string{}, t.Program...), argv...)
	var c execx.Cmd
	if t.Wrap != nil {
		c = t.Wrap(full)
	} else {
		c = execx.Cmd{Name: full[0], Args: full[1:]}
	}
	if len(t.Env) > 0 {
		base := c.Env
		if base == nil {
			base = t.Environ
		}
		if base == nil {
			base = os.Environ()
		}
		c.Env = append(append([]string{}, base...), t.Env...)
	}
	return c
}

var helpFieldRe = regexp.MustCompile(`"([A-Za-z0-9_.]+)"`)

// Probe asks the tool once what it supports (nvidia-smi --help-query-gpu, amd-smi metric
// --help); the stream then asks only for fields the installed version knows, because an
// unknown field makes either tool refuse to start at all.
func (t *Tool) Probe(ctx context.Context, run execx.Executor) error {
	pc := t.probeCache()
	pc.once.Do(func() {
		to := t.ProbeTimeout
		if to <= 0 {
			to = 10 * time.Second
		}
		pctx, cancel := context.WithTimeout(ctx, to)
		defer cancel()
		args := []string{"--help-query-gpu"}
		if t.Vendor == AMD {
			args = []string{"metric", "--help"}
		}
		c := t.command(args)
		c.KillGrace = time.Second
		res, err := run.Run(pctx, c)
		text := stripLabels(string(res.Stdout) + "\n" + string(res.Stderr))
		if err != nil && len(res.Stdout) == 0 {
			if res.ExitCode == 127 { // a wrapper (stdbuf, srun, sh) saying the tool is not there
				err = fmt.Errorf("%w: %w", execx.ErrNotFound, err)
			}
			pc.p.err = fmt.Errorf("%s: %w", c.String(), err)
			return
		}
		if t.Vendor == AMD {
			pc.p.amdE = strings.Contains(text, "--energy")
			return
		}
		for _, m := range helpFieldRe.FindAllStringSubmatch(text, -1) {
			name := strings.ToLower(m[1])
			switch {
			case name == "power.draw.instant":
				pc.p.instant = true
			case strings.Contains(name, "energy") && (pc.p.energy == "" || strings.Contains(name, "total")):
				pc.p.energy = m[1]
			}
		}
	})
	return pc.p.err
}

var labelRe = regexp.MustCompile(`(?m)^\s*\d+: `)

func stripLabels(s string) string { return labelRe.ReplaceAllString(s, "") }

// StreamArgs is the tool's command line (after the program) of a sampling stream, from
// what Probe found.
func (t *Tool) StreamArgs() []string {
	pc := t.probeCache()
	iv := t.EffectiveInterval()
	if t.Vendor == AMD {
		a := []string{"metric"}
		if len(t.GPUs) > 0 {
			a = append(a, "-g")
			for _, g := range t.GPUs {
				a = append(a, strconv.Itoa(g))
			}
		}
		a = append(a, AMDMetricArgs...)
		if pc.p.amdE {
			a = append(a, "-E")
		}
		return append(a, "-w", strconv.Itoa(int(iv/time.Second)), "--csv")
	}
	fields := append([]string{}, NvidiaFields...)
	if pc.p.instant {
		fields = append(fields, "power.draw.instant")
	}
	if pc.p.energy != "" {
		fields = append(fields, pc.p.energy)
	}
	a := []string{"--query-gpu=" + strings.Join(fields, ","), "--format=csv", "--loop-ms=" + strconv.FormatInt(iv.Milliseconds(), 10)}
	if len(t.GPUs) > 0 {
		ids := make([]string, len(t.GPUs))
		for i, g := range t.GPUs {
			ids[i] = strconv.Itoa(g)
		}
		a = append(a, "--id="+strings.Join(ids, ","))
	}
	return a
}
