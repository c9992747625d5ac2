package eval

import (
	"path/filepath"
	"strings"
	"testing"
)

var configsDir = filepath.Join("..", "..", "configs")

func TestRepoThresholdsFile(t *testing.T) {
	th, err := LoadThresholds(filepath.Join(configsDir, "eval-thresholds.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if m, from, ok := th.Min("any/model", "gsm8k"); !ok || m != 0.85 || from != "tasks.gsm8k" {
		t.Errorf("gsm8k minimum %v from %q (%t), want 0.85 from tasks.gsm8k", m, from, ok)
	}
	if m, from, _ := th.Min("any/model", "unknown_task"); m != 0.85 || from != "default" {
		t.Errorf("fallback %v from %q", m, from)
	}
}

func TestThresholdLookupAndCheck(t *testing.T) {
	th, err := ParseThresholds("t.yaml", []byte(`
default: 0.5
tasks:
  gsm8k: 0.85
models:
  Acme/Big:
    gsm8k: 0.93
`))
	if err != nil {
		t.Fatal(err)
	}
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
		if v.Passed != c.pass || !v.HasMin || v.Min != c.min || !strings.Contains(v.Message, c.msg) {
			t.Errorf("Check(%s, %s, %v) = %+v, want pass=%t min=%v message containing %q", c.model, c.task, c.score, v, c.pass, c.min, c.msg)
		}
	}
	var none *Thresholds
	if v := none.Check("m", "gsm8k", ptr(0.1)); !v.Passed || v.HasMin || v.MinPtr() != nil {
		t.Errorf("no thresholds: %+v", v)
	}
}

func TestThresholdErrorsCarryPositions(t *testing.T) {
	_, err := ParseThresholds("bad.yaml", []byte(`default: 85
tasks:
  gsm8k: high
  gsm8k: 0.9
modles: {}
models:
  m: 0.9
`))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`bad.yaml:1:10: "85" is not a score`,
		`bad.yaml:3:10: "high" is not a score`,
		`bad.yaml:4:3: task "gsm8k" is listed twice`,
		`bad.yaml:5:1: unknown key "modles"`,
		`bad.yaml:7:6: a task list must be a mapping`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
}
