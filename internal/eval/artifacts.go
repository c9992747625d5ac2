package eval

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/inferbench/inferbench/internal/result"
)

// Artifact file names (docs/evals.md#artifacts): the collectors look for meta_env.json and the newest
// *.json carrying lm_eval_version; samples travel as samples_<task>_<date>.jsonl.
const MetaEnvFile = "meta_env.json"

// DateID is lm-eval's file timestamp: ISO time with ':' replaced by '-'.
func DateID(t time.Time) string {
	return strings.ReplaceAll(t.UTC().Format("2006-01-02T15:04:05.000000"), ":", "-")
}

// ResultsFileName and SamplesFileName are lm-eval's output names.
func ResultsFileName(date string) string { return "results_" + date + ".json" }
func SamplesFileName(task, date string) string {
	return "samples_" + task + "_" + date + ".jsonl"
}

// ArtifactInfo describes the run for the results file's "config" block.
type ArtifactInfo struct {
	BaseURL     string
	Concurrency int
	Limit       int
	Gen         GenParams
	Start, End  time.Time
}

// WriteArtifacts writes a built-in eval's artifacts into dir with the reference's names:
// meta_env.json, results_<date>.json in lm-eval's format (so collect_eval_results.py and
// Collect read it unchanged) and samples_<task>_<date>.jsonl. It returns the paths written.
func WriteArtifacts(dir string, meta result.MetaEnv, rec *Record, info ArtifactInfo) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	date := DateID(info.End)
	var files []string
	write := func(name string, data []byte) error {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		files = append(files, p)
		return nil
	}
	if err := WriteMetaEnv(dir, meta); err != nil {
		return nil, err
	}
	files = append(files, filepath.Join(dir, MetaEnvFile))
	res, err := encodeIndent(builtinResults(rec, info))
	if err != nil {
		return files, err
	}
	if err := write(ResultsFileName(date), res); err != nil {
		return files, err
	}
	rec.Source = files[len(files)-1]
	samples, err := encodeSamples(rec, info)
	if err != nil {
		return files, err
	}
	if err := write(SamplesFileName(rec.Task, date), samples); err != nil {
		return files, err
	}
	return files, nil
}

// WriteMetaEnv writes meta_env.json with an encoder (the reference's heredoc could emit
// invalid JSON).
func WriteMetaEnv(dir string, meta result.MetaEnv) error {
	b, err := encodeIndent(meta)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, MetaEnvFile), b, 0o644)
}

func encodeIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// The gsm8k task definition as the reference's utils/evals/gsm8k.yaml states it; written into
// the results file's "configs" so that a reader finds the metric and the filter names.
type metricSpec struct {
	Metric           string   `json:"metric"`
	Aggregation      string   `json:"aggregation"`
	HigherIsBetter   bool     `json:"higher_is_better"`
	IgnoreCase       bool     `json:"ignore_case"`
	IgnorePunctation bool     `json:"ignore_punctuation"`
	RegexesToIgnore  []string `json:"regexes_to_ignore"`
}

type filterStep struct {
	Function     string `json:"function"`
	GroupSelect  *int   `json:"group_select,omitempty"`
	RegexPattern string `json:"regex_pattern,omitempty"`
}

type filterSpec struct {
	Name   string       `json:"name"`
	Filter []filterStep `json:"filter"`
}

type genKwargs struct {
	Until       []string `json:"until"`
	DoSample    bool     `json:"do_sample"`
	Temperature float64  `json:"temperature"`
	MaxTokens   int      `json:"max_tokens"`
	TopP        float64  `json:"top_p"`
}

