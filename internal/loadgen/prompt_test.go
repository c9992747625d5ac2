package loadgen_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/loadgen"
	"github.com/inferbench/inferbench/internal/sim"
)

// checkCountsAgainstTruth: every request's input and output token counts in the outcome
// are the server's own, and the totals add up to what the server processed.
func checkCountsAgainstTruth(t *testing.T, s *sim.Sim, o *loadgen.Outcome) (in, out int) {
	t.Helper()
	truth := truthByID(s)
	m := o.Metrics
	require.Equal(t, len(o.Records), m.Completed, "every request succeeds: %v", m.Errors)
	for i, r := range o.Records {
		tr, ok := truth[r.ID]
		require.True(t, ok, "request %s unknown to the server", r.ID)
		assert.Equal(t, tr.PromptTokens, m.InputLens[i], "request %d input length", i)
		assert.Equal(t, tr.PromptTokens, r.ServerPromptTokens, "request %d", i)
		assert.Equal(t, r.MaxTokens, m.OutputLens[i], "request %d output length", i)
		in += tr.PromptTokens
		out += r.MaxTokens
	}
	assert.Equal(t, in, m.TotalInput)
	assert.Equal(t, out, m.TotalOutput)
	assert.Zero(t, m.PromptEstimated)
	return in, out
}

// The reference's --use-chat-template: chat requests, the server's template measured by a
// probe and taken off the drawn lengths, the true lengths from the server's usage.
func TestChatTemplate(t *testing.T) {
	t.Parallel()
	s, url := startSim(t, sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond / 2})
	cfg := benchConfig(url, 4, 24, 8)
	cfg.Endpoint, cfg.ChatTemplate, cfg.RangeRatio = "", true, 0.5
	o, err := loadgen.Run(context.Background(), cfg, nil)
	require.NoError(t, err)
	assert.Equal(t, loadgen.EndpointChat, o.Config.Endpoint)
	assert.Equal(t, loadgen.DatasetText, o.Config.DatasetMode)
	assert.Equal(t, 3, o.Config.ChatTemplateTokens, "the simulator's template: begin, user and assistant tokens")
	checkCountsAgainstTruth(t, s, o)
	for i, n := range o.Metrics.InputLens {
		// Content is drawn from [floor((16-3)*0.5), 16-3], then the template is added: the
		// whole prompt never exceeds the nominal length, as with the reference.
		assert.True(t, n >= 6+3 && n <= 16, "request %d: %d prompt tokens outside [9, 16]", i, n)
		assert.Equal(t, o.Records[i].PromptLen, n, "one word per token: the client's estimate holds here")
	}
	raw := o.Raw(time.UTC)
	assert.True(t, raw.Ext.ChatTemplate)
	assert.Equal(t, 3, raw.Ext.TemplateTokens)
	// A busy machine keeps the client reading late (BehindReasons): that is the machine's
	// doing, not the template's, so only the other warnings must be absent.
	assert.Empty(t, slices.DeleteFunc(o.Metrics.Warnings(), func(w string) bool { return slices.Contains(o.Metrics.BehindReasons, w) }))
}

func TestChatTemplateLongerThanTheInput(t *testing.T) {
	t.Parallel()
	_, url := startSim(t, sim.Config{})
	cfg := benchConfig(url, 1, 1, 1)
	cfg.Endpoint, cfg.ChatTemplate, cfg.InputLen = loadgen.EndpointChat, true, 3
	_, err := loadgen.Run(context.Background(), cfg, nil)
	require.ErrorContains(t, err, "chat template takes 3 tokens, as many as the input length 3")
}

// A server that accepts only text (ATOM): text prompts whose true lengths come from the
// server's usage, because its tokenizer does not count one token per word.
func TestTextPromptsTakeTheServersCounts(t *testing.T) {
	t.Parallel()
	s, url := startSim(t, sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond / 2, TextOnly: true})
	cfg := benchConfig(url, 4, 24, 8)
	cfg.DatasetMode = loadgen.DatasetText
	o, err := loadgen.Run(context.Background(), cfg, nil)
	require.NoError(t, err)
	in, _ := checkCountsAgainstTruth(t, s, o)
	estimate := 0
	for _, r := range o.Records {
		estimate += r.PromptLen
	}
	assert.Greater(t, in, estimate, "the server splits long words: its count, not the client's word count, is the input")
	assert.Zero(t, o.Metrics.PromptMismatch, "text prompts have no exact client-side length to mismatch")
}

func TestTokenIDsAgainstATextOnlyServerFail(t *testing.T) {
	t.Parallel()
	_, url := startSim(t, sim.Config{TextOnly: true})
	o, err := loadgen.Run(context.Background(), benchConfig(url, 2, 4, 4), nil)
	require.NoError(t, err)
	require.Equal(t, 4, o.Metrics.Failed)
	for msg := range o.Metrics.Errors {
		assert.Contains(t, msg, "HTTP 400")
		assert.Contains(t, msg, "accepts only text prompts")
	}
}

func TestTextPromptsWithoutServerCountsAreFlagged(t *testing.T) {
	t.Parallel()
	_, url := startSim(t, sim.Config{NoUsageRate: 1})
	cfg := benchConfig(url, 2, 6, 4)
	cfg.DatasetMode = loadgen.DatasetText
	o, err := loadgen.Run(context.Background(), cfg, nil)
	require.NoError(t, err)
	assert.Equal(t, 6, o.Metrics.PromptEstimated)
	assert.Equal(t, 6*16, o.Metrics.TotalInput, "the estimate stands in, flagged")
	assert.Contains(t, strings.Join(o.Metrics.Warnings(), "\n"), "6 text-prompt requests: the server reported no prompt token count")
	assert.Equal(t, 6, o.Raw(time.UTC).Ext.PromptEstimated)
}
