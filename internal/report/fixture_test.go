package report

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/inferbench/inferbench/internal/result"
)

// A closed-form serving model for sweeps too large to run: the report's 5,000-result size
// and render budget. The golden fixtures (testdata/sweep, sweep-new) are real runs of the
// agent against the simulator instead; see fixture_regen_test.go.

// point is one benchmark configuration of a synthetic sweep.
type point struct {
	prefix, model, hw, fw, prec string
	isl, osl, tp, ep            int
	dpa                         bool
	conc                        int
	multinode                   bool
}

// sweepSpec chooses what a synthetic sweep holds and how it performs.
type sweepSpec struct {
	seed   uint64
	points []point
}

func (p point) stem() string {
	exp := p.prefix + "_" + SeqLen(p.isl, p.osl)
	runner := strings.SplitN(p.hw, "-", 2)[0] + "-nv_0"
	if p.multinode {
		w := result.Workers{TP: p.tp, EP: p.ep, NumWorkers: 1, DPAttention: p.dpa}
		return result.MultiNodeStem(exp, p.prec, p.fw, w, result.Workers{TP: p.tp, EP: p.ep, NumWorkers: 2, DPAttention: p.dpa}, true, "none", []int{p.conc}, runner)
	}
	return result.SingleNodeStem(exp, p.prec, p.fw, p.tp, p.ep, p.dpa, false, "none", p.conc, runner)
}

// hwSpeed is how fast each runner type decodes relative to b200 with sglang.
var hwSpeed = map[string]float64{"b200": 1, "b200-trt": 1.15, "h200": 0.55, "h100": 0.4,
	"mi355x": 0.9, "mi300x": 0.5, "gb200": 1.25, "b300": 1.3}

// model is a tiny closed-form serving model: per-token decode time grows with the batch,
// prefill time with the prompt, and throughput follows from Little's law.
func (p point) latencies(rng *rand.Rand, slow float64) (ttftMS, tpotMS, e2elS, tputTotal, tputOut float64) {
	noise := func() float64 { return 1 + 0.03*(2*rng.Float64()-1) }
	base := 14.0 // ms per output token at conc 1 on b200 tp8, dsr1 fp8
	if strings.HasPrefix(p.prefix, "gptoss") {
		base = 5
	}
	if p.prec == "fp4" {
		base /= 1.3
	}
	speed := hwSpeed[p.hw]
	if speed == 0 {
		speed = 0.7
	}
	gpus := float64(p.tp)
	if p.multinode {
		gpus = float64(3 * p.tp)
	}
	tpotMS = base / speed * math.Pow(8/gpus, 0.5) * math.Pow(1+float64(p.conc)/48, 0.75) * noise() * slow
	ttftMS = 40 * float64(p.isl) / 1024 / speed * (1 + float64(p.conc)/24) * noise() * slow
	e2elS = (ttftMS + float64(p.osl)*tpotMS) / 1000
	tputTotal = float64(p.conc) * float64(p.isl+p.osl) / e2elS
	tputOut = float64(p.conc) * float64(p.osl) / e2elS
	return
}

// stats mimics the shape of a latency distribution: mean a bit above the median, a
// long p99 tail.
func stats(name string, median float64, tail float64) []result.Value {
	return []result.Value{
		{Key: "mean_" + name, Value: median * 1.04}, {Key: "median_" + name, Value: median},
		{Key: "std_" + name, Value: median * 0.12}, {Key: "p99_" + name, Value: median * tail},
	}
}

func withIntvty(vs []result.Value) []result.Value {
	var out []result.Value
	for _, v := range vs {
		out = append(out, v)
		iv := 1 / v.Value // v is in seconds; 1000/ms == 1/s
		if strings.HasPrefix(v.Key, "std_") {
			iv = 1 / v.Value * 0.1
		}
		out = append(out, result.Value{Key: strings.Replace(v.Key, "tpot", "intvty", 1), Value: iv})
	}
	return out
}

