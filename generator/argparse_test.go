package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sweepParserForTest() *argParser {
	return newSweepParser("full-sweep", "", func(p *argParser) {
		p.add(&option{name: "--single-node"})
		p.add(&option{name: "--multi-node"})
		p.exclusive(true, "--single-node", "--multi-node")
		p.add(&option{name: "--model-prefix", arity: manyArg, metavar: "M"})
		p.add(&option{name: "--runner-type", arity: manyArg, metavar: "R"})
		p.add(&option{name: "--seq-lens", arity: manyArg, metavar: "S", choices: []string{"1k1k", "1k8k", "8k1k"}})
		p.add(&option{name: "--step-size", arity: oneArg, metavar: "N", isInt: true, minInt: int64p(2)})
		p.add(&option{name: "--max-conc", arity: oneArg, metavar: "N", isInt: true})
	})
}

// TestArgparseSemantics pins the behaviours of Python's argparse that the command line
// keeps (docs/generator.md#command-line); "(quirk-...)" names a docs/generator.md section.
func TestArgparseSemantics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		words   string
		check   func(a *args) string // "" when fine
		wantErr string
	}{
		{name: "nargs + stops at the next option", words: "--config-files a b --single-node --model-prefix x y",
			check: func(a *args) string {
				return want(a.list("--config-files"), "a b") + want(a.list("--model-prefix"), "x y")
			}},
		{name: "--opt=value", words: "--config-files=a --single-node --max-conc=7",
			check: func(a *args) string { return want(a.list("--config-files"), "a") + want(a.list("--max-conc"), "7") }},
		{name: "last occurrence wins, lists are not merged", words: "--config-files a --model-prefix x y --single-node --model-prefix z",
			check: func(a *args) string { return want(a.list("--model-prefix"), "z") }},
		{name: "unique prefixes", words: "--config a --single --model x --max-c 3",
			check: func(a *args) string {
				return want(a.list("--config-files"), "a") + want(a.list("--model-prefix"), "x") + want(a.list("--max-conc"), "3")
			}},
		{name: "negative numbers are values", words: "--config-files a --single-node --max-conc -1",
			check: func(a *args) string { return want(a.list("--max-conc"), "-1") }},
		{name: "ambiguous prefix (quirk-abbrev-options)", words: "--config-files a --single-node --runner x", wantErr: "ambiguous option: --runner could match --runner-type, --runner-config, --runner-node-filter"},
		{name: "help", words: "--config-files a -h", wantErr: "help requested"},
		{name: "help by prefix", words: "--he", wantErr: "help requested"},
		{name: "missing required option", words: "--single-node", wantErr: "the following arguments are required: --config-files"},
		{name: "missing required group", words: "--config-files a", wantErr: "one of the arguments --single-node --multi-node is required"},
		{name: "mutually exclusive", words: "--config-files a --single-node --multi-node", wantErr: "argument --multi-node: not allowed with argument --single-node"},
		{name: "mutually exclusive evals", words: "--config-files a --single-node --evals-only --run-evals", wantErr: "argument --run-evals: not allowed with argument --evals-only"},
		{name: "bad choice", words: "--config-files a --single-node --seq-lens 1k1k 2k2k", wantErr: "argument --seq-lens: invalid choice: '2k2k' (choose from '1k1k', '1k8k', '8k1k')"},
		{name: "bad int", words: "--config-files a --single-node --max-conc many", wantErr: "argument --max-conc: invalid int value: 'many'"},
		{name: "step size below 2 (quirk-step-size)", words: "--config-files a --single-node --step-size 1", wantErr: "argument --step-size: must be at least 2, got 1"},
		{name: "nargs + needs a value", words: "--config-files --single-node", wantErr: "argument --config-files: expected at least one argument"},
		{name: "one value needed", words: "--config-files a --single-node --max-conc", wantErr: "argument --max-conc: expected one argument"},
		{name: "flag with a value", words: "--config-files a --single-node=yes", wantErr: "argument --single-node: ignored explicit argument 'yes'"},
		{name: "stray words", words: "--config-files=a extra --single-node", wantErr: "unrecognized arguments: extra"},
		{name: "unknown option", words: "--config-files a --single-node --bogus", wantErr: "unrecognized arguments: --bogus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := sweepParserForTest().parse(strings.Fields(tt.words))
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Empty(t, tt.check(a))
		})
	}
}

func want(got []string, w string) string {
	if strings.Join(got, " ") != w {
		return "got " + strings.Join(got, " ") + ", want " + w + "; "
	}
	return ""
}

func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-h"},
		{"--help"},
		{"full-sweep", "-h"},
		{"test-config", "--config-keys", "x", "--help"}, // help wins over missing options
		{"runner-model-sweep", "--hel"},                 // a prefix of --help
		{"changelog", "-h"},
		{"validate", "--help"},
		{"--args-from-env", "NONE", "-h"},
	} {
		code, stdout, stderr := runCmd(t, dispatch, nil, args...)
		assert.Equal(t, exitOK, code, "%v", args)
		assert.Contains(t, stdout, "usage: generator", "%v", args)
		assert.Empty(t, stderr, "%v", args)
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{args: nil, want: "the following arguments are required: command"},
		{args: []string{"sweep"}, want: "argument command: invalid choice: 'sweep'"},
		{args: []string{"full-sweep", "--single-node", "--config-files", "a", "--step-size", "0"}, want: "argument --step-size: must be at least 2, got 0"},
		{args: []string{"runner-model-sweep", "--single-node", "--config-files", "a"}, want: "the following arguments are required: --runner-type"},
		{args: []string{"test-config", "--config-files", "a"}, want: "the following arguments are required: --config-keys"},
		{args: []string{"test-config", "--config-keys", "k", "--config-files", "a", "--conc", "x"}, want: "argument --conc: invalid int value: 'x'"},
		{args: []string{"full-sweep", "--single-node", "--config-files", "a", "--max-jobs", "0"}, want: "argument --max-jobs: must be at least 1, got 0"},
	}
	for _, tt := range tests {
		code, stdout, stderr := runCmd(t, dispatch, nil, tt.args...)
		assert.Equal(t, exitUsage, code, "%v: stderr %q", tt.args, stderr)
		assert.Empty(t, stdout, "%v", tt.args)
		assert.Contains(t, stderr, tt.want, "%v", tt.args)
		assert.Contains(t, stderr, "usage: generator", "%v", tt.args)
	}
}
