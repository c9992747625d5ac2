package main

import (
	"context"
	"fmt"
)

// cmdBench is a placeholder until its issue lands.
func cmdBench(ctx context.Context, e env, args []string) int {
	fmt.Fprintln(e.stderr, "agent bench: not implemented yet")
	return exitInternal
}
