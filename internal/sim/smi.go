package sim

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SMI stands in for nvidia-smi and amd-smi on a machine without GPUs: it reads a
// simulator's GPUs and prints them in the real tools' formats, for the command lines the
// agent's sampler uses, so the telemetry path runs end to end against the simulator.
type SMI struct {
	// Read returns the simulated GPUs (GET /sim/gpus of a running simulator).
	Read func(ctx context.Context) (GPUState, error)
	// EnergyField is the name of an energy-counter field the fake nvidia-smi offers
	// (in mJ); empty offers none.
	EnergyField    string
	Stdout, Stderr io.Writer
	// Now and Sleep default to the wall clock; Sleep returns false once ctx ended.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) bool
}

// Exit statuses of the fake tools.
const (
	smiOK      = 0
	smiBadArgs = 2 // nvidia-smi's status for an invalid field or argument
	smiNoGPU   = 6 // nvidia-smi's "No devices were found"
	smiFailed  = 15
)

// Run runs the tool named by argv[0] ("nvidia-smi" or "amd-smi", any path) with the rest
// of argv as its arguments and returns its exit status. Loops run until ctx ends.
func (t SMI) Run(ctx context.Context, argv []string) int {
	if t.Now == nil {
		t.Now = time.Now
	}
	if t.Sleep == nil {
		t.Sleep = func(ctx context.Context, d time.Duration) bool {
			tm := time.NewTimer(d)
			defer tm.Stop()
			select {
			case <-tm.C:
				return true
			case <-ctx.Done():
				return false
			}
		}
	}
	if len(argv) == 0 {
		fmt.Fprintln(t.Stderr, "sim-smi: name the tool to imitate: nvidia-smi or amd-smi")
		return smiBadArgs
	}
	name := argv[0]
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	switch name {
	case "nvidia-smi":
		return t.nvidia(ctx, argv[1:])
	case "amd-smi":
		return t.amd(ctx, argv[1:])
	}
	fmt.Fprintf(t.Stderr, "sim-smi: %q is not nvidia-smi or amd-smi\n", argv[0])
	return smiBadArgs
}

// nvField is one --query-gpu field: its header cell and its value of a reading.
type nvField struct {
	unit string
	get  func(r GPUReading, now time.Time) float64
	int  bool
}

func (t SMI) nvFields() map[string]nvField {
	f := map[string]nvField{
		"index":                 {"", func(r GPUReading, _ time.Time) float64 { return float64(r.Index) }, true},
		"power.draw":            {"W", func(r GPUReading, _ time.Time) float64 { return r.PowerW }, false},
		"power.draw.average":    {"W", func(r GPUReading, _ time.Time) float64 { return r.PowerW }, false},
		"power.draw.instant":    {"W", func(r GPUReading, _ time.Time) float64 { return r.PowerW }, false},
		"temperature.gpu":       {"", func(r GPUReading, _ time.Time) float64 { return r.TempC }, true},
		"clocks.current.sm":     {"MHz", func(r GPUReading, _ time.Time) float64 { return float64(r.SMClockMHz) }, true},
		"clocks.current.memory": {"MHz", func(r GPUReading, _ time.Time) float64 { return float64(r.MemClockMHz) }, true},
		"utilization.gpu":       {"%", func(r GPUReading, _ time.Time) float64 { return float64(r.UtilGPU) }, true},
		"utilization.memory":    {"%", func(r GPUReading, _ time.Time) float64 { return float64(r.UtilMem) }, true},
	}
	if t.EnergyField != "" {
		f[t.EnergyField] = nvField{"mJ", func(r GPUReading, _ time.Time) float64 { return math.Round(r.EnergyJ * 1000) }, true}
	}
	return f
}

