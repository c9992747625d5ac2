package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferbench/inferbench/internal/execx"
)

// The generator's own test binary doubles as the generator for scripts that need an
// executable (the conformance runner, act): started with GENERATOR_TEST_HELPER=1 it runs
// the subcommand given after "--" and exits.
func TestHelperGenerator(t *testing.T) {
	if os.Getenv("GENERATOR_TEST_HELPER") != "1" {
		t.Skip("helper process")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	e := env{os.Stdin, os.Stdout, os.Stderr, os.Getenv}
	args, err := expandArgsFromEnv(args, e.getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "generator: error:", err)
		os.Exit(exitUsage)
	}
	var code int
	switch {
	case len(args) > 0 && args[0] == "changelog":
		code = cmdChangelog(context.Background(), e, args[1:])
	case len(args) > 0 && args[0] == "validate":
		code = cmdValidate(context.Background(), e, args[1:])
	default:
		code = dispatch(context.Background(), e, args)
	}
	os.Exit(code)
}

// helperGenerator writes an executable script that runs this test binary as the
// generator, and returns its path.
func helperGenerator(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "generator")
	body := "#!/bin/sh\nGENERATOR_TEST_HELPER=1 exec '" + self + "' -test.run='^TestHelperGenerator$' -- \"$@\"\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script
}

// sharedDir returns ../shared relative to the repository, skipping the test when absent.
func sharedDir(t *testing.T, parts ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{"..", "..", "shared"}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not available: %v", p, err)
	}
	abs, _ := filepath.Abs(p)
	return abs
}

// TestChangelogConformance runs the shared changelog conformance vectors against
// `generator changelog`.
func TestChangelogConformance(t *testing.T) {
	runner := sharedDir(t, "conformance", "changelog", "run.sh")
	if _, err := execx.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	if _, err := execx.LookPath("python3"); err != nil {
		t.Skip("python3 not installed (the conformance runner compares JSON with it)")
	}
	res, err := execx.OS{}.Run(context.Background(), execx.Cmd{Name: "sh", Args: []string{runner, "--verbose", helperGenerator(t), "changelog"}, Dir: t.TempDir()})
	out := string(res.Stdout) + string(res.Stderr)
	t.Logf("%s", out)
	if err != nil || !strings.Contains(out, "10 passed, 0 failed") {
		t.Fatalf("conformance: %v", err)
	}
}

func TestArgsFromEnv(t *testing.T) {
	getenv := func(k string) string {
		return map[string]string{"A": `--base-ref '$(touch pwned)' --head-ref "; rm -rf /"`, "BAD": `'open`, "NESTED": "--args-from-env A"}[k]
	}
	tests := []struct {
		in      []string
		want    []string
		wantErr string
	}{
		{in: []string{"--args-from-env", "A", "--y"}, want: []string{"--base-ref", "$(touch pwned)", "--head-ref", "; rm -rf /", "--y"}},
		{in: []string{"--args-from-env=A", "--args-from-env", "A"}, want: []string{"--base-ref", "$(touch pwned)", "--head-ref", "; rm -rf /", "--base-ref", "$(touch pwned)", "--head-ref", "; rm -rf /"}},
		{in: []string{"--args-from-env", "UNSET"}, want: nil},
		// Only leading words count: the option cannot come from a variable's value or
		// after the subcommand, so an input cannot read other variables.
		{in: []string{"--args-from-env", "NESTED"}, want: []string{"--args-from-env", "A"}},
		{in: []string{"changelog", "--args-from-env", "A"}, want: []string{"changelog", "--args-from-env", "A"}},
		{in: []string{"--args-from-env"}, wantErr: "expected one argument"},
		{in: []string{"--args-from-env", "BAD"}, wantErr: "unterminated single quote"},
	}
	for _, tt := range tests {
		got, err := expandArgsFromEnv(tt.in, getenv)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || strings.Join(got, "\x00") != strings.Join(tt.want, "\x00") {
			t.Errorf("%q: got %q (%v), want %q", tt.in, got, err, tt.want)
		}
	}
}

// runCmd runs a subcommand in-process with the given environment.
func runCmd(t *testing.T, fn func(context.Context, env, []string) int, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := env{strings.NewReader(""), &stdout, &stderr, func(k string) string { return vars[k] }}
	code := fn(context.Background(), e, args)
	return code, stdout.String(), stderr.String()
}
