// Package result holds the file formats the agent writes and the collectors read:
//
//   - Raw: the load generator's result JSON, with the reference client's keys in the
//     reference's order (docs/measurement.md#raw-result) followed by our additions (schema_version,
//     failures, send lag, per-token ITL, ...). Consumers of the reference format keep working.
//   - Agg: the per-point agg_<stem>.json record of process_result.py (docs/measurement.md#agg-record), with the
//     interactivity arithmetic fixed (no division by zero; std_intvty is the std of the
//     per-request interactivity, not 1000/std_tpot).
//   - Manifest: the per-point run manifest and status record the agent always writes, even
//     when a point fails; success rates are computed from these (docs/measurement.md#success-rate).
//   - EvalRow and MetaEnv: the eval row of agg_eval_all.json (docs/evals.md#collection) and meta_env.json
//     (docs/evals.md#artifacts).
//   - Naming: RESULT_FILENAME stems, artifact names and the GPU SKU of a runner type.
//
// The package is pure data: no I/O beyond encoding, no clock, no environment.
package result

// Schema versions written into our additions so readers can tell formats apart.
const (
	RawSchema      = "inferbench.raw/1"
	AggSchema      = "inferbench.agg/1"
	ManifestSchema = "inferbench.manifest/1"
)
