package rowrun

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/inferbench/inferbench/internal/engine"
	"github.com/inferbench/inferbench/internal/procfs"
	"github.com/inferbench/inferbench/internal/sim"
)

// The agent must benchmark the engine it launched and nothing else: with fixed ports, a
// leftover engine of a killed run, a second run on the same node or any other program on
// the port would otherwise answer readiness within milliseconds and be measured. So the
// port must be free right before the launch, and after readiness the server answering on
// it must be shown to be this launch's. See docs/robustness.md.

var (
	// errPortInUse marks a launch refused because something already listened on the port.
	errPortInUse = errors.New("port in use")
	// errForeign marks a server on the port that is not this launch's.
	errForeign = errors.New("foreign server on the port")
)

// newToken is a launch's secret identity: its processes carry it in their environment and
// the simulator echoes it.
func newToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// serverHostKnown reports whether the engine's host is known before the launch: this machine
// for the local and docker backends, a fixed server-host elsewhere. A Slurm server's node is
// known only once the allocation is granted, so the backend checks the port itself.
func (r *run) serverHostKnown() (string, bool) {
	if r.fam.Backend == "slurm" {
		return "", false
	}
	if r.fam.ServerHost != "" {
		return r.fam.ServerHost, true
	}
	return "127.0.0.1", true
}

// checkPort refuses a launch when something already listens on the engine's port at host,
// naming the holder when this machine can tell it.
func (r *run) checkPort(ctx context.Context, host string) error {
	if isLocalHost(host) {
		holders, unreadable, err := procfs.Host.PortHolders(r.port)
		if err == nil && len(holders) > 0 {
			return r.portInUse(host, r.describeHolders(ctx, holders, unreadable))
		}
	}
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(r.port)))
	if err == nil {
		c.Close()
		return r.portInUse(host, "a program that accepts connections there (not on this machine, or not visible to this agent)")
	}
	return nil
}

func (r *run) portInUse(host, holder string) error {
	return &Error{Kind: KindEngine, Err: fmt.Errorf("%w: port %d on %s is already held by %s; an engine started now could not listen there, "+
		"and readiness would pass against the holder, which would be benchmarked instead: stop it, or give runner family %s another port in the inventory",
		errPortInUse, r.port, host, holder, r.fam.Name)}
}

// describeHolders names the processes (and their containers) holding the port.
func (r *run) describeHolders(ctx context.Context, holders []procfs.Holder, unreadable int) string {
	var parts []string
	for _, h := range holders {
		for _, p := range h.Procs {
			d := p.Describe()
			if p.ContainerID != "" {
				if n, ok := r.backend.(containerDescriber); ok {
					if c := n.DescribeContainer(ctx, p.ContainerID); c != "" {
						d += " (" + c + ")"
					}
				}
			}
			parts = append(parts, d)
		}
	}
	if len(parts) == 0 {
		s := fmt.Sprintf("a process this agent cannot inspect (listening socket inode %d", holders[0].Inode)
		if unreadable > 0 {
			s += fmt.Sprintf("; %d processes were unreadable: run the agent as the runner's user or root to name it", unreadable)
		}
		return s + ")"
	}
	return strings.Join(uniqueStrings(parts), ", ")
}

// containerDescriber is implemented by backends that can name a container by its id.
type containerDescriber interface {
	DescribeContainer(ctx context.Context, id string) string
}

