package eval

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/result"
)

func loadRepoEvalConfig(t *testing.T) *EvalConfig {
	t.Helper()
	c, err := LoadEvalConfig(filepath.Join(configsDir, "eval-harness.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The task file handed to the harness and the built-in scorer must describe the same
// pipeline; this pins them together.
func TestHarnessTaskYAMLMatchesScorer(t *testing.T) {
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
	if err := yaml.Unmarshal([]byte(c.Tasks["gsm8k"].YAML), &task); err != nil {
		t.Fatal(err)
	}
	if task.Task != "gsm8k" || task.DocToText != "Question: {{question}}\nEnd your answer with: #### <answer>\nAnswer:" {
		t.Errorf("task %q doc_to_text %q", task.Task, task.DocToText)
	}
	m := task.MetricList[0]
	if m.Metric != "exact_match" || !m.IgnoreCase || m.IgnorePunctation ||
		!slices.Equal(m.RegexesToIgnore, []string{",", `\$`, "(?s).*#### ", `\.$`}) {
		t.Errorf("metric %+v", m)
	}
	if !slices.Equal(task.GenerationKwargs.Until, StopStrings) {
		t.Errorf("until %v, built-in stops %v", task.GenerationKwargs.Until, StopStrings)
	}
	want := map[string]struct {
		re  string
		sel int
	}{FilterStrict: {strictRe.String(), 0}, FilterFlexible: {flexibleRe.String(), -1}}
	if len(task.FilterList) != 2 {
		t.Fatalf("%d filters", len(task.FilterList))
	}
	for _, f := range task.FilterList {
		w := want[f.Name]
		if f.Filter[0].Function != "regex" || f.Filter[0].RegexPattern != w.re || f.Filter[0].GroupSelect != w.sel || f.Filter[1].Function != "take_first" {
			t.Errorf("filter %s = %+v, built-in uses %q group %d", f.Name, f.Filter, w.re, w.sel)
		}
	}
	if c.Tasks["gsm8k"].NumFewshot != 2 || c.Harness.Commit != "b315ef3b05176acc9732bb7fdec116abe1ecc476" {
		t.Errorf("num_fewshot %d commit %s", c.Tasks["gsm8k"].NumFewshot, c.Harness.Commit)
	}
}

func TestHarnessCommandLine(t *testing.T) {
	c := loadRepoEvalConfig(t)
	install, run, err := c.Commands(HarnessOptions{
		Task: "gsm8k", BaseURL: "http://0.0.0.0:8888", Model: "acme/model-x", Conc: 64,
		WorkDir: "/host/w", ContainerWorkDir: "/workspace/w", ExecPrefix: []string{"docker", "exec", "-i", "srv"}, Limit: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(install) != 2 || !strings.HasSuffix(install[1].String(), "archive/b315ef3b05176acc9732bb7fdec116abe1ecc476.tar.gz") ||
		install[0].Name != "docker" {
		t.Errorf("install %v", install)
	}
	want := []string{"docker", "exec", "-i", "srv", "env", "OPENAI_API_KEY=EMPTY",
		"python3", "/workspace/w/lm_eval_launcher.py", "--model", "local-chat-completions", "--apply_chat_template",
		"--tasks", "/workspace/w/gsm8k.yaml", "--num_fewshot", "2", "--output_path", "/workspace/w/lm_eval_out", "--log_samples",
		"--model_args", "model=acme/model-x,base_url=http://0.0.0.0:8888/v1/chat/completions,api_key=EMPTY,eos_string=</s>,max_retries=5,num_concurrent=64,timeout=600,tokenized_requests=False,max_length=16384",
		"--gen_kwargs", "max_tokens=8192,temperature=0,top_p=1", "--limit", "10"}
	if got := append([]string{run.Name}, run.Args...); !slices.Equal(got, want) {
		t.Errorf("command\n got %q\nwant %q", got, want)
	}
	if _, _, err := c.Commands(HarnessOptions{Task: "mmlu", BaseURL: "x", Model: "m", WorkDir: "w"}); err == nil || !strings.Contains(err.Error(), "have gsm8k") {
		t.Errorf("unknown task: %v", err)
	}
}

func TestEvalConfigValidation(t *testing.T) {
	_, err := ParseEvalConfig("h.yaml", []byte(`mode: fast
harness:
  commit: main
  placement: moon
  command: [python3, "${nope}"]
tasks:
  gsm8k: {num_fewshot: -1, yaml: ""}
`))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`h.yaml:1:7: mode "fast"`, "h.yaml:3:11: harness.commit", `h.yaml:4:14: harness.placement "moon"`,
		"h.yaml:5:12: unknown placeholder ${nope}", "h.yaml:7:34: tasks.gsm8k.yaml is empty", "h.yaml:7:24: tasks.gsm8k.num_fewshot -1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := ParseEvalConfig("h.yaml", []byte("mode: harness\nharnes: {}\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("unknown key: %v", err)
	}
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
			if err := os.MkdirAll(dst, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"results_2026-02-09T10-11-12.345678.json", "samples_gsm8k_2026-02-09T10-11-12.345678.jsonl"} {
				b, err := os.ReadFile(filepath.Join(fixtureDir, name))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dst, name), b, 0o644); err != nil {
					t.Fatal(err)
				}
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
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.Calls()); n != 3 {
		t.Errorf("%d commands, want 2 installs and the run: %v", n, f.CallLines())
	}
	checkMeasure(t, "strict", hr.Record.Strict, 0.6, 0.24494897427831783)
	if hr.Rescore == nil || hr.Rescore.Checked != 10 || len(hr.Rescore.Disagreements) != 0 || len(hr.Record.Samples) != 5 {
		t.Errorf("rescore %+v, %d samples", hr.Rescore, len(hr.Record.Samples))
	}
	for _, name := range []string{"gsm8k.yaml", "lm_eval_launcher.py", "lm_eval.log"} {
		if _, err := os.Stat(filepath.Join(work, name)); err != nil {
			t.Error(err)
		}
	}
	dir := t.TempDir()
	files, err := CopyHarnessArtifacts(dir, result.MetaEnv{Model: "acme/model-x", HW: "h100", TP: 8, Conc: 8}, hr)
	if err != nil || len(files) != 4 {
		t.Fatalf("copied %v: %v", files, err)
	}
	rows, err := Collect(dir, nil)
	if err != nil || len(rows) != 1 || *rows[0].EMStrict != 0.6 || rows[0].HW != "H100" {
		t.Fatalf("collected %+v: %v", rows, err)
	}
}

func TestRunHarnessFailures(t *testing.T) {
	c := loadRepoEvalConfig(t)
	opts := HarnessOptions{Task: "gsm8k", BaseURL: "http://127.0.0.1:8888", Model: "acme/model-x", Conc: 8}

	opts.WorkDir, opts.APIKey = t.TempDir(), "sk-secret"
	_, err := c.RunHarness(context.Background(), fakeHarness(t, 1, false), opts)
	if err == nil || !strings.Contains(err.Error(), "exit status 1") || !strings.Contains(err.Error(), "Traceback: boom") || !strings.Contains(err.Error(), "lm_eval.log") {
		t.Errorf("non-zero exit: %v", err)
	}
	if strings.Contains(err.Error(), "sk-secret") || !strings.Contains(err.Error(), "api_key=***") {
		t.Errorf("the API key is not redacted: %v", err)
	}
	opts.APIKey = ""

	opts.WorkDir = t.TempDir()
	_, err = c.RunHarness(context.Background(), fakeHarness(t, 0, false), opts)
	if err == nil || !strings.Contains(err.Error(), "no results_*.json") {
		t.Errorf("no output: %v", err)
	}

	// a failing install is a warning: images may ship the harness.
	f := &execx.Fake{}
	f.On([]string{"python3", "-m", "pip", "install", "-q", "--no-cache-dir", "--break-system-packages"}, "", 1)
	addFakeHarness(t, f, 0, true)
	opts.WorkDir = t.TempDir()
	hr, err := c.RunHarness(context.Background(), f, opts)
	if err != nil || len(hr.Warnings) != 1 {
		t.Errorf("install failure: %v, warnings %v", err, hr.Warnings)
	}
}
