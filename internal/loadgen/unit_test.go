package loadgen

import (
	"bufio"
	"encoding/json"
	"io"
	"maps"
	"math"
	"net"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDataset(t *testing.T) {
	cfg := DefaultConfig()
	cfg.InputLen, cfg.OutputLen, cfg.NumPrompts, cfg.PrefixLen, cfg.Seed = 100, 50, 500, 3, 7
	d := NewDataset(cfg)
	again := NewDataset(cfg)
	var sumIn float64
	for i, p := range d.Prompts {
		if p.InputLen < 80 || p.InputLen > 100 || p.OutputLen < 40 || p.OutputLen > 50 || p.PromptLen != p.InputLen+3 {
			t.Fatalf("prompt %d lengths %+v outside [floor(L*0.8), L]", i, p)
		}
		if p != again.Prompts[i] {
			t.Fatalf("prompt %d differs between runs with one seed", i)
		}
		sumIn += float64(p.InputLen)
	}
	if mean := sumIn / 500; math.Abs(mean-90) > 1.5 {
		t.Errorf("mean input length %.1f, want about 90", mean)
	}
	cfg.Seed = 8
	if other := NewDataset(cfg); other.Prompts[0] == d.Prompts[0] && other.Prompts[1] == d.Prompts[1] {
		t.Error("another seed gave the same prompts")
	}
	var ids []int
	if err := json.Unmarshal(d.appendIDs(nil, &d.Prompts[5]), &ids); err != nil || len(ids) != d.Prompts[5].PromptLen {
		t.Fatalf("ids %v (%v), want %d ids", ids, err, d.Prompts[5].PromptLen)
	}
	for _, id := range ids {
		if id < idBase || id >= cfg.VocabSize {
			t.Fatalf("id %d outside [%d, %d)", id, idBase, cfg.VocabSize)
		}
	}
	var text string
	if err := json.Unmarshal(d.appendText(nil, &d.Prompts[5]), &text); err != nil || len(strings.Fields(text)) != d.Prompts[5].PromptLen {
		t.Fatalf("text %q (%v), want %d words", text, err, d.Prompts[5].PromptLen)
	}
	cfg.RangeRatio = 1
	for _, p := range NewDataset(cfg).Prompts {
		if p.InputLen != 100 || p.OutputLen != 50 {
			t.Fatalf("ratio 1 gave %+v", p)
		}
	}
	// Every prompt starts with the same shared prefix.
	var first, other []int
	json.Unmarshal(d.appendIDs(nil, &d.Prompts[0]), &first)
	json.Unmarshal(d.appendIDs(nil, &d.Prompts[1]), &other)
	if len(d.Prefix) != 3 || !slices.Equal(first[:3], d.Prefix) || !slices.Equal(other[:3], d.Prefix) || slices.Equal(first[3:6], other[3:6]) {
		t.Errorf("prefix %v: prompts start %v and %v, want the shared prefix then different ids", d.Prefix, first[:6], other[:6])
	}
}

// TestDatasetBounds: lengths are uniform over [floor(L*r), L], both ends included (the
// reference's np.random.randint(lo, hi+1)), for a non-integer L*r too.
func TestDatasetBounds(t *testing.T) {
	cfg := DefaultConfig()
	cfg.InputLen, cfg.OutputLen, cfg.RangeRatio, cfg.NumPrompts = 1024, 10, 0.8, 20000 // floor(819.2) = 819, floor(8) = 8
	d := NewDataset(cfg)
	inSeen, outSeen := map[int]int{}, map[int]int{}
	for _, p := range d.Prompts {
		inSeen[p.InputLen]++
		outSeen[p.OutputLen]++
	}
	if lo, hi := slices.Min(slices.Collect(maps.Keys(inSeen))), slices.Max(slices.Collect(maps.Keys(inSeen))); lo != 819 || hi != 1024 {
		t.Errorf("input lengths span [%d, %d], want [819, 1024]", lo, hi)
	}
	if len(outSeen) != 3 { // 8, 9, 10, about a third each
		t.Fatalf("output lengths %v, want 8, 9 and 10", outSeen)
	}
	for l, n := range outSeen {
		if l < 8 || l > 10 || math.Abs(float64(n)/20000-1.0/3) > 0.02 {
			t.Errorf("output length %d drawn %d times of 20000, want about a third", l, n)
		}
	}
}

// TestArrivals checks the reference's arrival process: gaps are Gamma(shape=b,
// scale=1/(rate*b)), so their mean is 1/rate and their variance 1/(rate^2*b) (b=1:
// exponential, Poisson arrivals; b<1 burstier, b>1 more regular), and a seed gives the
// same times every run.
func TestArrivals(t *testing.T) {
	if a := arrivals(5, math.Inf(1), 1, 0); a[4] != 0 {
		t.Errorf("infinite rate should send at once: %v", a)
	}
	const n, rate = 40000, 100.0
	for _, b := range []float64{0.25, 0.5, 1, 4} {
		a := arrivals(n+1, rate, b, 1)
		if a[0] != 0 {
			t.Errorf("burstiness %v: first arrival at %v, want 0", b, a[0])
		}
		gaps := make([]float64, n)
		var sum float64
		for i := range gaps {
			gaps[i] = (a[i+1] - a[i]).Seconds()
			sum += gaps[i]
		}
		mean := sum / n
		var ss float64
		below := 0
		for _, g := range gaps {
			ss += (g - mean) * (g - mean)
			if g < 1/rate {
				below++
			}
		}
		variance := ss / n
		wantVar := 1 / (rate * rate * b)
		if math.Abs(mean-1/rate)/(1/rate) > 0.03 {
			t.Errorf("burstiness %v: mean gap %.5f s, want %.5f", b, mean, 1/rate)
		}
		if math.Abs(variance-wantVar)/wantVar > 0.1 {
			t.Errorf("burstiness %v: gap variance %.3g s², want %.3g (1/(rate²·b))", b, variance, wantVar)
		}
		if b == 1 { // exponential: P(gap < mean) = 1 - 1/e
			if f := float64(below) / n; math.Abs(f-(1-1/math.E)) > 0.01 {
				t.Errorf("Poisson arrivals: %.3f of gaps below the mean, want %.3f", f, 1-1/math.E)
			}
		}
		if again := arrivals(n+1, rate, b, 1); again[n] != a[n] {
			t.Errorf("burstiness %v: the same seed gave another schedule", b)
		}
		if other := arrivals(n+1, rate, b, 2); other[n] == a[n] {
			t.Errorf("burstiness %v: another seed gave the same schedule", b)
		}
	}
}

func TestScanChunk(t *testing.T) {
	tests := []struct {
		in          string
		choices     bool
		usage       bool
		completion  int
		prompt      int
		errContains string
	}{
		{`{"id":"x","choices":[{"index":0,"text":" hi","finish_reason":null}],"usage":null}`, true, false, 0, 0, ""},
		{`{"choices":[{"text":"a \"usage\": {\"completion_tokens\": 9}"}],"usage":{"prompt_tokens":5,"total_tokens":8,"completion_tokens":3}}`, true, true, 3, 5, ""},
		{`{"id":"x","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":40}}`, false, true, 40, 12, ""},
		{`{"choices": [ ], "usage": { "completion_tokens" : 7 }}`, false, true, 7, 0, ""},
		{`{"choices":[{"delta":{"role":"assistant"}}]}`, true, false, 0, 0, ""},
		{`{"error":{"object":"error","message":"out of memory","code":500}}`, false, false, 0, 0, "out of memory"},
		{`{"object":"error","message":"bad \"thing\"","code":400}`, false, false, 0, 0, `bad \"thing\"`},
	}
	for _, tc := range tests {
		ci := scanChunk([]byte(tc.in))
		if ci.choices != tc.choices || ci.usage != tc.usage || ci.completionTokens != tc.completion || ci.promptTokens != tc.prompt ||
			(tc.errContains == "") != (ci.errMsg == nil) || !strings.Contains(string(ci.errMsg), tc.errContains) {
			t.Errorf("scanChunk(%s) = %+v (err %q)", tc.in, ci, ci.errMsg)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cfg := Config{Endpoint: EndpointChat, DatasetMode: DatasetTokenIDs, RangeRatio: 2, Burstiness: 0, Percentiles: []float64{100}}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"base URL", "model", "input length", "range ratio", "token-ids", "vocab", "prompts", "request rate", "burstiness", "percentile 100"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors do not mention %q:\n%v", want, err)
		}
	}
	good := DefaultConfig()
	good.BaseURL, good.Model, good.InputLen, good.OutputLen, good.MaxConcurrency, good.NumWarmups = "http://127.0.0.1:1", "m", 1, 1, 4, -1
	good.Normalize()
	if err := good.Validate(); err != nil || good.NumPrompts != 40 || good.NumWarmups != 8 || good.DatasetMode != DatasetTokenIDs {
		t.Errorf("defaults: %v, prompts %d warmups %d mode %s", err, good.NumPrompts, good.NumWarmups, good.DatasetMode)
	}
}

// rawServer answers each request on a connection with the canned responses in turn, then
// closes the connection; it returns the base URL.
func rawServer(t *testing.T, responses ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for _, resp := range responses {
					if !readRequest(br) {
						return
					}
					io.WriteString(c, resp)
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// readRequest consumes one request with a Content-Length body.
func readRequest(br *bufio.Reader) bool {
	n := 0
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return false
		}
		l = strings.TrimSpace(l)
		if l == "" {
			break
		}
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, "content-length") {
			n = atoi(strings.TrimSpace(v))
		}
	}
	_, err := io.CopyN(io.Discard, br, int64(n))
	return err == nil
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

const usageChunk = `data: {"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":2}}`

func TestHTTPFraming(t *testing.T) {
	chunked := "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
		chunk(`data: {"choices":[{"text":"a"}],"usage":null}`+"\n\n") +
		"5;ext=1\r\ndata:\r\n" + chunk(` {"choices":[{"text":"b"}]}`+"\n\n"+usageChunk+"\n\ndata: [DONE]\n\n") + "0\r\nX-Trailer: 1\r\n\r\n"
	body := `data: {"choices":[{"text":"a"}]}` + "\n\n" + `data: {"choices":[{"text":"b"}]}` + "\n\n" + usageChunk + "\n\ndata: [DONE]\n\n"
	length := "HTTP/1.1 200 OK\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body
	closeDelimited := "HTTP/1.0 200 OK\r\n\r\n" + body
	errorResp := "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 7\r\n\r\nloading"
	tests := []struct {
		name      string
		responses []string
		wantErr   string
	}{
		{"chunked with extensions and trailers, kept alive", []string{chunked, chunked}, ""},
		{"content-length", []string{length, length}, ""},
		{"close-delimited", []string{closeDelimited}, ""},
		{"interim 100 Continue", []string{"HTTP/1.1 100 Continue\r\n\r\n" + length}, ""},
		{"error status", []string{errorResp}, "HTTP 503 Service Unavailable: loading"},
		{"garbage", []string{"SSH-2.0-OpenSSH\r\n\r\n"}, "malformed HTTP status line"},
		{"truncated chunk", []string{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nff\r\ndata: {"}, "unexpected EOF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := rawServer(t, tc.responses...)
			cfg := DefaultConfig()
			cfg.BaseURL, cfg.Model, cfg.InputLen, cfg.OutputLen, cfg.NumPrompts, cfg.MaxConcurrency = url, "m", 4, 2, len(tc.responses)*2, 1
			cfg.RangeRatio, cfg.MaxFailureRate = 1, 1
			out, err := Run(t.Context(), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			r := out.Records[0]
			if tc.wantErr != "" {
				if !strings.Contains(r.Error, tc.wantErr) {
					t.Fatalf("error %q, want %q", r.Error, tc.wantErr)
				}
				return
			}
			// Every response is answered, including after the server closes a connection
			// (the next request redials).
			for _, r := range out.Records {
				if !r.OK() || len(r.Chunks) != 2 || r.OutputTokens != 2 || r.ServerPromptTokens != 4 {
					t.Fatalf("record %+v", r)
				}
			}
		})
	}
}

func chunk(s string) string { return strings.ToUpper(itoaBase(len(s), 16)) + "\r\n" + s + "\r\n" }

func itoa(n int) string { return itoaBase(n, 10) }

func itoaBase(n, base int) string {
	const digits = "0123456789abcdef"
	if n < base {
		return digits[n : n+1]
	}
	return itoaBase(n/base, base) + digits[n%base:n%base+1]
}

func TestStaleKeepAliveIsRetried(t *testing.T) {
	// The server answers one request per connection and closes it without
	// "Connection: close": the next request on that connection must redial, not fail.
	body := `data: {"choices":[{"text":"a","finish_reason":"length"}]}` + "\n\n" + usageChunk + "\n\n"
	url := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: "+itoa(len(body))+"\r\n\r\n"+body)
	cfg := DefaultConfig()
	cfg.BaseURL, cfg.Model, cfg.InputLen, cfg.OutputLen, cfg.NumPrompts, cfg.MaxConcurrency, cfg.RangeRatio = url, "m", 4, 1, 5, 1, 1
	out, err := Run(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Metrics.Failed != 0 {
		t.Fatalf("failed %d: %v", out.Metrics.Failed, out.Metrics.Errors)
	}
}

// TestFailureRule: the run fails above 5 % failed requests (the reference's later rule),
// not at exactly 5 %, and when nothing completed.
func TestFailureRule(t *testing.T) {
	for _, tc := range []struct {
		prompts, completed int
		want               bool
	}{{20, 20, false}, {20, 19, false}, {20, 18, true}, {1000, 949, true}, {1000, 950, false}, {0, 0, true}} {
		o := Outcome{Config: Config{NumPrompts: tc.prompts, MaxFailureRate: 0.05}, Metrics: Metrics{Completed: tc.completed}}
		if got := o.Failed(); got != tc.want {
			t.Errorf("%d of %d completed: Failed() = %v, want %v", tc.completed, tc.prompts, got, tc.want)
		}
	}
}

// TestClientBehind: the result says when the client itself limited the run: late sends
// after the first wave, late reads, or a saturated CPU. The first wave's burst is not held
// against it.
func TestClientBehind(t *testing.T) {
	const ms = time.Millisecond
	rec := func(eligible, sent, readLag time.Duration) Record {
		return Record{Status: 200, Eligible: eligible, Sent: sent, ReadLag: readLag, MaxTokens: 2, OutputTokens: 2,
			Chunks: []Chunk{{At: sent + 10*ms, Tokens: 1}, {At: sent + 20*ms, Tokens: 1}}}
	}
	tests := []struct {
		name    string
		recs    func() []Record
		cpu     time.Duration
		want    bool
		because string
	}{
		{"in time", func() []Record {
			var r []Record
			for i := range 8 {
				r = append(r, rec(time.Duration(i)*ms, time.Duration(i)*ms+ms/10, ms))
			}
			return r
		}, 0, false, ""},
		{"first wave burst only", func() []Record {
			var r []Record
			for i := range 8 {
				lag := ms / 10
				if i < 4 { // concurrency 4: the first wave
					lag = time.Duration(i) * 20 * ms
				}
				r = append(r, rec(ms, ms+lag, ms))
			}
			return r
		}, 0, false, ""},
		{"late sends after the first wave", func() []Record {
			var r []Record
			for range 8 {
				r = append(r, rec(ms, 30*ms, ms))
			}
			return r
		}, 0, true, "send lag"},
		{"late reads", func() []Record {
			var r []Record
			for range 8 {
				r = append(r, rec(ms, ms, 50*ms))
			}
			return r
		}, 0, true, "read lag"},
		{"saturated CPU", func() []Record {
			return []Record{rec(ms, ms, ms)}
		}, time.Duration(runtime.GOMAXPROCS(0)) * time.Second, true, "cores"}, // every core busy for the whole run
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.MaxConcurrency = 4
			m := Aggregate(&cfg, tc.recs(), time.Second, tc.cpu)
			if m.ClientBehind != tc.want || !strings.Contains(strings.Join(m.BehindReasons, "\n"), tc.because) {
				t.Errorf("behind %v %q, want %v because of %q", m.ClientBehind, m.BehindReasons, tc.want, tc.because)
			}
			if tc.want && !slices.Contains(m.Warnings(), m.BehindReasons[0]) {
				t.Errorf("warnings %q lack the reason", m.Warnings())
			}
		})
	}
}
