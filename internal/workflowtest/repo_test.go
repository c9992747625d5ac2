package workflowtest

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/rhysd/actionlint"
	"github.com/stretchr/testify/require"
)

// repoRoot is the module root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err, "module root not found at %s", root)
	return root
}

// workflowFiles lists .github/workflows/*.yml, sorted.
func workflowFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(t), ".github", "workflows", "*.yml"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no workflows in .github/workflows")
	sort.Strings(files)
	return files
}

// parsedWorkflow is one workflow file, parsed by actionlint.
type parsedWorkflow struct {
	path string
	name string // base name, e.g. benchmark.yml
	src  []byte
	wf   *actionlint.Workflow
}

func parseWorkflows(t *testing.T) []parsedWorkflow {
	t.Helper()
	var out []parsedWorkflow
	for _, f := range workflowFiles(t) {
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		wf, errs := actionlint.Parse(src)
		require.Empty(t, errs, "%s", f)
		out = append(out, parsedWorkflow{path: f, name: filepath.Base(f), src: src, wf: wf})
	}
	return out
}
