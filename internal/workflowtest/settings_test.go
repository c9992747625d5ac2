package workflowtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 14 item 10: the fork-PR guard lives in workflow files, which a fork's pull request
// runs in its own version; what actually keeps forks off the GPU runners and away from
// secrets are repository settings, and the README must say which.
func TestHostile10ReadmeStatesRepositorySettings(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	_, section, found := strings.Cut(string(readme), "### Repository settings the workflows' security relies on")
	require.True(t, found, "README.md has a section on the repository settings")
	section, _, _ = strings.Cut(section, "\n## ")
	for _, setting := range []string{
		"Require approval for all outside collaborators",
		"runner group restricted to this repository",
		"`sweep-enabled`",
		"Secrets are not passed to fork pull requests",
		"Environments",
		"docs/workflows.md#repository-settings",
	} {
		assert.Contains(t, section, setting)
	}
	workflows, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "workflows.md"))
	require.NoError(t, err)
	assert.Contains(t, string(workflows), `<a id="repository-settings"></a>`, "the README's link target exists")
}
