//go:build linux

package rxstamp

import (
	"io"
	"net"
	"syscall"
	"time"
	"unsafe"
)

// Conn reads a TCP connection with kernel receive timestamps.
type Conn struct {
	raw syscall.RawConn
	oob [64]byte
}

// New enables receive timestamps on c; nil when c is not TCP or the kernel refuses.
func New(c net.Conn) *Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return nil
	}
	return &Conn{raw: raw}
}

// Read reads into p and returns the kernel's receive time of the data as a wall-clock
// Unix time in nanoseconds (0 when the kernel gave none).
func (r *Conn) Read(p []byte) (n int, wall int64, err error) {
	var oobn int
	var rerr error
	// No "wait for readiness first" shortcut: RawConn.Read clears the poller's ready flag
	// before calling us, so skipping the first recvmsg could miss data that is already in.
	err = r.raw.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = syscall.Recvmsg(int(fd), p, r.oob[:], syscall.MSG_DONTWAIT)
		return rerr != syscall.EAGAIN && rerr != syscall.EWOULDBLOCK
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return 0, 0, err
	}
	if n == 0 && len(p) > 0 {
		return 0, 0, io.EOF
	}
	return n, rxWall(r.oob[:oobn]), nil
}

// rxWall finds the SCM_TIMESTAMPNS control message without allocating.
func rxWall(oob []byte) int64 {
	for len(oob) >= syscall.SizeofCmsghdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < syscall.SizeofCmsghdr || l > len(oob) {
			return 0
		}
		if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SCM_TIMESTAMPNS && l >= syscall.SizeofCmsghdr+int(unsafe.Sizeof(syscall.Timespec{})) {
			ts := (*syscall.Timespec)(unsafe.Pointer(&oob[syscall.SizeofCmsghdr]))
			return ts.Nano()
		}
		next := cmsgAlign(l)
		if next >= len(oob) {
			return 0
		}
		oob = oob[next:]
	}
	return 0
}

func cmsgAlign(l int) int {
	const a = int(unsafe.Sizeof(uintptr(0)))
	return (l + a - 1) &^ (a - 1)
}

// MonoFromWall turns a kernel wall-clock stamp into a time with a monotonic reading, by
// measuring how long ago it was. A stamp in the future or over a second old (a clock step)
// is not trusted and now is used.
func MonoFromWall(now time.Time, wall int64) time.Time {
	if wall == 0 {
		return now
	}
	ago := time.Duration(now.UnixNano() - wall)
	if ago < 0 || ago > time.Second {
		return now
	}
	return now.Add(-ago)
}
