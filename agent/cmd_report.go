package main

import (
	"context"
	"fmt"
)

// cmdReport is a placeholder until its issue lands.
func cmdReport(ctx context.Context, e env, args []string) int {
	fmt.Fprintln(e.stderr, "agent report: not implemented yet")
	return exitInternal
}
