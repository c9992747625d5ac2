// Package telemetry samples GPU power, energy counters, temperature, clocks and utilization
// while a benchmark point runs, by streaming the vendors' own tools (nvidia-smi --loop-ms,
// amd-smi metric --watch) into a CSV file, and reads such files back as typed samples.
//
// The sampler never fails or hangs a benchmark: a missing, hung or babbling tool leaves a
// problem code in its Summary and a file with whatever it managed to print; the energy
// package then judges the samples. Waits are bounded by the sampling interval (see
// Sampler.Start and Sampler.Stop), and all waiting goes through a Clock so tests can count it.
//
// The file is the tool's CSV header and lines, unchanged, with two columns appended:
// host_time_unix (when the agent received the line, on the clock the benchmark window is
// measured with) and node (the srun task label of a multi-node stream, empty otherwise).
// A reader that knows only the tool's columns (the reference's aggregate_power.py) reads it
// the same way it reads the tool's raw output.
package telemetry