// nvidia imitates `nvidia-smi --help-query-gpu` and `nvidia-smi --query-gpu=... --format=csv
// [--loop-ms=N | -lms N | -l S] [--id=0,1 | -i 0,1]`.
func (t SMI) nvidia(ctx context.Context, args []string) int {
	fields := t.nvFields()
	var query []string
	format, loop, ids := "", time.Duration(0), ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func() (string, bool) {
			if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(k, "--") {
				return v, true
			}
			if i+1 < len(args) {
				i++
				return args[i], true
			}
			return "", false
		}
		switch key, _, _ := strings.Cut(a, "="); key {
		case "--help-query-gpu":
			fmt.Fprintln(t.Stdout, `List of valid properties to query for the switch "--query-gpu=":`)
			fmt.Fprintln(t.Stdout)
			fmt.Fprint(t.Stdout, `"timestamp"`+"\nThe timestamp of when the query was made in format \"YYYY/MM/DD HH:MM:SS.msec\".\n\n")
			for _, n := range sortedFields(fields) {
				fmt.Fprintf(t.Stdout, "%q\nA simulated reading.\n\n", n)
			}
			return smiOK
		case "--query-gpu":
			v, _ := val()
			query = strings.Split(v, ",")
		case "--format":
			format, _ = val()
		case "--loop-ms", "-lms":
			v, _ := val()
			ms, err := strconv.Atoi(v)
			if err != nil || ms <= 0 {
				fmt.Fprintf(t.Stderr, "Invalid value for loop-ms: %q\n", v)
				return smiBadArgs
			}
			loop = time.Duration(ms) * time.Millisecond
		case "--loop", "-l":
			v, _ := val()
			s, err := strconv.Atoi(v)
			if err != nil || s <= 0 {
				fmt.Fprintf(t.Stderr, "Invalid value for loop: %q\n", v)
				return smiBadArgs
			}
			loop = time.Duration(s) * time.Second
		case "--id", "-i":
			ids, _ = val()
		default:
			fmt.Fprintf(t.Stderr, "Invalid combination of input arguments. Please run 'nvidia-smi -h' for help.\n")
			return smiBadArgs
		}
	}
	if len(query) == 0 || !strings.HasPrefix(format, "csv") {
		fmt.Fprintln(t.Stderr, "sim-smi: only --query-gpu=... --format=csv is simulated")
		return smiBadArgs
	}
	for _, q := range query {
		if _, ok := fields[q]; !ok && q != "timestamp" {
			fmt.Fprintf(t.Stderr, "Field \"%s\" is not a valid field to query.\n", q)
			return smiBadArgs
		}
	}
	noheader, nounits := strings.Contains(format, "noheader"), strings.Contains(format, "nounits")
	if !noheader {
		cells := make([]string, len(query))
		for i, q := range query {
			cells[i] = q
			if u := fields[q].unit; u != "" && !nounits {
				cells[i] += " [" + u + "]"
			}
		}
		fmt.Fprintln(t.Stdout, strings.Join(cells, ", "))
	}
	return t.loop(ctx, loop, func(st GPUState, now time.Time) int {
		sel, err := selectGPUs(st, ids)
		if err != nil {
			fmt.Fprintln(t.Stderr, "No devices were found")
			return smiNoGPU
		}
		for _, r := range sel {
			cells := make([]string, len(query))
			for i, q := range query {
				if q == "timestamp" {
					cells[i] = now.Format("2006/01/02 15:04:05.000")
					continue
				}
				f := fields[q]
				v := f.get(r, now)
				if f.int {
					cells[i] = strconv.FormatInt(int64(math.Round(v)), 10)
				} else {
					cells[i] = strconv.FormatFloat(v, 'f', 2, 64)
				}
				if f.unit != "" && !nounits {
					cells[i] += " " + f.unit
				}
			}
			fmt.Fprintln(t.Stdout, strings.Join(cells, ", "))
		}
		return -1
	})
}

func sortedFields(m map[string]nvField) []string {
	out := slices.Collect(maps.Keys(m))
	slices.Sort(out)
	return out
}

// selectGPUs applies an --id / -g list; nil when an index is out of range.
func selectGPUs(st GPUState, ids string) ([]GPUReading, error) {
	if ids == "" {
		return st.GPUs, nil
	}
	var out []GPUReading
	for _, s := range strings.FieldsFunc(ids, func(r rune) bool { return r == ',' || r == ' ' }) {
		i, err := strconv.Atoi(s)
		if err != nil || i < 0 || i >= len(st.GPUs) {
			return nil, fmt.Errorf("no GPU %q", s)
		}
		out = append(out, st.GPUs[i])
	}
	return out, nil
}

// loop reads the GPUs and prints them once, or every interval until ctx ends; emit returns
// an exit status to stop with, or -1 to go on.
func (t SMI) loop(ctx context.Context, every time.Duration, emit func(GPUState, time.Time) int) int {
	start := t.Now()
	for k := 1; ; k++ {
		st, err := t.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return smiOK
			}
			fmt.Fprintf(t.Stderr, "Unable to read the simulated GPUs: %v\n", err)
			if every == 0 {
				return smiFailed
			}
		} else if code := emit(st, t.Now()); code >= 0 {
			return code
		}
		if every == 0 {
			return smiOK
		}
		// Absolute ticks: the tool's cadence does not drift with the time a read takes.
		if !t.Sleep(ctx, start.Add(time.Duration(k)*every).Sub(t.Now())) {
			return smiOK
		}
	}
}

