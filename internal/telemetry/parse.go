package telemetry

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Vendor names a GPU vendor's telemetry tool and output format.
type Vendor string

const (
	NVIDIA Vendor = "nvidia" // nvidia-smi --query-gpu ... --format=csv
	AMD    Vendor = "amd"    // amd-smi metric ... --csv
)

// Columns this package appends to the tool's own.
const (
	HostTimeColumn = "host_time_unix"
	NodeColumn     = "node"
)

// Sample is one reading of one GPU. Readings the tool did not give are NaN.
type Sample struct {
	Node string // srun task label of a multi-node stream; "" on one node
	GPU  string // the tool's GPU index
	// Time is when the reading was taken, in Unix seconds: the tool's timestamp, or the
	// agent's receipt time where the tool's is only whole seconds.
	Time float64
	// PowerW is the column the reference integrates: the first whose name mentions power
	// and no limit (power.draw on NVIDIA, socket_power on AMD).
	PowerW float64
	// InstantW is power.draw.instant, the unaveraged reading of newer NVIDIA drivers.
	InstantW float64
	// EnergyJ is the hardware energy counter (joules since some unspecified origin).
	EnergyJ                 float64
	TempC                   float64
	SMClockMHz, MemClockMHz float64
	UtilGPU, UtilMem        float64 // percent
}

// Key identifies the GPU across nodes: "gpu" on one node, "node/gpu" on several.
func (s Sample) Key() string { return DeviceKey(s.Node, s.GPU) }

// DeviceKey is Sample.Key for a node and GPU index.
func DeviceKey(node, gpu string) string {
	if node == "" {
		return gpu
	}
	return node + "/" + gpu
}

// Issue reason codes: the same words the reference's validation sidecar uses where it has
// the concept.
const (
	IssueBadTimestamp = "invalid_timestamp_sample"
	IssueBadPower     = "invalid_power_sample"
	IssueNoGPU        = "gpu_identity_missing"
	IssueMalformed    = "malformed_telemetry_row"
)

// Issue is a data line that did not give a sample. Time is NaN when the line's position in
// time is unknown, which makes it matter to every window.
type Issue struct {
	Line   int     `json:"line"`
	Node   string  `json:"node,omitempty"`
	Time   float64 `json:"-"`
	Reason string  `json:"reason"`
	Text   string  `json:"text,omitempty"`
}

// Parsed is what a telemetry file held.
type Parsed struct {
	Header  []string
	Samples []Sample
	Issues  []Issue
	// Lines counts every line read; Preamble the lines before the first header (amd-smi's
	// warnings); Headers the header lines (repeats included).
	Lines, Preamble, Headers int
	// HasInstant and HasEnergy tell which optional readings the header carried.
	HasInstant, HasEnergy bool
}

// ParseFile reads a telemetry CSV: this package's files, or a tool's raw output.
func ParseFile(path string, loc *time.Location) (*Parsed, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f, loc)
}

// Parse reads a telemetry CSV from r. Naive timestamps (nvidia-smi prints local time
// without a zone) are read in loc, default time.Local.
func Parse(r io.Reader, loc *time.Location) (*Parsed, error) {
	p := NewParser(loc)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		p.Line(sc.Text())
	}
	if err := sc.Err(); err != nil {
		return p.Result(), err
	}
	return p.Result(), nil
}

// Parser reads telemetry lines one at a time: the sampler feeds it live, ParseFile from a
// file, so both see the same samples.
type Parser struct {
	loc  *time.Location
	cols *columns
	out  Parsed
}

// NewParser returns a parser; loc as in Parse.
func NewParser(loc *time.Location) *Parser {
	if loc == nil {
		loc = time.Local
	}
	return &Parser{loc: loc}
}

// Result returns what was parsed so far.
func (p *Parser) Result() *Parsed { return &p.out }

// Header reports whether the parser has seen a header.
func (p *Parser) Header() bool { return p.cols != nil }

// Line parses one line and returns the sample it gave, if any.
func (p *Parser) Line(line string) (Sample, bool) {
	p.out.Lines++
	line = strings.TrimRight(line, "\r\n")
	if strings.TrimSpace(line) == "" {
		return Sample{}, false
	}
	fields := splitCSV(line)
	if IsHeader(fields) {
		p.out.Headers++
		if p.cols == nil {
			p.cols = detectColumns(fields)
			p.out.Header = fields
			p.out.HasInstant, p.out.HasEnergy = p.cols.instant >= 0, p.cols.energy >= 0
		}
		return Sample{}, false
	}
	if p.cols == nil {
		p.out.Preamble++
		return Sample{}, false
	}
	s, issue := p.cols.sample(fields, p.loc)
	if issue != "" {
		p.out.Issues = append(p.out.Issues, Issue{Line: p.out.Lines, Node: s.Node, Time: s.Time, Reason: issue, Text: clip(line, 200)})
		return Sample{}, false
	}
	p.out.Samples = append(p.out.Samples, s)
	return s, true
}

