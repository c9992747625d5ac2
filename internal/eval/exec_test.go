package eval

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/result"
)

// ExecFunc keeps execx.Executor's contract on top of a backend's exec.
func TestExecFuncRunner(t *testing.T) {
	t.Parallel()
	boom := errors.New("daemon gone")
	for _, tc := range []struct {
		name     string
		code     int
		err      error
		cmd      execx.Cmd
		wantCode int
		wantErr  string
		exitErr  bool
	}{
		{name: "ok", cmd: execx.Cmd{Name: "lm_eval", Args: []string{"--tasks", "x"}, Env: []string{"A=1"}}},
		{name: "non-zero exit", code: 2, cmd: execx.Cmd{Name: "lm_eval"}, wantCode: 2, wantErr: "lm_eval: exit status 2: Traceback", exitErr: true},
		{name: "exec failed", err: boom, cmd: execx.Cmd{Name: "lm_eval"}, wantCode: -1, wantErr: "lm_eval: daemon gone"},
		{name: "dir refused", cmd: execx.Cmd{Name: "lm_eval", Dir: "/x"}, wantCode: -1, wantErr: "working directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gotArgv, gotEnv []string
			f := ExecFunc(func(_ context.Context, argv, env []string) ([]byte, []byte, int, error) {
				gotArgv, gotEnv = argv, env
				return []byte("table"), []byte("Traceback\n"), tc.code, tc.err
			})
			var out, errb bytes.Buffer
			tc.cmd.Stdout, tc.cmd.Stderr = &out, &errb
			res, err := f.Run(context.Background(), tc.cmd)
			assert.Equal(t, tc.wantCode, res.ExitCode)
			var ee *execx.ExitError
			if tc.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.wantErr)
			}
			require.Equal(t, tc.exitErr, errors.As(err, &ee))
			if tc.cmd.Dir != "" {
				assert.Nil(t, gotArgv, "ran despite the refusal")
				return
			}
			assert.Equal(t, append([]string{tc.cmd.Name}, tc.cmd.Args...), gotArgv)
			assert.Equal(t, tc.cmd.Env, gotEnv)
			assert.Equal(t, "table", out.String(), "streams")
			assert.Equal(t, "Traceback\n", errb.String(), "streams")
			assert.Equal(t, "table", string(res.Stdout), "streams")
		})
	}
}

// With PassEnv the harness's variables travel as Cmd.Env, not through env(1), which an
// engine image need not have.
func TestHarnessCommandPassEnv(t *testing.T) {
	c := loadRepoEvalConfig(t)
	_, run, err := c.Commands(HarnessOptions{Task: "gsm8k", BaseURL: "http://127.0.0.1:8888", Model: "m", APIKey: "k",
		WorkDir: "/host/w", ContainerWorkDir: "/workspace/w", PassEnv: true})
	require.NoError(t, err)
	assert.Equal(t, "python3", run.Name, "command %s", run.String())
	assert.Equal(t, "/workspace/w/lm_eval_launcher.py", run.Args[0], "command %s", run.String())
	assert.Equal(t, []string{"OPENAI_API_KEY=k"}, run.Env, "command %s", run.String())
}

// placement: container with an exec: the install steps and the harness run through the
// exec (never the phase's own runner), see the work directory at its container path, get
// the harness env, and the outputs they write into the shared directory are read back.
func TestPhaseHarnessInsideContainer(t *testing.T) {
	cfg := loadRepoEvalConfig(t)
	work, out := t.TempDir(), t.TempDir()
	var calls [][]string
	var runEnv []string
	container := ExecFunc(func(_ context.Context, argv, env []string) ([]byte, []byte, int, error) {
		calls = append(calls, argv)
		if argv[0] != "python3" || argv[1] == "-m" { // install steps
			return nil, nil, 0, nil
		}
		runEnv = env
		i := slices.Index(argv, "--output_path")
		if i < 0 || !strings.HasPrefix(argv[i+1], "/workspace/eval_work-1/") {
			return nil, []byte("output path not in the container's workspace"), 1, nil
		}
		// the bind mount: /workspace/eval_work-1 is work on the host
		dst := filepath.Join(work, strings.TrimPrefix(argv[i+1], "/workspace/eval_work-1/"), "acme__model-x")
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return nil, nil, -1, err
		}
		for _, name := range []string{"results_2026-02-09T10-11-12.345678.json", "samples_gsm8k_2026-02-09T10-11-12.345678.jsonl"} {
			b, err := os.ReadFile(filepath.Join(fixtureDir, name))
			if err != nil {
				return nil, nil, -1, err
			}
			if err := os.WriteFile(filepath.Join(dst, name), b, 0o644); err != nil {
				return nil, nil, -1, err
			}
		}
		return []byte("|Tasks|...\n"), nil, 0, nil
	})
	ph := &Phase{Config: cfg, Exec: &execx.Fake{}} // the fake fails every call: nothing may run here
	res, err := ph.Run(context.Background(), PhaseRequest{
		BaseURL: "http://127.0.0.1:8888", Model: "acme/model-x", Conc: 64, ResultDir: out, APIKey: "sk-1",
		WorkDir: work, ContainerWorkDir: "/workspace/eval_work-1", Exec: container,
		Meta: result.MetaEnv{Framework: "vllm", Precision: "fp4", TP: 8, Conc: 64, EP: 1, Model: "acme/model-x", HW: "h100"},
	})
	require.NoError(t, err)
	assert.Len(t, calls, 3, "exec")
	assert.Equal(t, []string{"OPENAI_API_KEY=sk-1"}, runEnv, "exec")
	assert.Equal(t, 0.6, *res.Row.EMStrict)
	assert.Len(t, res.Files, 4)
	assert.Empty(t, res.Warnings)
	for _, name := range []string{"gsm8k.yaml", "lm_eval_launcher.py"} {
		_, err := os.Stat(filepath.Join(work, name))
		assert.NoError(t, err, "the harness's input files are not in the shared directory")
	}
}
