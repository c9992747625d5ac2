// Package report turns the files of a finished sweep into things people read: the
// reference's aggregate files (agg_bmk.json, agg_eval_all.json, run_stats.json), markdown
// summary tables for the step summary and the terminal, a comparison of two result sets that
// flags regressions, and a self-contained HTML report whose charts are drawn in the browser
// from data embedded in the file (no network at view time).
//
// Reading is separate from rendering: Scan walks a directory and returns typed records plus
// every problem it met (unreadable or partial files are never skipped silently); the
// renderers only format what they are given and write to the io.Writer they get.
//
// The fixture sweeps under testdata/sweep and testdata/sweep-new are real runs of the agent
// against the simulator (fixture_regen_test.go; the 5,000-result budget tests use the
// synthetic model of fixture_test.go instead). Regenerate them, then the goldens, with
//
//	go generate ./internal/report
//
//go:generate go test -run TestRegenFixtureSweeps -regen .
//go:generate go test -run TestGolden -update .
package report
