// Package changelog turns the entries added to perf-changelog.yaml between two git refs
// into the bucketed benchmark matrix run-sweep consumes (docs/generator.md#changelog), and
// checks a changelog for the PR gate.
//
// It differs from the reference on purpose where the reference's behaviour was a bug
// (docs/generator.md#quirks): the diff is taken against the merge base of the two refs,
// git failures are reported as such, the diff is parsed by hunk instead of by line prefix,
// rows come in a deterministic order, and config-keys patterns use doublestar (`*`, `?`, `[...]`,
// `{a,b}`). Expansion of keys into rows is injected (Expander) so that this package does
// not depend on the matrix package.
package changelog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/inferbench/inferbench/internal/config"
	"github.com/inferbench/inferbench/internal/diag"
)

// Expander expands config keys into matrix rows, as test-config does with --run-evals, or
// with --evals-only when evalsOnly is true. Each row is one JSON object.
type Expander func(keys []string, evalsOnly bool) ([]json.RawMessage, error)

// Request says what to process.
type Request struct {
	Git     Git
	BaseRef string
	HeadRef string
	// File is the changelog path as given on the command line (for git and messages).
	File string
	// Keys are all master config keys in merged order.
	Keys []string
	// Expand turns keys into rows; nil means "resolve only" (no rows are produced).
	Expand Expander
	// V0208, when set, processes the changelog as 2026-08 does (its configs are 2026-08);
	// Expand is not used then.
	V0208 *Options0208
}

// Errors with fixed wording that scripts and the conformance vectors look for.
var (
	ErrNoAdditions = errors.New("No additions found in the changelog file.")
	ErrNoYAML      = errors.New("No valid YAML entries found in the changelog additions.")
)

// Failure is a processing failure made of positioned diagnostics.
type Failure struct {
	Diags diag.List
	// Added holds the added lines when the failure is about deleted lines.
	Added []Line
}

func (f *Failure) Error() string { return (&diag.ErrorList{List: f.Diags}).Error() }

// Process runs the whole pipeline. Problems in the changelog come back as a *Failure;
// git problems, ErrNoAdditions and ErrNoYAML as plain errors.
func Process(ctx context.Context, req Request) (*Output, error) {
	entries, err := AddedEntries(ctx, req.Git, req.BaseRef, req.HeadRef, req.File)
	if err != nil {
		return nil, err
	}
	return Expand(req, entries)
}

// Expand resolves the entries' keys and expands each entry's new keys
// (docs/generator.md#changelog-expansion).
func Expand(req Request, entries []Entry) (*Output, error) {
	resolved, err := resolveAll(req, entries, nil)
	if err != nil {
		return nil, err
	}
	out := &Output{Metadata: Metadata{BaseRef: req.BaseRef, HeadRef: req.HeadRef, Entries: entries}}
	if out.Metadata.Entries == nil {
		out.Metadata.Entries = []Entry{}
	}
	seen := map[string]bool{}
	for i, e := range entries {
		var fresh []string
		for _, k := range resolved[i] {
			if !seen[k] {
				seen[k] = true
				fresh = append(fresh, k)
			}
		}
		if len(fresh) == 0 || req.Expand == nil {
			continue
		}
		rows, err := req.Expand(fresh, e.EvalsOnly)
		if err != nil {
			return nil, fmt.Errorf("expanding the entry at %s:%d: %w", req.File, e.Line, err)
		}
		for _, raw := range rows {
			multi, bucket, row, err := canonicalRow(raw)
			if err != nil {
				return nil, fmt.Errorf("entry at %s:%d: %w", req.File, e.Line, err)
			}
			if multi {
				out.MultiNode.add(bucket, row)
			} else {
				out.SingleNode.add(bucket, row)
			}
		}
	}
	return out, nil
}

// AddedEntries diffs File between the merge base of base and head and head, refuses
// deleted lines, and parses the added lines as changelog entries.
func AddedEntries(ctx context.Context, g Git, base, head, file string) ([]Entry, error) {
	return addedEntries(ctx, g, base, head, file, false)
}

