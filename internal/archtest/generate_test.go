package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/testkit"
)

// TestGoGenerateRunsExistingTests: a `//go:generate go test -run X` line whose X matches no
// test of its package runs nothing and says nothing, so a renamed test silently stops a
// regeneration. Every such pattern must match a test function beside it.
func TestGoGenerateRunsExistingTests(t *testing.T) {
	t.Parallel()
	root := testkit.RepoRoot(t)
	runFlag := regexp.MustCompile(`-run[= ]+(\S+)`)
	n := 0
	require.NoError(t, filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(line, "//go:generate go test") {
				continue
			}
			m := runFlag.FindStringSubmatch(line)
			if !assert.NotNil(t, m, "%s:%d: go:generate runs go test without -run", path, i+1) {
				continue
			}
			n++
			pattern := regexp.MustCompile(m[1])
			assert.True(t, anyTest(t, filepath.Dir(path), pattern.MatchString),
				"%s:%d: no test function in %s matches -run %s", path, i+1, filepath.Dir(path), m[1])
		}
		return nil
	}))
	assert.NotZero(t, n, "no go:generate go test lines found: is the walk looking in the right place?")
}

// anyTest reports whether a Test function of the package in dir satisfies match.
func anyTest(t *testing.T, dir string, match func(string) bool) bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	require.NoError(t, err)
	fset := token.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, decl := range file.Decls {
			if fd, ok := decl.(*ast.FuncDecl); ok && fd.Recv == nil && strings.HasPrefix(fd.Name.Name, "Test") && match(fd.Name.Name) {
				return true
			}
		}
	}
	return false
}
