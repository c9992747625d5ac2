// Package engine defines how the agent starts an engine server and gets rid of it again.
// Backends (docker, slurm, local) implement one small interface; everything they create
// carries the run's identity (labels, job names) so that cleanup removes exactly what this
// run started and nothing else on the host.
package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/inferbench/inferbench/internal/execx"
)

// Spec is a fully rendered server launch: nothing in it is templated any more.
type Spec struct {
	// Name identifies the server on the host: the container name or Slurm job name.
	// It must be unique per launch and start with the run's prefix.
	Name string
	// RunID is the run's identity; backends attach it (label, job name) so Cleanup finds it.
	RunID string
	// Image is the container image; empty for non-container launches.
	Image string
	// Argv is the command line; Argv[0] is the program (entrypoint in containers).
	Argv []string
	// Env is extra environment as KEY=VALUE, in order.
	Env []string
	// Workdir is the working directory (in the container when there is one).
	Workdir string
	// Port the engine listens on.
	Port int
	// GPUs is how many accelerators to hand the server (on each node when Nodes > 1);
	// 0 means none.
	GPUs int
	// Nodes is how many nodes the launch spans; 0 and 1 mean one. Only the Slurm backend
	// spans nodes: it runs Argv once per node (one task per node, SLURM_NODEID tells each
	// its role), and the server is reached on the first node.
	Nodes int
	// GPUVendor is "nvidia", "amd" or "" (no devices).
	GPUVendor string
	// Mounts are bind mounts host:container.
	Mounts []Mount
	// Devices are extra host devices handed to the container (e.g. /dev/mem), on top of
	// the vendor's GPU devices.
	Devices []string
	// ShmSize in bytes; 0 keeps the backend's default.
	ShmSize int64
	// IPCHost, Privileged, CapAdd, SecurityOpt and Ulimits mirror docker run flags.
	IPCHost     bool
	Privileged  bool
	CapAdd      []string
	SecurityOpt []string
	Ulimits     []Ulimit
	// Labels are extra container labels (the backend adds its own ownership labels).
	Labels map[string]string
	// LogPath is the host file the server's stdout and stderr are appended to.
	LogPath string
	// Token is this launch's secret identity, also in Env as EnvLaunch: the processes of the
	// server carry it, so the agent can tell its own server (and its children, wherever
	// they moved) from anything else on the port.
	Token string
	// Owner is the launching agent's identity (procfs.Owner's form), also in Env as
	// EnvOwner. Backends record it (container label, job comment) so a later run reaps a
	// leftover only when its agent is provably gone, and so cleanup never touches another
	// live agent's server even when both were given the same run id.
	Owner string
	// CheckPort, when set, is called right before the server starts on the host it will
	// listen on (for Slurm: the allocated node) and refuses the launch when it fails.
	CheckPort func(ctx context.Context, host string) error
}

// Mount is a bind mount.
type Mount struct {
	Host      string `json:"host"`
	Container string `json:"container"`
	ReadOnly  bool   `json:"read_only,omitempty"`
}

// Ulimit is one resource limit; -1 means unlimited.
type Ulimit struct {
	Name string `json:"name"`
	Soft int64  `json:"soft"`
	Hard int64  `json:"hard"`
}

// Exit describes how a server ended.
type Exit struct {
	// Code is the exit status; -1 when unknown or killed by a signal.
	Code int
	// Reason is a short cause when the backend knows one ("OOM killed", "job cancelled").
	Reason string
	// At is when the exit was observed.
	At time.Time
}

func (e Exit) String() string {
	s := fmt.Sprintf("exit status %d", e.Code)
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}
	return s
}

// Info is what a backend learned about a started server, for the run manifest.
type Info struct {
	Backend     string `json:"backend"`
	ID          string `json:"id"`
	Name        string `json:"name"`
	Image       string `json:"image,omitempty"`
	ImageDigest string `json:"image_digest,omitempty"`
	// Host is where the server listens as seen from the agent.
	Host string `json:"host"`
	// Node is the machine it runs on (Slurm node name), when different from the agent's.
	Node string `json:"node,omitempty"`
}

// Server is a started engine server.
type Server interface {
	// Info describes the launch.
	Info() Info
	// LogPath is the host file holding the server's output so far.
	LogPath() string
	// Done is closed once the server has exited; Exit is valid afterwards.
	Done() <-chan struct{}
	Exit() Exit
	// Stop ends the server and removes what Start created. It is idempotent and must work
	// with a fresh context after the run's own context was cancelled.
	Stop(ctx context.Context) error
}

