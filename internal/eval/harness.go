package eval

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/result"
)

// EvalConfig is configs/eval-harness.yaml: how a row's eval runs.
type EvalConfig struct {
	// Mode is "harness" (lm-evaluation-harness) or "builtin" (the agent's own runner).
	Mode    string                `yaml:"mode"`
	Harness HarnessConfig         `yaml:"harness"`
	Tasks   map[string]TaskRecipe `yaml:"tasks"`
	Source  string                `yaml:"-"`
}

// HarnessConfig pins and invokes lm-evaluation-harness.
type HarnessConfig struct {
	Name      string            `yaml:"name"`
	Commit    string            `yaml:"commit"`
	Placement string            `yaml:"placement"` // container | host
	Install   [][]string        `yaml:"install"`
	Command   []string          `yaml:"command"`
	LimitArgs []string          `yaml:"limit_args"`
	Env       map[string]string `yaml:"env"`
	Launcher  string            `yaml:"launcher"`
}

// TaskRecipe is one task's harness definition.
type TaskRecipe struct {
	NumFewshot int    `yaml:"num_fewshot"`
	YAML       string `yaml:"yaml"`
}

// Modes and placements.
const (
	ModeHarness        = "harness"
	ModeBuiltin        = "builtin"
	PlacementContainer = "container"
	PlacementHost      = "host"
)

var commitRe = regexp.MustCompile(`^[0-9a-f]{40}$`)

// LoadEvalConfig reads and validates configs/eval-harness.yaml.
func LoadEvalConfig(path string) (*EvalConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseEvalConfig(path, b)
}

