package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/changelog"
	"github.com/inferbench/inferbench/internal/config"
	"github.com/inferbench/inferbench/internal/matrix"
)

// options0208 wires the 2026-08 changelog processing: expansions run test-config in
// process on the head configs, or on the configs of the merge base of the two refs for
// append-only entries (read from git, expanded by this generator).
func options0208(a *args, m *config.Master, r *config.Runners, req changelog.Request) *changelog.Options0208 {
	files, runners := configFiles(a), a.str("--runner-config", defaultRunnerConfig)
	b := &baseRevision{git: req.Git, baseRef: req.BaseRef, headRef: req.HeadRef, files: files, runners: runners}
	return &changelog.Options0208{
		TrimConc:  a.flag("--trim-conc"),
		AllEvals:  a.flag("--all-evals"),
		EvalsOnly: a.flag("--evals-only"),
		Expand: func(ctx context.Context, q changelog.Query) ([]json.RawMessage, error) {
			mm, rr := m, r
			if q.Base {
				var err error
				if mm, rr, err = b.configs(ctx); err != nil {
					return nil, err
				}
			}
			return expand0208(mm, rr, q)
		},
		Raw: func(ctx context.Context, base bool) (map[string]any, error) {
			if base {
				return b.raw(ctx)
			}
			return rawConfigs(config.ReadFile, files)
		},
	}
}

func expand0208(m *config.Master, r *config.Runners, q changelog.Query) ([]json.RawMessage, error) {
	o := matrix.TestConfigOptions{Keys: q.Keys, Evals: matrix.EvalsNone}
	for _, s := range q.Scenarios {
		if s == "agentic-coding" {
			o.Scenarios = append(o.Scenarios, matrix.AgenticCoding)
		} else {
			o.Scenarios = append(o.Scenarios, matrix.FixedSeqLen)
		}
	}
	switch q.Evals {
	case changelog.OnlyEvals:
		o.Evals = matrix.EvalsOnly
	case changelog.OnlyEvalsOfAll:
		o.Evals, o.AllEvals = matrix.EvalsOnly, true
	}
	rows, err := matrix.TestConfig(m, r, o)
	if err != nil {
		return nil, err
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(matrix.AppendJSON(nil, rows), &raw); err != nil {
		return nil, fmt.Errorf("re-reading generated rows: %w", err)
	}
	return raw, nil
}

// baseRevision reads the config files as they are at the merge base of the refs, once.
type baseRevision struct {
	git              changelog.Git
	baseRef, headRef string
	files            []string
	runners          string
	once             sync.Once
	commit           string
	err              error
	m                *config.Master
	r                *config.Runners
	rawOnce          sync.Once
	rawM             map[string]any
	rawErr           error
}

func (b *baseRevision) read(ctx context.Context) func(string) ([]byte, error) {
	b.once.Do(func() {
		base, err := b.git.Commit(ctx, b.baseRef)
		if err != nil {
			b.err = err
			return
		}
		head, err := b.git.Commit(ctx, b.headRef)
		if err != nil {
			b.err = err
			return
		}
		b.commit, b.err = b.git.MergeBase(ctx, base, head)
	})
	return func(path string) ([]byte, error) {
		if b.err != nil {
			return nil, b.err
		}
		return b.git.Show(ctx, b.commit, path)
	}
}

func (b *baseRevision) configs(ctx context.Context) (*config.Master, *config.Runners, error) {
	if b.m != nil {
		return b.m, b.r, nil
	}
	m, r, g, diags := config.LoadWith(b.read(ctx), b.files, b.runners)
	switch {
	case b.err != nil:
		return nil, nil, b.err
	case diags.HasErrors():
		return nil, nil, fmt.Errorf("the configs of the base revision do not load: %v", diags.Errors())
	case g != config.Gen2026_08:
		return nil, nil, fmt.Errorf("the configs of the base revision are %s; append-only needs 2026-08 configs on both sides", g)
	}
	b.m, b.r = m, r
	return m, r, nil
}

func (b *baseRevision) raw(ctx context.Context) (map[string]any, error) {
	b.rawOnce.Do(func() { b.rawM, b.rawErr = rawConfigs(b.read(ctx), b.files) })
	return b.rawM, b.rawErr
}

// rawConfigs merges the master configs as plain decoded YAML, key by key.
func rawConfigs(read func(string) ([]byte, error), files []string) (map[string]any, error) {
	out := map[string]any{}
	for _, f := range files {
		data, err := read(f)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", f, err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for k, v := range m {
			out[k] = v
		}
	}
	return out, nil
}
