// Package config decodes the reference's master configs (nvidia-master.yaml,
// amd-master.yaml, ...) and runners.yaml from yaml.Node, so every problem carries its
// file:line:col, and validates them strictly: unknown keys, duplicate keys in a mapping,
// wrong types (no quoted numbers, no YAML 1.1 yes/on booleans, no floats), impossible
// ranges, empty lists and malformed additional-settings are each reported with a hint.
// All problems of all files are collected; nothing stops at the first one.
//
// Public API:
//
//	m, r, g, diags := config.Load(paths, runnerPath) // one command's files: recognise the generation, merge, validate
//	m, r, g, diags := config.LoadWith(read, paths, runnerPath) // the same, files read by read (a git revision)
//	m, diags := config.LoadMaster(paths...)   // master configs only (tests and tools)
//	r, diags := config.LoadRunners(path)      // read and validate runners.yaml
//	diags := config.Lint(m, r)                // cross-file warnings (runner not in runners.yaml)
//	diags := config.LintStrict(m, r)          // the same as errors, for the PR gate (validate)
//
//	es, diags := config.ParseMaster(name, data) // one file from memory, no cross-file checks
//	r, diags := config.ParseRunners(name, data)
//	m := config.NewMaster(es); r := config.NewRunners(file, types) // build from values (tests)
//
// The diag.List results are unsorted; callers sort them (List.Sort) before printing. Lint's
// findings are warnings (severity diag.Warning): the reference accepts a config whose runner
// is missing from runners.yaml (docs/generator.md#quirk-unknown-runner), so sweeps must keep
// working. LintStrict's are errors: `generator validate` refuses such a config before it
// merges. A nil *Master or *Runners is returned only when diags has errors; on success the
// returned values are complete and every field holds a validated, typed value:
//
//	Master.Entries  []*Entry in merged order (file order, then key order)
//	Master.Lookup(key) *Entry, Master.Keys() []string (merged order)
//	Entry           Key, File, Pos, Image, Model, ModelPrefix, Precision, Framework,
//	                Runner, Multinode, Disagg, SeqLens []SeqLen
//	SeqLen          ISL, OSL, Search []Search
//	Search          single-node: TP, EP (1 when absent), DPAttn, Spec ("none" when absent);
//	                multi-node: Prefill, Decode *Worker; both: HasRange, ConcStart,
//	                ConcEnd, ConcList (nil when absent, null or empty: docs/generator.md#quirk-empty-conc-list)
//	Worker          NumWorker, TP, EP, DPAttn, Settings, SettingsMode (absent/null/list),
//	                Keys (the YAML key order, for verbatim output)
//	Runners.Types   []RunnerType{Name, Nodes, Pos} in file order; Runners.Nodes(name)
//
// The error texts keep the reference's phrases (docs/generator.md#inputs), e.g.
// "Master config entry '<key>' failed validation: ..." and
// "Runner config entry '<key>' cannot be an empty list".
package config
