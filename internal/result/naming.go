package result

import (
	"fmt"
	"strconv"
	"strings"
)

// SingleNodeStem is RESULT_FILENAME of a single-node job (spec §1.2):
// {exp}_{prec}_{fw}_tp{tp}-ep{ep}-dpa{dpa}_disagg-{d}_spec-{s}_conc{c}_{runner}.
func SingleNodeStem(expName, precision, framework string, tp, ep int, dpAttention, disagg bool, spec string, conc int, runner string) string {
	return fmt.Sprintf("%s_%s_%s_tp%d-ep%d-dpa%t_disagg-%t_spec-%s_conc%d_%s",
		expName, precision, framework, tp, ep, dpAttention, disagg, spec, conc, runner)
}

// MultiNodeStem is RESULT_FILENAME of a multi-node job (spec §1.3); concurrencies joined by x.
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

// File and artifact names derived from a RESULT_FILENAME stem.
func RawFile(stem string) string      { return stem + ".json" }
func AggFile(stem string) string      { return "agg_" + stem + ".json" }
func ManifestFile(stem string) string { return "manifest_" + stem + ".json" }
func RequestsFile(stem string) string { return stem + ".requests.jsonl" }

// ServerLogFile is the engine log's name inside the point's directory and artifact.
const ServerLogFile = "server.log"

// Artifact names of a job (spec §2.9).
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
