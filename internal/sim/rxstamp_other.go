//go:build !linux

package sim

import (
	"net"
	"time"
)

// rxConn is unavailable off Linux: arrival times are taken when reads return.
type rxConn struct{}

func newRxConn(net.Conn) *rxConn { return nil }

func (r *rxConn) read(p []byte) (int, int64, error) { panic("unreachable") }

func monoFromWall(now time.Time, _ int64) time.Time { return now }