type taskConfigOut struct {
	Task             string         `json:"task"`
	DatasetPath      string         `json:"dataset_path"`
	TestSplit        string         `json:"test_split"`
	FewshotSplit     string         `json:"fewshot_split"`
	DocToText        string         `json:"doc_to_text"`
	DocToTarget      string         `json:"doc_to_target"`
	TargetDelimiter  string         `json:"target_delimiter"`
	FewshotDelimiter string         `json:"fewshot_delimiter"`
	NumFewshot       int            `json:"num_fewshot"`
	MetricList       []metricSpec   `json:"metric_list"`
	OutputType       string         `json:"output_type"`
	GenerationKwargs genKwargs      `json:"generation_kwargs"`
	Repeats          int            `json:"repeats"`
	FilterList       []filterSpec   `json:"filter_list"`
	Metadata         map[string]any `json:"metadata"`
}

type nSamples struct {
	Original  int `json:"original"`
	Effective int `json:"effective"`
}

type runConfigOut struct {
	Model     string    `json:"model"`
	ModelArgs string    `json:"model_args"`
	Limit     *int      `json:"limit"`
	GenKwargs genKwargs `json:"gen_kwargs"`
}

type resultsOut struct {
	Results        map[string]map[string]any  `json:"results"`
	GroupSubtasks  map[string][]string        `json:"group_subtasks"`
	Configs        map[string]taskConfigOut   `json:"configs"`
	Versions       map[string]float64         `json:"versions"`
	NShot          map[string]int             `json:"n-shot"`
	HigherIsBetter map[string]map[string]bool `json:"higher_is_better"`
	NSamples       map[string]nSamples        `json:"n-samples"`
	Config         runConfigOut               `json:"config"`
	Date           float64                    `json:"date"`
	LMEvalVersion  string                     `json:"lm_eval_version"`
	ModelSource    string                     `json:"model_source"`
	ModelName      string                     `json:"model_name"`
	ModelSanitized string                     `json:"model_name_sanitized"`
	FewshotMulti   bool                       `json:"fewshot_as_multiturn"`
	StartTime      float64                    `json:"start_time"`
	EndTime        float64                    `json:"end_time"`
	TotalEvalTimeS string                     `json:"total_evaluation_time_seconds"`
	Failed         int                        `json:"inferbench_failed_requests"`
	DatasetNote    string                     `json:"inferbench_dataset"`
}

func gsm8kTaskConfig(numFewshot int, gen genKwargs, model string) taskConfigOut {
	last := -1
	return taskConfigOut{
		Task: TaskGSM8K, DatasetPath: "inferbench/gsm8k_mini (embedded)", TestSplit: "test", FewshotSplit: "train",
		DocToText:   "Question: {{question}}\nEnd your answer with: #### <answer>\nAnswer:",
		DocToTarget: "{{answer}}", TargetDelimiter: targetDelimiter, FewshotDelimiter: fewshotDelimiter,
		NumFewshot: numFewshot,
		MetricList: []metricSpec{{Metric: "exact_match", Aggregation: "mean", HigherIsBetter: true, IgnoreCase: true,
			RegexesToIgnore: []string{",", `\$`, "(?s).*#### ", `\.$`}}},
		OutputType: "generate_until", GenerationKwargs: gen, Repeats: 1,
		FilterList: []filterSpec{
			{Name: FilterStrict, Filter: []filterStep{{Function: "regex", RegexPattern: strictRe.String()}, {Function: "take_first"}}},
			{Name: FilterFlexible, Filter: []filterStep{{Function: "regex", GroupSelect: &last, RegexPattern: flexibleRe.String()}, {Function: "take_first"}}},
		},
		Metadata: map[string]any{"version": 3.0, "model": model},
	}
}

