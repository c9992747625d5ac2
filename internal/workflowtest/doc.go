// Package workflowtest tests the GitHub workflows in .github/workflows and the root
// action.yml as programs: actionlint (with shellcheck) must find nothing, every matrix row
// field they read must exist in the generator's row schema, no user-controlled text may be
// expanded inside a shell script, and the manual command box must run end to end under
// nektos/act: command -> generator -> matrix -> benchmark jobs running `agent run` against
// the simulator -> artifacts on act's artifact server -> `agent collect` -> agg_bmk.json.
//
// The package has no code of its own beyond its tests. Its artifactstub command stands in
// for actions/upload-artifact and actions/download-artifact under act, which cannot fetch
// remote actions (no network); see testdata/actions.
package workflowtest
