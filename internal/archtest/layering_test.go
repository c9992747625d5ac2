// Package archtest enforces the import layering of docs/architecture.md#layering: imports point
// down only, the generator never reaches agent-side packages and the agent never reaches
// generator-side ones.
package archtest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/inferbench/inferbench/"

// side separates the two halves of tier 2; packages of different sides never import each other.
type layer struct {
	tier int
	side string // "", "gen" or "agent"
}

var layers = map[string]layer{
	"internal/diag": {0, ""}, "internal/execx": {0, ""}, "internal/sse": {0, ""},
	"internal/stats": {0, ""}, "internal/ghactions": {0, ""}, "internal/rxstamp": {0, ""},
	"internal/procfs": {0, ""}, "internal/pyjson": {0, ""}, "internal/limits": {0, ""},
	"internal/config": {1, ""}, "internal/result": {1, ""}, "internal/telemetry": {1, ""},
	// disagg plans and launches a disaggregated deployment; recipes render into its plan.
	"internal/disagg":  {1, "agent"},
	"internal/migrate": {2, "gen"},
	"internal/matrix":  {2, "gen"}, "internal/changelog": {2, "gen"},
	"internal/recipe": {2, "agent"}, "internal/inventory": {2, "agent"},
	"internal/engine": {2, "agent"}, "internal/readiness": {2, "agent"},
	"internal/loadgen": {2, "agent"}, "internal/sim": {2, "agent"},
	"internal/report": {2, "agent"}, "internal/eval": {2, "agent"}, "internal/energy": {2, "agent"},
	// engine backends implement the engine interface: one step above it.
	"internal/engine/docker": {3, "agent"}, "internal/engine/local": {3, "agent"},
	"internal/engine/slurm": {3, "agent"},
	// rowrun runs one matrix row from the agent-side packages.
	"internal/rowrun": {4, "agent"},
	// plan works out a sweep's launches and cost through rowrun's own planning.
	"internal/plan": {5, "agent"},
	"generator":     {9, "gen"}, "agent": {9, "agent"},
}

// testOnly packages exist for tests; they may import anything but nothing may import them.
var testOnly = []string{"internal/archtest", "internal/workflowtest", "internal/testkit", "test/"}

func isTestOnly(p string) bool {
	for _, t := range testOnly {
		if p == strings.TrimSuffix(t, "/") || strings.HasPrefix(p, t) {
			return true
		}
	}
	return false
}

type pkg struct {
	ImportPath string
	Imports    []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"...").Output()
	require.NoError(t, err, "go list")
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for dec.More() {
		var p pkg
		require.NoError(t, dec.Decode(&p))
		p.ImportPath = strings.TrimPrefix(p.ImportPath, module)
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestLayering(t *testing.T) {
	t.Parallel()
	pkgs := listPackages(t)
	require.GreaterOrEqual(t, len(pkgs), 10, "go list found only %d packages", len(pkgs))
	for _, p := range pkgs {
		if isTestOnly(p.ImportPath) {
			continue
		}
		from, ok := layers[p.ImportPath]
		if !assert.True(t, ok, "package %s has no layer: add it to the table here and to docs/architecture.md#layering", p.ImportPath) {
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			imp = strings.TrimPrefix(imp, module)
			assert.Empty(t, check(from, imp), "%s imports %s", p.ImportPath, imp)
		}
	}
}

func check(from layer, imp string) string {
	if isTestOnly(imp) {
		return "test-only package imported by product code"
	}
	to, ok := layers[imp]
	if !ok {
		return "imported package has no layer"
	}
	if to.tier >= from.tier {
		return "imports must point down a tier"
	}
	if from.side != "" && to.side != "" && from.side != to.side {
		return "generator-side and agent-side packages must not import each other"
	}
	return ""
}

// TestCheckCanFail guards the checker itself.
func TestCheckCanFail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		from layer
		imp  string
		bad  bool
	}{
		{layers["agent"], "internal/matrix", true},
		{layers["generator"], "internal/loadgen", true},
		{layers["internal/result"], "internal/config", true},
		{layers["internal/diag"], "internal/result", true},
		{layers["internal/rowrun"], "internal/loadgen", false},
		{layers["internal/config"], "internal/diag", false},
		{layers["agent"], "internal/workflowtest", true},
	} {
		assert.Equal(t, tc.bad, check(tc.from, tc.imp) != "", "check(%v, %s) flagged", tc.from, tc.imp)
	}
}

// TestOnlyExecxRunsProcesses keeps process execution behind internal/execx, so every
// other package can be tested with its fake.
func TestOnlyExecxRunsProcesses(t *testing.T) {
	t.Parallel()
	for _, p := range listPackages(t) {
		if p.ImportPath == "internal/execx" || isTestOnly(p.ImportPath) {
			continue
		}
		for _, imp := range p.Imports {
			assert.NotEqual(t, "os/exec", imp, "%s imports os/exec: go through internal/execx", p.ImportPath)
		}
	}
}
