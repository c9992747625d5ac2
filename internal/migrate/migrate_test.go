package migrate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/config"
	"github.com/inferbench/inferbench/internal/diag"
	"github.com/inferbench/inferbench/internal/matrix"
	"github.com/inferbench/inferbench/internal/testkit"
)

// TestRoundTrip migrates a set of 2026-02 files, checks that the results validate as
// 2026-08, and that their fixed-seq-len expansion equals the 2026-02 one except for the
// differences docs/generator-generations.md lists.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	sets := map[string]func(t *testing.T) string{
		"InferenceX 2026-02 anchor": func(t *testing.T) string { return testkit.Shared(t, "anchor/inferencex-2026-02-09") },
		"our configs (2026-02 copy)": func(t *testing.T) string {
			return filepath.Join(testkit.RepoRoot(t), "testdata", "configs-2026-02")
		},
	}
	for name, dirOf := range sets {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := dirOf(t)
			out := t.TempDir()
			files := []string{"nvidia-master.yaml", "amd-master.yaml", "runners.yaml"}
			for _, f := range files {
				data, err := os.ReadFile(filepath.Join(dir, f))
				require.NoError(t, err)
				got, _, diags := File(f, data, Options{})
				require.False(t, diags.HasErrors(), "%s: %v", f, diags)
				require.NoError(t, os.WriteFile(filepath.Join(out, f), got, 0o644))
			}
			m02, r02, g02, diags := config.Load([]string{filepath.Join(dir, files[0]), filepath.Join(dir, files[1])}, filepath.Join(dir, files[2]))
			require.False(t, diags.HasErrors(), "%v", diags)
			require.Equal(t, config.Gen2026_02, g02)
			m08, r08, g08, diags := config.Load([]string{filepath.Join(out, files[0]), filepath.Join(out, files[1])}, filepath.Join(out, files[2]))
			require.False(t, diags.HasErrors(), "migrated files do not validate: %v", diags)
			require.Equal(t, config.Gen2026_08, g08)
			require.Equal(t, m02.Keys(), m08.Keys())

			total := 0
			for _, kind := range []matrix.Kind{matrix.SingleNode, matrix.MultiNode} {
				o := matrix.SweepOptions{Kind: kind, Evals: matrix.EvalsNone}
				rows02, err := matrix.FullSweep(m02, r02, o)
				require.NoError(t, err)
				rows08, err := matrix.FullSweep(m08, r08, o)
				require.NoError(t, err)
				total += compareRows(t, rows02, rows08)
			}
			tc02, err := matrix.TestConfig(m02, r02, matrix.TestConfigOptions{Keys: m02.Keys()})
			require.NoError(t, err)
			tc08, err := matrix.TestConfig(m08, r08, matrix.TestConfigOptions{Keys: m08.Keys(), Evals: matrix.EvalsNone})
			require.NoError(t, err)
			total += compareRows(t, tc02, tc08)
			require.Positive(t, total)
			t.Logf("%s: %d rows compared", name, total)
		})
	}
}

// compareRows checks that two expansions agree row by row, keys in order, once the
// documented 2026-08 differences are taken out of the 2026-08 rows.
func compareRows(t *testing.T, rows02, rows08 []matrix.Row) int {
	t.Helper()
	require.Len(t, rows08, len(rows02))
	for i := range rows02 {
		want := decodeOrdered(t, matrix.AppendJSON(nil, rows02[i:i+1]))
		got := normalize0208(t, decodeOrdered(t, matrix.AppendJSON(nil, rows08[i:i+1])))
		if !assert.Equal(t, want.String(), got.String(), "row %d (%s)", i, rows02[i].Key) {
			return i
		}
	}
	return len(rows02)
}

// normalize0208 removes what 2026-08 adds to a fixed-seq-len row of a migrated config:
// pp, dcp-size and pcp-size (1) on the row and its workers, kv-p2p-transfer on
// disaggregated rows, 56 more tokens of max-model-len headroom and the 1024_8192 name.
func normalize0208(t *testing.T, o ordered) ordered {
	t.Helper()
	var out ordered
	disagg := false
	for _, kv := range o {
		switch kv.key {
		case "pp", "dcp-size", "pcp-size":
			require.Equal(t, "1", kv.val.String(), kv.key)
			continue
		case "kv-p2p-transfer":
			continue
		case "prefill", "decode":
			kv.val = normalize0208(t, kv.val.(ordered))
		case "max-model-len":
			var n int
			require.NoError(t, json.Unmarshal([]byte(kv.val.String()), &n))
			kv.val = raw(fmt.Sprint(n - 56))
		case "exp-name":
			kv.val = raw(strings.Replace(kv.val.String(), `_1024_8192"`, `_1k8k"`, 1))
		case "disagg":
			disagg = kv.val.String() == "true"
		}
		out = append(out, kv)
	}
	if disagg {
		require.Contains(t, o.String(), `"kv-p2p-transfer"`, "a disaggregated 2026-08 row names its KV transfer engine")
	}
	return out
}

// ordered is a JSON object with its keys in order; values are raw or ordered.
type ordered []struct {
	key string
	val value
}

type value interface{ String() string }

type raw string

func (r raw) String() string { return string(r) }

func (o ordered) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, kv := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", kv.key, kv.val.String())
	}
	b.WriteByte('}')
	return b.String()
}

