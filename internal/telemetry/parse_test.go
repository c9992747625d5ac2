package telemetry

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	_ "github.com/inferbench/inferbench/internal/testkit" // defines -update, so `go test ./... -update` runs here too
)

// nvidiaHeader is what nvidia-smi prints for the reference's query plus power.draw.instant
// (--format=csv: ", " separators, units in brackets).
const nvidiaHeader = "timestamp, index, power.draw [W], temperature.gpu, clocks.current.sm [MHz], clocks.current.memory [MHz], utilization.gpu [%], utilization.memory [%], power.draw.instant [W]"

// amdHeader is the column order of amd-smi 26.x `metric -p -c -t -u -E -w 1 --csv` (a
// faithful subset: activity, power, clocks, temperatures, the energy accumulator).
const amdHeader = "timestamp,gpu,gfx_activity,umc_activity,mm_activity,vcn_activity,socket_power,gfx_voltage,soc_voltage,mem_voltage,throttle_status,power_management,gfx_0_clk,mem_0_clk,edge,hotspot,mem,total_energy_consumption"

func TestParseNvidiaLines(t *testing.T) {
	t.Parallel()
	in := nvidiaHeader + "\n" +
		"2025/01/15 12:34:56.789, 0, 412.34 W, 65, 1980 MHz, 2619 MHz, 87 %, 45 %, 431.20 W\n" +
		"2025/01/15 12:34:56.789, 1, [N/A], 64, 1980 MHz, 2619 MHz, 0 %, 0 %, [N/A]\n" +
		"2025/01/15 12:34:56.889, 1, 98.50 W, 40, [Not Supported], 2619 MHz, 3 %, 1 %, [N/A]\n"
	p, err := Parse(strings.NewReader(in), time.UTC)
	require.NoError(t, err)
	require.Len(t, p.Samples, 2)
	assert.True(t, p.HasInstant)
	assert.False(t, p.HasEnergy)

	s := p.Samples[0]
	want := float64(time.Date(2025, 1, 15, 12, 34, 56, 789e6, time.UTC).UnixNano()) / 1e9
	assert.InDelta(t, want, s.Time, 1e-6)
	assert.Equal(t, "0", s.GPU)
	assert.Equal(t, 412.34, s.PowerW)
	assert.Equal(t, 431.20, s.InstantW)
	assert.Equal(t, 65.0, s.TempC)
	assert.Equal(t, 1980.0, s.SMClockMHz)
	assert.Equal(t, 2619.0, s.MemClockMHz)
	assert.Equal(t, 87.0, s.UtilGPU)
	assert.Equal(t, 45.0, s.UtilMem)
	assert.True(t, math.IsNaN(s.EnergyJ))

	// [N/A] power is an unusable line; a [Not Supported] clock is just absent.
	require.Len(t, p.Issues, 1)
	assert.Equal(t, IssueBadPower, p.Issues[0].Reason)
	assert.Equal(t, 3, p.Issues[0].Line)
	assert.InDelta(t, want, p.Issues[0].Time, 1e-6, "the line's time is known, so the window check can place it")
	assert.True(t, math.IsNaN(p.Samples[1].SMClockMHz))
	assert.True(t, math.IsNaN(p.Samples[1].InstantW))
}

func TestParseAMDLines(t *testing.T) {
	t.Parallel()
	in := "WARNING: User is missing the following required groups: render, video\n" +
		amdHeader + "\n" +
		"1736942096,0,98,41,0,0,741,N/A,N/A,N/A,UNTHROTTLED,ENABLED,2100,1300,52,66,60,178319501.682\n" +
		"1736942096,1,97,40,0,0,738,N/A,N/A,N/A,UNTHROTTLED,ENABLED,2100,1300,51,65,59,178400000.000\n" +
		amdHeader + "\n" +
		"1736942097,0,99,42,0,0,745,N/A,N/A,N/A,UNTHROTTLED,ENABLED,2100,1300,52,66,60,178320246.682\n"
	p, err := Parse(strings.NewReader(in), time.UTC)
	require.NoError(t, err)
	assert.Equal(t, 1, p.Preamble, "amd-smi's warning before the header is not data")
	assert.Equal(t, 2, p.Headers, "the watch loop repeats its header")
	assert.Empty(t, p.Issues)
	require.Len(t, p.Samples, 3)
	s := p.Samples[0]
	assert.Equal(t, 1736942096.0, s.Time)
	assert.Equal(t, "0", s.GPU)
	assert.Equal(t, 741.0, s.PowerW, "socket_power, not power_management")
	assert.Equal(t, 178319501.682, s.EnergyJ)
	assert.Equal(t, 66.0, s.TempC, "hotspot is the temperature that throttles")
	assert.Equal(t, 2100.0, s.SMClockMHz)
	assert.Equal(t, 1300.0, s.MemClockMHz)
	assert.Equal(t, 98.0, s.UtilGPU)
	assert.Equal(t, 41.0, s.UtilMem)
	assert.True(t, p.HasEnergy)
}