// ParseEvalConfig decodes the eval config strictly (unknown keys are errors) and checks it,
// reporting every problem with file:line:col.
func ParseEvalConfig(name string, data []byte) (*EvalConfig, error) {
	var c EvalConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var doc yaml.Node
	_ = yaml.Unmarshal(data, &doc) // decoded above, so it parses
	c.Source = name
	var errs []error
	bad := func(path []string, format string, args ...any) {
		line, col := position(&doc, path)
		errs = append(errs, fmt.Errorf("%s:%d:%d: %s", name, line, col, fmt.Sprintf(format, args...)))
	}
	if c.Mode != ModeHarness && c.Mode != ModeBuiltin {
		bad([]string{"mode"}, "mode %q: want %q or %q", c.Mode, ModeHarness, ModeBuiltin)
	}
	h := c.Harness
	if !commitRe.MatchString(h.Commit) {
		bad([]string{"harness", "commit"}, "harness.commit %q: pin the harness by a full 40-hex commit", h.Commit)
	}
	if h.Placement != PlacementContainer && h.Placement != PlacementHost {
		bad([]string{"harness", "placement"}, "harness.placement %q: want %q or %q", h.Placement, PlacementContainer, PlacementHost)
	}
	if len(h.Command) == 0 {
		bad([]string{"harness", "command"}, "harness.command is empty")
	}
	for _, part := range []struct {
		key   string
		argvs [][]string
	}{{"install", h.Install}, {"command", [][]string{h.Command}}, {"limit_args", [][]string{h.LimitArgs}}, {"env", [][]string{envArgs(h.Env)}}} {
		key := part.key
		for _, argv := range part.argvs {
			for _, a := range argv {
				for _, p := range placeholders(a) {
					if !knownPlaceholders[p] {
						bad([]string{"harness", key}, "unknown placeholder ${%s} in %q (known: %s)", p, a, strings.Join(sortedKeys(knownPlaceholders), ", "))
					}
				}
			}
		}
	}
	if len(c.Tasks) == 0 {
		bad([]string{"tasks"}, "no tasks")
	}
	for _, name := range sortedKeys(c.Tasks) {
		t := c.Tasks[name]
		if strings.TrimSpace(t.YAML) == "" {
			bad([]string{"tasks", name, "yaml"}, "tasks.%s.yaml is empty", name)
		}
		if t.NumFewshot < 0 {
			bad([]string{"tasks", name, "num_fewshot"}, "tasks.%s.num_fewshot %d is negative", name, t.NumFewshot)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &c, nil
}

// position is the line and column of the value at path, or of its nearest existing parent.
func position(doc *yaml.Node, path []string) (line, col int) {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line, col = n.Line, n.Column
	for _, key := range path {
		var next *yaml.Node
		if n.Kind == yaml.MappingNode {
			for k, v := range pairs(n) {
				if k.Value == key {
					next = v
					break
				}
			}
		}
		if next == nil {
			return line, col
		}
		n, line, col = next, next.Line, next.Column
	}
	return line, col
}

var knownPlaceholders = map[string]bool{
	"model": true, "base_url": true, "api_key": true, "conc": true, "num_fewshot": true,
	"task_file": true, "output_path": true, "work_dir": true, "limit": true, "commit": true,
}

var placeholderRe = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

func placeholders(s string) []string {
	var out []string
	for _, m := range placeholderRe.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// expand substitutes ${name}; other dollar signs are left alone (regexes, prices).
func expand(s string, vars map[string]string) string {
	return placeholderRe.ReplaceAllStringFunc(s, func(m string) string {
		return vars[m[2:len(m)-1]]
	})
}

func expandAll(argv []string, vars map[string]string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = expand(a, vars)
	}
	return out
}

func envArgs(env map[string]string) []string {
	keys := sortedKeys(env)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// HarnessOptions say where and against what one harness run happens.
type HarnessOptions struct {
	Task       string
	BaseURL    string // as the harness sees the server (inside the container: http://0.0.0.0:<port>)
	Model      string
	APIKey     string // "EMPTY" when unset, as the reference passes
	Conc       int
	NumFewshot *int // nil takes the task's num_fewshot
	Limit      int  // 0: the whole split
	// WorkDir is a fresh directory on this machine for the task file, the launcher and the
	// harness output; ContainerWorkDir is the same directory as the harness sees it (empty:
	// the same path, i.e. placement host or a mount at the same path).
	WorkDir          string
	ContainerWorkDir string
	// ExecPrefix runs a command where the placement says, e.g. [docker exec -i <container>];
	// empty runs it here.
	ExecPrefix []string
	// PassEnv hands the harness's env to the runner as Cmd.Env, taken as additions to the
	// environment where it runs (an ExecFunc into the engine's container, which may have no
	// env(1)); otherwise env(1) carries them in the command line.
	PassEnv bool
}

// HarnessRun is what a harness run left behind.
type HarnessRun struct {
	Record      *Record
	Rescore     *RescoreReport // nil without a samples file
	ResultsPath string
	SamplesPath string
	LogPath     string
	// Warnings are non-fatal problems (a failed install step: images may ship the harness).
	Warnings []string
}

// Commands renders the install steps and the harness invocation for opts.
func (c *EvalConfig) Commands(opts HarnessOptions) (install []execx.Cmd, run execx.Cmd, err error) {
	task, ok := c.Tasks[opts.Task]
	if !ok {
		return nil, execx.Cmd{}, fmt.Errorf("task %q is not in %s (have %s)", opts.Task, c.Source, strings.Join(sortedKeys(c.Tasks), ", "))
	}
	if opts.BaseURL == "" || opts.Model == "" || opts.WorkDir == "" {
		return nil, execx.Cmd{}, errors.New("harness run needs a base URL, a model and a work directory")
	}
	wd := firstNonEmpty(opts.ContainerWorkDir, opts.WorkDir)
	nshot := task.NumFewshot
	if opts.NumFewshot != nil {
		nshot = *opts.NumFewshot
	}
	vars := map[string]string{
		"model": opts.Model, "base_url": chatURL(opts.BaseURL), "api_key": firstNonEmpty(opts.APIKey, "EMPTY"),
		"conc": strconv.Itoa(max(opts.Conc, 1)), "num_fewshot": strconv.Itoa(nshot),
		"task_file": wd + "/" + opts.Task + ".yaml", "output_path": wd + "/lm_eval_out", "work_dir": wd,
		"limit": strconv.Itoa(opts.Limit), "commit": c.Harness.Commit,
	}
	wrap := func(argv []string) execx.Cmd {
		full := append(append([]string{}, opts.ExecPrefix...), argv...)
		return execx.Cmd{Name: full[0], Args: full[1:]}
	}
	for _, step := range c.Harness.Install {
		if len(step) > 0 {
			install = append(install, wrap(expandAll(step, vars)))
		}
	}
	argv := expandAll(c.Harness.Command, vars)
	if opts.Limit > 0 {
		argv = append(argv, expandAll(c.Harness.LimitArgs, vars)...)
	}
	env := expandAll(envArgs(c.Harness.Env), vars)
	if opts.PassEnv {
		run = wrap(argv)
		if len(env) > 0 {
			run.Env = env
		}
		return install, run, nil
	}
	// env(1) carries the variables through docker exec and srun alike.
	if len(env) > 0 {
		argv = append(append([]string{"env"}, env...), argv...)
	}
	return install, wrap(argv), nil
}

// RunHarness installs the pinned harness, runs it and reads its output: results_*.json into
// a Record, samples_<task>_*.jsonl into the Record's samples and a re-scoring with the
// built-in scorer. A harness that exits non-zero or writes no results is an error.
func (c *EvalConfig) RunHarness(ctx context.Context, exec execx.Executor, opts HarnessOptions) (*HarnessRun, error) {
	install, run, err := c.Commands(opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(opts.WorkDir, "lm_eval_out"), 0o755); err != nil {
		return nil, err
	}
	files := map[string]string{opts.Task + ".yaml": c.Tasks[opts.Task].YAML, "lm_eval_launcher.py": c.Harness.Launcher}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(opts.WorkDir, name), []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	hr := &HarnessRun{LogPath: filepath.Join(opts.WorkDir, "lm_eval.log")}
	var log bytes.Buffer
	for _, cmd := range install {
		res, err := exec.Run(ctx, cmd)
		log.Write(res.Stdout)
		log.Write(res.Stderr)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("installing the eval harness: %w", ctx.Err())
		}
		if err != nil {
			hr.Warnings = append(hr.Warnings, redact(fmt.Sprintf("install step failed (continuing; the image may ship the harness): %v", err), opts.APIKey))
		}
	}
	run.Stdout, run.Stderr = &log, &log
	_, runErr := exec.Run(ctx, run)
	if werr := os.WriteFile(hr.LogPath, log.Bytes(), 0o644); werr != nil && runErr == nil {
		runErr = werr
	}
	if runErr != nil {
		msg := fmt.Sprintf("lm-eval failed: %v (log: %s)", runErr, hr.LogPath)
		if len(hr.Warnings) > 0 {
			msg += "; " + strings.Join(hr.Warnings, "; ")
		}
		return hr, errors.New(redact(msg, opts.APIKey))
	}
	if err := hr.read(filepath.Join(opts.WorkDir, "lm_eval_out"), opts.Task); err != nil {
		return hr, err
	}
	return hr, nil
}

// read finds the newest results file under out (lm-eval nests it under the sanitised model
// name) and the samples file of the same run.
func (hr *HarnessRun) read(out, task string) error {
	results, samples := latestOutputs(out, task)
	if results == "" {
		return fmt.Errorf("lm-eval exited 0 but wrote no results_*.json under %s (log: %s)", out, hr.LogPath)
	}
	rf, err := ReadResults(results)
	if err != nil {
		return err
	}
	name := task
	if len(rf.Tasks()) == 1 {
		name = rf.Tasks()[0] // a task file may name its task differently
	}
	rec, err := rf.Record(name)
	if err != nil {
		return fmt.Errorf("%s: %w", results, err)
	}
	rec.Source = results
	hr.Record, hr.ResultsPath = rec, results
	if samples != "" {
		lines, err := ReadSamples(samples)
		if err != nil {
			return err
		}
		rep := Rescore(lines)
		hr.Rescore, hr.SamplesPath = &rep, samples
		rec.Samples = SamplesFromHarness(lines)
	}
	return nil
}

func latestOutputs(out, task string) (results, samples string) {
	var rs, ss []string
	_ = filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		base := d.Name()
		switch {
		case strings.HasPrefix(base, "results_") && strings.HasSuffix(base, ".json"):
			rs = append(rs, p)
		case strings.HasPrefix(base, "samples_"+task) && strings.HasSuffix(base, ".jsonl"):
			ss = append(ss, p)
		}
		return nil
	})
	// the date in the names sorts chronologically
	byName := func(v []string) string {
		if len(v) == 0 {
			return ""
		}
		sort.Slice(v, func(i, j int) bool { return filepath.Base(v[i]) < filepath.Base(v[j]) })
		return v[len(v)-1]
	}
	return byName(rs), byName(ss)
}

// CopyHarnessArtifacts puts a harness run's files flat into dir next to meta_env.json, as
// append_lm_eval_summary does, plus the harness log. It returns the paths written.
func CopyHarnessArtifacts(dir string, meta result.MetaEnv, hr *HarnessRun) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := WriteMetaEnv(dir, meta); err != nil {
		return nil, err
	}
	files := []string{filepath.Join(dir, MetaEnvFile)}
	for _, src := range []string{hr.ResultsPath, hr.SamplesPath, hr.LogPath} {
		if src == "" {
			continue
		}
		b, err := os.ReadFile(src)
		if err != nil {
			if src == hr.LogPath {
				continue
			}
			return files, err
		}
		dst := filepath.Join(dir, filepath.Base(src))
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return files, err
		}
		files = append(files, dst)
	}
	return files, nil
}

// redact keeps the API key, which travels in the command line, out of messages.
func redact(msg, key string) string {
	if key == "" || key == "EMPTY" {
		return msg
	}
	return strings.ReplaceAll(msg, key, "***")
}
