// Package procfs reads what Linux's /proc says about this host's processes and sockets: which
// process holds a listening TCP port, what a process is (command, parent, start time,
// container), and its environment. The agent uses it to prove that the server answering on
// the engine's port is the one it launched, to name whatever holds a port it needs, and to
// tell whether the agent that launched a leftover engine is still alive.
//
// Everything is read from files under Root, so tests point it at a directory of their own.
// Processes of other users are often unreadable for an unprivileged agent: such gaps are
// reported (Unreadable counts), never guessed over.
package procfs

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// FS is a /proc tree.
type FS struct{ Root string }

// Host is this machine's /proc.
var Host = FS{Root: "/proc"}

func (fs FS) path(parts ...string) string {
	return filepath.Join(append([]string{fs.Root}, parts...)...)
}

// Listener is a TCP socket in the LISTEN state.
type Listener struct {
	Addr  string // local address, e.g. 0.0.0.0, 127.0.0.1, ::
	Port  int
	Inode uint64
	UID   int
}

// Listeners returns the listening TCP sockets (IPv4 and IPv6) on port in this network
// namespace.
func (fs FS) Listeners(port int) ([]Listener, error) {
	var out []Listener
	var errs []error
	found := false
	for _, f := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(fs.path("net", f))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		found = true
		out = append(out, parseTCP(b, port)...)
	}
	if !found {
		return nil, fmt.Errorf("read the socket tables: %w", errors.Join(errs...))
	}
	return out, nil
}

// parseTCP reads /proc/net/tcp{,6}: "sl local rem st ... uid timeout inode ...".
func parseTCP(b []byte, port int) []Listener {
	var out []Listener
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	first := true
	for sc.Scan() {
		if first { // header
			first = false
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != "0A" {
			continue
		}
		host, p, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		pn, err := strconv.ParseUint(p, 16, 16)
		if err != nil || int(pn) != port {
			continue
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil || inode == 0 {
			continue
		}
		uid, _ := strconv.Atoi(f[7])
		out = append(out, Listener{Addr: hexAddr(host), Port: port, Inode: inode, UID: uid})
	}
	return out
}

// hexAddr decodes the kernel's address: 32-bit words in host (little-endian) byte order.
func hexAddr(h string) string {
	raw, err := hex.DecodeString(h)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return h
	}
	for i := 0; i+4 <= len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	return net.IP(raw).String()
}

// Pids lists the processes visible in the tree.
func (fs FS) Pids() ([]int, error) {
	ents, err := os.ReadDir(fs.Root)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
			out = append(out, pid)
		}
	}
	sort.Ints(out)
	return out, nil
}

// Holders maps each socket inode to the processes that hold it open. Processes whose file
// descriptors cannot be read (another user's, without privileges) are counted in unreadable.
func (fs FS) Holders(inodes []uint64) (holders map[uint64][]int, unreadable int, err error) {
	want := map[string]uint64{}
	for _, in := range inodes {
		want["socket:["+strconv.FormatUint(in, 10)+"]"] = in
	}
	holders = map[uint64][]int{}
	pids, err := fs.Pids()
	if err != nil {
		return nil, 0, err
	}
	for _, pid := range pids {
		dir := fs.path(strconv.Itoa(pid), "fd")
		fds, err := os.ReadDir(dir)
		if err != nil {
			if !os.IsNotExist(err) {
				unreadable++
			}
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(dir, fd.Name()))
			if err != nil {
				continue
			}
			if in, ok := want[link]; ok {
				holders[in] = appendOnce(holders[in], pid)
			}
		}
	}
	return holders, unreadable, nil
}

