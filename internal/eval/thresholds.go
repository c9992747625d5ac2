package eval

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/result"
)

// Thresholds are the minimum scores of configs/eval-thresholds.yaml.
type Thresholds struct {
	Default *float64
	Tasks   map[string]float64
	// Models maps a lower-cased model id to its per-task minimums.
	Models map[string]map[string]float64
	// Source names the file, for messages.
	Source string
}

// LoadThresholds reads a thresholds file.
func LoadThresholds(path string) (*Thresholds, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseThresholds(path, b)
}

// ParseThresholds decodes a thresholds file, reporting every problem with file:line:col.
func ParseThresholds(name string, data []byte) (*Thresholds, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	th := &Thresholds{Tasks: map[string]float64{}, Models: map[string]map[string]float64{}, Source: name}
	if len(doc.Content) == 0 {
		return th, nil
	}
	p := &thParser{name: name}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "the file must be a mapping with default, tasks and models")
		return nil, p.err()
	}
	for k, v := range pairs(root) {
		switch k.Value {
		case "default":
			if f, ok := p.fraction(v); ok {
				th.Default = &f
			}
		case "tasks":
			p.taskMap(v, th.Tasks)
		case "models":
			if !p.mapping(v, "models") {
				continue
			}
			for mk, mv := range pairs(v) {
				key := strings.ToLower(mk.Value)
				if _, dup := th.Models[key]; dup {
					p.errorf(mk, "model %q is listed twice", mk.Value)
				}
				th.Models[key] = map[string]float64{}
				p.taskMap(mv, th.Models[key])
			}
		default:
			p.errorf(k, "unknown key %q: expected default, tasks or models", k.Value)
		}
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return th, nil
}

type thParser struct {
	name string
	errs []error
}

func (p *thParser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s:%d:%d: %s", p.name, n.Line, n.Column, fmt.Sprintf(format, args...)))
}

func (p *thParser) err() error { return errors.Join(p.errs...) }

func (p *thParser) mapping(n *yaml.Node, what string) bool {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping", what)
		return false
	}
	return true
}

func (p *thParser) taskMap(n *yaml.Node, into map[string]float64) {
	if !p.mapping(n, "a task list") {
		return
	}
	seen := map[string]bool{}
	for k, v := range pairs(n) {
		if seen[k.Value] {
			p.errorf(k, "task %q is listed twice", k.Value)
		}
		seen[k.Value] = true
		if f, ok := p.fraction(v); ok {
			into[k.Value] = f
		}
	}
}

func (p *thParser) fraction(n *yaml.Node) (float64, bool) {
	f, err := strconv.ParseFloat(n.Value, 64)
	if n.Kind != yaml.ScalarNode || err != nil || f < 0 || f > 1 {
		p.errorf(n, "%q is not a score: write a fraction between 0 and 1 (0.85, not 85)", n.Value)
		return 0, false
	}
	return f, true
}

// pairs iterates a mapping node's key/value nodes.
func pairs(n *yaml.Node) func(yield func(k, v *yaml.Node) bool) {
	return func(yield func(k, v *yaml.Node) bool) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !yield(n.Content[i], n.Content[i+1]) {
				return
			}
		}
	}
}

// Min is the minimum for a model and task, and where it came from.
func (t *Thresholds) Min(model, task string) (minScore float64, from string, ok bool) {
	if t == nil {
		return 0, "", false
	}
	if m, ok := t.Models[strings.ToLower(model)][task]; ok {
		return m, fmt.Sprintf("models.%s.%s", model, task), true
	}
	if m, ok := t.Tasks[task]; ok {
		return m, "tasks." + task, true
	}
	if t.Default != nil {
		return *t.Default, "default", true
	}
	return 0, "", false
}

// Verdict is the outcome of checking a score against its threshold.
type Verdict struct {
	Passed  bool
	HasMin  bool
	Min     float64
	Message string
}

// MinPtr is the minimum for the row's threshold field (nil when none applies).
func (v Verdict) MinPtr() *float64 {
	if !v.HasMin {
		return nil
	}
	return ptr(v.Min)
}

// Check compares a score with the model's and task's minimum. No minimum passes; a missing
// score fails when a minimum exists, since nothing shows the model still answers correctly.
func (t *Thresholds) Check(model, task string, score *float64) Verdict {
	minScore, from, ok := t.Min(model, task)
	if !ok {
		return Verdict{Passed: true, Message: fmt.Sprintf("%s: no accuracy threshold for model %s", task, model)}
	}
	v := Verdict{HasMin: true, Min: minScore}
	src := from
	if t.Source != "" {
		src = t.Source + " " + from
	}
	switch {
	case score == nil:
		v.Message = fmt.Sprintf("eval failed: %s produced no score for %s (minimum %.4f from %s); check the eval log and samples", task, model, minScore, src)
	case *score < minScore:
		v.Message = fmt.Sprintf("eval failed: %s score %.4f is below the minimum %.4f for %s (%s); the model answers worse than its baseline, check the engine settings or the samples", task, *score, minScore, model, src)
	default:
		v.Passed = true
		v.Message = fmt.Sprintf("%s score %.4f meets the minimum %.4f (%s)", task, *score, minScore, src)
	}
	return v
}

// GatedScore is the value a threshold is compared with: the row's score (em_strict, else
// accuracy), else em_flexible, so that tasks with only an extraction filter (gpqa's
// extract_abcd), whose score the reference leaves null, can still be gated.
func GatedScore(row result.EvalRow) *float64 {
	if row.Score != nil {
		return row.Score
	}
	return row.EMFlexible
}
