// Package eval runs accuracy evals next to the throughput benchmark (docs/evals.md):
//
//   - a built-in gsm8k eval against any OpenAI-compatible chat endpoint (Run), with a small
//     hand-written gsm8k-style set embedded in the binary and the harness's 2-shot prompt;
//   - the scorer of lm-evaluation-harness's gsm8k task (strict-match, flexible-extract and the
//     exact_match normalisation), used by Run and to re-score the harness's samples;
//   - running the pinned lm-evaluation-harness itself (RunHarness) from the description in
//     configs/eval-harness.yaml, through execx, and parsing its results_*.json and
//     samples_*.jsonl;
//   - the eval artifacts with the reference's names (meta_env.json, results*.json,
//     samples*.jsonl), the agg_eval_all.json rows collected from them (Collect), and the
//     per-task, per-model minimum scores of configs/eval-thresholds.yaml.
package eval
