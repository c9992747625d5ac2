package execx

import (
	"context"
	"os"
)

// Starter starts a long-running program (an engine server, `docker logs -f`) and hands back
// a handle; Run is Start followed by Wait.
type Starter interface {
	Start(ctx context.Context, c Cmd) (Process, error)
}

// Process is a started program.
type Process interface {
	// Pid is the operating-system process id (the fake returns a made-up one).
	Pid() int
	// Signal delivers sig to the program and the processes it started.
	Signal(sig os.Signal) error
	// Wait blocks until the program exits; the error follows Runner.Run's contract.
	Wait() (Result, error)
}
