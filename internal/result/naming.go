package result

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/inferbench/inferbench/internal/limits"
)

// SingleNodeStem is RESULT_FILENAME of a single-node job (docs/architecture.md#result-files):
// {exp}_{prec}_{fw}_tp{tp}-ep{ep}-dpa{dpa}_disagg-{d}_spec-{s}_conc{c}_{runner}.
func SingleNodeStem(expName, precision, framework string, tp, ep int, dpAttention, disagg bool, spec string, conc int, runner string) string {
	return fmt.Sprintf("%s_%s_%s_tp%d-ep%d-dpa%t_disagg-%t_spec-%s_conc%d_%s",
		expName, precision, framework, tp, ep, dpAttention, disagg, spec, conc, runner)
}

// MultiNodeStem is RESULT_FILENAME of a multi-node job; concurrencies joined by x
// (docs/architecture.md#result-files).
func MultiNodeStem(expName, precision, framework string, prefill, decode Workers, disagg bool, spec string, concs []int, runner string) string {
	cs := make([]string, len(concs))
	for i, c := range concs {
		cs[i] = strconv.Itoa(c)
	}
	return fmt.Sprintf("%s_%s_%s_prefill-tp%d-ep%d-dp%t-nw%d_decode-tp%d-ep%d-dp%t-nw%d_disagg-%t_spec-%s_conc%s_%s",
		expName, precision, framework,
		prefill.TP, prefill.EP, prefill.DPAttention, prefill.NumWorkers,
		decode.TP, decode.EP, decode.DPAttention, decode.NumWorkers,
		disagg, spec, strings.Join(cs, "x"), runner)
}

// SingleNodeStem0208 is RESULT_FILENAME of a single-node job of the 2026-08 reference,
// which adds the pipeline and context parallel sizes:
// {exp}_{prec}_{fw}_tp{tp}-pp{pp}-dcp{dcp}-pcp{pcp}-ep{ep}-dpa{dpa}_disagg-{d}_spec-{s}_conc{c}_{runner},
// then _recipe-<first 16 hex digits of the recipe fingerprint> when the row has one.
func SingleNodeStem0208(expName, precision, framework string, tp, pp, dcp, pcp, ep int, dpAttention, disagg bool, spec string, conc int, runner, fingerprint string) string {
	return recipeSuffix(fmt.Sprintf("%s_%s_%s_tp%d-pp%d-dcp%d-pcp%d-ep%d-dpa%t_disagg-%t_spec-%s_conc%d_%s",
		expName, precision, framework, tp, pp, dcp, pcp, ep, dpAttention, disagg, spec, conc, runner), fingerprint)
}

// MultiNodeStem0208 is RESULT_FILENAME of a multi-node job of the 2026-08 reference.
func MultiNodeStem0208(expName, precision, framework string, prefill, decode Workers, disagg bool, spec string, concs []int, runner, fingerprint string) string {
	cs := make([]string, len(concs))
	for i, c := range concs {
		cs[i] = strconv.Itoa(c)
	}
	side := func(w Workers) string {
		return fmt.Sprintf("tp%d-pp%d-dcp%d-pcp%d-ep%d-dp%t-nw%d", w.TP, w.PP, w.DCPSize, w.PCPSize, w.EP, w.DPAttention, w.NumWorkers)
	}
	return recipeSuffix(fmt.Sprintf("%s_%s_%s_prefill-%s_decode-%s_disagg-%t_spec-%s_conc%s_%s",
		expName, precision, framework, side(prefill), side(decode), disagg, spec, strings.Join(cs, "x"), runner), fingerprint)
}

func recipeSuffix(stem, fingerprint string) string {
	if fingerprint == "" {
		return stem
	}
	return stem + "_recipe-" + fingerprint[:min(16, len(fingerprint))]
}

// File and artifact names derived from a RESULT_FILENAME stem.
func RawFile(stem string) string      { return stem + ".json" }
func AggFile(stem string) string      { return "agg_" + stem + ".json" }
func ManifestFile(stem string) string { return "manifest_" + stem + ".json" }
func RequestsFile(stem string) string { return stem + ".requests.jsonl" }

// ServerLogFile is the engine log's name inside the point's directory and artifact.
const ServerLogFile = "server.log"

// Artifact names of a job (docs/workflows.md#artifacts).
func BenchArtifact(stem string) string     { return "bmk_" + stem }
func ServerLogArtifact(stem string) string { return "server_logs_" + stem }
func EvalArtifact(expName, stem string) string {
	return "eval_" + expName + "_" + stem
}

// SKU is the GPU SKU of a runner type: the type up to its first '-' (b200-trt -> b200).
func SKU(runnerType string) string {
	if i := strings.IndexByte(runnerType, '-'); i >= 0 {
		return runnerType[:i]
	}
	return runnerType
}

// SeqLen is a named (isl, osl) pair.
type SeqLen struct {
	Name     string
	ISL, OSL int
}

// StandardSeqLens are the named pairs, in the reference's order (the choices of --seq-lens).
var StandardSeqLens = []SeqLen{{"1k1k", 1024, 1024}, {"1k8k", 1024, 8192}, {"8k1k", 8192, 1024}}

// SeqLenName is 1k1k, 1k8k, 8k1k for the standard pairs, else "<isl>_<osl>". It names
// exp-name, changelog buckets and report groups alike.
func SeqLenName(isl, osl int) string {
	for _, s := range StandardSeqLens {
		if s.ISL == isl && s.OSL == osl {
			return s.Name
		}
	}
	return fmt.Sprintf("%d_%d", isl, osl)
}

// PointFiles are the files one point writes in the output directory, besides the server log
// it shares with the other points of its run.
func PointFiles(stem string) []string {
	return []string{RawFile(stem), RequestsFile(stem), AggFile(stem), ManifestFile(stem), GPUMetricsFile(stem), PowerValidationFile(stem)}
}

// MaxStemLen keeps every file name of a point (the longest is manifest_<stem>.json) within
// the 255 bytes file systems allow.
const MaxStemLen = 200

// CheckStem says why stem cannot name result files, or nil. A stem becomes file names in
// the output directory and artifact names, so it must be one plain path element of
// [A-Za-z0-9._=-] (what artifact names allow), must not start with a dot (hidden files,
// "..") and must not start with agg_ or manifest_, which would make its raw result look
// like another point's agg record or status record.
func CheckStem(stem string) error {
	switch {
	case stem == "":
		return fmt.Errorf("result name is empty")
	case len(stem) > MaxStemLen:
		return fmt.Errorf("result name %.40q... is %d bytes long; at most %d fit in a file name", stem, len(stem), MaxStemLen)
	}
	if i := strings.IndexFunc(stem, func(r rune) bool { return !NameChar(r) }); i >= 0 {
		return fmt.Errorf("result name %q has %q at byte %d: only letters, digits and . _ = - may appear (a / or .. would put files outside the output directory)", stem, stem[i:i+1], i)
	}
	switch {
	case stem[0] == '.':
		return fmt.Errorf("result name %q starts with a dot", stem)
	case strings.HasPrefix(stem, "agg_") || strings.HasPrefix(stem, "manifest_"):
		return fmt.Errorf("result name %q starts with agg_ or manifest_, the prefixes of the agent's own files", stem)
	}
	return nil
}

// NameChar reports whether r may appear in a result name.
func NameChar(r rune) bool { return limits.NameChar(r) }

// Power telemetry of a point: the sampled readings and their validation.
func GPUMetricsFile(stem string) string      { return "gpu_metrics_" + stem + ".csv" }
func PowerValidationFile(stem string) string { return "power_validation_" + stem + ".json" }
