package procfs

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Owner identifies one agent process: the host, the pid, the pid's start time and the boot.
// Everything the agent launches carries its owner, so a later run can tell a leftover whose
// agent is gone (killed, crashed, rebooted) from one a live agent still uses.
type Owner struct {
	Host  string
	PID   int
	Start uint64 // start time in clock ticks since boot
	Boot  string // boot id
}

// Self is the owner identity of this process.
func (fs FS) Self() Owner {
	host, _ := os.Hostname()
	o := Owner{Host: host, PID: os.Getpid(), Boot: fs.BootID()}
	if p, err := fs.Read(o.PID); err == nil {
		o.Start = p.StartTicks
	}
	return o
}

// String is the form put in labels, job comments and environments: host:pid:start:boot.
// Host names cannot hold a colon.
func (o Owner) String() string {
	return fmt.Sprintf("%s:%d:%d:%s", o.Host, o.PID, o.Start, o.Boot)
}

// ParseOwner reads String's form.
func ParseOwner(s string) (Owner, error) {
	f := strings.Split(s, ":")
	if len(f) != 4 || f[0] == "" {
		return Owner{}, fmt.Errorf("owner %q: want host:pid:start:boot", s)
	}
	pid, err1 := strconv.Atoi(f[1])
	start, err2 := strconv.ParseUint(f[2], 10, 64)
	if err1 != nil || err2 != nil || pid <= 0 {
		return Owner{}, fmt.Errorf("owner %q: want host:pid:start:boot", s)
	}
	return Owner{Host: f[0], PID: pid, Start: start, Boot: f[3]}, nil
}

// Gone reports whether the agent o is provably gone, seen from self (this agent) on this
// host, and why. Only an owner of this host can be judged: its boot id changed, its pid no
// longer exists, or the pid now belongs to a process started at another time. Anything
// else (another host, a live agent, a pid that cannot be read) is not gone.
func (fs FS) Gone(o, self Owner) (bool, string) {
	if o.Host != self.Host {
		return false, "its agent runs on host " + o.Host
	}
	if o.Boot != "" && self.Boot != "" && o.Boot != self.Boot {
		return true, "its agent ran before this host rebooted"
	}
	p, err := fs.Read(o.PID)
	switch {
	case errors.Is(err, ErrNoProcess):
		return true, fmt.Sprintf("its agent (pid %d) has exited", o.PID)
	case err != nil:
		return false, fmt.Sprintf("its agent (pid %d) cannot be inspected: %v", o.PID, err)
	case p.StartTicks != o.Start:
		return true, fmt.Sprintf("its agent (pid %d) has exited; the pid now belongs to %s", o.PID, p.Describe())
	case p.Zombie:
		return true, fmt.Sprintf("its agent (pid %d) has exited", o.PID)
	}
	return false, fmt.Sprintf("its agent (pid %d on %s) is running", o.PID, o.Host)
}
