package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/inferbench/inferbench/internal/config"
	"github.com/inferbench/inferbench/internal/diag"
	"github.com/inferbench/inferbench/internal/migrate"
)

func migrateParser() *argParser {
	p := &argParser{prog: "generator migrate", positional: "FILE",
		desc: "Rewrite 2026-02 master configs and runner files into the 2026-08 schema (docs/generator-generations.md).\n" +
			"Each FILE is recognised from its contents. Only the changed lines are touched: seq-len-configs move\n" +
			"under 'scenarios: fixed-seq-len:', runner types under 'labels:', and disaggregated entries get the\n" +
			"kv-p2p-transfer 2026-08 requires (a per-framework default, noted on stderr, unless --kv-p2p-transfer).\n" +
			"The result is validated as 2026-08 before it is written. One FILE without --in-place or --out-dir\n" +
			"is printed on stdout."}
	p.add(&option{name: "--in-place", help: "rewrite each FILE"})
	p.add(&option{name: "--out-dir", arity: oneArg, metavar: "DIR", help: "write each migrated FILE to DIR under its own name"})
	p.exclusive(false, "--in-place", "--out-dir")
	p.add(&option{name: "--kv-p2p-transfer", arity: oneArg, metavar: "ENGINE", help: "KV transfer engine for disaggregated entries (default: per framework, e.g. nixl for dynamo-*)"})
	return p
}

// cmdMigrate implements `generator migrate`. Every file is checked before any is written,
// so a failure leaves all files as they were.
func cmdMigrate(_ context.Context, e env, words []string) int {
	p := migrateParser()
	a, code, ok := parseArgs(e, p, words)
	if !ok {
		return code
	}
	files := a.list("FILE")
	inPlace, outDir := a.flag("--in-place"), a.str("--out-dir", "")
	if len(files) > 1 && !inPlace && outDir == "" {
		p.writeUsageError(e.stderr, usagef("several files need --in-place or --out-dir DIR"))
		return exitUsage
	}
	opts := migrate.Options{KVP2PTransfer: a.str("--kv-p2p-transfer", "")}
	outs := make([][]byte, len(files))
	var diags diag.List
	for i, f := range files {
		data, err := config.ReadFile(f)
		if err != nil {
			diags.Add(f, 0, 0, "check the path", "cannot read '%s': %v", f, err)
			continue
		}
		out, _, ds := migrate.File(f, data, opts)
		diags = append(diags, ds...)
		outs[i] = out
	}
	reportDiags(e, diags)
	if diags.HasErrors() {
		return exitFail
	}
	for i, f := range files {
		dst := f
		switch {
		case outDir != "":
			dst = filepath.Join(outDir, filepath.Base(f))
		case !inPlace:
			if _, err := e.stdout.Write(outs[i]); err != nil {
				return fail(e, err)
			}
			continue
		}
		if err := writeFileAtomic(dst, outs[i]); err != nil {
			return fail(e, err)
		}
		fmt.Fprintf(e.stderr, "generator migrate: %s -> %s (2026-08)\n", diag.Clean(f), diag.Clean(dst))
	}
	return exitOK
}

// writeFileAtomic replaces path with data through a temporary file in the same
// directory, so an interrupted run leaves the old file or the new one, never half.
func writeFileAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".migrate-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := firstErr(werr, cerr, os.Chmod(tmp.Name(), mode)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
