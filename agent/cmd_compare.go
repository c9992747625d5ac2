package main

import (
	"context"
	"fmt"
)

// cmdCompare is a placeholder until its issue lands.
func cmdCompare(ctx context.Context, e env, args []string) int {
	fmt.Fprintln(e.stderr, "agent compare: not implemented yet")
	return exitInternal
}
