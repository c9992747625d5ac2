package rowrun

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/recipe"
	"github.com/inferbench/inferbench/internal/result"
	"github.com/inferbench/inferbench/internal/sim"
)

const clientFormRecipes = `recipes:
  - name: chat
    match: {framework: sim}
    command: [engine]
    gpus: "0"
    chat-template: true
    ready-timeout: 10s
  - name: text
    match: {framework: sim-text}
    command: [engine]
    gpus: "0"
    prompt-form: text
    ready-timeout: 10s
`

// The recipe's client settings reach the load generator: the chat template (chat requests,
// the template measured and counted) and text prompts (lengths from the server's usage).
func TestRecipeClientForm(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, framework string
		sim             sim.Config
		check           func(t *testing.T, raw result.Raw, reqs []map[string]any)
	}{
		{"chat template", "sim", sim.Config{}, func(t *testing.T, raw result.Raw, reqs []map[string]any) {
			assert.Equal(t, "/v1/chat/completions", raw.Ext.Endpoint)
			assert.Equal(t, "text", raw.Ext.DatasetMode)
			assert.True(t, raw.Ext.ChatTemplate)
			assert.Equal(t, 3, raw.Ext.TemplateTokens)
		}},
		{"text prompts", "sim-text", sim.Config{TextOnly: true}, func(t *testing.T, raw result.Raw, reqs []map[string]any) {
			assert.Equal(t, "/v1/completions", raw.Ext.Endpoint)
			assert.Equal(t, "text", raw.Ext.DatasetMode)
			assert.False(t, raw.Ext.ChatTemplate)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.sim.TTFT, tt.sim.ITL = time.Millisecond, time.Millisecond
			b := &simBackend{cfg: tt.sim}
			o, log := options(t, b, 2)
			set, err := recipe.Parse("r.yaml", []byte(clientFormRecipes))
			require.NoError(t, err)
			o.Recipes, o.Row.Framework, o.RangeRatio = set, tt.framework, 0.8
			rep, err := Run(context.Background(), o)
			require.NoError(t, err, log.String())
			stem := rep.Points[0].ResultFilename
			var raw result.Raw
			rb, err := os.ReadFile(filepath.Join(o.OutDir, result.RawFile(stem)))
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(rb, &raw))
			f, err := os.Open(filepath.Join(o.OutDir, raw.Ext.RequestsFile))
			require.NoError(t, err)
			defer f.Close()
			var reqs []map[string]any
			sum := 0
			for sc := bufio.NewScanner(f); sc.Scan(); {
				var r map[string]any
				require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
				reqs = append(reqs, r)
				server := int(r["server_prompt_tokens"].(float64))
				assert.Positive(t, server, "the server counted every prompt")
				assert.Equal(t, server, raw.Ext.InputLens[len(reqs)-1], "the input length is the server's count")
				sum += server
			}
			require.Len(t, reqs, 12)
			assert.Equal(t, 12, raw.Completed)
			assert.Equal(t, sum, raw.TotalInputTokens)
			tt.check(t, raw, reqs)
		})
	}
}
