package report

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The report must stay readable in light and dark mode: its colours come from CSS custom
// properties that a prefers-color-scheme: dark block overrides, and the series palette is
// shared by both. These tests hold them to WCAG 2.1 contrast ratios: 4.5:1 for text
// (1.4.3) and 3:1 for chart marks and axes (1.4.11), against the page and the chart panel.

var (
	cssVarRe  = regexp.MustCompile(`--([a-z]+):\s*(#[0-9a-fA-F]{6})`)
	paletteRe = regexp.MustCompile(`(?s)var PALETTE = \[(.*?)\]`)
	hexRe     = regexp.MustCompile(`#[0-9a-fA-F]{6}`)
)

// themes returns the light (:root) and dark (@media prefers-color-scheme: dark) colours.
func themes(t *testing.T) (light, dark map[string]string) {
	t.Helper()
	i := strings.Index(pageCSS, "@media (prefers-color-scheme: dark)")
	require.GreaterOrEqual(t, i, 0, "report.css has no prefers-color-scheme: dark block")
	end := strings.Index(pageCSS[i:], "\n}\n")
	require.GreaterOrEqual(t, end, 0, "cannot find the end of the dark block")
	parse := func(s string) map[string]string {
		m := map[string]string{}
		for _, v := range cssVarRe.FindAllStringSubmatch(s, -1) {
			m[v[1]] = v[2]
		}
		return m
	}
	return parse(pageCSS[:i]), parse(pageCSS[i : i+end])
}

func luminance(hex string) float64 {
	var c [3]float64
	for i := range c {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		x := float64(v) / 255
		if x <= 0.03928 {
			c[i] = x / 12.92
		} else {
			c[i] = math.Pow((x+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
}

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

func TestContrastHelper(t *testing.T) {
	t.Parallel()
	assert.InDelta(t, 21, contrast("#000000", "#ffffff"), 1e-9, "black on white")
	assert.Equal(t, float64(1), contrast("#777777", "#777777"), "same colour")
}

func TestReportReadableInLightAndDarkMode(t *testing.T) {
	t.Parallel()
	light, dark := themes(t)
	m := paletteRe.FindStringSubmatch(pageJS)
	require.NotNil(t, m, "report.js has no PALETTE")
	palette := hexRe.FindAllString(m[1], -1)
	require.GreaterOrEqual(t, len(palette), 8, "palette has %d colours", len(palette))
	for name, th := range map[string]map[string]string{"light": light, "dark": dark} {
		for _, bg := range []string{"bg", "panel"} {
			back := th[bg]
			require.NotEmpty(t, back, "%s mode defines no --%s", name, bg)
			for _, fg := range []string{"fg", "muted", "accent", "bad", "good"} {
				c := contrast(th[fg], back)
				assert.NotEmpty(t, th[fg], "%s mode: text", name)
				assert.GreaterOrEqual(t, c, 4.5, "%s mode: text", name)
			}
			assert.GreaterOrEqual(t, contrast(th["axis"], back), float64(3), "%s mode: --axis", name)
			for _, p := range palette {
				c := contrast(p, back)
				assert.GreaterOrEqual(t, c, float64(3), "%s mode: series colour %s on --%s %s has contrast %.2f, want >= 3", name, p, bg, back, c)
			}
		}
	}
	// the dark block must really change the page, not repeat the light colours
	assert.NotEqual(t, dark["bg"], light["bg"], "dark mode keeps the light colours")
	assert.NotEqual(t, dark["fg"], light["fg"], "dark mode keeps the light colours")
}

// Chart text and lines take their colour from the theme; a hard-coded colour in the SVG
// would vanish in one of the modes.
func TestChartTextUsesThemeColours(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{`fill="#000`, `fill="black"`, `fill="#fff`, `fill="white"`, `stroke="#000`, `stroke="black"`} {
		assert.NotContains(t, pageJS, bad, "report.js hard-codes")
	}
	for _, rule := range []string{"svg.plot text { fill: var(--muted)", "svg.plot .title { fill: var(--fg)", "svg.plot .axis { stroke: var(--axis)"} {
		assert.Contains(t, pageCSS, rule, "report.css")
	}
}
