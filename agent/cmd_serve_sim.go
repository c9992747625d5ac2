package main

import (
	"context"
	"fmt"
)

// cmdServeSim is a placeholder until its issue lands.
func cmdServeSim(ctx context.Context, e env, args []string) int {
	fmt.Fprintln(e.stderr, "agent serve-sim: not implemented yet")
	return exitInternal
}