func uniqueStrings(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// isLocalHost reports whether host is this machine.
func isLocalHost(host string) bool {
	if host == "" || host == "localhost" {
		return true
	}
	if name, err := os.Hostname(); err == nil && strings.EqualFold(host, name) {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	if ip.IsLoopback() || ip.IsUnspecified() {
		return true
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

// verifyIdentity shows, after readiness, that the server answering on the port is this
// launch's, and says how; it refuses (errForeign) when it is not or cannot be shown to be.
// In order: the simulator's echo of the launch token; on this machine, the listening
// socket's processes carrying the token in their environment; a check run inside the
// server's container; for Slurm, a running job step of ours on a port that was free on the
// node before the launch.
func (r *run) verifyIdentity(ctx context.Context, health, token string) (string, error) {
	foreign := func(format string, a ...any) error {
		return &Error{Kind: KindEngine, Err: fmt.Errorf("%w: %s; refusing to benchmark it: stop it, or give runner family %s another port",
			errForeign, fmt.Sprintf(format, a...), r.fam.Name)}
	}
	if echoed, ok := r.echoedToken(ctx, health); ok {
		if echoed == token {
			return "the server echoed this launch's token", nil
		}
		return "", foreign("port %d answers as another agent's simulator, not as launch %s", r.port, r.srv.Info().Name)
	}
	host := r.srv.Info().Host
	if r.fam.ServerHost != "" {
		host = r.fam.ServerHost
	}
	if isLocalHost(host) {
		holders, unreadable, err := procfs.Host.PortHolders(r.port)
		if err == nil {
			// Every process holding the socket must be ours: a second listener on the port
			// (SO_REUSEPORT) would take some of the connections.
			var ours, others []string
			for _, h := range holders {
				for _, p := range h.Procs {
					if v, ok, _ := procfs.Host.Getenv(p.PID, engine.EnvLaunch); ok && v == token {
						ours = append(ours, p.Describe())
					} else {
						others = append(others, p.Describe())
					}
				}
			}
			if len(others) > 0 {
				return "", foreign("port %d on %s is held by %s, not by the server this agent launched (%s %s)",
					r.port, host, r.describeHolders(ctx, holders, unreadable), r.srv.Info().Backend, r.srv.Info().Name)
			}
			if len(ours) > 0 {
				return fmt.Sprintf("the listening socket belongs to %s, carrying this launch's token", strings.Join(uniqueStrings(ours), ", ")), nil
			}
		}
	}
	if ex, ok := r.srv.(engine.Execer); ok && inContainer(r.fam) {
		res, err := ex.Exec(ctx, []string{"sh", "-c", ownerScript, "sh", strconv.Itoa(r.port), token}, nil)
		switch {
		case err != nil:
		case res.ExitCode == 0:
			return "the listening socket belongs to a process in the server's container carrying this launch's token", nil
		case res.ExitCode == 3 || (res.ExitCode == 4 && r.fam.Backend == "docker"):
			// A docker container has its own process table: a socket none of its processes
			// holds belongs to someone outside it.
			return "", foreign("port %d is held by a process outside the server this agent launched (%s %s)", r.port, r.srv.Info().Backend, r.srv.Info().Name)
		}
	}
	if r.fam.Backend == "slurm" {
		if c, ok := r.srv.(engine.Checker); !ok || c.Alive(ctx) == nil {
			return fmt.Sprintf("Slurm job %s runs our server step, and port %d was free on %s before it started", r.srv.Info().ID, r.port, host), nil
		}
	}
	return "", foreign("cannot show that the server on port %d is the one this agent launched (%s %s): its listening socket could not be traced to it",
		r.port, r.srv.Info().Backend, r.srv.Info().Name)
}

// echoedToken asks the health endpoint for the simulator's launch header.
func (r *run) echoedToken(ctx context.Context, health string) (string, bool) {
	if health == "" {
		health = "/health"
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, r.baseURL()+health, nil)
	if err != nil {
		return "", false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", false
	}
	resp.Body.Close()
	v := resp.Header.Get(sim.LaunchHeader)
	return v, v != ""
}

// ownerScript runs where the server runs ($1 port, $2 token): it finds the listening sockets
// on the port and whether a process holding one carries the launch token. Exit 0: ours;
// 3: held by processes without the token; 4: no visible process holds it.
const ownerScript = `port=$(printf '%04X' "$1"); token=$2; found=
for t in /proc/net/tcp /proc/net/tcp6; do
  [ -r "$t" ] || continue
  while read -r sl local rem st a b c d e inode rest; do
    [ "$st" = 0A ] || continue
    case "$local" in *:"$port") ;; *) continue ;; esac
    for fd in /proc/[0-9]*/fd/*; do
      [ "$(readlink "$fd" 2>/dev/null)" = "socket:[$inode]" ] || continue
      pid=${fd#/proc/}; pid=${pid%%/*}
      if tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "INFERBENCH_LAUNCH=$token"; then exit 0; fi
      found=1
    done
  done < "$t"
done
if [ -n "$found" ]; then exit 3; fi
exit 4`