// amdHelp is the part of `amd-smi metric --help` the sampler reads.
const amdHelp = `usage: amd-smi metric [-h] [--json | --csv] [-g GPU [GPU ...]] [-w INTERVAL] [-m] [-u] [-p] [-c] [-t] [-E]

  -g, --gpu GPU [GPU ...]  Select a GPU ID, BDF, or UUID from the possible choices
  -w, --watch INTERVAL     Reprint the command in a loop of INTERVAL seconds
  -u, --usage              Displays engine usage information
  -p, --power              Current power usage
  -c, --clock              Average, max, and current clock frequencies
  -t, --temperature        Current temperatures
  -E, --energy             Amount of energy consumed
`

// amd imitates `amd-smi metric --help` and `amd-smi metric [-g ...] [-u] [-p] [-c] [-t] [-E]
// [-w N] --csv`: epoch-second timestamps, bare numbers, N/A where the real tool has no
// reading, and the header repeated on every watch iteration as the real one does.
func (t SMI) amd(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] != "metric" {
		fmt.Fprintln(t.Stderr, "sim-smi: only `amd-smi metric` is simulated")
		return smiBadArgs
	}
	var usage, power, clock, temp, energy, csv bool
	var ids []string
	watch := time.Duration(0)
	for i := 1; i < len(args); i++ {
		switch a := args[i]; a {
		case "-h", "--help":
			fmt.Fprint(t.Stdout, amdHelp)
			return smiOK
		case "-u", "--usage":
			usage = true
		case "-p", "--power":
			power = true
		case "-c", "--clock":
			clock = true
		case "-t", "--temperature":
			temp = true
		case "-E", "--energy":
			energy = true
		case "--csv":
			csv = true
		case "-w", "--watch":
			if i+1 >= len(args) {
				fmt.Fprintln(t.Stderr, "amd-smi metric: error: argument -w/--watch: expected one argument")
				return smiBadArgs
			}
			i++
			n, err := strconv.Atoi(args[i])
			if err != nil || n <= 0 {
				fmt.Fprintf(t.Stderr, "amd-smi metric: error: argument -w/--watch: invalid value %q\n", args[i])
				return smiBadArgs
			}
			watch = time.Duration(n) * time.Second
		case "-g", "--gpu":
			for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++
				ids = append(ids, args[i])
			}
		default:
			fmt.Fprintf(t.Stderr, "amd-smi metric: error: unrecognized arguments: %s\n", a)
			return smiBadArgs
		}
	}
	if !csv {
		fmt.Fprintln(t.Stderr, "sim-smi: only --csv output is simulated")
		return smiBadArgs
	}
	cols := []string{"timestamp", "gpu"}
	if usage {
		cols = append(cols, "gfx_activity", "umc_activity", "mm_activity", "vcn_activity")
	}
	if power {
		cols = append(cols, "socket_power", "gfx_voltage", "soc_voltage", "mem_voltage", "throttle_status", "power_management")
	}
	if clock {
		cols = append(cols, "gfx_0_clk", "mem_0_clk")
	}
	if temp {
		cols = append(cols, "edge", "hotspot", "mem")
	}
	if energy {
		cols = append(cols, "total_energy_consumption")
	}
	return t.loop(ctx, watch, func(st GPUState, now time.Time) int {
		sel, err := selectGPUs(st, strings.Join(ids, ","))
		if err != nil {
			fmt.Fprintln(t.Stderr, "AMDSMI_STATUS_NOT_FOUND: the requested GPU was not found")
			return smiFailed
		}
		fmt.Fprintln(t.Stdout, strings.Join(cols, ","))
		for _, r := range sel {
			cells := []string{strconv.FormatInt(now.Unix(), 10), strconv.Itoa(r.Index)}
			if usage {
				cells = append(cells, strconv.Itoa(r.UtilGPU), strconv.Itoa(r.UtilMem), "0", "0")
			}
			if power {
				cells = append(cells, strconv.Itoa(int(math.Round(r.PowerW))), "N/A", "N/A", "N/A", "UNTHROTTLED", "ENABLED")
			}
			if clock {
				cells = append(cells, strconv.Itoa(r.SMClockMHz), strconv.Itoa(r.MemClockMHz))
			}
			if temp {
				cells = append(cells, strconv.Itoa(int(r.TempC)-8), strconv.Itoa(int(r.TempC)), strconv.Itoa(int(r.TempC)-4))
			}
			if energy {
				cells = append(cells, strconv.FormatFloat(r.EnergyJ, 'f', 3, 64))
			}
			fmt.Fprintln(t.Stdout, strings.Join(cells, ","))
		}
		return -1
	})
}