func addedEntries(ctx context.Context, g Git, base, head, file string, gen0208 bool) ([]Entry, error) {
	src, err := Additions(ctx, g, base, head, file)
	if err != nil {
		return nil, err
	}
	src.Gen0208 = gen0208
	if strings.TrimSpace(src.Text) == "" {
		return nil, ErrNoAdditions
	}
	entries, diags, err := ParseEntries(src)
	if errors.Is(err, ErrNoEntries) {
		return nil, ErrNoYAML
	}
	if err != nil {
		return nil, err
	}
	if diags.HasErrors() {
		diags.Sort()
		return nil, &Failure{Diags: diags}
	}
	return entries, nil
}

// Additions returns the lines added to file between the merge base of base and head and
// head, as a Source whose line numbers point into head's version of the file. Deleted or
// edited lines (other than whitespace-only ones) make it fail with a *Failure.
func Additions(ctx context.Context, g Git, base, head, file string) (Source, error) {
	src := Source{File: file}
	baseID, err1 := g.Commit(ctx, base)
	var gitErr *GitError
	if errors.As(err1, &gitErr) {
		// git itself failed (not a repository, ...): the head ref would fail the same way.
		return src, err1
	}
	headID, err2 := g.Commit(ctx, head)
	if err := errors.Join(err1, err2); err != nil {
		return src, err
	}
	mb, err := g.MergeBase(ctx, baseID, headID)
	if err != nil {
		return src, err
	}
	// A path that names no file diffs as empty, which would read as a changelog without
	// additions and let a mistyped --changelog-file pass the gate.
	// A file too large to be a changelog is refused before git diffs it.
	size, ok, err := g.FileSize(ctx, headID, file)
	switch {
	case err != nil:
		return src, err
	case !ok:
		return src, fmt.Errorf("changelog file '%s' does not exist at %s (commit %s): check --changelog-file (relative to the working directory) and --head-ref", file, head, short(headID))
	case size > config.MaxFileSize:
		return src, fmt.Errorf("changelog file '%s' at %s is %d bytes (%.1f MiB); the generator reads at most %d MiB", file, head, size, float64(size)/(1<<20), config.MaxFileSize>>20)
	}
	out, err := g.Diff(ctx, mb, headID, file)
	if err != nil {
		return src, err
	}
	ch, err := ParseDiff(out)
	if err != nil {
		return src, err
	}
	if diags := deletions(file, ch); len(diags) > 0 {
		return src, &Failure{Diags: diags, Added: ch.Added}
	}
	var text []string
	for _, l := range ch.Added {
		text = append(text, l.Text)
		src.Lines = append(src.Lines, l.Num)
	}
	src.Text = strings.Join(text, "\n")
	if src.Lines == nil {
		src.Lines = []int{}
	}
	return src, nil
}

func deletions(file string, ch Changes) diag.List {
	var diags diag.List
	hint := "the changelog is append-only: restore the line and add a new entry at the end instead"
	if ch.BaseNoNewline {
		hint = "the base version did not end with a newline, so appending rewrote its last line: add the missing newline on the base branch first, then append"
	}
	// One diagnostic per block of deleted lines (they share the head position).
	for i := 0; i < len(ch.Deleted); {
		j, first, n := i, "", 0
		for ; j < len(ch.Deleted) && ch.Deleted[j].Num == ch.Deleted[i].Num; j++ {
			if t := ch.Deleted[j].Text; strings.TrimSpace(t) != "" {
				if n == 0 {
					first = t
				}
				n++
			}
		}
		if n > 0 {
			more := ""
			if n > 1 {
				more = fmt.Sprintf(" (and %d more deleted or changed lines after it)", n-1)
			}
			diags.Add(file, ch.Deleted[i].Num, 0, hint,
				"Deletions are not allowed in %s. Only additions to the changelog are permitted. Found deleted line: %s%s", file, first, more)
		}
		i = j
	}
	return diags
}

// resolveAll resolves every entry's config keys. The problems found before (diags) and
// those of every entry are reported together, sorted, as one Failure.
func resolveAll(req Request, entries []Entry, diags diag.List) ([][]string, error) {
	r := Resolver{Keys: req.Keys, File: req.File}
	resolved := make([][]string, len(entries))
	for i, e := range entries {
		keys, ds := r.Resolve(e)
		resolved[i] = keys
		diags = append(diags, ds...)
	}
	if diags.HasErrors() {
		diags.Sort()
		return nil, &Failure{Diags: diags}
	}
	return resolved, nil
}
