package main

import (
	"context"
	"fmt"

	"github.com/inferbench/inferbench/internal/changelog"
	"github.com/inferbench/inferbench/internal/config"
	"github.com/inferbench/inferbench/internal/diag"
	"github.com/inferbench/inferbench/internal/ghactions"
)

func validateParser() *argParser {
	p := &argParser{prog: "generator validate",
		desc: "PR gate: check the master configs, the runner file and perf-changelog.yaml, and with\n" +
			"--base-ref/--head-ref that the changelog only grew and its new entries resolve.\n" +
			"A config whose runner is not a runner type of the runner file is an error here (a warning elsewhere).\n" +
			"Problems are printed as file:line:col lines (and annotations in GitHub Actions); exit 1 on any.\n" +
			"In Actions it sets the step outputs has-work (true when merging would run benchmarks) and added-entries."}
	p.add(&option{name: "--changelog-file", arity: oneArg, metavar: "CHANGELOG_FILE", help: "path of perf-changelog.yaml", def: defaultChangelog})
	p.add(&option{name: "--base-ref", arity: oneArg, metavar: "BASE_REF", help: "base git ref of the change (with --head-ref)"})
	p.add(&option{name: "--head-ref", arity: oneArg, metavar: "HEAD_REF", help: "head git ref of the change (with --base-ref)"})
	addConfigOptions(p)
	return p
}

// cmdValidate implements `generator validate`, the PR gate.
func cmdValidate(ctx context.Context, e env, words []string) int {
	p := validateParser()
	a, code, ok := parseArgs(e, p, words)
	if !ok {
		return code
	}
	base, head := a.str("--base-ref", ""), a.str("--head-ref", "")
	if (base == "") != (head == "") {
		p.writeUsageError(e.stderr, usagef("arguments --base-ref and --head-ref must be given together"))
		return exitUsage
	}
	file := a.str("--changelog-file", defaultChangelog)

	m, r, g, diags := loadConfigs(a, true)
	entries, fileDiags, ok := readChangelog(file, g == config.Gen2026_08)
	diags = append(diags, fileDiags...)
	var gate changelog.Gate
	if ok && m != nil {
		req := changelog.Request{Git: changelog.Git{Exec: gitExec}, BaseRef: base, HeadRef: head, File: file, Keys: m.Keys()}
		if g == config.Gen2026_08 {
			req.V0208 = &changelog.Options0208{}
		}
		var ds diag.List
		var err error
		if base != "" {
			req.Expand = expander(m, r)
			if g == config.Gen2026_08 {
				req.V0208 = options0208(a, m, r, req)
			}
			gate, ds, err = changelog.CheckAdditions(ctx, req, entries, !fileDiags.HasErrors())
		} else {
			// Without refs every entry must still resolve (a fresh log, or a local check).
			gate, ds, err = changelog.Resolve(ctx, req, entries)
		}
		if err != nil {
			reportDiags(e, diags)
			return fail(e, err)
		}
		diags = append(diags, ds...)
	}
	reportDiags(e, diags)
	if diags.HasErrors() {
		fmt.Fprintf(e.stderr, "generator validate: %d problem(s) found\n", len(diags.Errors()))
		return exitFail
	}
	hasWork := gate.Rows() > 0
	added := 0
	if base != "" {
		added = len(gate.Entries)
	}
	gh := ghactions.New(e.getenv, e.stderr)
	for name, value := range map[string]string{"has-work": fmt.Sprint(hasWork), "added-entries": fmt.Sprint(added)} {
		if err := gh.SetOutput(name, value); err != nil {
			return fail(e, err)
		}
	}
	summary := fmt.Sprintf("%d config keys, %d changelog entries", len(m.Keys()), len(entries))
	if base != "" {
		summary += fmt.Sprintf(", %d added (%d rows to run)", len(gate.Entries), gate.Rows())
	}
	fmt.Fprintf(e.stderr, "generator validate: OK: %s\n", summary)
	return exitOK
}

// readChangelog reads and checks the whole changelog file; ok is false when it could not
// be read at all.
func readChangelog(file string, gen0208 bool) ([]changelog.Entry, diag.List, bool) {
	data, err := config.ReadFile(file)
	if err != nil {
		var diags diag.List
		diags.Add(file, 0, 0, "run from the repository root or pass --changelog-file", "cannot read the changelog: %v", err)
		return nil, diags, false
	}
	entries, diags := changelog.CheckFile(file, data, gen0208)
	return entries, diags, true
}