// Backend starts servers.
type Backend interface {
	// Name is "docker", "slurm" or "local".
	Name() string
	// Start launches the server described by s and returns once it is running
	// (not necessarily ready to serve).
	Start(ctx context.Context, s Spec) (Server, error)
	// Cleanup removes anything still present that carries runID: the safety net after a
	// crash or a cancellation in the middle of Start. It never touches other runs' things.
	Cleanup(ctx context.Context, runID string) error
}

// Describer is implemented by backends that can say, without starting anything, what Start
// would ask for: the container create request, the allocation and job step command lines,
// the local process. Dry runs and plans show it; it must have no side effects.
type Describer interface {
	Describe(s Spec) any
}

// Label keys put on everything the agent creates.
const (
	LabelOwner = "io.inferbench.owner" // always "inferbench-agent"
	LabelRun   = "io.inferbench.run"   // the run id
	LabelName  = "io.inferbench.name"  // the launch name
	LabelAgent = "io.inferbench.agent" // the launching agent: host:pid:start:boot
	OwnerValue = "inferbench-agent"
)

// Environment variables every launched server gets.
const (
	EnvLaunch = "INFERBENCH_LAUNCH" // Spec.Token
	EnvOwner  = "INFERBENCH_OWNER"  // Spec.Owner
)

// Checker is implemented by servers that can say, right now, whether they still run: a
// container that died, a job step that ended. Done may lag behind (it waits for logs to
// drain), and a point must never be started or counted on a dead server.
type Checker interface {
	// Alive returns nil while the server runs, else why not.
	Alive(ctx context.Context) error
}

// Validator is implemented by backends whose configuration comes from the host (the docker
// backend's daemon address, context and registry logins): Validate reports one that cannot
// work before anything is launched, without contacting anything.
type Validator interface {
	Validate() error
}

// Reaper is implemented by backends that can find servers left behind by an agent that
// was killed before it could clean up (SIGKILL, OOM, a crashed host), by their owner
// record. A leftover is removed only when its agent is provably gone; everything else,
// including other users' and other live agents' servers, is left alone.
type Reaper interface {
	// Reap removes such leftovers and says what it removed, one line each.
	Reap(ctx context.Context, self string) ([]string, error)
}

// ExecResult is what a command run in a server's environment left behind.
type ExecResult struct {
	Stdout, Stderr []byte
	// ExitCode is the command's exit status; -1 when it is unknown.
	ExitCode int
}

// Execer is implemented by servers that can run a short-lived command where the server
// runs: inside its container (docker exec; srun --overlap into the job's pyxis container)
// or, for non-container launches, as a plain process with the server's working directory
// and environment. The accuracy eval uses it to run the harness "inside the engine's
// container" as the recipe asks.
//
// A command that ran and exited non-zero is not an error: its status is ExitCode. err is
// for a command that could not be run or observed (daemon unreachable, program not found,
// ctx ended). env is KEY=VALUE added to the server's environment for this command only.
type Execer interface {
	Exec(ctx context.Context, argv, env []string) (ExecResult, error)
}

// NodeRunner is implemented by servers whose deployment runs on machines other than the
// agent's (Slurm). OnEveryNode wraps a command so that it runs once on every node of the
// deployment, beside the server (outside its container) with the launch's GPUs visible,
// each output line prefixed with the node's index as "N: " (node 0 first, in the order the
// launch numbers its nodes). nodes is how many nodes that is. The power sampler uses it.
type NodeRunner interface {
	OnEveryNode(argv []string) (cmd execx.Cmd, nodes int)
}

// Handle is the state every backend's server keeps. Embedding it provides the Info,
// LogPath, Done and Exit methods of Server; the backend sets Desc once started and calls
// Finish when the server has ended.
type Handle struct {
	Launch   Spec          // what was started
	Desc     Info          // how it was started
	Finished chan struct{} // closed by Finish
	Result   Exit          // valid once Finished is closed
}

// NewHandle starts the state of a server launched from s.
func NewHandle(s Spec) Handle { return Handle{Launch: s, Finished: make(chan struct{})} }

func (h *Handle) Info() Info            { return h.Desc }
func (h *Handle) LogPath() string       { return h.Launch.LogPath }
func (h *Handle) Done() <-chan struct{} { return h.Finished }
func (h *Handle) Exit() Exit            { return h.Result }
