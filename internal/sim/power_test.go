package sim

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/telemetry"

	_ "github.com/inferbench/inferbench/internal/testkit" // defines -update, so `go test ./... -update` runs here too
)

func TestPowerModelCountsEnergyExactly(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_700_000_000, 0)
	m := newMeter(PowerModel{GPUs: 2, IdleW: 100, MaxW: 500, HalfLoadSeqs: 4}, t0)
	e0 := m.state(t0).GPUs[0].EnergyJ
	m.add(t0.Add(10*time.Second), 4)  // idle for 10 s: 100 W
	m.add(t0.Add(15*time.Second), -4) // 4 running for 5 s: halfway, 300 W
	st := m.state(t0.Add(20 * time.Second))
	assert.InDelta(t, 100*10+300*5+100*5, st.GPUs[0].EnergyJ-e0, 1e-9)
	assert.Equal(t, 100.0, st.GPUs[0].PowerW)
	assert.Equal(t, 101.0, st.GPUs[1].PowerW, "boards differ by a few watts")
	assert.Equal(t, 0, st.GPUs[0].UtilGPU)
	assert.Equal(t, 345, st.GPUs[0].SMClockMHz, "idle clocks")

	m.add(t0.Add(20*time.Second), 12)
	busy := m.state(t0.Add(20 * time.Second)).GPUs[0]
	assert.Equal(t, 400.0, busy.PowerW) // 12/(12+4) = 75 % of the range
	assert.Equal(t, 75, busy.UtilGPU)
	assert.Equal(t, 1980, busy.SMClockMHz)
}

func TestPowerModelValidation(t *testing.T) {
	t.Parallel()
	assert.ErrorContains(t, (&Config{Model: "m", Power: PowerModel{IdleW: 800, MaxW: 700}}).Validate(), "below idle")
	assert.ErrorContains(t, (&Config{Model: "m", Power: PowerModel{GPUs: -1}}).Validate(), "GPUs")
	assert.NoError(t, (&Config{Model: "m"}).Validate())
}

func fixedState() GPUState {
	return GPUState{GPUs: []GPUReading{
		{Index: 0, PowerW: 612.47, EnergyJ: 1500123.4567, TempC: 63.7, SMClockMHz: 1980, MemClockMHz: 2619, UtilGPU: 97, UtilMem: 43},
		{Index: 1, PowerW: 98.5, EnergyJ: 1600000, TempC: 35.4, SMClockMHz: 345, MemClockMHz: 2619},
	}}
}

// runSMI runs the fake tool for a fixed number of loop iterations.
func runSMI(t *testing.T, smi SMI, iterations int, argv ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	now := time.Date(2025, 1, 15, 12, 34, 56, 789e6, time.Local)
	n := 0
	if smi.Read == nil {
		smi.Read = func(context.Context) (GPUState, error) { return fixedState(), nil }
	}
	smi.Stdout, smi.Stderr = &out, &errb
	smi.Now = func() time.Time { return now }
	smi.Sleep = func(_ context.Context, d time.Duration) bool {
		n++
		now = now.Add(100 * time.Millisecond)
		return n < iterations
	}
	code = smi.Run(context.Background(), argv)
	return out.String(), errb.String(), code
}

func TestFakeNvidiaSMI(t *testing.T) {
	t.Parallel()
	q := "--query-gpu=timestamp,index,power.draw,temperature.gpu,clocks.current.sm,clocks.current.memory,utilization.gpu,utilization.memory,power.draw.instant"
	out, _, code := runSMI(t, SMI{}, 2, "nvidia-smi", q, "--format=csv", "--loop-ms=100", "--id=0,1")
	require.Equal(t, 0, code)
	assert.Equal(t, "timestamp, index, power.draw [W], temperature.gpu, clocks.current.sm [MHz], clocks.current.memory [MHz], utilization.gpu [%], utilization.memory [%], power.draw.instant [W]\n"+
		"2025/01/15 12:34:56.789, 0, 612.47 W, 64, 1980 MHz, 2619 MHz, 97 %, 43 %, 612.47 W\n"+
		"2025/01/15 12:34:56.789, 1, 98.50 W, 35, 345 MHz, 2619 MHz, 0 %, 0 %, 98.50 W\n"+
		"2025/01/15 12:34:56.889, 0, 612.47 W, 64, 1980 MHz, 2619 MHz, 97 %, 43 %, 612.47 W\n"+
		"2025/01/15 12:34:56.889, 1, 98.50 W, 35, 345 MHz, 2619 MHz, 0 %, 0 %, 98.50 W\n", out)
	p, err := telemetry.Parse(strings.NewReader(out), time.Local)
	require.NoError(t, err)
	assert.Len(t, p.Samples, 4)
	assert.Empty(t, p.Issues)

	out, _, _ = runSMI(t, SMI{}, 1, "nvidia-smi", "--query-gpu=index,power.draw", "--format=csv,noheader,nounits", "-i", "1")
	assert.Equal(t, "1, 98.50\n", out)
}

