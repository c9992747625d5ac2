package changelog

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/config"
)

// Issue 14 item 12: a changelog path that names no file diffed as empty and read as "No
// additions found", so a mistyped --changelog-file passed the PR gate and ran nothing.
func TestHostile12MissingChangelogFileIsAnError(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	one := entry(1, false, "dsr1-fp8-h200-sglang")
	r.commit("base", map[string]string{"perf-changelog.yaml": one, "docs/notes.md": "x\n"})
	r.commit("head", map[string]string{"perf-changelog.yaml": one + entry(2, false, "dsr1-fp8-mi300x-sglang")})
	for _, tc := range []struct{ name, file, want string }{
		{"a mistyped name", "perf-changelog.yml", "changelog file 'perf-changelog.yml' does not exist at HEAD"},
		{"a directory", "docs", "changelog file 'docs' does not exist at HEAD"},
		{"a path in a directory that is not there", "ci/perf-changelog.yaml", "does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Process(context.Background(), Request{Git: r.gitter(), BaseRef: "HEAD~1", HeadRef: "HEAD", File: tc.file, Keys: testKeys, Expand: (&fakeExpand{}).expand})
			require.Error(t, err)
			assert.False(t, errors.Is(err, ErrNoAdditions), "not 'No additions found': %v", err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	// A file that exists but gained nothing still reads as no additions, as the reference's.
	r.commit("unrelated", map[string]string{"docs/notes.md": "y\n"})
	_, err := Process(context.Background(), Request{Git: r.gitter(), BaseRef: "HEAD~1", HeadRef: "HEAD", File: "perf-changelog.yaml", Keys: testKeys, Expand: (&fakeExpand{}).expand})
	assert.ErrorIs(t, err, ErrNoAdditions)
}

// Issue 14 item 11: a changelog too large to be one is refused before git diffs it.
func TestHostile11OversizedChangelogIsRefused(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	one := entry(1, false, "dsr1-fp8-h200-sglang")
	r.commit("base", map[string]string{"perf-changelog.yaml": one})
	r.commit("head", map[string]string{"perf-changelog.yaml": one + "# " + strings.Repeat("x", config.MaxFileSize) + "\n"})
	_, err := Process(context.Background(), Request{Git: r.gitter(), BaseRef: "HEAD~1", HeadRef: "HEAD", File: "perf-changelog.yaml", Keys: testKeys, Expand: (&fakeExpand{}).expand})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the generator reads at most 4 MiB")
}
