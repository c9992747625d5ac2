package eval

import "math"

// Measure is a metric's value with its standard error; Stderr is nil where the harness wrote
// "N/A" (a single sample) or nothing.
type Measure struct {
	Value  float64
	Stderr *float64
}

// Record is the outcome of one eval of one task: what the harness's results file says, or
// what the built-in runner measured, in the same shape.
type Record struct {
	Task       string
	Metric     string   // base metric, "exact_match" for gsm8k
	Strict     *Measure // "<metric>,<strict filter>"
	Flexible   *Measure // "<metric>,<flexible filter>"
	Accuracy   *Measure // "acc" of tasks without filters
	N          int      // effective number of documents (n-samples.effective)
	NOriginal  int      // documents in the test split before --limit
	NumFewshot int
	Model      string
	// Harness is lm_eval_version of the results file ("inferbench-builtin ..." for our runner).
	Harness string
	// Failed counts requests that got no answer (built-in runner); they score as wrong.
	Failed  int
	Samples []Sample
	// Source is the results file the record was read from, when it was read.
	Source string
}

// Sample is one document's request, answer and scores.
type Sample struct {
	DocID      int
	Doc        Doc
	Prompt     string
	Response   string
	Strict     string // strict-match's filtered answer
	Flexible   string // flexible-extract's filtered answer
	StrictOK   bool
	FlexibleOK bool
	Err        string `json:",omitempty"`
}

// Score is the row's headline number as collect_eval_results.py picks it: strict exact
// match when present, else accuracy, else none.
func (r *Record) Score() (value *float64, name string, stderr *float64) {
	switch {
	case r.Strict != nil:
		return ptr(r.Strict.Value), "em_strict", r.Strict.Stderr
	case r.Accuracy != nil:
		return ptr(r.Accuracy.Value), "accuracy", r.Accuracy.Stderr
	}
	return nil, "", nil
}

// meanMeasure is lm-eval's mean aggregation with mean_stderr (sample standard deviation,
// ddof 1, over sqrt(n)); with fewer than two items the stderr is "N/A".
func meanMeasure(ok []bool) *Measure {
	if len(ok) == 0 {
		return nil
	}
	var sum float64
	for _, b := range ok {
		if b {
			sum++
		}
	}
	n := float64(len(ok))
	m := &Measure{Value: sum / n}
	if len(ok) > 1 {
		var ss float64
		for _, b := range ok {
			x := 0.0
			if b {
				x = 1
			}
			ss += (x - m.Value) * (x - m.Value)
		}
		m.Stderr = ptr(math.Sqrt(ss/(n-1)) / math.Sqrt(n))
	}
	return m
}

func ptr[T any](v T) *T { return &v }