func TestFakeNvidiaSMIRefusesWhatTheRealOneRefuses(t *testing.T) {
	t.Parallel()
	_, errOut, code := runSMI(t, SMI{}, 1, "nvidia-smi", "--query-gpu=timestamp,total_energy_consumption", "--format=csv")
	assert.Equal(t, smiBadArgs, code)
	assert.Contains(t, errOut, `Field "total_energy_consumption" is not a valid field to query.`)

	_, errOut, code = runSMI(t, SMI{}, 1, "nvidia-smi", "--query-gpu=index", "--format=csv", "--id=7")
	assert.Equal(t, smiNoGPU, code)
	assert.Contains(t, errOut, "No devices were found")

	help, _, code := runSMI(t, SMI{}, 1, "nvidia-smi", "--help-query-gpu")
	assert.Equal(t, 0, code)
	assert.Contains(t, help, `"power.draw.instant"`)
	assert.NotContains(t, help, "energy", "no energy field unless asked for, as on real drivers")

	help, _, _ = runSMI(t, SMI{EnergyField: "total_energy_consumption"}, 1, "nvidia-smi", "--help-query-gpu")
	assert.Contains(t, help, `"total_energy_consumption"`)
	out, _, _ := runSMI(t, SMI{EnergyField: "total_energy_consumption"}, 1, "nvidia-smi", "--query-gpu=index,total_energy_consumption", "--format=csv")
	assert.Equal(t, "index, total_energy_consumption [mJ]\n0, 1500123457 mJ\n1, 1600000000 mJ\n", out)
}

func TestFakeAMDSMI(t *testing.T) {
	t.Parallel()
	out, _, code := runSMI(t, SMI{}, 2, "/opt/rocm/bin/amd-smi", "metric", "-g", "0", "-p", "-c", "-t", "-u", "-E", "-w", "1", "--csv")
	require.Equal(t, 0, code)
	header := "timestamp,gpu,gfx_activity,umc_activity,mm_activity,vcn_activity,socket_power,gfx_voltage,soc_voltage,mem_voltage,throttle_status,power_management,gfx_0_clk,mem_0_clk,edge,hotspot,mem,total_energy_consumption"
	sec := time.Date(2025, 1, 15, 12, 34, 56, 0, time.Local).Unix()
	line := "97,43,0,0,612,N/A,N/A,N/A,UNTHROTTLED,ENABLED,1980,2619,55,63,59,1500123.457"
	assert.Equal(t, header+"\n"+itoa(sec)+",0,"+line+"\n"+header+"\n"+itoa(sec)+",0,"+line+"\n", out, "the watch loop repeats its header")
	p, err := telemetry.Parse(strings.NewReader(out), time.Local)
	require.NoError(t, err)
	require.Len(t, p.Samples, 2)
	assert.Equal(t, 1500123.457, p.Samples[0].EnergyJ)

	help, _, _ := runSMI(t, SMI{}, 1, "amd-smi", "metric", "--help")
	assert.Contains(t, help, "--energy")
	_, errOut, code := runSMI(t, SMI{}, 1, "amd-smi", "metric", "--bogus", "--csv")
	assert.Equal(t, smiBadArgs, code)
	assert.Contains(t, errOut, "unrecognized arguments: --bogus")
}

func TestFakeSMIWhenTheSimulatorIsGone(t *testing.T) {
	t.Parallel()
	down := SMI{Read: func(context.Context) (GPUState, error) { return GPUState{}, errors.New("connection refused") }}
	out, errOut, code := runSMI(t, down, 3, "nvidia-smi", "--query-gpu=index,power.draw", "--format=csv", "--loop-ms=100")
	assert.Equal(t, 0, code, "a loop keeps going, as the real tool does through a hiccup")
	assert.Equal(t, "index, power.draw [W]\n", out)
	assert.Equal(t, 3, strings.Count(errOut, "connection refused"))
}

func TestSimServesGPUs(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Model: "m", Power: PowerModel{GPUs: 4}})
	require.NoError(t, err)
	st := s.GPUs()
	assert.Len(t, st.GPUs, 4)
	assert.Equal(t, 90.0, st.GPUs[0].PowerW)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
