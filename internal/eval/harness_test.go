package eval

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/result"
)

func loadRepoEvalConfig(t *testing.T) *EvalConfig {
	t.Helper()
	c, err := LoadEvalConfig(filepath.Join(configsDir, "eval-harness.yaml"))
	require.NoError(t, err)
	return c
}

// The task file handed to the harness and the built-in scorer must describe the same
// pipeline; this pins them together.
func TestHarnessTaskYAMLMatchesScorer(t *testing.T) {
	t.Parallel()
	c := loadRepoEvalConfig(t)
	var task struct {
		Task       string `yaml:"task"`
		DocToText  string `yaml:"doc_to_text"`
		MetricList []struct {
			Metric           string   `yaml:"metric"`
			IgnoreCase       bool     `yaml:"ignore_case"`
			IgnorePunctation bool     `yaml:"ignore_punctuation"`
			RegexesToIgnore  []string `yaml:"regexes_to_ignore"`
		} `yaml:"metric_list"`
		GenerationKwargs struct {
			Until []string `yaml:"until"`
		} `yaml:"generation_kwargs"`
		FilterList []struct {
			Name   string `yaml:"name"`
			Filter []struct {
				Function     string `yaml:"function"`
				RegexPattern string `yaml:"regex_pattern"`
				GroupSelect  int    `yaml:"group_select"`
			} `yaml:"filter"`
		} `yaml:"filter_list"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(c.Tasks["gsm8k"].YAML), &task))
	assert.Equal(t, "gsm8k", task.Task)
	assert.Equal(t, "Question: {{question}}\nEnd your answer with: #### <answer>\nAnswer:", task.DocToText)
	m := task.MetricList[0]
	assert.Equal(t, "exact_match", m.Metric)
	assert.True(t, m.IgnoreCase, "metric %+v", m)
	assert.False(t, m.IgnorePunctation, "metric %+v", m)
	assert.Equal(t, []string{",", `\$`, "(?s).*#### ", `\.$`}, m.RegexesToIgnore)
	assert.Equal(t, StopStrings, task.GenerationKwargs.Until, "until %v, built-in stops %v", task.GenerationKwargs.Until, StopStrings)
	want := map[string]struct {
		re  string
		sel int
	}{FilterStrict: {strictRe.String(), 0}, FilterFlexible: {flexibleRe.String(), -1}}
	require.Len(t, task.FilterList, 2, "%d filters", len(task.FilterList))
	for _, f := range task.FilterList {
		w := want[f.Name]
		assert.Equal(t, "regex", f.Filter[0].Function, "filter %s", f.Name)
		assert.Equal(t, w.re, f.Filter[0].RegexPattern, "filter %s", f.Name)
		assert.Equal(t, w.sel, f.Filter[0].GroupSelect, "filter %s", f.Name)
		assert.Equal(t, "take_first", f.Filter[1].Function, "filter %s", f.Name)
	}
	assert.Equal(t, 2, c.Tasks["gsm8k"].NumFewshot)
	assert.Equal(t, "b315ef3b05176acc9732bb7fdec116abe1ecc476", c.Harness.Commit)
}

func TestHarnessCommandLine(t *testing.T) {
	t.Parallel()
	c := loadRepoEvalConfig(t)
	install, run, err := c.Commands(HarnessOptions{
		Task: "gsm8k", BaseURL: "http://0.0.0.0:8888", Model: "acme/model-x", Conc: 64,
		WorkDir: "/host/w", ContainerWorkDir: "/workspace/w", ExecPrefix: []string{"docker", "exec", "-i", "srv"}, Limit: 10,
	})
	require.NoError(t, err)
	require.Len(t, install, 2)
	assert.True(t, strings.HasSuffix(install[1].String(), "archive/b315ef3b05176acc9732bb7fdec116abe1ecc476.tar.gz"), "install %v", install)
	assert.Equal(t, "docker", install[0].Name)
	want := []string{"docker", "exec", "-i", "srv", "env", "OPENAI_API_KEY=EMPTY",
		"python3", "/workspace/w/lm_eval_launcher.py", "--model", "local-chat-completions", "--apply_chat_template",
		"--tasks", "/workspace/w/gsm8k.yaml", "--num_fewshot", "2", "--output_path", "/workspace/w/lm_eval_out", "--log_samples",
		"--model_args", "model=acme/model-x,base_url=http://0.0.0.0:8888/v1/chat/completions,api_key=EMPTY,eos_string=</s>,max_retries=5,num_concurrent=64,timeout=600,tokenized_requests=False,max_length=16384",
		"--gen_kwargs", "max_tokens=8192,temperature=0,top_p=1", "--limit", "10"}
	assert.Equal(t, want, append([]string{run.Name}, run.Args...), "command")
	_, _, err = c.Commands(HarnessOptions{Task: "mmlu", BaseURL: "x", Model: "m", WorkDir: "w"})
	assert.ErrorContains(t, err, "have gsm8k", "unknown task")
}

func TestEvalConfigValidation(t *testing.T) {
	t.Parallel()
	_, err := ParseEvalConfig("h.yaml", []byte(`mode: fast
harness:
  commit: main
  placement: moon
  command: [python3, "${nope}"]
tasks:
  gsm8k: {num_fewshot: -1, yaml: ""}
`))
	require.Error(t, err, "no error")
	for _, want := range []string{`h.yaml:1:7: mode "fast"`, "h.yaml:3:11: harness.commit", `h.yaml:4:14: harness.placement "moon"`,
		"h.yaml:5:12: unknown placeholder ${nope}", "h.yaml:7:34: tasks.gsm8k.yaml is empty", "h.yaml:7:24: tasks.gsm8k.num_fewshot -1"} {
		assert.Contains(t, err.Error(), want, "error")
	}
	_, err = ParseEvalConfig("h.yaml", []byte("mode: harness\nharnes: {}\n"))
	assert.ErrorContains(t, err, "line 2", "unknown key")
}

// fakeHarness answers the install steps and makes the harness run drop the fixture files
// where lm-eval would: <output_path>/<model_sanitized>/.
func fakeHarness(t *testing.T, exitCode int, withOutput bool) *execx.Fake {
	return addFakeHarness(t, &execx.Fake{}, exitCode, withOutput)
}

func addFakeHarness(t *testing.T, f *execx.Fake, exitCode int, withOutput bool) *execx.Fake {
	f.On([]string{"python3", "-m", "pip"}, "", 0)
	f.OnFunc([]string{"env"}, func(_ context.Context, c execx.Cmd) (execx.Result, error) {
		i := slices.Index(c.Args, "--output_path")
		if withOutput {
			dst := filepath.Join(c.Args[i+1], "acme__model-x")
			require.NoError(t, os.MkdirAll(dst, 0o755))
			for _, name := range []string{"results_2026-02-09T10-11-12.345678.json", "samples_gsm8k_2026-02-09T10-11-12.345678.jsonl"} {
				b, err := os.ReadFile(filepath.Join(fixtureDir, name))
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(dst, name), b, 0o644))
			}
		}
		return execx.Result{Stdout: []byte("|Tasks|Version|Filter|n-shot|Metric|...\n"), Stderr: []byte("Traceback: boom\n"), ExitCode: exitCode}, nil
	})
	return f
}

func TestRunHarnessReadsItsOutput(t *testing.T) {
	c := loadRepoEvalConfig(t)
	work := t.TempDir()
	f := fakeHarness(t, 0, true)
	hr, err := c.RunHarness(context.Background(), f, HarnessOptions{Task: "gsm8k", BaseURL: "http://127.0.0.1:8888", Model: "acme/model-x", Conc: 8, WorkDir: work})
	require.NoError(t, err)
	n := len(f.Calls())
	assert.Equal(t, 3, n, "%d commands, want 2 installs and the run", n)
	checkMeasure(t, "strict", hr.Record.Strict, 0.6, 0.24494897427831783)
	require.NotNil(t, hr.Rescore)
	assert.Equal(t, 10, hr.Rescore.Checked)
	assert.Empty(t, hr.Rescore.Disagreements)
	assert.Len(t, hr.Record.Samples, 5)
	for _, name := range []string{"gsm8k.yaml", "lm_eval_launcher.py", "lm_eval.log"} {
		_, err := os.Stat(filepath.Join(work, name))
		assert.NoError(t, err)
	}
	dir := t.TempDir()
	files, err := CopyHarnessArtifacts(dir, result.MetaEnv{Model: "acme/model-x", HW: "h100", TP: 8, Conc: 8}, hr)
	require.NoError(t, err, "copied")
	require.Len(t, files, 4, "copied")
	rows, err := Collect(dir, nil)
	require.NoError(t, err, "collected")
	require.Len(t, rows, 1, "collected")
	require.Equal(t, 0.6, *rows[0].EMStrict, "collected")
	require.Equal(t, "H100", rows[0].HW, "collected")
}

func TestRunHarnessFailures(t *testing.T) {
	c := loadRepoEvalConfig(t)
	opts := HarnessOptions{Task: "gsm8k", BaseURL: "http://127.0.0.1:8888", Model: "acme/model-x", Conc: 8}

	opts.WorkDir, opts.APIKey = t.TempDir(), "sk-secret"
	_, err := c.RunHarness(context.Background(), fakeHarness(t, 1, false), opts)
	assert.ErrorContains(t, err, "exit status 1", "non-zero")
	assert.Contains(t, err.Error(), "Traceback: boom", "non-zero")
	assert.Contains(t, err.Error(), "lm_eval.log", "non-zero")
	assert.NotContains(t, err.Error(), "sk-secret", "the API key is not redacted")
	assert.Contains(t, err.Error(), "api_key=***", "the API key is not redacted")
	opts.APIKey = ""

	opts.WorkDir = t.TempDir()
	_, err = c.RunHarness(context.Background(), fakeHarness(t, 0, false), opts)
	assert.ErrorContains(t, err, "no results_*.json", "no output")

	// a failing install is a warning: images may ship the harness.
	f := &execx.Fake{}
	f.On([]string{"python3", "-m", "pip", "install", "-q", "--no-cache-dir", "--break-system-packages"}, "", 1)
	addFakeHarness(t, f, 0, true)
	opts.WorkDir = t.TempDir()
	hr, err := c.RunHarness(context.Background(), f, opts)
	assert.NoError(t, err, "install failure")
	assert.Len(t, hr.Warnings, 1, "install failure")
}
