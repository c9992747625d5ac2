package eval

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var configsDir = filepath.Join("..", "..", "configs")

func TestRepoThresholdsFile(t *testing.T) {
	t.Parallel()
	th, err := LoadThresholds(filepath.Join(configsDir, "eval-thresholds.yaml"))
	require.NoError(t, err)
	m, from, ok := th.Min("any/model", "gsm8k")
	assert.True(t, ok, "gsm8k minimum %v from %q (%t), want 0.85 from tasks.gsm8k", m, from, ok)
	assert.Equal(t, 0.85, m, "gsm8k minimum")
	assert.Equal(t, "tasks.gsm8k", from, "gsm8k minimum")
	m, from, _ = th.Min("any/model", "unknown_task")
	assert.Equal(t, 0.85, m, "fallback")
	assert.Equal(t, "default", from, "fallback")
}

func TestThresholdLookupAndCheck(t *testing.T) {
	t.Parallel()
	th, err := ParseThresholds("t.yaml", []byte(`
default: 0.5
tasks:
  gsm8k: 0.85
models:
  Acme/Big:
    gsm8k: 0.93
`))
	require.NoError(t, err)
	cases := []struct {
		model, task string
		score       *float64
		pass        bool
		min         float64
		msg         string
	}{
		{"acme/big", "gsm8k", ptr(0.92), false, 0.93, "below the minimum 0.9300"},
		{"ACME/BIG", "gsm8k", ptr(0.93), true, 0.93, "meets"},
		{"other", "gsm8k", ptr(0.9), true, 0.85, "tasks.gsm8k"},
		{"other", "gsm8k", ptr(0.8499), false, 0.85, "t.yaml tasks.gsm8k"},
		{"other", "gpqa", ptr(0.4), false, 0.5, "default"},
		{"other", "gsm8k", nil, false, 0.85, "no score"},
	}
	for _, c := range cases {
		v := th.Check(c.model, c.task, c.score)
		assert.Equal(t, c.pass, v.Passed, "Check(%s, %s, %v)", c.model, c.task, c.score)
		assert.True(t, v.HasMin, "Check(%s, %s, %v) = %+v, want pass=%t min=%v message containing %q", c.model, c.task, c.score, v, c.pass, c.min, c.msg)
		assert.Equal(t, c.min, v.Min, "Check(%s, %s, %v)", c.model, c.task, c.score)
		assert.Contains(t, v.Message, c.msg, "Check(%s, %s, %v)", c.model, c.task, c.score)
	}
	var none *Thresholds
	v := none.Check("m", "gsm8k", ptr(0.1))
	assert.True(t, v.Passed, "no thresholds: %+v", v)
	assert.False(t, v.HasMin, "no thresholds: %+v", v)
	assert.Nil(t, v.MinPtr(), "no thresholds")
}

func TestThresholdErrorsCarryPositions(t *testing.T) {
	t.Parallel()
	_, err := ParseThresholds("bad.yaml", []byte(`default: 85
tasks:
  gsm8k: high
  gsm8k: 0.9
modles: {}
models:
  m: 0.9
`))
	require.Error(t, err, "no error")
	for _, want := range []string{
		`bad.yaml:1:10: "85" is not a score`,
		`bad.yaml:3:10: "high" is not a score`,
		`bad.yaml:4:3: task "gsm8k" is listed twice`,
		`bad.yaml:5:1: unknown key "modles"`,
		`bad.yaml:7:6: a task list must be a mapping`,
	} {
		assert.Contains(t, err.Error(), want, "error")
	}
}
