package workflowtest

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/rowrun"
	"github.com/inferbench/inferbench/internal/testkit"
)

var (
	// matrixRef matches matrix.config and its property path; bracket access is normalised first.
	matrixRef  = regexp.MustCompile(`matrix\.config((?:\.[A-Za-z_][A-Za-z0-9_-]*)*)`)
	bracketRef = regexp.MustCompile(`\[\s*'([^']+)'\s*\]`)
	// inputsRef matches inputs.<name> but not steps.x.inputs or github.event.inputs.
	inputsRef = regexp.MustCompile(`(?:^|[^.\w-])inputs\.([A-Za-z_][A-Za-z0-9_-]*)`)
)

// withoutComments drops whole-line YAML comments, where prose may mention fields freely.
func withoutComments(src []byte) string {
	var b strings.Builder
	for _, line := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// matrixPaths returns the row field paths a workflow reads ("runner", "prefill.tp"), sorted,
// with the line of their first use.
func matrixPaths(src []byte) map[string]int {
	out := map[string]int{}
	for i, line := range strings.Split(withoutComments(src), "\n") {
		line = bracketRef.ReplaceAllString(line, ".$1")
		for _, m := range matrixRef.FindAllStringSubmatch(line, -1) {
			p := strings.TrimPrefix(m[1], ".")
			if _, seen := out[p]; !seen {
				out[p] = i + 1
			}
		}
	}
	return out
}

// only0208 are the row fields the 2026-08 generator added that workflows read: a
// 2026-02 row lacks them, and every workflow that reads one falls back to the 2026-02
// form without it (TestNamesMatchTheAgent evaluates those expressions on rows of both).
var only0208 = map[string]bool{
	"pp": true, "dcp-size": true, "pcp-size": true, "recipe-fingerprint": true,
	"prefill.pp": true, "prefill.dcp-size": true, "prefill.pcp-size": true,
	"decode.pp": true, "decode.dcp-size": true, "decode.pcp-size": true,
}

// changelogOnly are 2026-08 fields only changelog rows carry. The reference's 2026-08
// vectors hold no changelog output, so for these our changelog goldens stand in; they equal
// the reference's process_changelog.py output byte for byte.
var changelogOnly = map[string]bool{"recipe-fingerprint": true}

// TestMatrixFieldsExistInRowSchema: every matrix.config.* the workflows read is a field of
// the generator's rows (docs/generator.md#rows), of ours and of the reference's, in the
// 2026-08 generation and, apart from the fields 2026-08 added, in the 2026-02 one, so a
// renamed or dropped field fails here rather than as an empty string in a job name or a
// runner label.
func TestMatrixFieldsExistInRowSchema(t *testing.T) {
	t.Parallel()
	srcs := rowSchemas(t)
	total, new0208 := 0, 0
	for _, w := range parseWorkflows(t) {
		for p, line := range matrixPaths(w.src) {
			if p == "" {
				continue // the whole row, e.g. toJSON(matrix.config)
			}
			total++
			if only0208[p] {
				new0208++
			}
			for _, src := range srcs {
				switch {
				case src.gen == "2026-02" && only0208[p]:
				case src.gen == "2026-08" && src.reference && changelogOnly[p]:
				default:
					assert.True(t, src.schema.has(p), "%s:%d: matrix.config.%s is not a field of the rows of the %s; fields: %s",
						w.name, line, p, src.name, strings.Join(src.schema.all(), ", "))
				}
			}
		}
	}
	require.NotEqual(t, 0, total, "found no matrix.config.* reference in any workflow; the scan is broken")
	require.NotEqual(t, 0, new0208, "found no matrix.config.* reference to a 2026-08 field in any workflow; the scan is broken")
}

// TestOnly0208FieldsAreNew keeps the list of 2026-08 fields honest: none of them is in a
// 2026-02 row, and every one is in 2026-08 rows of ours.
func TestOnly0208FieldsAreNew(t *testing.T) {
	t.Parallel()
	for _, src := range rowSchemas(t) {
		for p := range only0208 {
			switch src.gen {
			case "2026-02":
				assert.False(t, src.schema.has(p), "%s is listed as a 2026-08 field but rows of the %s have it", p, src.name)
			case "2026-08":
				if !src.reference {
					assert.True(t, src.schema.has(p), "%s is listed as a 2026-08 field but rows of the %s lack it", p, src.name)
				}
			}
		}
	}
}

// TestMatrixPathsScan keeps the scanner honest on the syntaxes GitHub accepts.
func TestMatrixPathsScan(t *testing.T) {
	t.Parallel()
	src := []byte("# matrix.config.in-comment\nname: ${{ matrix.config.exp-name }} ${{ matrix.config['model-prefix'] }}\nx: ${{ toJSON(matrix.config) }} ${{ matrix.config.prefill.dp-attn }}\n")
	got := matrixPaths(src)
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{"", "exp-name", "model-prefix", "prefill.dp-attn"}
	assert.Equal(t, strings.Join(want, ","), strings.Join(keys, ","), "matrixPaths")
}

// TestInputsDeclared: every inputs.* a workflow reads is one of its declared inputs.
func TestInputsDeclared(t *testing.T) {
	t.Parallel()
	for _, w := range parseWorkflows(t) {
		declared := declaredInputs(w.wf)
		for i, line := range strings.Split(withoutComments(w.src), "\n") {
			for _, m := range inputsRef.FindAllStringSubmatch(line, -1) {
				assert.True(t, declared[m[1]], "%s:%d: inputs.", w.name, i+1)
			}
		}
	}
}

func declaredInputs(wf *actionlint.Workflow) map[string]bool {
	out := map[string]bool{}
	for _, ev := range wf.On {
		switch e := ev.(type) {
		case *actionlint.WorkflowCallEvent:
			for _, in := range e.Inputs {
				out[in.Name.Value] = true
			}
		case *actionlint.WorkflowDispatchEvent:
			for name := range e.Inputs {
				out[name] = true
			}
		}
	}
	return out
}

// TestAgentReceivesEveryRowField: the benchmark job hands the agent the whole row, so every
// field of the schema the agent needs (all of them: docs/workflows.md#benchmark-job) reaches it. If the
// workflow ever passes fields one by one instead, each schema field must be among them.
func TestAgentReceivesEveryRowField(t *testing.T) {
	t.Parallel()
	schema := loadRowSchema(t)
	w := workflowNamed(t, "benchmark.yml")
	step, script := agentRunStep(t, w)
	require.NotNil(t, step.Env, "%s: the agent run step has no env: the row cannot reach the agent", w.name)
	covered := map[string]bool{}
	whole := ""
	for _, v := range step.Env.Vars {
		val := strings.ReplaceAll(v.Value.Value, " ", "")
		if strings.Contains(val, "toJSON(matrix.config)}}") {
			whole = v.Name.Value
			continue
		}
		for p := range matrixPaths([]byte(v.Value.Value)) {
			covered[p] = true
		}
	}
	if whole != "" {
		assert.Contains(t, script, `--entry "$`+whole+`"`, "%s: the row is in $%s but the script does not pass it as --entry \"$%s\":\n%s", w.name, whole, whole, script)
		return
	}
	for _, p := range topLevel(schema.all()) {
		assert.True(t, covered[p], "%s: row field %q does not reach the agent run step", w.name, p)
	}
}

// agentRunStep finds the one step of benchmark.yml that runs `agent run`.
func agentRunStep(t *testing.T, w parsedWorkflow) (*actionlint.Step, string) {
	t.Helper()
	var found *actionlint.Step
	script := ""
	for _, job := range w.wf.Jobs {
		for _, s := range job.Steps {
			if r, ok := s.Exec.(*actionlint.ExecRun); ok && r.Run != nil && strings.Contains(r.Run.Value, " run --entry") {
				require.Nil(t, found, "%s: more than one step runs the agent", w.name)
				found, script = s, r.Run.Value
			}
		}
	}
	require.NotNil(t, found, "%s: no step runs `agent run --entry`", w.name)
	return found, script
}

func workflowNamed(t *testing.T, name string) parsedWorkflow {
	t.Helper()
	for _, w := range parseWorkflows(t) {
		if w.name == name {
			return w
		}
	}
	require.FailNowf(t, "no such workflow", "workflow %s", name)
	return parsedWorkflow{}
}

// TestRowSchemaSources documents where the schema comes from and fails if the sources
// lose a kind or a field the workflows depend on for routing and naming.
func TestRowSchemaSources(t *testing.T) {
	t.Parallel()
	s := loadRowSchema(t)
	for _, p := range []string{"runner", "exp-name", "precision", "framework", "conc", "spec-decoding", "disagg", "run-eval"} {
		assert.True(t, s.single[p], "field %q missing from single- or multi-node rows", p)
		assert.True(t, s.multi[p], "field %q missing from single- or multi-node rows", p)
	}
	for _, p := range []string{"tp", "ep", "dp-attn"} {
		assert.True(t, s.single[p], "field %q should be single-node only", p)
		assert.False(t, s.multi[p], "field %q should be single-node only", p)
	}
	for _, p := range []string{"prefill.tp", "prefill.ep", "prefill.dp-attn", "prefill.num-worker", "decode.num-worker"} {
		assert.True(t, s.multi[p], "multi-node rows lack %q", p)
	}
	_, err := os.Stat(filepath.Join(repoRoot(t), ".github", "workflows", "benchmark.yml"))
	require.NoError(t, err)
}

// TestAgentUnderstandsEveryRow: what reaches the agent is a row it can parse. `agent run`
// rejects unknown keys, so this also proves that no field of the schema is dropped on the
// floor. Multi-node rows (prefill/decode blocks) must parse as well: `agent run` serves them
// with a multinode recipe.
func TestAgentUnderstandsEveryRow(t *testing.T) {
	t.Parallel()
	rows := ourRows(t)
	conf, withReference := testkit.LookupShared(t, "conformance")
	if withReference {
		for _, f := range conformanceOutputs(t, conf) {
			rows = append(rows, rowsOf(t, f)...)
		}
	}
	var single, multi, agentic int
	for _, row := range rows {
		// GitHub's toJSON(matrix.config) is indented JSON of the same object.
		b, err := json.MarshalIndent(row, "", "  ")
		require.NoError(t, err)
		parsed, perr := rowrun.ParseRow(b)
		if row["scenario-type"] == rowrun.AgenticCoding {
			// Trace replay is planned: such a row is refused before anything starts.
			agentic++
			assert.True(t, errors.Is(perr, rowrun.ErrTraceReplay), "agent run does not refuse an agentic-coding row as planned work: %v\n%s", perr, b)
			continue
		}
		if _, ok := row["prefill"]; ok {
			multi++
			if assert.NoError(t, perr, "agent run cannot parse a multi-node row:\n%s", b) {
				assert.True(t, parsed.Multinode(), "agent run reads a multi-node row as single-node:\n%s", b)
			}
			continue
		}
		single++
		assert.NoError(t, perr, "agent run cannot parse a single-node row: %v\n%s", perr, b)
	}
	require.NotEqual(t, 0, single)
	require.NotEqual(t, 0, multi)
	if withReference {
		require.NotEqual(t, 0, agentic, "the reference's 2026-08 vectors hold agentic-coding rows")
	}
}
