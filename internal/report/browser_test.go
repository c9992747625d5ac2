package report

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/testkit"
)

// The browser tests open the report in headless Chromium (Debian's chromium package) and
// read the DOM after the embedded script ran. Without Chromium they skip, unless
// INFERBENCH_INTEGRATION=1 (CI), where a missing browser is a failure.

var chartIDs = []string{"chart-pareto", "chart-tput", "chart-ttft", "chart-tpot", "chart-hw"}

func findChromium(t *testing.T) string {
	t.Helper()
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			p := filepath.Join(dir, name)
			if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return p
			}
		}
	}
	testkit.Integration(t, "chromium", false, "install Debian's chromium package")
	return ""
}

// chromium runs one headless Chromium command with the flags that keep it off the network.
func chromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := execx.OS{}.Run(ctx, execx.Cmd{Name: bin, Args: append(base, args...)})
	require.NoError(t, err, "chromium")
	return res.Stdout
}

func artifactDir(t *testing.T) string {
	if d := os.Getenv("INFERBENCH_ARTIFACTS"); d != "" {
		require.NoError(t, os.MkdirAll(d, 0o755))
		return d
	}
	return t.TempDir()
}

func writeReport(t *testing.T, dir string, in HTMLInput) string {
	t.Helper()
	path := filepath.Join(dir, "report.html")
	var b bytes.Buffer
	require.NoError(t, WriteHTML(&b, in))
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
	return path
}

// dom is the part of a dumped DOM the tests look at.
type dom struct {
	html       string
	chartPts   map[string]int // data-points of each chart's svg
	bodyPoints int            // results shown after filtering
	renderMS   float64
	legend     []string
}

var (
	chartRe  = regexp.MustCompile(`<figure class="chart" id="([a-z-]+)">.*?<svg class="plot"[^>]*data-points="(\d+)"`)
	bodyRe   = regexp.MustCompile(`<body[^>]*data-render-ms="([0-9.]+)"[^>]*data-points="(\d+)"`)
	legendRe = regexp.MustCompile(`<span><i style="background:[^"]+"></i>([^<']+)</span>`)
)

func parseDOM(t *testing.T, html []byte) dom {
	t.Helper()
	d := dom{html: string(html), chartPts: map[string]int{}}
	for _, m := range chartRe.FindAllStringSubmatch(d.html, -1) {
		d.chartPts[m[1]], _ = strconv.Atoi(m[2])
	}
	m := bodyRe.FindStringSubmatch(d.html)
	require.NotNil(t, m, "the report's script did not finish (no data-render-ms on <body>); DOM starts:\n%s", clip(html, 2000))
	d.renderMS, _ = strconv.ParseFloat(m[1], 64)
	d.bodyPoints, _ = strconv.Atoi(m[2])
	for _, l := range legendRe.FindAllStringSubmatch(d.html, -1) {
		d.legend = append(d.legend, l[1])
	}
	return d
}

func loadDOM(t *testing.T, bin, url string) dom {
	t.Helper()
	return parseDOM(t, chromium(t, bin, "--dump-dom", url))
}

