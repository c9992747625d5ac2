package main

import (
	"context"
	"fmt"
)

// cmdCollect is a placeholder until its issue lands.
func cmdCollect(ctx context.Context, e env, args []string) int {
	fmt.Fprintln(e.stderr, "agent collect: not implemented yet")
	return exitInternal
}
