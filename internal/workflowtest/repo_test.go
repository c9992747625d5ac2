package workflowtest

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/rhysd/actionlint"
)

// repoRoot is the module root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	return root
}

// workflowFiles lists .github/workflows/*.yml, sorted.
func workflowFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(t), ".github", "workflows", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no workflows in .github/workflows")
	}
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
		if err != nil {
			t.Fatal(err)
		}
		wf, errs := actionlint.Parse(src)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", f, errs[0])
		}
		out = append(out, parsedWorkflow{path: f, name: filepath.Base(f), src: src, wf: wf})
	}
	return out
}