func (p point) agg(rng *rand.Rand, slow float64) result.Agg {
	ttft, tpot, e2el, total, out := p.latencies(rng, slow)
	a := result.Agg{
		HW: p.hw, Conc: p.conc, Image: "lmsysorg/sglang:v0.5.6-cu129", Model: p.model,
		ModelPrefix: p.prefix, Framework: p.fw, Precision: p.prec, SpecDecoding: "none",
		ISL: p.isl, OSL: p.osl, IsMultinode: p.multinode,
	}
	gpus := float64(p.tp)
	if p.multinode {
		a.Disagg = true
		a.Prefill = result.AggWorkers{TP: p.tp, EP: p.ep, NumWorkers: 1, DPAttention: fmt.Sprint(p.dpa)}
		a.Decode = result.AggWorkers{TP: p.tp, EP: p.ep, NumWorkers: 2, DPAttention: fmt.Sprint(p.dpa)}
		a.NumPrefillGPU, a.NumDecodeGPU = p.tp, 2*p.tp
		gpus = float64(3 * p.tp)
		a.TputPerGPU, a.OutputTputPerGPU, a.InputTputPerGPU = total/gpus, out/float64(2*p.tp), (total-out)/float64(p.tp)
	} else {
		a.TP, a.EP, a.DPAttention = p.tp, p.ep, fmt.Sprint(p.dpa)
		a.TputPerGPU, a.OutputTputPerGPU, a.InputTputPerGPU = total/gpus, out/gpus, (total-out)/gpus
	}
	a.Stats = append(a.Stats, stats("ttft", ttft/1000, 2.2)...)
	a.Stats = append(a.Stats, withIntvty(stats("tpot", tpot/1000, 1.5))...)
	a.Stats = append(a.Stats, stats("itl", tpot/1000*0.98, 3)...)
	a.Stats = append(a.Stats, stats("e2el", e2el, 1.3)...)
	return a
}

// bigSpec is a sweep of n results over many models, runner types and layouts, for the
// report's size and render-time budget.
func bigSpec(n int) sweepSpec {
	models := []struct{ prefix, model string }{{"dsr1", "deepseek-ai/DeepSeek-R1-0528"}, {"gptoss", "openai/gpt-oss-120b"},
		{"llama70b", "meta-llama/Llama-3.3-70B-Instruct"}, {"qwen3", "Qwen/Qwen3-235B-A22B"}}
	hws := []struct{ hw, fw string }{{"b200", "sglang"}, {"b200-trt", "trt"}, {"b200", "vllm"}, {"h200", "sglang"},
		{"h100", "vllm"}, {"mi355x", "sglang"}, {"mi300x", "vllm"}, {"b300", "sglang"}}
	var ps []point
	for len(ps) < n {
		for _, m := range models {
			for _, sl := range [][2]int{{1024, 1024}, {1024, 8192}, {8192, 1024}} {
				for _, h := range hws {
					for _, prec := range []string{"fp8", "fp4"} {
						for _, tp := range []int{1, 2, 4, 8} {
							eps := []int{1}
							if tp > 1 {
								eps = append(eps, tp)
							}
							for _, ep := range eps {
								for _, c := range []int{1, 4, 16, 64, 256} {
									ps = append(ps, point{prefix: m.prefix, model: m.model, hw: h.hw, fw: h.fw, prec: prec,
										isl: sl[0], osl: sl[1], tp: tp, ep: ep, dpa: ep > 1, conc: c})
								}
							}
						}
					}
				}
			}
		}
	}
	return sweepSpec{seed: 3, points: ps[:n]}
}

// oneViewSpec puts n results into a single model and seq-len, so the report's default
// view shows all of them at once: the worst case for drawing.
func oneViewSpec(n int) sweepSpec {
	hws := []struct{ hw, fw string }{{"b200", "sglang"}, {"b200-trt", "trt"}, {"b200", "vllm"}, {"h200", "sglang"},
		{"h100", "vllm"}, {"mi355x", "sglang"}, {"mi300x", "vllm"}, {"b300", "sglang"}}
	var ps []point
	for c := 1; len(ps) < n; c++ {
		for _, h := range hws {
			for _, prec := range []string{"fp8", "fp4"} {
				for _, tp := range []int{1, 2, 4, 8} {
					ps = append(ps, point{prefix: "dsr1", model: "deepseek-ai/DeepSeek-R1-0528", hw: h.hw, fw: h.fw,
						prec: prec, isl: 1024, osl: 1024, tp: tp, ep: 1, conc: c})
				}
			}
		}
	}
	return sweepSpec{seed: 4, points: ps[:n]}
}

// specRecords builds a sweep's records in memory, through the same JSON and decoder as a
// scanned sweep, without 5,000 files on disk.
func specRecords(s sweepSpec) ([]Record, error) {
	rng := rand.New(rand.NewPCG(s.seed, 7))
	out := make([]Record, 0, len(s.points))
	for _, p := range s.points {
		b, err := json.Marshal(p.agg(rng, 1))
		if err != nil {
			return nil, err
		}
		r, err := DecodeRecord(b, result.AggFile(p.stem()))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
