package workflowtest

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/rhysd/actionlint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestStandInsCoverWorkflowInputs: every pinned action the workflows use has an act
// stand-in, the stand-in is valid YAML, and it declares every input the workflows pass,
// so that the act run exercises the same `with:` the real action gets.
func TestStandInsCoverWorkflowInputs(t *testing.T) {
	t.Parallel()
	used := map[string]map[string]bool{} // uses -> input names
	for _, w := range parseWorkflows(t) {
		for _, job := range w.wf.Jobs {
			for _, s := range job.Steps {
				a, ok := s.Exec.(*actionlint.ExecAction)
				if !ok || a.Uses.Value[0] == '.' {
					continue
				}
				if used[a.Uses.Value] == nil {
					used[a.Uses.Value] = map[string]bool{}
				}
				for name := range a.Inputs {
					used[a.Uses.Value][name] = true
				}
			}
		}
	}
	for uses, inputs := range used {
		dir, ok := actStandIns[uses]
		if !assert.True(t, ok, "%s has no act stand-in in actStandIns; the act tests cannot run it", uses) {
			continue
		}
		declared := standInInputs(t, filepath.Join("testdata", "actions", dir, "action.yml"))
		for name := range inputs {
			assert.True(t, declared[name], "stand-in %s lacks input %q that the workflows pass to %s", dir, name, uses)
		}
	}
	var unused []string
	for uses := range actStandIns {
		if used[uses] == nil {
			unused = append(unused, uses)
		}
	}
	sort.Strings(unused)
	assert.Empty(t, unused, "stand-ins for actions no workflow uses (a pin changed?)")
}

func standInInputs(t *testing.T, path string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var md struct {
		Inputs map[string]any `yaml:"inputs"`
		Runs   struct {
			Using string `yaml:"using"`
		} `yaml:"runs"`
	}
	require.NoError(t, yaml.Unmarshal(data, &md), "%s", path)
	assert.Equal(t, "composite", md.Runs.Using, "%s: runs.using = %q, want composite (act runs it on the host)", path, md.Runs.Using)
	out := map[string]bool{}
	for k := range md.Inputs {
		out[k] = true
	}
	return out
}
