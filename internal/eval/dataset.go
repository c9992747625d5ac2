package eval

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"strings"
)

// The gsm8k dataset cannot be downloaded here (and runners may be offline), so the binary
// carries a small hand-written set in gsm8k's format: grade-school word problems whose
// answers are worked solutions ending in "#### <number>". Few-shot examples come from a
// separate file, as the harness draws them from the train split.
//
//go:embed data/gsm8k_mini.jsonl data/gsm8k_mini_fewshot.jsonl
var dataFS embed.FS

// Doc is one gsm8k document.
type Doc struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

// Dataset is a task's test documents and the pool its few-shot examples come from.
type Dataset struct {
	Name    string
	Test    []Doc
	Fewshot []Doc
}

// TaskGSM8K is the only task the built-in runner knows.
const TaskGSM8K = "gsm8k"

// BuiltinDataset returns the embedded set for a task.
func BuiltinDataset(task string) (*Dataset, error) {
	if task != TaskGSM8K {
		return nil, fmt.Errorf("task %q has no built-in dataset: the built-in eval knows only %q (run lm-evaluation-harness for other tasks)", task, TaskGSM8K)
	}
	test, err := readDocs("data/gsm8k_mini.jsonl")
	if err != nil {
		return nil, err
	}
	shots, err := readDocs("data/gsm8k_mini_fewshot.jsonl")
	if err != nil {
		return nil, err
	}
	return &Dataset{Name: "gsm8k_mini", Test: test, Fewshot: shots}, nil
}

func readDocs(name string) ([]Doc, error) {
	b, err := dataFS.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return parseDocs(name, b)
}

// parseDocs reads JSON lines of {"question", "answer"}; every answer must carry "#### ".
func parseDocs(name string, b []byte) ([]Doc, error) {
	var docs []Doc
	var errs []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var d Doc
		switch err := json.Unmarshal([]byte(text), &d); {
		case err != nil:
			errs = append(errs, fmt.Sprintf("%s:%d: %v", name, line, err))
		case d.Question == "" || !strings.Contains(d.Answer, "#### "):
			errs = append(errs, fmt.Sprintf("%s:%d: need a question and an answer ending in \"#### <number>\"", name, line))
		default:
			docs = append(docs, d)
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Sprintf("%s: %v", name, err))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("bad dataset:\n  %s", strings.Join(errs, "\n  "))
	}
	return docs, nil
}

// TargetNumber is the answer after "#### ", the value strict-match should find.
func (d Doc) TargetNumber() string {
	return strings.TrimSpace(d.Answer[strings.LastIndex(d.Answer, "#### ")+len("#### "):])
}

// SimScript is a rules file for `agent serve-sim --mode script --script FILE` that answers
// every built-in gsm8k question with its worked reference answer, or with a wrong one where
// wrong(i) says so (nil: none), so an eval can run end to end against the simulator. The
// rules match on the question line, which only the test document (not a few-shot example)
// carries.
func SimScript(wrong func(i int) bool) ([]byte, error) {
	ds, err := BuiltinDataset(TaskGSM8K)
	if err != nil {
		return nil, err
	}
	type rule struct {
		Match string `json:"match"`
		Reply string `json:"reply"`
	}
	rules := make([]rule, 0, len(ds.Test))
	for i, d := range ds.Test {
		reply := d.Answer
		if wrong != nil && wrong(i) {
			reply = "I am not sure.\n#### 99999"
		}
		rules = append(rules, rule{Match: "Question: " + d.Question + "\n", Reply: reply})
	}
	return json.MarshalIndent(rules, "", "  ")
}
