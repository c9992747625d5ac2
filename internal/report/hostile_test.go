package report

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A 200 MB file named like an agg record must not be read whole (collect once peaked at
// 12 GB on one): it is reported as a problem, and other huge JSON is skipped unread.
func TestHostile11HugeAggFileIsRefusedNotRead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"agg_huge.json", "huge_raw_result.json"} {
		f, err := os.Create(filepath.Join(dir, name))
		require.NoError(t, err)
		require.NoError(t, f.Truncate(200<<20)) // sparse: costs no disk
		require.NoError(t, f.Close())
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	s, err := Scan(os.DirFS(dir), ".")

	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	require.Len(t, s.Problems, 1)
	assert.Equal(t, "agg_huge.json", s.Problems[0].Path)
	assert.Contains(t, s.Problems[0].Msg, "209715200 bytes, more than the 16777216 an agg or status record can need")
	assert.Equal(t, 1, s.Ignored["JSON files too large to be results, not read"])
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(MaxFileSize), "the files were read")
}