func builtinResults(rec *Record, info ArtifactInfo) resultsOut {
	gen := genKwargs{Until: StopStrings, Temperature: info.Gen.Temperature, MaxTokens: info.Gen.MaxTokens, TopP: info.Gen.TopP}
	task := map[string]any{"alias": rec.Task}
	put := func(filter string, m *Measure) {
		if m == nil {
			return
		}
		task[rec.Metric+","+filter] = m.Value
		if m.Stderr != nil {
			task[rec.Metric+"_stderr,"+filter] = *m.Stderr
		} else {
			task[rec.Metric+"_stderr,"+filter] = "N/A"
		}
	}
	put(FilterStrict, rec.Strict)
	put(FilterFlexible, rec.Flexible)
	var limit *int
	if info.Limit > 0 {
		limit = &info.Limit
	}
	secs := func(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
	return resultsOut{
		Results:        map[string]map[string]any{rec.Task: task},
		GroupSubtasks:  map[string][]string{rec.Task: {}},
		Configs:        map[string]taskConfigOut{rec.Task: gsm8kTaskConfig(rec.NumFewshot, gen, rec.Model)},
		Versions:       map[string]float64{rec.Task: 3.0},
		NShot:          map[string]int{rec.Task: rec.NumFewshot},
		HigherIsBetter: map[string]map[string]bool{rec.Task: {rec.Metric: true}},
		NSamples:       map[string]nSamples{rec.Task: {Original: rec.NOriginal, Effective: rec.N}},
		Config: runConfigOut{
			Model:     "inferbench-builtin-chat-completions",
			ModelArgs: fmt.Sprintf("model=%s,base_url=%s,num_concurrent=%d", rec.Model, chatURL(info.BaseURL), info.Concurrency),
			Limit:     limit, GenKwargs: gen,
		},
		Date: secs(info.Start), LMEvalVersion: rec.Harness, ModelSource: "inferbench-builtin",
		ModelName: rec.Model, ModelSanitized: sanitizeModel(rec.Model),
		StartTime: secs(info.Start), EndTime: secs(info.End),
		TotalEvalTimeS: fmt.Sprintf("%.3f", info.End.Sub(info.Start).Seconds()),
		Failed:         rec.Failed,
		DatasetNote:    "hand-written gsm8k-style set embedded in the agent, not openai/gsm8k",
	}
}

// sanitizeModel is lm-eval's model_name_sanitized: path separators become "__".
func sanitizeModel(m string) string {
	return strings.NewReplacer("/", "__", "\\", "__", ":", "__").Replace(m)
}

type sampleOut struct {
	DocID         int                       `json:"doc_id"`
	Doc           Doc                       `json:"doc"`
	Target        string                    `json:"target"`
	Arguments     map[string]map[string]any `json:"arguments"`
	Resps         [][]string                `json:"resps"`
	FilteredResps []string                  `json:"filtered_resps"`
	Filter        string                    `json:"filter"`
	Metrics       []string                  `json:"metrics"`
	DocHash       string                    `json:"doc_hash"`
	PromptHash    string                    `json:"prompt_hash"`
	TargetHash    string                    `json:"target_hash"`
	ExactMatch    float64                   `json:"exact_match"`
	Error         string                    `json:"inferbench_error,omitempty"`
}

// encodeSamples writes lm-eval's sample lines: every document under strict-match, then every
// document under flexible-extract, as the harness's evaluator loops filters outermost.
func encodeSamples(rec *Record, info ArtifactInfo) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	gen := map[string]any{"until": StopStrings, "do_sample": false, "temperature": info.Gen.Temperature,
		"max_tokens": info.Gen.MaxTokens, "top_p": info.Gen.TopP}
	for _, filter := range []string{FilterStrict, FilterFlexible} {
		for _, s := range rec.Samples {
			ans, ok := s.Strict, s.StrictOK
			if filter == FilterFlexible {
				ans, ok = s.Flexible, s.FlexibleOK
			}
			docJSON, _ := json.Marshal(s.Doc)
			out := sampleOut{
				DocID: s.DocID, Doc: s.Doc, Target: s.Doc.Answer,
				Arguments: map[string]map[string]any{"gen_args_0": {"arg_0": s.Prompt, "arg_1": gen}},
				Resps:     [][]string{{s.Response}}, FilteredResps: []string{ans}, Filter: filter,
				Metrics: []string{"exact_match"}, DocHash: hash(string(docJSON)), PromptHash: hash(s.Prompt),
				TargetHash: hash(s.Doc.Answer), ExactMatch: b2f(ok), Error: s.Err,
			}
			if err := enc.Encode(out); err != nil {
				return nil, err
			}
		}
	}
	return buf.Bytes(), nil
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
