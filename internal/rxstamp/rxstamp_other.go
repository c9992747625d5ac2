//go:build !linux

package rxstamp

import (
	"errors"
	"net"
	"time"
)

// Conn is unavailable off Linux: arrival times are taken when reads return.
type Conn struct{}

// New returns nil off Linux.
func New(net.Conn) *Conn { return nil }

// Read is never called: New returns nil here.
func (r *Conn) Read(p []byte) (int, int64, error) { return 0, 0, errors.ErrUnsupported }

// MonoFromWall returns now off Linux.
func MonoFromWall(now time.Time, _ int64) time.Time { return now }
