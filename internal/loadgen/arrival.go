package loadgen

import (
	"math"
	"math/rand/v2"
	"time"
)

// arrivals returns the intended send offset of each request from the start of the run:
// all zero for an infinite rate (closed loop: the concurrency cap alone paces), otherwise the
// cumulative sum of Gamma(shape=burstiness, scale=1/(rate·burstiness)) gaps, as the
// reference's get_request (burstiness 1 = Poisson arrivals).
func arrivals(n int, rate, burstiness float64, seed uint64) []time.Duration {
	out := make([]time.Duration, n)
	if math.IsInf(rate, 1) {
		return out
	}
	rng := rand.New(rand.NewPCG(seed, 0xa0761d6478bd642f))
	scale := 1 / (rate * burstiness)
	var t float64
	for i := range out {
		out[i] = time.Duration(t * float64(time.Second))
		t += gamma(rng, burstiness) * scale
	}
	return out
}

// gamma draws from Gamma(shape, 1) with Marsaglia and Tsang's method; shapes below 1 use
// the boost Gamma(a) = Gamma(a+1)·U^(1/a).
func gamma(rng *rand.Rand, shape float64) float64 {
	if shape < 1 {
		u := rng.Float64()
		for u == 0 {
			u = rng.Float64()
		}
		return gamma(rng, shape+1) * math.Pow(u, 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}