func TestBrowserReport(t *testing.T) {
	t.Parallel()
	bin := findChromium(t)
	s := scanFixture(t, "sweep")
	dir := t.TempDir()
	path := writeReport(t, dir, HTMLInput{Records: s.Records, Statuses: s.Statuses, Summary: s.SummaryLine()})
	url := "file://" + path

	all := loadDOM(t, bin, url+"#model=gptoss&seq=1k1k")
	for _, id := range chartIDs {
		assert.NotEqual(t, 0, all.chartPts[id], "chart %s rendered no data points", id)
	}
	circles := strings.Count(all.html, `<circle class="pt"`)
	frontiers := strings.Count(all.html, `<polyline class="frontier"`)
	bars := strings.Count(all.html, `<rect class="bar"`)
	assert.NotEqual(t, 0, circles)
	assert.NotEqual(t, 0, frontiers)
	assert.NotEqual(t, 0, bars)
	// The gptoss 1k1k view holds h100 and h200, trt and vllm, at three concurrencies; the
	// h200 trt tp4 point whose load failed is not a result.
	assert.Equal(t, 12, all.bodyPoints, "unfiltered view")
	assert.Equal(t, 12, all.chartPts["chart-pareto"], "unfiltered view")
	assert.Len(t, all.legend, 4, "unfiltered view")

	// Each filter changes what every chart shows, not only the count.
	for _, tt := range []struct {
		hash   string
		points int
		legend []string
	}{
		{"&hw=h200", 6, []string{"h200-sim · trt", "h200-sim · vllm"}},
		{"&fw=vllm", 6, []string{"h100-sim · vllm", "h200-sim · vllm"}},
		{"&hw=h100&fw=trt", 3, []string{"h100-sim · trt"}},
	} {
		d := loadDOM(t, bin, url+"#model=gptoss&seq=1k1k"+tt.hash)
		assert.Equal(t, tt.points, d.bodyPoints, "%s", tt.hash)
		assert.Equal(t, tt.points, d.chartPts["chart-pareto"], "%s", tt.hash)
		assert.Equal(t, tt.points, d.chartPts["chart-tput"], "%s", tt.hash)
		assert.Equal(t, strings.Join(tt.legend, "|"), strings.Join(d.legend, "|"), "%s legend", tt.hash)
	}
	// The seq-len filter switches to the other workload: the two 1k8k eval rows.
	long := loadDOM(t, bin, url+"#model=gptoss&seq=1k8k")
	assert.Equal(t, 2, long.bodyPoints, "seq=1k8k")
	assert.NotContains(t, long.html, ">1024 / 1024<", "seq=1k8k")

	art := artifactDir(t)
	for name, extra := range map[string][]string{
		"report-light.png": nil,
		"report-dark.png":  {"--force-dark-mode"}, // prefers-color-scheme: dark
	} {
		shot := filepath.Join(art, name)
		args := append([]string{"--hide-scrollbars", "--window-size=1400,1900", "--screenshot=" + shot}, extra...)
		chromium(t, bin, append(args, url+"#model=gptoss&seq=1k1k")...)
		st, err := os.Stat(shot)
		assert.NoError(t, err, "screenshot %s missing or blank", shot)
		assert.GreaterOrEqual(t, st.Size(), int64(10_000), "screenshot %s missing or blank", shot)
	}
	t.Logf("screenshots in %s", art)
}

// TestBrowserLargeReport holds the report to its budget: 5,000 results render in under
// 2 s (measured in the page with performance.now(), from the script's start to the end of
// the first render) and the file stays under 5 MB. Two layouts: results spread over
// models and seq-lens (the default view shows one of them), and all 5,000 in one view.
func TestBrowserLargeReport(t *testing.T) {
	bin := findChromium(t)
	for _, tt := range []struct {
		name     string
		spec     sweepSpec
		wantView int // results in the default view
	}{
		{"spread over 4 models and 3 seq-lens", bigSpec(5000), 560},
		{"all in one view", oneViewSpec(5000), 5000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := specRecords(tt.spec)
			require.NoError(t, err)
			require.Len(t, recs, 5000)
			dir := t.TempDir()
			path := writeReport(t, dir, HTMLInput{Records: recs})
			st, err := os.Stat(path)
			require.NoError(t, err)
			const maxBytes = 5 << 20
			assert.Less(t, st.Size(), int64(maxBytes), "report is %d bytes, budget %d", st.Size(), maxBytes)
			start := time.Now()
			d := loadDOM(t, bin, "file://"+path)
			wall := time.Since(start)
			for _, id := range chartIDs {
				assert.NotEqual(t, 0, d.chartPts[id], "chart %s rendered no data points", id)
			}
			assert.Equal(t, tt.wantView, d.bodyPoints, "default view shows %d results, want %d", d.bodyPoints, tt.wantView)
			t.Logf("5000 results: report %d bytes (%.2f MB); default view %d results drawn in %.1f ms (in-page); chromium start to DOM dump %v",
				st.Size(), float64(st.Size())/(1<<20), d.bodyPoints, d.renderMS, wall.Round(time.Millisecond))
			t.Run("timing", func(t *testing.T) {
				testkit.Stress(t)
				assert.Less(t, d.renderMS, float64(2000), "first render took %.0f ms, budget 2000 ms", d.renderMS)
			})
			shot := filepath.Join(artifactDir(t), "report-5000-"+strings.ReplaceAll(tt.name, " ", "-")+".png")
			chromium(t, bin, "--hide-scrollbars", "--window-size=1400,1900", "--screenshot="+shot, "file://"+path)
		})
	}
}

func clip(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "\n..."
	}
	return string(b)
}
