package rxstamp

import (
	"net"
	"runtime"
	"testing"
	"time"
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
			if got := now.Sub(MonoFromWall(now, tc.wall)); got != tc.want {
				t.Errorf("MonoFromWall is %v before now, want %v", got, tc.want)
			}
		})
	}
}

// stampedRead sends a byte, lets the peer's answer wait in the kernel for wait, and returns
// how long before the read the kernel says it arrived (0 when it gave no stamp).
func stampedRead(t *testing.T, addr string, wait time.Duration) time.Duration {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rx := New(c)
	if rx == nil {
		t.Fatal("New returned nil for a TCP connection")
	}
	if _, err := c.Write([]byte("?")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(wait)
	buf := make([]byte, 16)
	n, wall, err := rx.Read(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
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
	if err != nil {
		t.Fatal(err)
	}
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
		if lag < 15*time.Millisecond || lag > 5*time.Second {
			t.Errorf("kernel stamp %v before the read returned, want the ~20ms the data waited", lag)
		}
	}
	if stamped == 0 {
		t.Error("no read out of 10 carried a kernel receive stamp")
	}
}
