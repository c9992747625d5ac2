package sim

import (
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"
)

// PowerModel describes the simulated GPUs' board power: each draws IdleW with nothing
// running and approaches MaxW as the running batch grows, halfway there at HalfLoadSeqs
// running sequences. Every GPU keeps an energy counter that integrates its draw exactly,
// so a telemetry pipeline can be checked against the truth.
type PowerModel struct {
	GPUs         int     // simulated GPUs; 0 means 8
	IdleW, MaxW  float64 // per GPU; 0 means 90 W and 700 W (an H100 SXM's idle and limit)
	HalfLoadSeqs float64 // 0 means 8
}

func (p PowerModel) withDefaults() PowerModel {
	if p.GPUs == 0 {
		p.GPUs = 8
	}
	if p.IdleW == 0 {
		p.IdleW = 90
	}
	if p.MaxW == 0 {
		p.MaxW = 700
	}
	if p.HalfLoadSeqs == 0 {
		p.HalfLoadSeqs = 8
	}
	return p
}

func (p PowerModel) validate() []error {
	var errs []error
	if p.GPUs < 0 || p.GPUs > 1024 {
		errs = append(errs, fmt.Errorf("simulated GPUs %d must be within 0..1024", p.GPUs))
	}
	if p.IdleW < 0 || p.MaxW < 0 || p.HalfLoadSeqs < 0 {
		errs = append(errs, fmt.Errorf("power model idle %v W, max %v W and half-load sequences %v must not be negative", p.IdleW, p.MaxW, p.HalfLoadSeqs))
	}
	if d := p.withDefaults(); d.MaxW < d.IdleW {
		errs = append(errs, fmt.Errorf("power model max %v W is below idle %v W", d.MaxW, d.IdleW))
	}
	return errs
}

// load is the fraction of the dynamic range a batch of running sequences uses.
func (p PowerModel) load(running int) float64 {
	if running <= 0 {
		return 0
	}
	return float64(running) / (float64(running) + p.HalfLoadSeqs)
}

// watts is GPU i's draw at a load; GPUs differ by a few watts, as real boards do.
func (p PowerModel) watts(i int, load float64) float64 {
	return p.IdleW + float64(i%4) + (p.MaxW-p.IdleW)*load
}

// GPUReading is one simulated GPU's state, what a telemetry tool would read.
type GPUReading struct {
	Index       int     `json:"index"`
	PowerW      float64 `json:"power_w"`
	EnergyJ     float64 `json:"energy_j"` // counter since the simulator started, from a made-up origin
	TempC       float64 `json:"temperature_c"`
	SMClockMHz  int     `json:"sm_clock_mhz"`
	MemClockMHz int     `json:"mem_clock_mhz"`
	UtilGPU     int     `json:"utilization_gpu"`
	UtilMem     int     `json:"utilization_memory"`
}

// GPUState is every simulated GPU at one moment (GET /sim/gpus).
type GPUState struct {
	TimeUnix float64      `json:"time_unix"`
	Running  int          `json:"running"`
	GPUs     []GPUReading `json:"gpus"`
}

// meter integrates the model's power over the running batch as it changes.
type meter struct {
	model   PowerModel
	mu      sync.Mutex
	last    time.Time
	running int
	energy  []float64
}

func newMeter(p PowerModel, now time.Time) *meter {
	m := &meter{model: p.withDefaults(), last: now}
	m.energy = make([]float64, m.model.GPUs)
	for i := range m.energy {
		m.energy[i] = 1.5e6 + 1e5*float64(i) // a counter that has been running a while
	}
	return m
}

// advance adds the energy drawn since the last change; m.mu is held.
func (m *meter) advance(now time.Time) {
	dt := now.Sub(m.last).Seconds()
	if dt <= 0 {
		return
	}
	l := m.model.load(m.running)
	for i := range m.energy {
		m.energy[i] += m.model.watts(i, l) * dt
	}
	m.last = now
}

// add changes the running batch by delta at now.
func (m *meter) add(now time.Time, delta int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(now)
	m.running += delta
}

// State reads every GPU at now.
func (m *meter) state(now time.Time) GPUState {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(now)
	l := m.model.load(m.running)
	st := GPUState{TimeUnix: float64(now.UnixNano()) / 1e9, Running: m.running, GPUs: make([]GPUReading, len(m.energy))}
	for i, e := range m.energy {
		w := m.model.watts(i, l)
		r := GPUReading{Index: i, PowerW: w, EnergyJ: e, TempC: math.Round((30+0.055*w)*10) / 10,
			SMClockMHz: 345, MemClockMHz: 2619, UtilGPU: int(math.Round(100 * l)), UtilMem: int(math.Round(40 * l))}
		if m.running > 0 {
			r.SMClockMHz = 1980
		}
		st.GPUs[i] = r
	}
	return st
}

// GPUs reads the simulated GPUs now.
func (s *Sim) GPUs() GPUState { return s.meter.state(time.Now()) }

func (s *Sim) gpus(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.GPUs()) }
