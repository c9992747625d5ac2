package report

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestWriteHTMLEmbedsDataSafely(t *testing.T) {
	evil := rec("b200", "sglang", "fp8", "dsr1", 1024, 1024, 8, 4, 10)
	evil.Model = `</script><script>alert(1)</script>`
	evil.Metrics = map[string]float64{"median_ttft": 0.05, "median_tpot": 0.02, "median_intvty": 50, "median_e2el": 20}
	var b bytes.Buffer
	err := WriteHTML(&b, HTMLInput{Records: []Record{evil}, Problems: []Problem{{Path: "x/<b>.json", Msg: "bad <i>"}}})
	if err != nil {
		t.Fatal(err)
	}
	html := b.String()
	if strings.Contains(html, "<script>alert(1)") || strings.Contains(html, "<b>.json") {
		t.Error("labels reach the page unescaped")
	}
	m := regexp.MustCompile(`(?s)<script type="application/json" id="report-data">(.*?)</script>`).FindStringSubmatch(html)
	if m == nil {
		t.Fatal("no embedded data")
	}
	var data struct {
		Cols []string            `json:"cols"`
		Dims map[string][]string `json:"dims"`
		Rows [][]any             `json:"rows"`
	}
	if err := json.Unmarshal([]byte(m[1]), &data); err != nil {
		t.Fatalf("embedded data is not JSON: %v", err)
	}
	if len(data.Rows) != 1 || len(data.Rows[0]) != len(data.Cols) || data.Dims["served"][0] != evil.Model {
		t.Errorf("data = %+v", data)
	}
	// Absent statistics are null, never 0 (a zero TTFT would be a lie on a chart).
	col := map[string]int{}
	for i, c := range data.Cols {
		col[c] = i
	}
	if data.Rows[0][col["ttft99"]] != nil || data.Rows[0][col["tpot"]] != 20.0 {
		t.Errorf("ttft99 %v tpot %v", data.Rows[0][col["ttft99"]], data.Rows[0][col["tpot"]])
	}
}

func TestRound5(t *testing.T) {
	for _, tt := range []struct {
		in   float64
		want any
	}{{1234.5678, 1234.6}, {0.000123456, 0.00012346}, {100, 100.0}} {
		if got := round5(tt.in); got != tt.want {
			t.Errorf("round5(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestWriteMarkdownEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "No benchmark results") {
		t.Errorf("got %q", b.String())
	}
}

func TestTableEscapesPipes(t *testing.T) {
	tb := newTable("a", "b").alignRight(1)
	tb.add("x|y", "1")
	var b strings.Builder
	if err := tb.write(&b); err != nil {
		t.Fatal(err)
	}
	want := "| a    | b |\n|------|---|\n| x\\|y | 1 |\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// BenchmarkWriteHTML5000 is the Go side of the 5,000-result budget (the browser side is
// TestBrowserLargeReport): building the page, data included.
func BenchmarkWriteHTML5000(b *testing.B) {
	recs, err := specRecords(bigSpec(5000))
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := WriteHTML(&buf, HTMLInput{Records: recs}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/report")
}