func appendOnce(s []int, v int) []int {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// Proc is what /proc tells about one process.
type Proc struct {
	PID, PPID, PGID, SID int
	Comm                 string
	// Cmdline is the command line with its arguments space-joined (empty for kernel threads
	// and zombies).
	Cmdline string
	// StartTicks is the start time in clock ticks since boot: with the boot id it tells a
	// process from a later one that got the same pid.
	StartTicks uint64
	// ContainerID is the 64-hex id of the container whose cgroup holds the process, when any.
	ContainerID string
	// Zombie is set for a process that ended and waits for its parent.
	Zombie bool
}

// ErrNoProcess is returned for a pid that does not exist (any more).
var ErrNoProcess = errors.New("no such process")

// Read describes one process.
func (fs FS) Read(pid int) (Proc, error) {
	b, err := os.ReadFile(fs.path(strconv.Itoa(pid), "stat"))
	if err != nil {
		if os.IsNotExist(err) {
			return Proc{}, fmt.Errorf("pid %d: %w", pid, ErrNoProcess)
		}
		return Proc{}, err
	}
	p, err := parseStat(b)
	if err != nil {
		return Proc{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	if c, err := os.ReadFile(fs.path(strconv.Itoa(pid), "cmdline")); err == nil {
		p.Cmdline = strings.TrimSpace(strings.ReplaceAll(string(c), "\x00", " "))
	}
	if c, err := os.ReadFile(fs.path(strconv.Itoa(pid), "cgroup")); err == nil {
		p.ContainerID = containerID(c)
	}
	return p, nil
}

// parseStat reads "pid (comm) state ppid pgrp session ... starttime(22nd) ...". The command
// may hold spaces and parentheses, so fields are counted from the last ')'.
func parseStat(b []byte) (Proc, error) {
	s := string(b)
	open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || close < open {
		return Proc{}, errors.New("malformed stat")
	}
	var p Proc
	p.PID, _ = strconv.Atoi(strings.TrimSpace(s[:open]))
	p.Comm = s[open+1 : close]
	f := strings.Fields(s[close+1:])
	if len(f) < 20 {
		return Proc{}, errors.New("short stat")
	}
	p.Zombie = f[0] == "Z" || f[0] == "X"
	p.PPID, _ = strconv.Atoi(f[1])
	p.PGID, _ = strconv.Atoi(f[2])
	p.SID, _ = strconv.Atoi(f[3])
	p.StartTicks, _ = strconv.ParseUint(f[19], 10, 64)
	return p, nil
}

var containerRE = regexp.MustCompile(`[0-9a-f]{64}`)

// containerID finds a container id in a cgroup file: cgroupfs (/docker/<id>) and systemd
// (docker-<id>.scope) drivers, and containerd/podman likewise.
func containerID(b []byte) string {
	return string(containerRE.Find(b))
}

// Environ returns the process's environment as KEY=VALUE strings.
func (fs FS) Environ(pid int) ([]string, error) {
	b, err := os.ReadFile(fs.path(strconv.Itoa(pid), "environ"))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("pid %d: %w", pid, ErrNoProcess)
		}
		return nil, err
	}
	var out []string
	for _, kv := range bytes.Split(b, []byte{0}) {
		if len(kv) > 0 {
			out = append(out, string(kv))
		}
	}
	return out, nil
}

// Getenv returns the value of key in the process's environment.
func (fs FS) Getenv(pid int, key string) (string, bool, error) {
	env, err := fs.Environ(pid)
	if err != nil {
		return "", false, err
	}
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v, true, nil
		}
	}
	return "", false, nil
}

// WithEnv lists the processes whose environment holds key=value. Processes that cannot be
// read are skipped: an unprivileged agent only ever needs its own user's.
func (fs FS) WithEnv(key, value string) []int {
	pids, _ := fs.Pids()
	var out []int
	for _, pid := range pids {
		if v, ok, err := fs.Getenv(pid, key); err == nil && ok && v == value {
			out = append(out, pid)
		}
	}
	return out
}

// BootID identifies the current boot; empty when the kernel does not say.
func (fs FS) BootID() string {
	b, err := os.ReadFile(fs.path("sys", "kernel", "random", "boot_id"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Describe is a one-line description of a process for messages: "pid 123 (python3 -m vllm...)".
func (p Proc) Describe() string {
	cmd := p.Cmdline
	if cmd == "" {
		cmd = p.Comm
	}
	if len(cmd) > 120 {
		cmd = cmd[:117] + "..."
	}
	s := fmt.Sprintf("pid %d (%s)", p.PID, cmd)
	if p.ContainerID != "" {
		s += " in container " + p.ContainerID[:12]
	}
	return s
}

// Holder is a listening socket on a port and the processes holding it (none when they
// could not be read).
type Holder struct {
	Listener
	Procs []Proc
}

// PortHolders lists the listening sockets on port with their processes; unreadable counts
// processes whose descriptors could not be inspected.
func (fs FS) PortHolders(port int) ([]Holder, int, error) {
	ls, err := fs.Listeners(port)
	if err != nil || len(ls) == 0 {
		return nil, 0, err
	}
	inodes := make([]uint64, len(ls))
	for i, l := range ls {
		inodes[i] = l.Inode
	}
	hold, unreadable, err := fs.Holders(inodes)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Holder, 0, len(ls))
	for _, l := range ls {
		h := Holder{Listener: l}
		for _, pid := range hold[l.Inode] {
			if p, err := fs.Read(pid); err == nil {
				h.Procs = append(h.Procs, p)
			}
		}
		out = append(out, h)
	}
	return out, unreadable, nil
}