// Sample parses a data line against the header seen so far without recording anything:
// for a long-lived stream that only needs to know whose reading a line is.
func (p *Parser) Sample(line string) (Sample, bool) {
	if p.cols == nil {
		return Sample{}, false
	}
	s, issue := p.cols.sample(splitCSV(strings.TrimRight(line, "\r\n")), p.loc)
	return s, issue == ""
}

// IsHeader reports whether split CSV fields are a tool's header line: both tools start it
// with the timestamp column.
func IsHeader(fields []string) bool {
	return len(fields) > 1 && strings.EqualFold(strings.TrimSpace(fields[0]), "timestamp")
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// columns maps a header to the readings it carries; -1 marks an absent column.
type columns struct {
	n                                     int
	time, gpu, power, instant, energy     int
	temp, smClk, memClk, utilGPU, utilMem int
	host, node                            int
	energyScale                           float64 // joules per unit of the energy column
}

var (
	powerExclude = regexp.MustCompile(`(?i)limit|cap|max|min`)
	gpuColumn    = regexp.MustCompile(`(?i)^(index|gpu|gpu_id|gpu_index|card|device)$`)
	unitRe       = regexp.MustCompile(`\[([^\]]*)\]`)
)

// baseName is a header cell without its " [unit]" suffix, lower-cased.
func baseName(h string) string {
	h = strings.TrimSpace(h)
	if i := strings.Index(h, "["); i >= 0 {
		h = h[:i]
	}
	return strings.ToLower(strings.TrimSpace(h))
}

// detectColumns finds the readings in a header. The time, power and GPU-identity rules are
// the reference's (first column mentioning time; first mentioning power but no limit, cap,
// max or min; an exact identity name), so both read the same file the same way.
func detectColumns(header []string) *columns {
	c := &columns{n: len(header), time: -1, gpu: -1, power: -1, instant: -1, energy: -1,
		temp: -1, smClk: -1, memClk: -1, utilGPU: -1, utilMem: -1, host: -1, node: -1, energyScale: 1}
	names := make([]string, len(header))
	for i, h := range header {
		names[i] = baseName(h)
	}
	first := func(pred func(string) bool) int {
		for i, n := range names {
			if pred(n) {
				return i
			}
		}
		return -1
	}
	oneOf := func(cands ...string) int {
		for _, want := range cands {
			if i := first(func(n string) bool { return n == want }); i >= 0 {
				return i
			}
		}
		return -1
	}
	c.host = oneOf(HostTimeColumn)
	c.node = oneOf(NodeColumn)
	c.time = first(func(n string) bool { return strings.Contains(n, "time") && n != HostTimeColumn })
	c.power = first(func(n string) bool { return strings.Contains(n, "power") && !powerExclude.MatchString(n) })
	c.gpu = first(func(n string) bool { return gpuColumn.MatchString(n) })
	c.instant = oneOf("power.draw.instant")
	c.energy = first(func(n string) bool { return strings.Contains(n, "energy") })
	if c.energy >= 0 {
		if m := unitRe.FindStringSubmatch(header[c.energy]); m != nil {
			c.energyScale = energyUnit(m[1], 1)
		}
	}
	c.temp = oneOf("temperature.gpu", "hotspot", "edge", "temperature")
	c.smClk = oneOf("clocks.current.sm", "clocks.sm", "gfx_0_clk", "gfx_clk")
	c.memClk = oneOf("clocks.current.memory", "clocks.mem", "mem_0_clk", "mem_clk")
	c.utilGPU = oneOf("utilization.gpu", "gfx_activity")
	c.utilMem = oneOf("utilization.memory", "umc_activity")
	return c
}

// energyUnit is the number of joules in one unit; def for an unknown unit.
func energyUnit(u string, def float64) float64 {
	switch strings.TrimSpace(u) {
	case "J", "j":
		return 1
	case "mJ":
		return 1e-3
	case "uJ", "µJ":
		return 1e-6
	case "kJ":
		return 1e3
	}
	return def
}

// sample reads one data line. It returns the issue code when the line gives no sample; the
// returned Sample then still carries Node and, when it could be read, Time.
func (c *columns) sample(f []string, loc *time.Location) (Sample, string) {
	nan := math.NaN()
	s := Sample{Time: nan, PowerW: nan, InstantW: nan, EnergyJ: nan, TempC: nan, SMClockMHz: nan,
		MemClockMHz: nan, UtilGPU: nan, UtilMem: nan}
	cell := func(i int) string {
		if i < 0 || i >= len(f) {
			return ""
		}
		return strings.TrimSpace(f[i])
	}
	s.Node = cell(c.node)
	if c.time < 0 {
		return s, IssueBadTimestamp
	}
	t, precise, ok := ParseTimestamp(cell(c.time), loc)
	if ok {
		s.Time = t
		if h, hok := number(cell(c.host)); hok && h > 0 {
			switch off := h - t; {
			case !precise:
				// amd-smi stamps whole seconds; the agent received the line within
				// milliseconds of the reading (the tool runs unbuffered).
				s.Time = h
			case math.Abs(off) > 600:
				// nvidia-smi prints the local time of the node it runs on, without a
				// zone: a node in another zone is off by whole quarter hours.
				s.Time = t + math.Round(off/900)*900
			}
		}
	}
	if len(f) != c.n {
		return s, IssueMalformed
	}
	if !ok {
		return s, IssueBadTimestamp
	}
	if c.power < 0 {
		return s, IssueBadPower
	}
	p, pok := number(cell(c.power))
	if !pok || p < 0 {
		return s, IssueBadPower
	}
	s.PowerW = p
	s.GPU = cell(c.gpu)
	if s.GPU == "" {
		return s, IssueNoGPU
	}
	opt := func(i int) float64 {
		if v, ok := number(cell(i)); ok {
			return v
		}
		return nan
	}
	s.InstantW = opt(c.instant)
	if c.energy >= 0 {
		s.EnergyJ = energyValue(cell(c.energy), c.energyScale)
	}
	s.TempC, s.SMClockMHz, s.MemClockMHz = opt(c.temp), opt(c.smClk), opt(c.memClk)
	s.UtilGPU, s.UtilMem = opt(c.utilGPU), opt(c.utilMem)
	return s, ""
}

var numberRe = regexp.MustCompile(`^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?`)

// number reads the leading number of a cell ("412.34 W", "87 %", "1980 MHz", "238");
// "[N/A]", "N/A", "[Not Supported]" and empty cells have none.
func number(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	m := numberRe.FindString(s)
	if m == "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(m, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// energyValue reads an energy cell; a unit after the number ("123.4 mJ") overrides the
// header's.
func energyValue(cell string, scale float64) float64 {
	v, ok := number(cell)
	if !ok {
		return math.NaN()
	}
	rest := strings.TrimSpace(numberRe.ReplaceAllString(strings.TrimSpace(cell), ""))
	return v * energyUnit(rest, scale)
}

// ParseTimestamp reads the timestamps the tools print: nvidia-smi's "2025/01/15
// 12:34:56.789" (local time, no zone), ISO 8601 with or without a zone, and Unix epoch
// seconds or milliseconds. precise reports sub-second resolution.
func ParseTimestamp(v string, loc *time.Location) (t float64, precise, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false, false
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(n) && !math.IsInf(n, 0) {
		if n > 1e12 {
			return n / 1000, true, true
		}
		return n, strings.Contains(v, "."), true
	}
	precise = strings.Contains(v, ".")
	for _, layout := range []string{"2006/01/02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		if tm, err := time.ParseInLocation(layout, v, loc); err == nil {
			return unix(tm), precise, true
		}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00"} {
		if tm, err := time.Parse(layout, v); err == nil {
			return unix(tm), precise, true
		}
	}
	return 0, false, false
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// splitCSV splits one CSV line, honouring double quotes (amd-smi quotes cells holding
// commas); nvidia-smi's ", " separators leave spaces that callers trim.
func splitCSV(line string) []string {
	if !strings.Contains(line, `"`) {
		return strings.Split(line, ",")
	}
	var out []string
	var b strings.Builder
	quoted := false
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case ch == '"' && quoted && i+1 < len(line) && line[i+1] == '"':
			b.WriteByte('"')
			i++
		case ch == '"':
			quoted = !quoted
		case ch == ',' && !quoted:
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(ch)
		}
	}
	return append(out, b.String())
}

// FormatHostTime renders a receipt time for the host_time_unix column (microseconds).
func FormatHostTime(t time.Time) string {
	return fmt.Sprintf("%.6f", unix(t))
}

// MissingColumns names the required columns the header lacks, with the reference's reason
// codes (all three when there was no header at all).
func (p *Parsed) MissingColumns() []string {
	if p.Header == nil {
		return []string{"timestamp_column_missing", "power_column_missing", "gpu_identity_column_missing"}
	}
	c := detectColumns(p.Header)
	var out []string
	if c.time < 0 {
		out = append(out, "timestamp_column_missing")
	}
	if c.power < 0 {
		out = append(out, "power_column_missing")
	}
	if c.gpu < 0 {
		out = append(out, "gpu_identity_column_missing")
	}
	return out
}
