package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// The files lm-evaluation-harness writes under --output_path/<model_sanitized>/ (format of
// the 0.4 line, commit b315ef3b that InferenceX pins): results_<date>.json, and with
// --log_samples one samples_<task>_<date>.jsonl per task.

// ResultsFile is the part of results_<date>.json the agent reads.
type ResultsFile struct {
	// Results maps a task to its metric keys ("exact_match,strict-match", its
	// "_stderr" twin, "alias"); values are numbers, or "N/A" for an undefined stderr.
	Results  map[string]map[string]json.RawMessage `json:"results"`
	Configs  map[string]TaskConfig                 `json:"configs"`
	NShot    map[string]int                        `json:"n-shot"`
	NSamples map[string]struct {
		Original  int `json:"original"`
		Effective int `json:"effective"`
	} `json:"n-samples"`
	LMEvalVersion *string `json:"lm_eval_version"`
	ModelName     string  `json:"model_name"`

	// taskOrder keeps the order of the tasks in "results", as Python iterates them.
	taskOrder []string
}

// TaskConfig is a task's entry in the results file's "configs".
type TaskConfig struct {
	Task       string `json:"task"`
	NumFewshot int    `json:"num_fewshot"`
	MetricList []struct {
		Metric string `json:"metric"`
	} `json:"metric_list"`
	FilterList []struct {
		Name string `json:"name"`
	} `json:"filter_list"`
	Metadata map[string]any `json:"metadata"`
}

// ParseResults decodes a results file; name is only used in messages.
func ParseResults(name string, data []byte) (*ResultsFile, error) {
	var rf ResultsFile
	if err := json.Unmarshal(data, &rf); err != nil {
		return nil, fmt.Errorf("%s: not an lm-eval results file: %w", name, err)
	}
	if rf.Results == nil {
		return nil, fmt.Errorf("%s: not an lm-eval results file: no \"results\" object", name)
	}
	order, err := objectKeys(data, "results")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	rf.taskOrder = order
	return &rf, nil
}

// ReadResults reads and decodes a results file.
func ReadResults(path string) (*ResultsFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseResults(path, b)
}

// Tasks are the tasks of the results file in file order.
func (rf *ResultsFile) Tasks() []string { return rf.taskOrder }

// Record extracts one task the way collect_eval_results.py does (docs/evals.md#collection): the base metric
// is the first of the task's metric_list (default exact_match); a filter whose name contains
// "strict" gives the strict pair, one containing "flex" or "extract" the flexible pair; a
// task without filters gives accuracy from "acc" if present, else its bare metric as strict.
func (rf *ResultsFile) Record(task string) (*Record, error) {
	res, ok := rf.Results[task]
	if !ok {
		return nil, fmt.Errorf("task %q is not in the results (have %s)", task, strings.Join(rf.taskOrder, ", "))
	}
	cfg := rf.Configs[task]
	rec := &Record{Task: task, Metric: "exact_match", NumFewshot: cfg.NumFewshot}
	if n, ok := rf.NShot[task]; ok {
		rec.NumFewshot = n
	}
	if len(cfg.MetricList) > 0 && cfg.MetricList[0].Metric != "" {
		rec.Metric = cfg.MetricList[0].Metric
	}
	for _, f := range cfg.FilterList {
		m := measure(res, rec.Metric, f.Name)
		switch {
		case strings.Contains(f.Name, "strict"):
			rec.Strict = m
		case strings.Contains(f.Name, "flex"), strings.Contains(f.Name, "extract"):
			rec.Flexible = m
		}
	}
	if len(cfg.FilterList) == 0 {
		if m := measure(res, "acc", "none"); m != nil {
			rec.Accuracy = m
		} else {
			rec.Strict = measure(res, rec.Metric, "none")
		}
	}
	if ns, ok := rf.NSamples[task]; ok {
		rec.N, rec.NOriginal = ns.Effective, ns.Original
	}
	rec.Model = rf.ModelName
	if rec.Model == "" {
		if m, ok := cfg.Metadata["model"].(string); ok {
			rec.Model = m
		}
	}
	if rf.LMEvalVersion != nil {
		rec.Harness = *rf.LMEvalVersion
	}
	return rec, nil
}

// measure reads "<metric>,<filter>" and "<metric>_stderr,<filter>"; with filter "none" the
// bare keys ("acc", "acc_stderr") of older files are accepted too.
func measure(res map[string]json.RawMessage, metric, filter string) *Measure {
	v, ok := number(res[metric+","+filter])
	if !ok && filter == "none" {
		v, ok = number(res[metric])
	}
	if !ok {
		return nil
	}
	m := &Measure{Value: v}
	se, ok := number(res[metric+"_stderr,"+filter])
	if !ok && filter == "none" {
		se, ok = number(res[metric+"_stderr"])
	}
	if ok {
		m.Stderr = &se
	}
	return m
}

// number decodes a JSON number; "N/A", null, strings and absent values are not numbers.
func number(raw json.RawMessage) (float64, bool) {
	var f float64
	if len(raw) == 0 || json.Unmarshal(raw, &f) != nil {
		return 0, false
	}
	return f, true
}

// objectKeys lists the keys of the top-level object's member key, in document order.
func objectKeys(data []byte, key string) ([]string, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(top[key]))
	if _, err := dec.Token(); err != nil { // '{'
		return nil, fmt.Errorf("%q: %w", key, err)
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%q: %w", key, err)
		}
		keys = append(keys, t.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, fmt.Errorf("%q: %w", key, err)
		}
	}
	return keys, nil
}

// HarnessSample is one line of samples_<task>_<date>.jsonl: one document under one filter
// (a gsm8k document appears once per filter).
type HarnessSample struct {
	DocID     int             `json:"doc_id"`
	Doc       json.RawMessage `json:"doc"`
	Target    string          `json:"target"`
	Arguments map[string]struct {
		Arg0 string `json:"arg_0"`
	} `json:"arguments"`
	Resps         [][]string `json:"resps"`
	FilteredResps []string   `json:"filtered_resps"`
	Filter        string     `json:"filter"`
	Metrics       []string   `json:"metrics"`
	ExactMatch    *float64   `json:"exact_match"`
}

// Response is the model's raw answer (the first of the first repeat).
func (s HarnessSample) Response() string {
	if len(s.Resps) == 0 || len(s.Resps[0]) == 0 {
		return ""
	}
	return s.Resps[0][0]
}

// Filtered is the harness's filtered answer.
func (s HarnessSample) Filtered() string {
	if len(s.FilteredResps) == 0 {
		return ""
	}
	return s.FilteredResps[0]
}

// ParseSamples decodes a samples file, collecting every bad line.
func ParseSamples(name string, data []byte) ([]HarnessSample, error) {
	var out []HarnessSample
	var errs []error
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var s HarnessSample
		if err := json.Unmarshal(text, &s); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", name, line, err))
			continue
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	return out, errors.Join(errs...)
}

// ReadSamples reads and decodes a samples file.
func ReadSamples(path string) ([]HarnessSample, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseSamples(path, b)
}
