package rxstamp

import (
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/testkit"
)

func TestMonoFromWall(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name string
		wall int64
		want time.Duration // how far before now
	}{
		{"no stamp", 0, 0},
		{"recent stamp", now.Add(-3 * time.Millisecond).UnixNano(), 3 * time.Millisecond},
		{"future stamp is not trusted", now.Add(time.Second).UnixNano(), 0},
		{"stale stamp (clock step) is not trusted", now.Add(-2 * time.Second).UnixNano(), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if runtime.GOOS != "linux" && tc.want != 0 {
				t.Skip("kernel stamps are Linux-only")
			}
			got := now.Sub(MonoFromWall(now, tc.wall))
			assert.Equal(t, tc.want, got, "MonoFromWall is %v before now, want %v", got, tc.want)
		})
	}
}

// stampedRead sends a byte, lets the peer's answer wait in the kernel for wait, and returns
// how long before the read the kernel says it arrived (0 when it gave no stamp).
func stampedRead(t *testing.T, addr string, wait time.Duration) time.Duration {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	rx := New(c)
	require.NotNil(t, rx, "New returned nil for a TCP connection")
	_, err = c.Write([]byte("?"))
	require.NoError(t, err)
	time.Sleep(wait)
	buf := make([]byte, 16)
	n, wall, err := rx.Read(buf)
	require.NoError(t, err, "Read")
	require.Equal(t, "hello", string(buf[:n]), "Read")
	if wall == 0 {
		return 0
	}
	return time.Since(time.Unix(0, wall))
}

// TestReadStampsLoopbackData: the stamp is when the data reached the host, not when it was
// read. The kernel enables receive stamping for the whole host lazily after the first socket
// asks, so a read right after that may carry none (the caller then uses the read time): the
// test needs one stamped read out of a few, and every stamp it gets must be right.
func TestReadStampsLoopbackData(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("kernel stamps are Linux-only")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			// Answer only once the client has enabled stamps: data queued before has none.
			if _, err := c.Read(make([]byte, 1)); err == nil {
				_, _ = c.Write([]byte("hello"))
			}
			c.Close()
		}
	}()
	stamped := 0
	for range 10 {
		lag := stampedRead(t, ln.Addr().String(), 20*time.Millisecond)
		if lag == 0 {
			continue
		}
		stamped++
		assert.GreaterOrEqual(t, lag, 15*time.Millisecond, "kernel stamp")
		if testkit.StressRequired() { // an upper bound on a delay is a wall-clock check
			assert.LessOrEqual(t, lag, 5*time.Second, "kernel stamp")
		}
	}
	assert.NotEqual(t, 0, stamped, "no read out of 10 carried a kernel receive stamp")
}