func TestParseHostTimeReplacesCoarseOrRemoteTimestamps(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		line string
		want float64
	}{
		{"whole-second tool stamp: the receipt time is finer", "1736942096,0,700,1736942096.734512,", 1736942096.734512},
		{"sub-second tool stamp on this machine: the tool's own", "1736942096.5,0,700,1736942096.734512,", 1736942096.5},
		{"a node printing another zone's local time: shifted by whole quarter hours", "1736938496.5,0,700,1736942096.734512,3", 1736942096.5},
		{"no receipt time: the tool's", "1736942096,0,700,,", 1736942096},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(strings.NewReader("timestamp,gpu,socket_power,host_time_unix,node\n"+tt.line+"\n"), time.UTC)
			require.NoError(t, err)
			require.Len(t, p.Samples, 1, "issues: %v", p.Issues)
			assert.Equal(t, tt.want, p.Samples[0].Time)
		})
	}
}

func TestParseUnusableLines(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, line, reason string
		timeKnown          bool
	}{
		{"garbage timestamp", "not-a-time, 0, 400 W", IssueBadTimestamp, false},
		{"N/A power", "2025/01/15 12:00:00.000, 0, [N/A]", IssueBadPower, true},
		{"negative power", "2025/01/15 12:00:00.000, 0, -5 W", IssueBadPower, true},
		{"no GPU index", "2025/01/15 12:00:00.000, , 400 W", IssueNoGPU, true},
		{"cut-off line", "2025/01/15 12:00:00.000, 0", IssueMalformed, true},
		{"binary noise", "\x00\x01\x02garbage", IssueMalformed, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(strings.NewReader("timestamp, index, power.draw [W]\n"+tt.line+"\n"), time.UTC)
			require.NoError(t, err)
			assert.Empty(t, p.Samples)
			require.Len(t, p.Issues, 1)
			assert.Equal(t, tt.reason, p.Issues[0].Reason)
			assert.Equal(t, tt.timeKnown, !math.IsNaN(p.Issues[0].Time))
		})
	}
}

func TestParseEnergyUnits(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		header, cell string
		want         float64
	}{
		{"total_energy_consumption [mJ]", "123456", 123.456},
		{"total_energy_consumption [J]", "123.5", 123.5},
		{"total_energy_consumption", "123.5", 123.5},
		{"total_energy_consumption [mJ]", "2 J", 2}, // a unit on the value wins
		{"total_energy_consumption [mJ]", "[N/A]", math.NaN()},
	} {
		p, err := Parse(strings.NewReader("timestamp, index, power.draw [W], "+tt.header+"\n1700000000.5, 0, 100 W, "+tt.cell+"\n"), time.UTC)
		require.NoError(t, err)
		require.Len(t, p.Samples, 1)
		if math.IsNaN(tt.want) {
			assert.True(t, math.IsNaN(p.Samples[0].EnergyJ), "%s %s", tt.header, tt.cell)
		} else {
			assert.InDelta(t, tt.want, p.Samples[0].EnergyJ, 1e-9, "%s %s", tt.header, tt.cell)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	t.Parallel()
	loc := time.FixedZone("X", 3600)
	base := time.Date(2025, 1, 15, 12, 34, 56, 789e6, loc)
	want := float64(base.UnixNano()) / 1e9
	for _, tt := range []struct {
		in      string
		want    float64
		precise bool
		ok      bool
	}{
		{"2025/01/15 12:34:56.789", want, true, true},
		{"2025/01/15 12:34:56", want - 0.789, false, true},
		{"2025-01-15T12:34:56.789", want, true, true},
		{"2025-01-15 12:34:56.789", want, true, true},
		{"2025-01-15T11:34:56.789Z", want, true, true},
		{"1736942096.789", 1736942096.789, true, true},
		{"1736942096789", 1736942096.789, true, true},
		{"1736942096", 1736942096, false, true},
		{"yesterday", 0, false, false},
		{"", 0, false, false},
	} {
		got, precise, ok := ParseTimestamp(tt.in, loc)
		assert.Equal(t, tt.ok, ok, tt.in)
		if ok {
			assert.InDelta(t, tt.want, got, 1e-6, tt.in)
			assert.Equal(t, tt.precise, precise, tt.in)
		}
	}
}

func TestSplitCSVQuotes(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{"a", "b,c", `d"e`}, splitCSV(`a,"b,c","d""e"`))
	assert.Equal(t, []string{"a", " b"}, splitCSV("a, b"))
}
