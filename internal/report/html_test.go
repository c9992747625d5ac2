package report

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteHTMLEmbedsDataSafely(t *testing.T) {
	t.Parallel()
	evil := rec("b200", "sglang", "fp8", "dsr1", 1024, 1024, 8, 4, 10)
	evil.Model = `</script><script>alert(1)</script>`
	evil.Metrics = map[string]float64{"median_ttft": 0.05, "median_tpot": 0.02, "median_intvty": 50, "median_e2el": 20}
	var b bytes.Buffer
	err := WriteHTML(&b, HTMLInput{Records: []Record{evil}, Problems: []Problem{{Path: "x/<b>.json", Msg: "bad <i>"}}})
	require.NoError(t, err)
	html := b.String()
	assert.NotContains(t, html, "<script>alert(1)", "labels reach the page unescaped")
	assert.NotContains(t, html, "<b>.json", "labels reach the page unescaped")
	m := regexp.MustCompile(`(?s)<script type="application/json" id="report-data">(.*?)</script>`).FindStringSubmatch(html)
	require.NotNil(t, m, "no embedded data")
	var data struct {
		Cols []string            `json:"cols"`
		Dims map[string][]string `json:"dims"`
		Rows [][]any             `json:"rows"`
	}
	require.NoError(t, json.Unmarshal([]byte(m[1]), &data), "embedded data is not JSON")
	require.Len(t, data.Rows, 1)
	assert.Len(t, data.Rows[0], len(data.Cols))
	assert.Equal(t, evil.Model, data.Dims["served"][0])
	// Absent statistics are null, never 0 (a zero TTFT would be a lie on a chart).
	col := map[string]int{}
	for i, c := range data.Cols {
		col[c] = i
	}
	assert.Nil(t, data.Rows[0][col["ttft99"]])
	assert.Equal(t, 20.0, data.Rows[0][col["tpot"]])
}

func TestRound5(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   float64
		want any
	}{{1234.5678, 1234.6}, {0.000123456, 0.00012346}, {100, 100.0}} {
		assert.Equal(t, tt.want, round5(tt.in), "round5(%v)", tt.in)
	}
}

func TestWriteMarkdownEmpty(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	require.NoError(t, WriteMarkdown(&b, nil))
	assert.Contains(t, b.String(), "No benchmark results")
}

func TestTableEscapesPipes(t *testing.T) {
	t.Parallel()
	tb := newTable("a", "b").alignRight(1)
	tb.add("x|y", "1")
	var b strings.Builder
	require.NoError(t, tb.write(&b))
	want := "| a    | b |\n|------|---|\n| x\\|y | 1 |\n"
	assert.Equal(t, want, b.String())
}

// BenchmarkWriteHTML5000 is the Go side of the 5,000-result budget (the browser side is
// TestBrowserLargeReport): building the page, data included.
func BenchmarkWriteHTML5000(b *testing.B) {
	recs, err := specRecords(bigSpec(5000))
	require.NoError(b, err)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		require.NoError(b, WriteHTML(&buf, HTMLInput{Records: recs}))
	}
	b.ReportMetric(float64(buf.Len()), "bytes/report")
}
