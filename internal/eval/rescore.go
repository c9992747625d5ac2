package eval

import (
	"encoding/json"
	"sort"
)

// Disagreement is a sample where the built-in scorer and the harness differ.
type Disagreement struct {
	DocID           int
	Filter          string
	Response        string
	HarnessAnswer   string
	OurAnswer       string
	HarnessMatch    bool
	OurMatch        bool
	HarnessHasScore bool
}

// RescoreReport compares the harness's per-sample verdicts with the built-in scorer's.
type RescoreReport struct {
	Checked       int // sample lines under a filter the scorer knows
	Disagreements []Disagreement
	// Strict and Flexible are the built-in scorer's aggregate over the samples.
	Strict, Flexible *Measure
}

// Rescore re-scores the harness's gsm8k samples with the built-in scorer. Lines under
// filters other than strict-match and flexible-extract are skipped.
func Rescore(samples []HarnessSample) RescoreReport {
	var r RescoreReport
	var strict, flex []bool
	for _, s := range samples {
		var ours string
		switch s.Filter {
		case FilterStrict:
			ours = ExtractStrict(s.Response())
		case FilterFlexible:
			ours = ExtractFlexible(s.Response())
		default:
			continue
		}
		r.Checked++
		ok := ExactMatch(ours, s.Target)
		if s.Filter == FilterStrict {
			strict = append(strict, ok)
		} else {
			flex = append(flex, ok)
		}
		d := Disagreement{DocID: s.DocID, Filter: s.Filter, Response: s.Response(),
			HarnessAnswer: s.Filtered(), OurAnswer: ours, OurMatch: ok}
		if s.ExactMatch != nil {
			d.HarnessHasScore, d.HarnessMatch = true, *s.ExactMatch == 1
		}
		if d.HarnessAnswer != ours || (d.HarnessHasScore && d.HarnessMatch != ok) {
			r.Disagreements = append(r.Disagreements, d)
		}
	}
	r.Strict, r.Flexible = meanMeasure(strict), meanMeasure(flex)
	return r
}

// SamplesFromHarness merges the per-filter lines of a gsm8k samples file into one Sample per
// document, ordered by doc_id, so harness runs and built-in runs look alike.
func SamplesFromHarness(lines []HarnessSample) []Sample {
	byDoc := map[int]*Sample{}
	var ids []int
	for _, l := range lines {
		s, ok := byDoc[l.DocID]
		if !ok {
			s = &Sample{DocID: l.DocID, Response: l.Response()}
			_ = json.Unmarshal(l.Doc, &s.Doc)
			if s.Doc.Answer == "" {
				s.Doc.Answer = l.Target
			}
			for _, a := range l.Arguments {
				s.Prompt = a.Arg0
			}
			byDoc[l.DocID] = s
			ids = append(ids, l.DocID)
		}
		ok = l.ExactMatch != nil && *l.ExactMatch == 1
		switch l.Filter {
		case FilterStrict:
			s.Strict, s.StrictOK = l.Filtered(), ok
		case FilterFlexible:
			s.Flexible, s.FlexibleOK = l.Filtered(), ok
		}
	}
	sort.Ints(ids)
	out := make([]Sample, 0, len(ids))
	for _, id := range ids {
		out = append(out, *byDoc[id])
	}
	return out
}
