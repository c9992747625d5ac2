package matrix

import (
	"fmt"
	"slices"
	"strings"
)

// KeysNotFoundError reports --config-keys that are not master config keys, and (2026-08)
// patterns that match none.
type KeysNotFoundError struct {
	Missing   []string // in the given order
	Patterns  []string // in the given order
	Available []string // sorted
}

func (e *KeysNotFoundError) Error() string {
	var lines []string
	if e.Missing != nil {
		lines = append(lines, fmt.Sprintf("Config key(s) not found: %s.", strings.Join(e.Missing, ", ")))
	}
	for _, p := range e.Patterns {
		lines = append(lines, fmt.Sprintf("Pattern '%s' matched no config keys.", p))
	}
	return strings.Join(lines, "\n") + "\nAvailable keys: " + strings.Join(e.Available, ", ")
}

// InvalidRunnerTypesError reports --runner-type values that are not runners.yaml keys.
type InvalidRunnerTypesError struct {
	Invalid []string // sorted (docs/generator.md#quirk-invalid-runner-types)
	Valid   []string // sorted
}

func (e *InvalidRunnerTypesError) Error() string {
	return fmt.Sprintf("Invalid runner type(s): %s. Valid runner types are: %s", strings.Join(e.Invalid, ", "), strings.Join(e.Valid, ", "))
}

// RunnerNotFoundError reports a runner-model-sweep --runner-type missing from runners.yaml.
type RunnerNotFoundError struct {
	Runner     string
	RunnerFile string
	Valid      []string // file order
}

func (e *RunnerNotFoundError) Error() string {
	return fmt.Sprintf("Runner '%s' does not exist in runner config '%s'. Must choose from existing runner types: '%s'.",
		e.Runner, e.RunnerFile, strings.Join(e.Valid, ", "))
}

// NoNodesError reports a --runner-node-filter that matches no node of the runner type.
type NoNodesError struct{ Filter, Runner string }

func (e *NoNodesError) Error() string {
	return fmt.Sprintf("No runner nodes found matching filter '%s' for runner type '%s'.", e.Filter, e.Runner)
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
