//go:build !linux

package sim

import (
	"errors"
	"net"
	"time"
)

// rxConn is unavailable off Linux: arrival times are taken when reads return.
type rxConn struct{}

func newRxConn(net.Conn) *rxConn { return nil }

// read is never called: newRxConn returns nil here.
func (r *rxConn) read(p []byte) (int, int64, error) { return 0, 0, errors.ErrUnsupported }

func monoFromWall(now time.Time, _ int64) time.Time { return now }
