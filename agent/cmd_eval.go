package main

import (
	"context"
	"fmt"
)

// cmdEval is a placeholder until its issue lands.
func cmdEval(ctx context.Context, e env, args []string) int {
	fmt.Fprintln(e.stderr, "agent eval: not implemented yet")
	return exitInternal
}