// decodeOrdered reads the single row of a one-row JSON array.
func decodeOrdered(t *testing.T, b []byte) ordered {
	t.Helper()
	var rows []json.RawMessage
	require.NoError(t, json.Unmarshal(b, &rows))
	require.Len(t, rows, 1)
	return decodeObject(t, rows[0])
}

func decodeObject(t *testing.T, b []byte) ordered {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok)
	var o ordered
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		var v json.RawMessage
		require.NoError(t, dec.Decode(&v))
		var val value = raw(compact(t, v))
		if len(v) > 0 && v[0] == '{' {
			val = decodeObject(t, v)
		}
		o = append(o, struct {
			key string
			val value
		}{k.(string), val})
	}
	return o
}

func compact(t *testing.T, v []byte) string {
	var b bytes.Buffer
	require.NoError(t, json.Compact(&b, v))
	return b.String()
}

// TestMigrate pins the rewriting itself: what changes, what stays byte for byte, and the
// refusals.
func TestMigrate(t *testing.T) {
	t.Parallel()
	const master = `# head comment
k:   # entry comment
  image: i
  model: m
  model-prefix: p
  precision: fp8
  framework: dynamo-trt
  runner: r
  multinode: true
  disagg: true
  seq-len-configs:   # the sweep
  # about 1k1k
  - isl: 1024
    osl: 1024
    search-space:
    - conc-list: [4]
      prefill: { num-worker: 1, tp: 4, ep: 4, dp-attn: false }
      decode: { num-worker: 1, tp: 4, ep: 4, dp-attn: false }

# next entry
s:
  image: i
  model: m
  model-prefix: p
  precision: fp8
  framework: vllm
  runner: r
  seq-len-configs:
  - {isl: 1, osl: 1, search-space: [{tp: 1, conc-list: [1]}]}
  multinode: false
`
	const wantMaster = `# head comment
k:   # entry comment
  image: i
  model: m
  model-prefix: p
  precision: fp8
  framework: dynamo-trt
  runner: r
  multinode: true
  disagg: true
  kv-p2p-transfer: nixl  # added by generator migrate: the 2026-02 file did not name the KV transfer engine; check it
  scenarios:   # the sweep
    fixed-seq-len:
    # about 1k1k
    - isl: 1024
      osl: 1024
      search-space:
      - conc-list: [4]
        prefill: { num-worker: 1, tp: 4, ep: 4, dp-attn: false }
        decode: { num-worker: 1, tp: 4, ep: 4, dp-attn: false }

# next entry
s:
  image: i
  model: m
  model-prefix: p
  precision: fp8
  framework: vllm
  runner: r
  scenarios:
    fixed-seq-len:
    - {isl: 1, osl: 1, search-space: [{tp: 1, conc-list: [1]}]}
  multinode: false
`
	tests := []struct {
		name, in string
		opts     Options
		want     string // "" when an error is expected
		wantDiag string
	}{
		{name: "master: only the changed lines change", in: master, want: wantMaster, wantDiag: "added kv-p2p-transfer: nixl"},
		{name: "master: --kv-p2p-transfer overrides the default", in: master, opts: Options{KVP2PTransfer: "ucx"},
			want: strings.Replace(wantMaster, "kv-p2p-transfer: nixl", "kv-p2p-transfer: ucx", 1), wantDiag: "added kv-p2p-transfer: ucx"},
		{name: "master: no default engine for the framework", in: strings.Replace(master, "framework: dynamo-trt", "framework: custom", 1),
			wantDiag: "has no default for"},
		{name: "runners: types move under labels", in: "# nodes\nh100:\n- h100_0\n# big ones\nb200: [b200_0, b200_1]\n",
			want: "# nodes\nlabels:\n  h100:\n  - h100_0\n  # big ones\n  b200: [b200_0, b200_1]\n"},
		{name: "flow-style entry: re-encoded, comments kept", in: "# c\nk: {image: i, model: m, model-prefix: p, precision: fp8, framework: f, runner: r, multinode: false, seq-len-configs: [{isl: 1, osl: 1, search-space: [{tp: 1, conc-list: [1]}]}]}\n",
			want: "# c\nk: {image: i, model: m, model-prefix: p, precision: fp8, framework: f, runner: r, multinode: false, scenarios: {fixed-seq-len: [{isl: 1, osl: 1, search-space: [{tp: 1, conc-list: [1]}]}]}}\n"},
		{name: "already 2026-08", in: "labels:\n  h100: [a]\n", wantDiag: "already a 2026-08 runner file"},
		{name: "invalid 2026-02 file", in: "k:\n  seq-len-configs: []\n", wantDiag: "failed validation"},
		{name: "not a config file", in: "[]\n", wantDiag: "neither a master config nor a runner file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _, diags := File("x.yaml", []byte(tt.in), tt.opts)
			if tt.wantDiag != "" {
				assert.Contains(t, diagText(diags), tt.wantDiag)
			}
			if tt.want == "" {
				require.True(t, diags.HasErrors(), "want an error, got %s", got)
				require.Nil(t, got)
				return
			}
			require.False(t, diags.HasErrors(), "%v", diags)
			assert.Equal(t, tt.want, string(got))
		})
	}
}

func diagText(l diag.List) string {
	var b strings.Builder
	for _, d := range l {
		b.WriteString(d.String() + "\n")
	}
	return b.String()
}
