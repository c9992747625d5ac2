package rowrun

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/sim"
)

// keys are the result fingerprint keys of every point of o's row, in execution order.
func keys(t *testing.T, o Options) []string {
	t.Helper()
	p, err := FingerprintPlan(o)
	require.NoError(t, err)
	var out []string
	for _, fp := range pointFingerprints(p, o.AgentIdentity()) {
		require.Equal(t, fp.ComputeKey(), fp.Key)
		out = append(out, fp.Key)
	}
	return out
}

func TestFingerprintIgnoresTheMachine(t *testing.T) {
	t.Parallel()
	base, _ := options(t, nil, 4, 8)
	want := keys(t, base)
	for _, tc := range []struct {
		what   string
		change func(*Options)
	}{
		{"another output directory", func(o *Options) { o.OutDir = t.TempDir() }},
		{"another agent path", func(o *Options) { o.AgentPath = "/elsewhere/agent" }},
		{"a port picked at run time", func(o *Options) { o.Port = 41234 }},
		{"another run id", func(o *Options) { o.RunID = "other" }},
		{"another node of the family", func(o *Options) { o.RunnerName = "ci-local_7" }},
		{"another environment", func(o *Options) { o.Environ = []string{"HF_TOKEN=x"} }},
	} {
		t.Run(tc.what, func(t *testing.T) {
			o := base
			tc.change(&o)
			assert.Equal(t, want, keys(t, o))
		})
	}
}

func TestFingerprintFollowsWhatDeterminesTheNumbers(t *testing.T) {
	t.Parallel()
	base, _ := options(t, nil, 4)
	want := keys(t, base)[0]
	for _, tc := range []struct {
		what   string
		change func(*Options)
	}{
		{"image", func(o *Options) { o.Row.Image = "img:2" }},
		{"runner type", func(o *Options) { o.RunnerType = "other-hw" }},
		{"agent version", func(o *Options) { o.AgentVersion = "test2" }},
		{"agent build", func(o *Options) { o.AgentBuild = "src:abc" }},
		{"prompts", func(o *Options) { o.NumPrompts = 13 }},
		{"warm-ups", func(o *Options) { o.NumWarmups = 1 }},
		{"range ratio", func(o *Options) { o.RangeRatio = 0.5 }},
		{"concurrency", func(o *Options) { o.Row.Conc = Concs{8} }},
		{"tensor parallelism", func(o *Options) { o.Row.TP = 2 }},
		{"sequence lengths", func(o *Options) { o.Row.OSL = 16 }},
		{"recipe setting", func(o *Options) { o.Row.Conc = Concs{16} }}, // --recv=30 instead of 10
	} {
		t.Run(tc.what, func(t *testing.T) {
			o := base
			tc.change(&o)
			assert.NotEqual(t, want, keys(t, o)[0])
		})
	}
}

func TestRunRecordsTheFingerprint(t *testing.T) {
	t.Parallel()
	b := &simBackend{cfg: sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond}}
	o, log := options(t, b, 4, 16)
	o.AgentBuild = "src:test"
	rep, err := Run(context.Background(), o)
	require.NoError(t, err, log.String())
	want := keys(t, o)
	require.Len(t, rep.Points, 2)
	for i, m := range rep.Points {
		fp := readManifest(t, o.OutDir, m.ResultFilename).Fingerprint
		require.NotNil(t, fp, "conc %d", m.Conc)
		assert.Equal(t, want[i], fp.Key)
		assert.Equal(t, "sha256:feed", fp.ImageDigest, "the digest the backend reported")
		assert.Equal(t, "src:test", fp.Agent)
		assert.Equal(t, "ci", fp.RunnerType)
		var client Client
		require.NoError(t, json.Unmarshal(fp.Client, &client))
		assert.Equal(t, m.Conc, client.MaxConcurrency)

		b, err := os.ReadFile(filepath.Join(o.OutDir, result.AggFile(m.ResultFilename)))
		require.NoError(t, err)
		var agg result.Agg
		require.NoError(t, json.Unmarshal(b, &agg))
		require.NotNil(t, agg.Ext)
		assert.Equal(t, fp.Key, agg.Ext.ResultFingerprint)
	}
	assert.NotEqual(t, want[0], want[1])
}
