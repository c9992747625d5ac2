// Command generator turns benchmark configs into GitHub Actions matrix JSON.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "generator: not implemented yet")
	os.Exit(1)
}
