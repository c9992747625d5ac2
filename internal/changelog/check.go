package changelog

import (
	"bytes"
	"context"
	"errors"
	"strings"

	"github.com/inferbench/inferbench/internal/diag"
)

// CheckFile checks a whole changelog file as it is in the working tree: it must end with
// a newline (otherwise the next append rewrites the last line, which processing refuses)
// and every entry must fit the schema. It returns the valid entries.
func CheckFile(file string, data []byte, gen0208 bool) ([]Entry, diag.List) {
	var diags diag.List
	if len(data) > 0 && data[len(data)-1] != '\n' {
		last := bytes.Count(data, []byte("\n")) + 1
		diags.Add(file, last, 0, "add a newline at the end of the file",
			"%s does not end with a newline: appending the next entry would change this line, which the changelog processing refuses as a deletion", file)
	}
	entries, ds, err := ParseEntries(Source{File: file, Text: string(data), Gen0208: gen0208})
	diags = append(diags, ds...)
	if errors.Is(err, ErrNoEntries) {
		diags.Warn(file, 0, 0, "start it with an entry that introduces the configs", "%s has no entries", file)
	}
	return entries, diags
}

// Gate is what the PR gate learned about the changes to the changelog.
type Gate struct {
	// Entries are the added entries (all entries when no refs were given).
	Entries []Entry
	// Output (2026-02) or Output0208 is what the changelog processing will produce once
	// merged; nil when there was nothing to process or a problem was found.
	Output     *Output
	Output0208 *Output0208
}

// Rows is the number of rows merging would run.
func (g Gate) Rows() int {
	switch {
	case g.Output != nil:
		return g.Output.SingleNode.Len() + g.Output.MultiNode.Len()
	case g.Output0208 != nil:
		return g.Output0208.Len()
	}
	return 0
}

// CheckAdditions runs the changelog processing on the changes between the merge base of
// req.BaseRef and req.HeadRef and the head, the way the push to main will: deleted or
// edited lines, added lines that do not parse into valid entries, and keys that resolve
// to nothing are diagnostics. A change that adds nothing is fine (a PR need not touch the
// changelog). err is set only when git itself (or the expansion) failed.
//
// fileEntries and fileOK are CheckFile's result for the head version of the file. When
// the whole file is valid, the added lines are parsed on their own exactly as the
// processing will parse them; otherwise CheckFile has already reported the schema
// problems, and the gate resolves the valid entries that start on an added line, so that
// each problem is reported once.
func CheckAdditions(ctx context.Context, req Request, fileEntries []Entry, fileOK bool) (Gate, diag.List, error) {
	src, err := Additions(ctx, req.Git, req.BaseRef, req.HeadRef, req.File)
	var f *Failure
	switch {
	case errors.As(err, &f):
		added := map[int]bool{}
		for _, l := range f.Added {
			added[l.Num] = true
		}
		gate, ds, err := Resolve(ctx, req, startingOn(fileEntries, added))
		return gate, append(f.Diags, ds...), err
	case err != nil:
		return Gate{}, nil, err
	case strings.TrimSpace(src.Text) == "":
		return Gate{}, nil, nil
	}
	if !fileOK {
		added := map[int]bool{}
		for _, n := range src.Lines {
			added[n] = true
		}
		return Resolve(ctx, req, startingOn(fileEntries, added))
	}
	var diags diag.List
	src.Gen0208 = req.V0208 != nil
	entries, ds, err := ParseEntries(src)
	if errors.Is(err, ErrNoEntries) {
		diags.Add(req.File, src.Lines[0], 0, "add complete entries (- config-keys: ..., description: ..., pr-link: ...), not only comments or blank lines",
			"%s", strings.TrimSuffix(ErrNoYAML.Error(), "."))
		return Gate{}, diags, nil
	}
	if len(ds) > 0 {
		return Gate{}, ds, nil
	}
	return Resolve(ctx, req, entries)
}

func startingOn(entries []Entry, lines map[int]bool) []Entry {
	var out []Entry
	for _, e := range entries {
		if lines[e.Line] {
			out = append(out, e)
		}
	}
	return out
}

// Resolve checks that every key of every entry resolves and, when req.Expand is set,
// expands them as the processing would.
func Resolve(ctx context.Context, req Request, entries []Entry) (Gate, diag.List, error) {
	gate := Gate{Entries: entries}
	var err error
	if req.V0208 != nil {
		gate.Output0208, err = Expand0208(ctx, req, entries)
	} else {
		gate.Output, err = Expand(req, entries)
	}
	var f *Failure
	if errors.As(err, &f) {
		return Gate{Entries: entries}, f.Diags, nil
	}
	if err != nil {
		return Gate{Entries: entries}, nil, err
	}
	return gate, nil, nil
}
