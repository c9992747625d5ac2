// Package matrix expands validated configs (package config) into matrix rows, the JSON
// objects a GitHub Actions matrix job receives, exactly as the reference generator does
// (docs/generator.md#expansion): full-sweep, runner-model-sweep and test-config, eval
// marking, and the reference's JSON serialization.
//
// Public API:
//
//	rows, err := matrix.FullSweep(m, r, matrix.SweepOptions{...})
//	rows, err := matrix.RunnerModelSweep(m, r, matrix.RunnerModelOptions{...})
//	rows, err := matrix.TestConfig(m, r, matrix.TestConfigOptions{Keys: keys, Conc: nil, Evals: matrix.EvalsRun})
//	matrix.MarkEvals(rows)               // in place (TestConfig etc. call it via Evals)
//	rows = matrix.OnlyEvals(rows)        // keep rows with RunEval
//	err := matrix.WriteJSON(w, rows)     // one line, reference separators and key orders
//	shards := matrix.Shard(rows, n)      // split into chunks of at most n rows
//
// Errors from the expansion functions are selection errors (exit 1 in the CLI):
// *KeysNotFoundError (test-config), *InvalidRunnerTypesError (full-sweep),
// *RunnerNotFoundError and *NoNodesError (runner-model-sweep). Their Error() texts
// carry the reference's phrases.
//
// Row is a plain struct; its Kind tells single- from multi-node, and Order which key order the
// reference uses for it. The changelog calls TestConfig once per changelog entry
// (docs/generator.md#changelog-expansion) and re-emits rows in its own canonical form from the
// Row fields: multi-node worker blocks are *config.Worker values (SettingsMode distinguishes
// an absent additional-settings from null and from a list).
package matrix
